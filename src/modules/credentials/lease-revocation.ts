import type { Db, SessionLocks } from '../../db/client.js';
import type { Enqueue, EnqueueMany } from '../job-port.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import { TRANSITIONS } from '../access-requests/access-request-state.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { CredentialProvider, Target } from './credential-types.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import { engineOf } from './engines/registry.js';
import { revokeJobId } from './lease-sweep.js';
import { RetryingFailure } from './retrying-failure.js';

interface Deps {
  db: Db;
  requests: Pick<AccessRequestRepo, 'transition'>;
  leases: Pick<LeaseRepo, 'getById' | 'byRequest' | 'update' | 'getWithRequest' | 'getManyWithRequest' | 'startRevokingMany' | 'finishRevocation' | 'finishRevocations' | 'countFailedAttempt'>;
  audit: Pick<AuditService, 'record' | 'recordedAmong'>;
  enqueue: Enqueue;
  enqueueMany: EnqueueMany;
  /** Held by one process at a time, whatever the others do (revocations). */
  locks: Pick<SessionLocks, 'tryLock' | 'unlock' | 'tryLockMany' | 'unlockMany'>;
  providerFor: (databaseId: string) => Promise<{ target: Target; provider: CredentialProvider }>;
  externalLease: (lease: LeaseRow) => string | undefined;
  now: () => Date;
}

/** The session locks' space for revocations (one per lease; see revoke). */
const REVOKING = 21;

/** The revocation's event: one per lease, recorded before the lease is marked revoked. */
const REVOKED = 'lease.revoked';
const subjectOf = (lease: { id: string }) => `lease:${lease.id}`;

/** Most revocations one batch takes (the workers run 50 jobs at once), and batches run at once. */
const MAX_REVOKE_BATCH = 100;
const MAX_BATCHES_IN_FLIGHT = 2;

/**
 * A request that `startRevoking` would move has had no attempt yet: every attempt moves it before it
 * records anything. Any other (revoking, revoke_failed, or ended otherwise: failed, cancelled) may
 * have had one that recorded its event and was cut off before marking the lease.
 */
const triedBefore = (request: RequestRow) => !(TRANSITIONS.startRevoking.from as readonly string[]).includes(request.state);

/** Why a lease ended, when nobody ended it: its time ran out, or (clock at first login) nobody logged in in time. */
const endReasonOf = (lease: { endReason: string | null; firstLoginBy: Date | null; firstLoginAt: Date | null }) =>
  lease.endReason ?? (lease.firstLoginBy && !lease.firstLoginAt ? 'no-login' : 'expired');

/**
 * The end of a lease: the user dropped on its target once, however many processes try (batched when
 * many expire together), an end asked for by a person (the requester, an approver, an operator, an
 * offboarding), and the failures that keep being retried.
 */
