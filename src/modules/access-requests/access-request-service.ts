import type { CatalogView } from '../../config/catalog.js';
import type { Db } from '../../db/client.js';
import { forbidden, notFound } from '../../lib/errors.js';
import { newRequestId } from '../../lib/ids.js';
import { formatTime } from '../../lib/time.js';
import type { Enqueue } from '../../jobs/job-catalog.js';
import type { AuditService } from '../audit/audit-service.js';
import { describeGrants, grantPreview } from '../credentials/grant-mapping.js';
import { formatScope, parseStoredScope, type ScopeItem } from '../credentials/scope.js';
import type { RiskAnalyzer } from '../risk/risk-types.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import { isTerminal, type RequestState } from './access-request-state.js';
import type { RequestView } from './access-request-types.js';
import type { ValidDraft } from './access-request-schemas.js';

/** Names in the scope that do not exist on the target, or `unreachable` when it could not be asked. */
export type ScopeChecker = (databaseId: string, scope: ScopeItem[]) => Promise<{ problems: string[] } | { unreachable: string }>;

interface Deps {
  checkScope: ScopeChecker;
  db: Db;
  requests: AccessRequestRepo;
  audit: Pick<AuditService, 'record'>;
  risk: RiskAnalyzer;
  enqueue: Enqueue;
  catalog: () => CatalogView;
  now?: () => Date;
}

export type DecideOutcome = { ok: true; request: RequestRow } | { ok: false; message: string };

const PENDING_STATES_TEXT: Partial<Record<RequestState, string>> = {
  approved: 'approved', provisioning: 'approved', active: 'approved and active', denied: 'denied',
  expired: 'expired unanswered', cancelled: 'cancelled', failed: 'approved but could not be provisioned',
  revoking: 'ended', revoke_failed: 'ended', revoked: 'ended', extended: 'approved and applied',
};

