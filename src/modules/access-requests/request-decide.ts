import type { CatalogOf } from '../../config/catalog.js';
import type { Db } from '../../db/client.js';
import { person, rich, type RichText } from '../../lib/rich-text.js';
import { formatTime } from '../../lib/time.js';
import type { Enqueue } from '../job-port.js';
import type { AuditService } from '../audit/audit-service.js';
import { canApprove, type Person } from '../policy/policy-evaluator.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import type { RequestState } from './access-request-state.js';
import { policyText } from './policy-text.js';
import { policyContext } from './request-policy.js';
import { askedTerms, changesRefusal, narrowInLock, type ChangeField, type ProposedChanges } from './request-narrow.js';
import { approvalEvent } from './request-timing.js';

/** A refusal is rich text (people as ids, no markup): each adapter renders it. */
export type DecideOutcome =
  | { ok: true; request: RequestRow; progress?: RichText | undefined }
  /** `field`: the input of an approve-with-changes form a refusal concerns. */
  | { ok: false; message: RichText; needsMfa?: boolean; notFound?: boolean; field?: ChangeField | undefined };

const PENDING_STATES_TEXT: Partial<Record<RequestState, string>> = {
  approved: 'approved', provisioning: 'approved', active: 'approved and active', denied: 'denied',
  expired: 'expired unanswered', cancelled: 'cancelled', failed: 'approved but could not be provisioned',
  revoking: 'ended', revoke_failed: 'ended', revoked: 'ended', extended: 'approved and applied',
  scheduled: 'approved, waiting for its start', lapsed: 'approved, and lapsed unused',
};

interface Deps {
  db: Db;
  requests: AccessRequestRepo;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  catalogOf: CatalogOf;
  people: (tenantId: string, externalId: string) => Promise<Person>;
  now: () => Date;
}

/**
 * A decision, checked against the policy: never the requester, only the policy's approvers, each
 * once; approval completes when the quorum of distinct approvers is reached (the snapshot taken at
 * submission decides how many), deny ends it at once. The request row is locked while counting, so
 * concurrent approvals neither both complete nor both fall short.
 */
