import type { CatalogOf } from '../../config/catalog.js';
import type { RequestAnalysis, SessionAnalysis } from '../analysis/analysis-types.js';
import { captureCost, describeCapture, type CaptureMethod } from '../capture/capture-types.js';
import { describeGrants } from '../credentials/grant-mapping.js';
import { grantPreview } from '../credentials/engines/registry.js';
import { leftOutSentence } from '../credentials/postgres-grantable.js';
import { parseStoredScope } from '../credentials/scope.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import type { RequestState } from './access-request-state.js';
import type { RequestView } from './access-request-types.js';
import { narrowingChoices } from './request-narrow.js';
import { lapsesAt } from './request-timing.js';

export interface RequestViewDeps {
  requests: Pick<AccessRequestRepo, 'requesterExternalId' | 'decisions' | 'leaseWithEnder' | 'externalIdOf'>;
  catalogOf: CatalogOf;
  /** The stored analyses of a request, for the view. */
  analyses: { latestFor(tenantId: string, requestId: string): Promise<{ request?: RequestAnalysis | undefined; session?: SessionAnalysis | undefined }> };
}

/**
 * How the session is recorded and what that costs the server: the database's own measured figure
 * when it is for the method in use, else the bench's.
 */
export function recordingLine(method: CaptureMethod, database: { capture: CaptureMethod; captureCost?: number | undefined } | undefined): string {
  return describeCapture(method, captureCost(method, database?.capture === method ? database.captureCost : undefined));
}

/** A request with its people, decisions, lease and grants: what every chat adapter renders. */
export function createRequestViewer({ requests, catalogOf, analyses }: RequestViewDeps) {
  return async function view(row: RequestRow): Promise<RequestView> {
    const catalog = await catalogOf(row.tenantId);
    const database = catalog.database(row.databaseId);
    const [requesterExternalId, decisionRows, leaseRow, reviewer, analysis] = await Promise.all([
      requests.requesterExternalId(row),
      requests.decisions(row.tenantId, row.id),
      // An extension shows the lease it extends.
      requests.leaseWithEnder(row.tenantId, row.extendsRequestId ?? row.id),
      row.reviewedBy ? requests.externalIdOf(row.tenantId, row.reviewedBy) : Promise.resolve(null),
      analyses.latestFor(row.tenantId, row.id),
    ]);
    const scope = parseStoredScope(row.scope);
    const level = row.level;
    const privileges = catalog.level(level)?.privileges ?? [];
    const databaseName = database?.database ?? row.databaseId;
    const lease = leaseRow?.lease;
    return {
      id: row.id,
      tenantId: row.tenantId,
      kind: row.kind as RequestView['kind'],
      extendsRequestId: row.extendsRequestId,
      state: row.state as RequestState,
      version: row.version,
      requester: { id: row.requesterId, externalId: requesterExternalId },
      databaseId: row.databaseId,
      databaseName,
      environment: database?.environment ?? 'unknown',
      tags: database?.tags ?? [],
      level,
      scope: row.scope,
      durationSeconds: row.durationSeconds,
      reason: row.reason,
      ticket: row.ticket,
      risk: row.risk,
      policy: row.policy ?? null,
      changes: row.changes ?? null,
      narrowing: narrowingChoices(catalog, row),
      grantsInWords: [describeGrants(level, scope, databaseName, privileges), leftOutSentence(row.leftOut)].filter(Boolean).join(' '),
      leftOut: row.leftOut ?? [],
      grantStatements: database ? grantPreview(database, level, privileges, scope, catalog.catalog.settings.userPrefix, lease?.username) : [],
      cardRef: row.cardRef ?? null,
      receiptRef: row.receiptRef ?? null,
      createdAt: row.createdAt,
      pendingUntil: row.pendingUntil,
      decidedAt: row.decidedAt,
      decisions: decisionRows.map((d) => ({ decision: d.decision as 'approve' | 'deny', approverExternalId: d.approverExternalId, reason: d.reason, at: d.at })),
      failure: row.failure,
      reviewedByExternalId: reviewer,
      lease: lease
        ? {
            id: lease.id, username: lease.username, expiresAt: lease.expiresAt, provisionedAt: lease.provisionedAt, revokedAt: lease.revokedAt,
            endReason: lease.endReason, endedByExternalId: leaseRow.endedByExternalId, revokeAttempts: lease.revokeAttempts, dmRef: lease.dmRef ?? null,
            firstLoginBy: lease.firstLoginBy, firstLoginAt: lease.firstLoginAt,
          }
        : null,
      startsAt: row.startsAt,
      lapsesAt: lapsesAt(row),
      analysis: analysis.request ?? null,
      session: analysis.session ?? null,
      recording: recordingLine((lease?.captureMethod as CaptureMethod | undefined) ?? database?.capture ?? 'none', database),
    };
  };
}