export function createLeaseRevocation({ db, requests, leases, audit, enqueue, enqueueMany, locks, providerFor, externalLease, now }: Deps) {
  type RevokeOutcome = { revoked: boolean; sessionsKilled: number; busy?: boolean };
  interface PendingRevoke {
    leaseId: string;
    actor: string;
    resolve: (outcome: RevokeOutcome) => void;
    reject: (error: unknown) => void;
  }
  const waiting: PendingRevoke[] = [];
  let batchesInFlight = 0;

  /** Starts a batch with what waits, while fewer than MAX_BATCHES_IN_FLIGHT run. */
  function startBatches(): void {
    while (waiting.length > 0 && batchesInFlight < MAX_BATCHES_IN_FLIGHT) {
      const batch = waiting.splice(0, MAX_REVOKE_BATCH);
      batchesInFlight += 1;
      void revokeBatch(batch).finally(() => {
        batchesInFlight -= 1;
        startBatches();
      });
    }
  }

  /**
   * Revokes the lease's user, once however many processes try at the same moment: the first takes the
   * lease's lock, the others return `busy` (the holder finishes, or fails and is retried by the
   * workers; a holder that dies lets go with its connection, and the sweep comes back).
   *
   * Revocations asked for together (a mass expiry: the workers run 50 jobs at once) go as one batch on
   * the app's side, as they do on the target's: one read, one lock statement, one state update before
   * and one after, one group-committed audit append and one bulk add of what follows, for the batch.
   * A failure is still each lease's own (its attempts, its alert, its retry).
   */
  function revoke(leaseId: string, actor = 'job:revoke'): Promise<RevokeOutcome> {
    return new Promise<RevokeOutcome>((resolve, reject) => {
      waiting.push({ leaseId, actor, resolve, reject });
      // After the current turn: revocations asked for together share a batch.
      if (waiting.length === 1) setImmediate(startBatches);
    });
  }

  /** Settles every caller of the batch; never throws. */
  async function revokeBatch(batch: PendingRevoke[]): Promise<void> {
    const settled = new Set<PendingRevoke>();
    const settle = (pending: PendingRevoke, outcome: RevokeOutcome | { error: unknown }) => {
      if (settled.has(pending)) return;
      settled.add(pending);
      if ('error' in outcome) pending.reject(outcome.error);
      else pending.resolve(outcome);
    };
    let locked = new Set<string>();
    try {
      // Looked at before the lock, so that a job too early holds nothing (endNow takes it then).
      const before = new Map((await leases.getManyWithRequest([...new Set(batch.map((p) => p.leaseId))])).map((row) => [row.lease.id, row]));
      const due: PendingRevoke[] = [];
      const seen = new Set<string>();
      for (const pending of batch) {
        const found = before.get(pending.leaseId);
        if (!found || found.lease.revokedAt) settle(pending, { revoked: false, sessionsKilled: 0 });
        else if (found.lease.expiresAt > now() && !found.lease.endReason) {
          // Early by the clock (a delayed job whose lease was extended): come back at the expiry.
          const { expiresAt } = found.lease;
          await enqueue('revoke', { leaseId: pending.leaseId }, { jobId: `${revokeJobId(pending.leaseId)}-${expiresAt.getTime()}`, delayMs: expiresAt.getTime() - now().getTime() });
          settle(pending, { revoked: false, sessionsKilled: 0 });
        } else if (seen.has(pending.leaseId)) settle(pending, { revoked: false, sessionsKilled: 0, busy: true });
        else {
          seen.add(pending.leaseId);
          due.push(pending);
        }
      }
      if (due.length === 0) return;
      locked = await locks.tryLockMany(REVOKING, due.map((p) => p.leaseId));
      const mine = due.filter((pending) => {
        if (!locked.has(pending.leaseId)) settle(pending, { revoked: false, sessionsKilled: 0, busy: true });
        return locked.has(pending.leaseId);
      });
      if (mine.length === 0) return;
      // Looked at again under the lock: the last holder may have revoked it.
      const current = new Map((await leases.getManyWithRequest(mine.map((p) => p.leaseId))).map((row) => [row.lease.id, row]));
      const work = mine.flatMap((pending) => {
        const found = current.get(pending.leaseId);
        if (!found || found.lease.revokedAt) {
          settle(pending, { revoked: false, sessionsKilled: 0 });
          return [];
        }
        return [{ pending, ...found }];
      });
      await leases.startRevokingMany(work.map(({ request }) => ({ tenantId: request.tenantId, id: request.id })));
      const dropped = await Promise.all(
        work.map(async (item) => {
          try {
            return { ...item, sessionsKilled: await dropUser(item.lease) };
          } catch (error) {
            // Its attempts counted and audited: the job retries it (RetryingFailure), alone.
            settle(item.pending, { error: await revocationFailed(item.lease, item.request, item.pending.actor, error).catch((failure: unknown) => failure) });
            return undefined;
          }
        }),
      );
      const done = dropped.filter((item): item is NonNullable<typeof item> => item !== undefined);
      // Events first, then the leases marked (see revokeHeld): an event is never lost, nor recorded twice.
      const recordedBefore = await recordedEarlier(done);
      const toRecord = done.filter((item) => !recordedBefore.has(item.lease.id));
      const recorded = await Promise.allSettled(
        toRecord.map(({ lease, request, pending, sessionsKilled }) =>
          audit.record({ tenantId: lease.tenantId, actor: pending.actor, action: REVOKED, subject: subjectOf(lease), outcome: 'success', details: { request: request.id, username: lease.username, endReason: endReasonOf(lease), sessionsKilled } }),
        ),
      );
      const toFinish = done.filter((item) => {
        if (recordedBefore.has(item.lease.id)) return true;
        const result = recorded[toRecord.indexOf(item)]!;
        if (result.status === 'rejected') settle(item.pending, { error: result.reason });
        return result.status === 'fulfilled';
      });
      const finished = await leases.finishRevocations(toFinish.map(({ lease }) => ({ tenantId: lease.tenantId, id: lease.id, endReason: endReasonOf(lease) })));
      const ours = toFinish.filter((item) => finished.has(item.lease.id));
      // The users are gone; telling people waits behind any other revocation still queued.
      await enqueueMany(
        ours.flatMap(({ lease, request }) => [
          { name: 'syncCard' as const, data: { requestId: request.id }, options: { later: true } },
          // A lease that never got its user (a failed provisioning) has no session to summarize.
          ...(lease.provisionedAt ? [{ name: 'summarize' as const, data: { leaseId: lease.id }, options: { jobId: `summarize-${lease.id}`, later: true } }] : []),
        ]),
      );
      for (const item of toFinish) settle(item.pending, { revoked: finished.has(item.lease.id), sessionsKilled: item.sessionsKilled });
    } catch (error) {
      for (const pending of batch) settle(pending, { error });
    } finally {
      await locks.unlockMany(REVOKING, [...locked]).catch(() => undefined);
      for (const pending of batch) settle(pending, { error: new Error('revocation batch ended without an outcome') });
    }
  }

  /**
   * The leases (of those whose users were just dropped) whose revocation event an earlier attempt
   * committed without marking them: the state database went away in between, or the commit's answer
   * was lost. Asked only for leases tried before, so a first revocation (a mass expiry) pays no round
   * trip. The revocation's own event, not a person's decision filed under the same action (an
   * approver's End access, `revoke-all`, an offboarding), which counts no sessions. The user is
   * dropped all the same: a lease revoked while its user was being made is opened again for the user
   * that came after (provision-guard.ts), and that drop is the same revocation, recorded once.
   */
  async function recordedEarlier(items: Array<{ lease: LeaseRow; request: RequestRow }>): Promise<Set<string>> {
    const again = items.filter(({ request }) => triedBefore(request));
    if (again.length === 0) return new Set();
    const found = await audit.recordedAmong(REVOKED, 'sessionsKilled', again.map(({ lease }) => ({ tenantId: lease.tenantId, subject: subjectOf(lease) })));
    return new Set(again.filter(({ lease }) => found.has(`${lease.tenantId}:${subjectOf(lease)}`)).map(({ lease }) => lease.id));
  }

  /** Drops the lease's user on its target: the sessions it killed. */
  async function dropUser(lease: LeaseRow): Promise<number> {
    const { target, provider } = await providerFor(lease.databaseId);
    // A user that was never issued (Vault's placeholder name) has nothing to revoke anywhere.
    const neverIssued = !lease.provisionedAt && !lease.externalLeaseSealed && Boolean(engineOf(target.entry).neverMade?.(lease.username));
    return neverIssued ? 0 : (await provider.revoke(target, lease.username, externalLease(lease))).sessionsKilled;
  }

  /** A failed attempt: counted, audited, and after the third the request shows it (revokeFailed). */
  async function revocationFailed(lease: LeaseRow, request: RequestRow, actor: string, error: unknown): Promise<never> {
    const attempts = await leases.countFailedAttempt(lease.tenantId, lease.id, (error as Error).message);
    if (attempts >= 3 && (await requests.transition(request.tenantId, request.id, 'revokeFailed'))) {
      await enqueue('syncCard', { requestId: request.id });
    }
    await audit.record({ tenantId: lease.tenantId, actor, action: 'lease.revoke', subject: `lease:${lease.id}`, outcome: 'failure', details: { attempts, error: (error as Error).message } });
    throw new RetryingFailure(error, attempts, request);
  }

  /** The revocation itself, under the lease's lock: looked at again (the last holder may have revoked it). */
  async function revokeHeld(leaseId: string, actor: string): Promise<{ revoked: boolean; sessionsKilled: number }> {
    const found = await leases.getWithRequest(leaseId);
    if (!found || found.lease.revokedAt) return { revoked: false, sessionsKilled: 0 };
    const { lease, request } = found;
    await requests.transition(request.tenantId, request.id, 'startRevoking');
    let sessionsKilled: number;
    try {
      sessionsKilled = await dropUser(lease);
    } catch (error) {
      return revocationFailed(lease, request, actor, error);
    }
    // The event is committed first, group-committed with the tenant's other appends and outside any
    // transaction (no lock or connection held while the chain is busy), then the lease is marked: a
    // lease is never revoked without its event. A crash or error in between leaves the lease due; the
    // next attempt drops the user again (the provider finds it gone), finds the event (recordedEarlier)
    // and only marks the lease: one event, never lost.
    // A first-login clock that no connection started ends unused at its wait deadline.
    const endReason = endReasonOf(lease);
    if ((await recordedEarlier([found])).size === 0) {
      await audit.record({ tenantId: lease.tenantId, actor, action: REVOKED, subject: subjectOf(lease), outcome: 'success', details: { request: request.id, username: lease.username, endReason, sessionsKilled } });
    }
    if (!(await leases.finishRevocation(lease.tenantId, lease.id, endReason))) return { revoked: false, sessionsKilled };
    // The user is gone; telling people waits behind any other revocation still queued.
    await Promise.all([
      enqueue('syncCard', { requestId: request.id }, { later: true }),
      // A lease that never got its user (a failed provisioning) has no session to summarize.
      ...(lease.provisionedAt ? [enqueue('summarize', { leaseId }, { jobId: `summarize-${leaseId}`, later: true })] : []),
    ]);
    return { revoked: true, sessionsKilled };
  }
  /** Ends access now: the requester themself, or an approver. Idempotent. */
  async function endEarly(actor: Actor, request: RequestRow): Promise<void> {
    const lease = await leases.byRequest(actor.tenantId, request.id);
    if (!lease) {
      // Approved but not provisioned yet: nothing to drop; the provision job will see the state.
      await requests.transition(actor.tenantId, request.id, 'startRevoking');
      await requests.transition(actor.tenantId, request.id, 'finishRevoking');
      await enqueue('syncCard', { requestId: request.id });
      return;
    }
    if (lease.revokedAt) return;
    const ender = actor.userId === request.requesterId ? 'ended' : 'revoked';
    await db.transaction(async (tx) => {
      await leases.update(actor.tenantId, lease.id, { expiresAt: now(), endReason: ender, endedBy: actor.userId }, tx);
      await audit.record({ tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: `lease.${ender}`, subject: `lease:${lease.id}`, outcome: 'success', details: { request: request.id } }, tx);
    });
    // The lease's revocation job, brought forward (or added again): one job per lease, not two racing.
    await enqueue('revoke', { leaseId: lease.id }, { jobId: revokeJobId(lease.id), takeOver: true });
  }

  /**
   * Ends a live lease and revokes it here and now, for someone waiting on the answer (an operator's
   * revoke-all, an offboarding). The lease's lock is taken before `end` makes it due, so the workers'
   * sweep, which finds it due from then on, leaves it to this process; one of theirs revoking it
   * already (it was due anyway): theirs it is (`busy`). `end` false: it had ended already. A failure
   * is left to the workers, as every revocation is.
   */
  async function endAndRevoke(leaseId: string, actor: string, end: () => Promise<boolean>): Promise<{ ended: boolean; revoked: boolean; sessionsKilled: number; busy?: boolean }> {
    if (!(await locks.tryLock(REVOKING, leaseId))) return { ended: false, revoked: false, sessionsKilled: 0, busy: true };
    let held = true;
    const release = async () => {
      if (held) await locks.unlock(REVOKING, leaseId);
      held = false;
    };
    try {
      if (!(await end())) return { ended: false, revoked: false, sessionsKilled: 0 };
      return { ended: true, ...(await revokeHeld(leaseId, actor)) };
    } catch (error) {
      // Let go first, or the worker would find it held and leave it to the sweep.
      await release();
      await enqueue('revoke', { leaseId }, { jobId: revokeJobId(leaseId), takeOver: true });
      throw error;
    } finally {
      await release();
    }
  }

  /** Emergency (`dbaccess revoke-all`): an operator ends a live lease now, recorded as their decision. */
  async function endNow(leaseId: string, operator: string): Promise<{ revoked: boolean; sessionsKilled: number; busy?: boolean }> {
    const lease = await leases.getById(leaseId);
    if (!lease || lease.revokedAt) return { revoked: false, sessionsKilled: 0 };
    const { ended: _, ...outcome } = await endAndRevoke(lease.id, `cli:${operator}`, async () => {
      const at = now();
      await db.transaction(async (tx) => {
        await leases.update(lease.tenantId, lease.id, { expiresAt: lease.expiresAt < at ? lease.expiresAt : at, endReason: lease.endReason ?? 'emergency' }, tx);
        await audit.record(
          { tenantId: lease.tenantId, actor: `cli:${operator}`, action: 'lease.revoked', subject: `lease:${lease.id}`, outcome: 'success', details: { request: lease.requestId, command: 'revoke-all' } },
          tx,
        );
      });
      return true;
    });
    return outcome;
  }

  return { revoke, endEarly, endAndRevoke, endNow };
}