export function createDecide({ db, requests, audit, enqueue, catalogOf, people, now }: Deps) {
  /**
   * `changes`: approve with changes (request-narrow.ts), only narrower than the terms as they stand.
   * `dryRun`: every check, nothing recorded (a form's errors before its acknowledgement).
   */
  return async function decide(actor: Actor, requestId: string, decision: 'approve' | 'deny', reason?: string, mfaVerified = false, changes?: ProposedChanges, dryRun = false): Promise<DecideOutcome> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request) return { ok: false, message: rich`Request ${requestId} was not found.`, notFound: true };
    const refuse = async (message: RichText, why: string) => {
      await audit.record({
        tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: `request.${decision}`, subject: `request:${requestId}`,
        outcome: 'refused', details: { why, ...(changes ? { withChanges: true } : {}) },
      });
      return { ok: false as const, message };
    };
    if (request.state !== 'pending') {
      const past = await requests.decisions(actor.tenantId, requestId);
      const last = past.at(-1);
      const who = last ? rich` by ${person(last.approverExternalId)} at ${formatTime(last.at)}` : request.policy?.autoApprovedBy ? rich` by rule ${request.policy.autoApprovedBy}` : rich``;
      return refuse(rich`This request was already ${PENDING_STATES_TEXT[request.state as RequestState] ?? request.state}${who}. Nothing changed.`, `state ${request.state}`);
    }
    const approvals = (await requests.decisions(actor.tenantId, requestId)).filter((d) => d.decision === 'approve').map((d) => d.approverExternalId);
    const catalog = await catalogOf(actor.tenantId);
    // Who approves is decided by the request as asked, whatever earlier approvers narrowed.
    const ctx = policyContext(catalog, { ...request, ...askedTerms(request) }, await people(actor.tenantId, await requests.requesterExternalId(request)), now(), { risk: request.risk.level });
    if (!ctx) return refuse(rich`The database ${request.databaseId} is no longer in the catalog.`, 'unknown database');
    const check = canApprove(await people(actor.tenantId, actor.externalUserId), ctx, decision === 'approve' ? approvals : [], catalog.policy);
    if (!check.allowed) return refuse(policyText(check.message), check.rule);
    if (changes) {
      const refusal = changesRefusal(catalog, request, changes, ctx.database);
      // Audited on a form's check too: an attempt to approve wider than asked is worth a record.
      if (refusal) return { ...(await refuse(refusal.message, refusal.why)), field: refusal.field };
    }
    if (decision === 'approve' && request.policy?.mfaRequired && !mfaVerified) {
      return { ok: false, message: rich`Approving this request needs your MFA code.`, needsMfa: true };
    }
    if (dryRun) return { ok: true, request };
    const quorum = request.policy?.quorum ?? 1;

    const decidedAt = now();
    const outcome = await db.transaction(async (tx) => {
      const locked = await requests.lockPending(actor.tenantId, requestId, tx);
      if (!locked) return undefined;
      // Narrowed against the terms as they stand under the lock: another approver may just have narrowed them.
      const narrowed = changes ? await narrowInLock({ requests, catalog, database: ctx.database, row: locked, changes, approverExternalId: actor.externalUserId, tx }) : undefined;
      if (narrowed && !narrowed.ok) return { refusal: narrowed, row: undefined, completes: false };
      const note = changes ? changes.note?.trim() || undefined : reason;
      await requests.addDecision({ tenantId: actor.tenantId, requestId, approverId: actor.userId, decision, reason: note ?? null }, tx);
      const count = decision === 'approve' ? await requests.countApprovals(actor.tenantId, requestId, tx) : 0;
      const completes = decision === 'deny' || count >= quorum;
      // An approval before the requested start schedules it (request-timing.ts).
      const event = decision === 'approve' ? approvalEvent(locked, decidedAt).event : decision;
      const row = completes ? await requests.transition(actor.tenantId, requestId, event, { decidedAt }, tx) : await requests.touch(actor.tenantId, requestId, tx);
      // Asked against approved whenever an approver narrowed it, now or before.
      const terms = decision === 'approve' && row?.changes ? { terms: { asked: row.changes.asked, approved: { level: row.level, scope: row.scope, durationSeconds: row.durationSeconds }, ...(changes ? { changed: narrowed?.ok ? narrowed.changed : [] } : {}) } } : {};
      await audit.record(
        {
          tenantId: actor.tenantId, actor: `user:${actor.userId}`,
          action: decision === 'deny' ? 'request.denied' : completes ? 'request.approved' : 'request.approval_recorded',
          subject: `request:${requestId}`, outcome: 'success',
          details: {
            ...(note ? { [changes ? 'note' : 'reason']: note } : {}), ...(decision === 'approve' ? { approvals: count, quorum, mfa: mfaVerified } : {}), ...(check.via ? { via: check.via } : {}), ...terms,
            ...(completes && event === 'schedule' ? { startsAt: locked.startsAt!.toISOString() } : {}),
          },
        },
        tx,
      );
      return { row: row!, completes };
    }).catch((error: unknown) => {
      // The same approver twice at once: the unique index refuses the second.
      if ((error as { cause?: { code?: string } }).cause?.code === '23505') return undefined;
      throw error;
    });
    if (!outcome) return decide(actor, requestId, decision, reason, mfaVerified, changes); // lost a race: explain who won
    if ('refusal' in outcome && outcome.refusal) return { ...(await refuse(outcome.refusal.message, outcome.refusal.why)), field: outcome.refusal.field };
    await Promise.all([
      enqueue('syncCard', { requestId }),
      // The requester hears what changed and why, apart from the credentials.
      ...(outcome.completes && decision === 'approve' && outcome.row.changes ? [enqueue('notifyChanges', { requestId }, { jobId: `changed-${requestId}` })] : []),
      ...(outcome.completes
        ? [decision === 'approve' ? enqueue('provision', { requestId }, { jobId: `provision-${requestId}`, delayMs: approvalEvent(outcome.row, decidedAt).delayMs }) : enqueue('notifyRequester', { requestId }, { jobId: `closed-${requestId}` })]
        : []),
    ]);
    return { ok: true, request: outcome.row, progress: outcome.completes ? undefined : policyText(check.progress) };
  };
}
