import { UnrecoverableError } from 'bullmq';
import type pg from 'pg';
import type { CardPosting, ChatNotifier } from '../chat/core/notifications.js';
import { isLostConnection, type Logger } from '../lib/logger.js';
import { CARD_CLAIM_MS, type AccessRequestRepo } from '../modules/access-requests/access-request-repo.js';
import type { RequestView } from '../modules/access-requests/access-request-types.js';
import type { AccessRequestService } from '../modules/access-requests/access-request-service.js';
import { summarizeSession } from '../modules/access-requests/session-summary.js';
import type { AnalysisService } from '../modules/analysis/analysis-service.js';
import type { CaptureService } from '../modules/capture/capture-service.js';
import type { LeaseService } from '../modules/credentials/lease-service.js';
import { RetryingFailure } from '../modules/credentials/retrying-failure.js';
import { publicMessage } from '../lib/errors.js';
import { RetryLater } from '../lib/retry-later.js';
import type { AuditExporter } from '../modules/audit/audit-export.js';
import type { AuditService } from '../modules/audit/audit-service.js';
import type { RetentionService } from '../modules/retention/retention-service.js';
import type { OffboardingService } from '../modules/offboarding/offboarding-service.js';
import type { createInboxReplay } from '../modules/inbox/inbox-service.js';
import { withTenant } from '../modules/tenants/tenant-scope.js';
import type { JobHandlers } from './queue.js';
import type { Enqueue } from '../modules/job-port.js';
import type { TicketService } from '../modules/tickets/ticket-service.js';

type InboxReplay = ReturnType<typeof createInboxReplay>;

interface Deps {
  requests: AccessRequestService;
  analysis: Pick<AnalysisService, 'runDraft' | 'runRequest' | 'runSession'>;
  capture: Pick<CaptureService, 'collect'>;
  requestRepo: Pick<AccessRequestRepo, 'setCardRef' | 'setReceiptRef' | 'claimCardPosting'>;
  leases: LeaseService;
  notifier: ChatNotifier;
  /**
   * Connections only for the per-request card lock. Never the state pool: a lock holder needs state
   * connections while it holds the lock, so sharing one pool deadlocks once every connection is a holder.
   */
  lockPool: pg.Pool;
  logger: Logger;
  metrics: { revocationFailed(): void };
  /** Audit export, checkpoints and the retention purge (optional: tools that run no schedules leave them out). */
  auditExporter?: Pick<AuditExporter, 'run'>;
  audit?: Pick<AuditService, 'checkpoint' | 'verifyRecent' | 'tenantIds'>;
  retention?: Pick<RetentionService, 'purge'>;
  offboarding?: Pick<OffboardingService, 'notice'>;
  /** Replays the intents of deliveries that reduce access left undone (their process died after the acknowledgement). */
  inbox?: Pick<InboxReplay, 'replay'>;
  /** Tickets that bind: the summary as a ticket comment, and the poll of bound tickets by the sweep. */
  tickets?: Pick<TicketService, 'commentSummary' | 'poll'> | undefined;
  enqueue?: Enqueue | undefined;
}

/**
 * A card post ends (answered, or given up) this long before its claim does: time for Slack to finish a
 * post it received just before the caller gave up, so that a later attempt looking for it finds it.
 */
const CARD_POST_MARGIN_MS = 5_000;

/** Revocation alerts: at the third failure, then about every hour while it keeps failing. */
const ALERT_AT = (attempts: number) => attempts === 3 || (attempts > 3 && (attempts - 3) % 60 === 0);

