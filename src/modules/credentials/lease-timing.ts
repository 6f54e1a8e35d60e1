import type { Db } from '../../db/client.js';
import type { Enqueue } from '../job-port.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import { lapsesAt } from '../access-requests/request-timing.js';
import type { AuditService } from '../audit/audit-service.js';
import type { CredentialProvider, Target } from './credential-types.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import type { LeaseTimingRepo } from './lease-timing-repo.js';

interface Deps {
  db: Db;
  requests: Pick<AccessRequestRepo, 'getById' | 'transition'>;
  leases: Pick<LeaseRepo, 'getById'>;
  timing: Pick<LeaseTimingRepo, 'startClock'>;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  providerFor: (databaseId: string) => Promise<{ target: Target; provider: CredentialProvider }>;
  externalLease: (lease: LeaseRow) => string | undefined;
  now: () => Date;
}

const revokeJobId = (leaseId: string) => `revoke-${leaseId}`;

/**
 * When access starts, on the lease side (request-timing.ts has the rules): the provision job's first
 * look at a scheduled or lapsed approval, and the first-login clock the sweep starts.
 */
export function createLeaseTiming({ db, requests, leases, timing, audit, enqueue, providerFor, externalLease, now }: Deps) {
  /**
   * Before provisioning: a lapsed approval ends (`lapsed`); a scheduled one waits for its start (the
   * job comes back then) or starts now (`approved`). Returns the request to provision, or why not.
   */
  async function admit(request: RequestRow): Promise<{ request: RequestRow } | { skipped: string }> {
    if (request.state !== 'scheduled' && request.state !== 'approved') return { request };
    const at = now();
    const lapse = lapsesAt(request);
    if (lapse && lapse <= at) {
      const lapsed = await db.transaction(async (tx) => {
        const row = await requests.transition(request.tenantId, request.id, 'lapse', { failure: 'The approval was not used in time.' }, tx);
        if (row) {
          await audit.record({
            tenantId: request.tenantId, actor: 'system', action: 'request.lapsed', subject: `request:${request.id}`, outcome: 'success',
            details: { from: request.state, approvedAt: (request.retriedAt ?? request.decidedAt)?.toISOString(), lapsedAt: lapse.toISOString(), ...(request.startsAt ? { startsAt: request.startsAt.toISOString() } : {}) },
          }, tx);
        }
        return row;
      });
      if (lapsed) await Promise.all([enqueue('syncCard', { requestId: request.id }), enqueue('notifyRequester', { requestId: request.id }, { jobId: `closed-${request.id}` })]);
      return { skipped: 'the approval lapsed' };
    }
    if (request.state === 'approved') return { request };
    if (request.startsAt && request.startsAt > at) {
      // Early (a job from before the clock moved, or run by hand): back at the start; the sweep also looks then.
      await enqueue('provision', { requestId: request.id }, { jobId: `provision-${request.id}-${request.startsAt.getTime()}`, delayMs: request.startsAt.getTime() - at.getTime() });
      return { skipped: 'scheduled for later' };
    }
    const started = await db.transaction(async (tx) => {
      const row = await requests.transition(request.tenantId, request.id, 'start', {}, tx);
      if (row) await audit.record({ tenantId: request.tenantId, actor: 'system', action: 'request.started', subject: `request:${request.id}`, outcome: 'success', details: { startsAt: request.startsAt?.toISOString() } }, tx);
      return row;
    });
    return started ? { request: started } : { skipped: 'the scheduled request moved on' };
  }

  /**
   * The sweep's look for a first connection (sessions open now, as the target lists them). Seen: the
   * clock starts now, the target learns the new expiry first (PostgreSQL's VALID UNTIL), then the row,
   * and the revocation is planned for it. Not seen: nothing; the lease ends at its wait deadline.
   */
  async function watchFirstLogin(leaseId: string): Promise<{ started: boolean; expiresAt?: Date }> {
    const lease = await leases.getById(leaseId);
    if (!lease?.firstLoginBy || lease.firstLoginAt || lease.revokedAt || lease.endReason || !lease.provisionedAt) return { started: false };
    const { target, provider } = await providerFor(lease.databaseId);
    if (!provider.sessionCount || (await provider.sessionCount(target, lease.username)) === 0) return { started: false };
    const request = await requests.getById(lease.requestId);
    if (!request) return { started: false };
    const at = now();
    if (at >= lease.expiresAt) return { started: false };
    const expiresAt = new Date(at.getTime() + request.durationSeconds * 1000);
    await provider.extend(target, lease.username, expiresAt, externalLease(lease));
    const started = await db.transaction(async (tx) => {
      const row = await timing.startClock(lease.tenantId, lease.id, at, expiresAt, tx);
      if (row) {
        await audit.record({
          tenantId: lease.tenantId, actor: 'job:sweep', action: 'lease.clock_started', subject: `lease:${lease.id}`, outcome: 'success',
          details: { request: lease.requestId, firstLoginAt: at.toISOString(), expiresAt: expiresAt.toISOString(), waitedUntil: lease.firstLoginBy!.toISOString() },
        }, tx);
      }
      return row;
    });
    if (!started) return { started: false };
    await Promise.all([
      enqueue('revoke', { leaseId }, { jobId: `${revokeJobId(leaseId)}-${expiresAt.getTime()}`, delayMs: expiresAt.getTime() - at.getTime() }),
      enqueue('syncCard', { requestId: lease.requestId }),
    ]);
    return { started: true, expiresAt };
  }

  return { admit, watchFirstLogin };
}