/** The request lifecycle up to the decision, and the view every chat adapter renders. */
export function createAccessRequestService({ checkScope, db, requests, audit, risk, enqueue, catalog, now = () => new Date() }: Deps) {
  const isApprover = (actor: Actor, databaseId: string) => {
    const view = catalog();
    const database = view.database(databaseId);
    return Boolean(database && view.approversFor(database).slack.users.includes(actor.externalUserId));
  };

  async function submit(actor: Actor, draft: ValidDraft, extension?: { extendsRequestId: string }): Promise<RequestRow> {
    const submittedAt = now();
    const assessment = await risk.assess({
      environment: draft.database.environment,
      level: catalog().level(draft.level)?.riskAs ?? 'admin',
      scopeSize: draft.scope.length,
      tableScoped: draft.scope.length > 0 && draft.scope.every((item) => item.table),
      durationSeconds: draft.durationSeconds,
      reason: draft.reason,
      ticket: draft.ticket ?? undefined,
      tags: draft.database.tags,
      requestedAt: submittedAt,
    });
    const pendingSeconds = catalog().catalog.settings.pendingTimeout;
    const row = await db.transaction(async (tx) => {
      const inserted = await requests.insert(
        {
          id: newRequestId(),
          tenantId: actor.tenantId,
          requesterId: actor.userId,
          kind: extension ? 'extension' : 'access',
          extendsRequestId: extension?.extendsRequestId ?? null,
          databaseId: draft.database.id,
          level: draft.level,
          scope: formatScope(draft.scope),
          durationSeconds: draft.durationSeconds,
          reason: draft.reason,
          ticket: draft.ticket,
          state: 'pending',
          risk: assessment,
          pendingUntil: new Date(submittedAt.getTime() + pendingSeconds * 1000),
        },
        tx,
      );
      await audit.record(
        {
          tenantId: actor.tenantId,
          actor: `user:${actor.userId}`,
          action: extension ? 'extension.submitted' : 'request.submitted',
          subject: `request:${inserted.id}`,
          outcome: 'success',
          details: { database: draft.database.id, level: draft.level, scope: inserted.scope, durationSeconds: draft.durationSeconds, risk: assessment.level },
        },
        tx,
      );
      return inserted;
    });
    // After commit: the check of the names (then the card) and the pending deadline are jobs of their own.
    await Promise.all([
      enqueue('checkRequest', { requestId: row.id }, { jobId: `check-${row.id}` }),
      enqueue('expireRequest', { requestId: row.id }, { jobId: `expire-${row.id}`, delayMs: pendingSeconds * 1000 }),
    ]);
    return row;
  }

  /**
   * Before approvers see a request, the objects it names are looked up on the target: a name that
   * does not exist ends the request with near matches for the requester. A target that cannot be
   * reached does not hold the request up; the card says the names are unverified.
   */
  async function checkSubmitted(requestId: string): Promise<void> {
    const request = await requests.getById(requestId);
    if (!request || request.state !== 'pending') return;
    if (request.kind === 'access' && request.scope.length > 0) {
      const verdict = await checkScope(request.databaseId, parseStoredScope(request.scope));
      if ('problems' in verdict && verdict.problems.length > 0) {
        const failure = verdict.problems.join(' ');
        const cancelled = await db.transaction(async (tx) => {
          const row = await requests.transition(request.tenantId, requestId, 'cancel', { failure }, tx);
          if (row) {
            await audit.record({ tenantId: request.tenantId, actor: 'system', action: 'request.refused', subject: `request:${requestId}`, outcome: 'refused', details: { problems: verdict.problems } }, tx);
          }
          return row;
        });
        if (cancelled) await enqueue('notifyRequester', { requestId }, { jobId: `closed-${requestId}` });
        return;
      }
      if ('unreachable' in verdict) {
        await requests.setRisk(request.tenantId, requestId, { ...request.risk, reasons: [...request.risk.reasons, `Names in the scope not verified: ${verdict.unreachable}.`] });
      }
    }
    await Promise.all([
      enqueue('syncCard', { requestId }),
      enqueue('notifyRequester', { requestId }, { jobId: `received-${requestId}` }),
    ]);
  }

  async function decide(actor: Actor, requestId: string, decision: 'approve' | 'deny', reason?: string): Promise<DecideOutcome> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request) return { ok: false, message: `Request ${requestId} was not found.` };
    const refuse = async (message: string, why: string) => {
      await audit.record({
        tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: `request.${decision}`, subject: `request:${requestId}`,
        outcome: 'refused', details: { why },
      });
      return { ok: false as const, message };
    };
    if (request.requesterId === actor.userId) return refuse('You cannot decide your own request; another approver must.', 'self-decision');
    if (!isApprover(actor, request.databaseId)) {
      return refuse(`Only the approvers of ${request.databaseId} can decide this request.`, 'not an approver');
    }
    if (request.state !== 'pending') {
      const past = await requests.decisions(actor.tenantId, requestId);
      const last = past.at(-1);
      const who = last ? ` by <@${last.approverExternalId}> at ${formatTime(last.at)}` : '';
      return refuse(`This request was already ${PENDING_STATES_TEXT[request.state as RequestState] ?? request.state}${who}. Nothing changed.`, `state ${request.state}`);
    }

    const decidedAt = now();
    const updated = await db.transaction(async (tx) => {
      const row = await requests.transition(actor.tenantId, requestId, decision, { decidedAt }, tx);
      if (!row) return undefined;
      await requests.addDecision({ tenantId: actor.tenantId, requestId, approverId: actor.userId, decision, reason: reason ?? null }, tx);
      await audit.record(
        {
          tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: decision === 'approve' ? 'request.approved' : 'request.denied',
          subject: `request:${requestId}`, outcome: 'success', details: reason ? { reason } : {},
        },
        tx,
      );
      return row;
    });
    if (!updated) return decide(actor, requestId, decision, reason); // lost a race: explain who won
    await Promise.all([
      enqueue('syncCard', { requestId }),
      decision === 'approve'
        ? enqueue('provision', { requestId }, { jobId: `provision-${requestId}` })
        : enqueue('notifyRequester', { requestId }, { jobId: `closed-${requestId}` }),
    ]);
    return { ok: true, request: updated };
  }

  /**
   * More time on active access. Within the database's maximum (counted from the approval) it is
   * applied at once; beyond it, approvers get a card for the extension.
   */
  async function requestExtension(
    actor: Actor,
    requestId: string,
    seconds: number,
    reason: string,
    extend: (lease: NonNullable<Awaited<ReturnType<AccessRequestRepo['leaseWithEnder']>>>['lease'], until: Date) => Promise<unknown>,
  ): Promise<{ kind: 'extended'; until: Date } | { kind: 'pending'; request: RequestRow }> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request) throw notFound(`Request ${requestId}`);
    if (request.requesterId !== actor.userId) throw forbidden('Only the requester can extend this access.');
    const lease = (await requests.leaseWithEnder(actor.tenantId, requestId))?.lease;
    if (request.state !== 'active' || !lease || lease.revokedAt) throw forbidden(`Request ${requestId} has no active access to extend.`);
    const database = catalog().database(request.databaseId);
    if (!database) throw notFound(`Database ${request.databaseId}`);
    const until = new Date(lease.expiresAt.getTime() + seconds * 1000);
    const total = (until.getTime() - request.decidedAt!.getTime()) / 1000;
    if (total <= database.maxDuration) {
      await extend(lease, until);
      return { kind: 'extended', until };
    }
    const pending = await submit(
      actor,
      { database, level: request.level as ValidDraft['level'], scope: parseStoredScope(request.scope), durationSeconds: seconds, reason, ticket: request.ticket },
      { extendsRequestId: requestId },
    );
    return { kind: 'pending', request: pending };
  }

  async function expirePending(requestId: string): Promise<void> {
    const request = await requests.getById(requestId);
    if (!request || request.state !== 'pending') return;
    if (request.pendingUntil > now()) {
      // The deadline moved or the job fired early: look again at the deadline.
      await enqueue('expireRequest', { requestId }, { jobId: `expire-${requestId}-${request.pendingUntil.getTime()}`, delayMs: request.pendingUntil.getTime() - now().getTime() });
      return;
    }
    const expired = await db.transaction(async (tx) => {
      const row = await requests.transition(request.tenantId, requestId, 'expire', {}, tx);
      if (row) {
        await audit.record({ tenantId: request.tenantId, actor: 'system', action: 'request.expired', subject: `request:${requestId}`, outcome: 'success' }, tx);
      }
      return row;
    });
    if (expired) {
      await Promise.all([enqueue('syncCard', { requestId }), enqueue('notifyRequester', { requestId }, { jobId: `closed-${requestId}` })]);
    }
  }

  /** Renders a request with its people, decisions, lease and grants. */
  async function view(row: RequestRow): Promise<RequestView> {
    const database = catalog().database(row.databaseId);
    const [requesterExternalId, decisionRows, leaseRow] = await Promise.all([
      requests.requesterExternalId(row),
      requests.decisions(row.tenantId, row.id),
      // An extension shows the lease it extends.
      requests.leaseWithEnder(row.tenantId, row.extendsRequestId ?? row.id),
    ]);
    const scope = parseStoredScope(row.scope);
    const level = row.level;
    const privileges = catalog().level(level)?.privileges ?? [];
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
      grantsInWords: describeGrants(level, scope, databaseName, privileges),
      grantStatements: database ? grantPreview(database, level, privileges, scope, lease?.username) : [],
      cardRef: row.cardRef ?? null,
      createdAt: row.createdAt,
      pendingUntil: row.pendingUntil,
      decidedAt: row.decidedAt,
      decisions: decisionRows.map((d) => ({ decision: d.decision as 'approve' | 'deny', approverExternalId: d.approverExternalId, reason: d.reason, at: d.at })),
      failure: row.failure,
      lease: lease
        ? {
            id: lease.id, username: lease.username, expiresAt: lease.expiresAt, provisionedAt: lease.provisionedAt, revokedAt: lease.revokedAt,
            endReason: lease.endReason, endedByExternalId: leaseRow.endedByExternalId, revokeAttempts: lease.revokeAttempts, dmRef: lease.dmRef ?? null,
          }
        : null,
    };
  }

  return {
    submit,
    checkSubmitted,
    decide,
    requestExtension,
    expirePending,
    view,
    isApprover,
    async viewById(requestId: string): Promise<RequestView | undefined> {
      const row = await requests.getById(requestId);
      return row ? view(row) : undefined;
    },
    async listMine(actor: Actor) {
      return requests.listForRequester(actor.tenantId, actor.userId);
    },
    /** Who may end an active lease early: its requester, or an approver of its database. */
    async authorizeEnd(actor: Actor, requestId: string): Promise<RequestRow> {
      const request = await requests.get(actor.tenantId, requestId);
      if (!request) throw notFound(`Request ${requestId}`);
      if (request.requesterId !== actor.userId && !isApprover(actor, request.databaseId)) {
        throw forbidden(`Only the requester or an approver of ${request.databaseId} can end this access.`);
      }
      if (isTerminal(request.state as RequestState) || request.state === 'pending') {
        throw forbidden(`Request ${requestId} has no active access to end (it is ${request.state}).`);
      }
      return request;
    },
  };
}

export type AccessRequestService = ReturnType<typeof createAccessRequestService>;