/** Thin handlers: load by id, call a service, tell people. Every one is safe to run twice. */
export function createJobHandlers({ requests, analysis, capture, requestRepo, leases, notifier, lockPool, logger, metrics, auditExporter, audit, retention, offboarding, tickets, inbox, enqueue }: Deps): JobHandlers {
  /**
   * One card writer per request at a time: a holder renders the latest state, so concurrent updates
   * can never leave an older state on the card.
   */
  async function syncCard(requestId: string): Promise<void> {
    const client = await lockPool.connect();
    // The lock lasts as long as its connection: once that is lost (the state database restarted),
    // another writer can take it while this one still runs.
    const lockLost = new AbortController();
    const lost = () => lockLost.abort(new Error(`the card lock of ${requestId} was lost with its connection`));
    client.on('error', lost).on('end', lost);
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 11))', [requestId]);
      const view = await requests.viewById(requestId);
      if (!view) return;
      const posting = view.cardRef ? undefined : await claimPosting(view, lockLost.signal);
      const ref = await notifier.send({ type: 'approvalCard', request: view, posting });
      if (!view.cardRef && ref) await requestRepo.setCardRef(view.tenantId, view.id, ref);
      // The requester's receipt follows too: once the request no longer waits, Cancel goes away.
      if (view.receiptRef && view.state !== 'pending') await notifier.send({ type: 'requestReceived', request: view });
    } finally {
      client.off('error', lost).off('end', lost);
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 11))', [requestId]).catch(() => {});
      client.release();
    }
  }

  /**
   * A card not known yet is posted under a claim, so at most one attempt posts at a time even when the
   * lock is lost: the lock alone let a second attempt post while the first one's post was on its way.
   * A live claim of an earlier attempt means no post now: the job runs again once it has ended.
   */
  async function claimPosting(view: RequestView, lockLost: AbortSignal): Promise<CardPosting> {
    const claimedAt = performance.now();
    const claim = await requestRepo.claimCardPosting(view.tenantId, view.id);
    if ('heldForMs' in claim) throw new RetryLater(`an earlier attempt may still be posting the approval card of ${view.id}`, claim.heldForMs + 500);
    return { since: claim.since, deadline: claimedAt + CARD_CLAIM_MS - CARD_POST_MARGIN_MS, lockLost };
  }

  /**
   * The card redrawn by a job whose own work is done (an analysis, a provisioning): one refused for a
   * live posting claim is left to a card job of its own, since this job run again might not redraw it.
   */
  async function redrawCard(requestId: string): Promise<void> {
    try {
      await syncCard(requestId);
    } catch (error) {
      if (!(error instanceof RetryLater) || !enqueue) throw error;
      await enqueue('syncCard', { requestId }, { delayMs: error.delayMs });
    }
  }

  async function notifyRequester(requestId: string): Promise<void> {
    const view = await requests.viewById(requestId);
    if (!view) return;
    if (view.state === 'pending') {
      const ref = await notifier.send({ type: 'requestReceived', request: view });
      if (ref && !view.receiptRef) await requestRepo.setReceiptRef(view.tenantId, view.id, ref);
    }
    else if (['denied', 'expired', 'failed', 'cancelled', 'lapsed'].includes(view.state)) await notifier.send({ type: 'requestClosed', request: view });
  }

  return {
    checkRequest: ({ requestId }) => requests.checkSubmitted(requestId),

    async analyzeDraft({ analysisId }) {
      const outcome = await analysis.runDraft(analysisId);
      if (outcome) await notifier.send({ type: 'draftAnalysis', ...outcome });
    },

    async analyzeRequest({ requestId }) {
      if (await analysis.runRequest(requestId)) await redrawCard(requestId);
    },

    syncCard: ({ requestId }) => syncCard(requestId),
    notifyRequester: ({ requestId }) => notifyRequester(requestId),

    async notifyChanges({ requestId }) {
      const view = await requests.viewById(requestId);
      if (view?.changes && view.decidedAt) await notifier.send({ type: 'approvedWithChanges', request: view });
    },

    async provision({ requestId }, job) {
      try {
        const outcome = await leases.provision(requestId, job.attemptsMade + 1);
        if (outcome.kind === 'extended') await redrawCard(requestId);
        if (outcome.kind === 'too-late' || outcome.kind === 'failed') {
          await redrawCard(requestId);
          await notifyRequester(requestId);
        }
      } catch (error) {
        if (!(error instanceof RetryingFailure)) throw error;
        if (job.attemptsMade === 0) {
          // First failure: tell the thread and the requester now; the job keeps trying.
          const view = await requests.viewById(requestId);
          if (view) await notifier.send({ type: 'operationFailing', request: view, operation: 'provision', attempts: 1, error: publicMessage(error.cause) });
        }
        throw error;
      }
    },

    async alertBreakGlass({ requestId }) {
      const view = await requests.viewById(requestId);
      if (view) await notifier.send({ type: 'breakGlassAlert', request: view });
    },

    async notifyExtended({ leaseId }) {
      const lease = await leases.leaseById(leaseId);
      const view = lease && (await requests.viewById(lease.requestId));
      if (view?.lease && !view.lease.revokedAt) await notifier.send({ type: 'accessExtended', request: view });
    },

    async deliver({ leaseId }) {
      const ready = await leases.credentialsFor(leaseId);
      if (!ready) return; // already delivered, or revoked before delivery
      const view = await requests.view(ready.request);
      if (ready.request.delivery === 'cli') {
        // The requester's own terminal fetches them (dbaccess connect); nothing secret goes to chat.
      } else if (view.policy?.mfaRequired) {
        // Step-up: the secret stays sealed until the requester proves it is them (Reveal, then a code).
        if (!view.lease?.dmRef) await leases.recordDm(ready.lease, (await notifier.send({ type: 'credentialsWaiting', request: view })) ?? null);
      } else {
        const dmRef = await notifier.send({ type: 'credentialsReady', request: view, credentials: ready.credentials });
        await leases.markDelivered(ready.lease, dmRef ?? null);
        // Ended while the message was on its way (before its ref was stored): take the password back now.
        if ((await leases.leaseById(ready.lease.id))?.revokedAt) {
          const ended = await requests.viewById(view.id);
          if (ended?.lease?.dmRef) await notifier.send({ type: 'credentialsRevoked', request: ended });
        }
      }
      await notifier.send({ type: 'accessActive', request: view });
    },

    async watchFirstLogin({ leaseId }) {
      const { started, expiresAt } = await leases.watchFirstLogin(leaseId);
      if (started) logger.info({ leaseId, expiresAt }, 'first login seen: the lease clock started');
    },

    async revoke({ leaseId }) {
      try {
        await leases.revoke(leaseId);
      } catch (error) {
        if (!(error instanceof RetryingFailure)) throw error;
        metrics.revocationFailed();
        if (ALERT_AT(error.attempts)) {
          const view = await requests.view(error.request);
          await notifier
            .send({ type: 'operationFailing', request: view, operation: 'revoke', attempts: error.attempts, error: publicMessage(error.cause) })
            .catch((alertError: unknown) => logger.error({ err: alertError }, 'could not alert about a failing revocation'));
        }
        throw error;
      }
    },

    expireRequest: ({ requestId }) => requests.expirePending(requestId),

    async notifyOffboarded(data) {
      const notice = await offboarding?.notice(data);
      if (notice) await notifier.send({ type: 'personOffboarded', ...notice });
    },

    async summarize({ leaseId }) {
      const lease = await leases.leaseById(leaseId);
      if (!lease) throw new UnrecoverableError('lease not found');
      // Reads what the target logged for this user, then compares it with the reason and the grant.
      const session = await analysis.runSession(leaseId);
      const view = await requests.viewById(lease.requestId);
      if (!view) return;
      if (view.lease?.dmRef) await notifier.send({ type: 'credentialsRevoked', request: view });
      await notifier.send({ type: 'sessionSummary', request: view, summary: summarizeSession(view) });
      if (session?.review) await notifier.send({ type: 'sessionFlagged', request: view });
      if (view.policy?.ticket && tickets && enqueue) await enqueue('ticketComment', { leaseId }, { jobId: `ticket-comment-${leaseId}`, later: true });
    },

    async ticketComment({ leaseId }) {
      const lease = await leases.leaseById(leaseId);
      const view = lease && (await requests.viewById(lease.requestId));
      if (!view || !tickets) return;
      await tickets.commentSummary(view, summarizeSession(view));
    },

    async collectQueries({ databaseId }) {
      const collected = await capture.collect(databaseId);
      if (collected.more) logger.info({ databaseId, stored: collected.stored }, 'query capture is behind; the next sweep reads on');
    },

    async sweep() {
      // First the inbox: an End access or an offboarding taken in by a process that died is carried out
      // now (ending the lease), and the lease sweep below finds it due in the same pass.
      const replayed = await inbox?.replay().catch((error: unknown) => logger.warn({ err: error }, 'inbox replay failed'));
      if (replayed && replayed.replayed + replayed.refused + replayed.failed > 0) logger.info(replayed, 'sweep replayed inbox intents left undone');
      const swept = await leases.sweep();
      if (swept.revocations + swept.expirations + swept.provisions + swept.cards > 0) logger.info(swept, 'sweep re-enqueued overdue work');
      // Bound tickets are read again at their tracker's poll interval (webhooks are the fast path).
      const polled = await tickets?.poll().catch((error: unknown) => logger.warn({ err: error }, 'ticket poll failed'));
      if (polled && polled.ended > 0) logger.info(polled, 'access ended: bound tickets were closed');
    },

    async exportAudit() {
      const sent = await auditExporter?.run(30_000);
      if (sent && Object.values(sent).some((n) => n > 0)) logger.debug({ sent }, 'audit events exported');
    },

    async checkpointAudit() {
      if (!audit) return;
      // What was appended since the last run is verified and its head signed as verified, so that
      // chat's and the report's verification (verifyRecent) start from there and stay short.
      for (const tenantId of await audit.tenantIds()) {
        await withTenant(tenantId, async () => {
          const verified = await audit.verifyRecent(tenantId);
          if (!verified.ok) logger.error({ tenantId, seq: verified.seq, problem: verified.problem }, 'the audit log is broken');
          await audit.checkpoint(tenantId);
        });
      }
    },

    async purgeHistory() {
      const removed = await retention?.purge();
      if (removed && Object.keys(removed).length > 0) logger.info({ removed }, 'history past its retention purged (audited per tenant)');
    },

    async reconcile() {
      const { dropped, failed, unreachable, unclaimed } = await leases.reconcile();
      if (unclaimed.length > 0) logger.warn({ unclaimed }, 'reconciler left users made before install ids that no lease of this install owns: drop them by hand if no other install holds their lease');
      if (dropped.length > 0) logger.warn({ dropped }, 'reconciler dropped users that no lease owned');
      // A connection the server ended (it stops, or restarts) is tried again on the next run.
      const lost = failed.filter((failure) => isLostConnection(failure.error));
      if (failed.length > lost.length) logger.error({ failed }, 'reconciler could not drop some users that no lease owns');
      else if (lost.length > 0) logger.debug({ failed }, 'reconciler lost its connection; the next run tries again');
      if (unreachable.length > 0) logger.warn({ unreachable }, 'reconciler could not reach some databases');
    },
  };
}
