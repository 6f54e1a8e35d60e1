import { TransactionRollbackError } from 'drizzle-orm';
import type { CatalogSet } from '../../config/catalog.js';
import type { Db, SessionLocks } from '../../db/client.js';
import type { SecretBox } from '../../lib/crypto.js';
import { generatePassword } from '../../lib/crypto.js';
import { Secret } from '../../lib/secret.js';
import { forbidden, notFound } from '../../lib/errors.js';
import { randomCode } from '../../lib/ids.js';
import type { Enqueue, EnqueueMany } from '../job-port.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import { LIVE_STATES, type RequestState } from '../access-requests/access-request-state.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { Credentials } from './credentials.js';
import { parseStoredScope } from './scope.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import type { TargetResolver } from './targets.js';
import { engineOf, serverEngineOf, type ProviderRegistry } from './engines/registry.js';
import { asSystem } from '../../db/tenant-scope.js';
import type { CaptureMethod } from '../capture/capture-types.js';
import { createLeaseSweeper, revokeJobId } from './lease-sweep.js';
import { MAX_PERMANENT_ATTEMPTS, failureReason, isPermanentFailure } from './provision-failure.js';
import { createProvisionGuard } from './provision-guard.js';
import { leaseClock } from '../access-requests/request-timing.js';
import { createLeaseTiming } from './lease-timing.js';
import { createLeaseTimingRepo } from './lease-timing-repo.js';

interface Deps {
  db: Db;
  requests: AccessRequestRepo;
  leases: LeaseRepo;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  /** What follows a batch of revocations, added in one round trip (falls back to `enqueue` one by one). */
  enqueueMany?: EnqueueMany;
  providers: Pick<ProviderRegistry, 'of'>;
  resolveTarget: TargetResolver;
  secrets: SecretBox;
  /** The whole catalog: a lease names its database, which belongs to one tenant's section. */
  catalogs: () => CatalogSet;
  /** Held by one process at a time, whatever the others do (revocations). */
  locks: Pick<SessionLocks, 'tryLock' | 'unlock' | 'tryLockMany' | 'unlockMany'>;
  now?: () => Date;
}

export type ProvisionOutcome =
  | { kind: 'active'; request: RequestRow; lease: LeaseRow }
  | { kind: 'skipped'; why: string }
  | { kind: 'extended'; request: RequestRow }
  | { kind: 'too-late'; request: RequestRow }
  /** A permanent failure (provision-failure.ts): the request is `failed`, nothing is left on the target. */
  | { kind: 'failed'; request: RequestRow };

/** The session locks' space for revocations (one per lease; see revoke). */
const REVOKING = 21;

/** Most revocations one batch takes (the workers run 50 jobs at once), and batches run at once. */
const MAX_REVOKE_BATCH = 100;
const MAX_BATCHES_IN_FLIGHT = 2;

/** A failure that keeps being retried, with how many attempts have failed so far. */
export class RetryingFailure extends Error {
  constructor(override readonly cause: unknown, readonly attempts: number, readonly request: RequestRow) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * Temporary users: provisioning after approval, delivery of the secret, revocation at expiry or on
 * demand, the sweep that makes revocation independent of the queue, and the reconciler of orphans.
 */
/** Why a lease ended, when nobody ended it: its time ran out, or (clock at first login) nobody logged in in time. */
const endReasonOf = (lease: { endReason: string | null; firstLoginBy: Date | null; firstLoginAt: Date | null }) =>
  lease.endReason ?? (lease.firstLoginBy && !lease.firstLoginAt ? 'no-login' : 'expired');

export function createLeaseService(deps: Deps) {
  const { db, requests, leases, audit, enqueue, providers, resolveTarget, secrets, catalogs, locks, now = () => new Date() } = deps;
  const enqueueMany: EnqueueMany = deps.enqueueMany ?? (async (jobs) => {
    await Promise.all(jobs.map((job) => enqueue(job.name, job.data as never, job.options)));
  });
  const guard = createProvisionGuard({ requests, leases, enqueue, now });
  const timingRepo = createLeaseTimingRepo({ db });
  const sweeper = createLeaseSweeper({ requests, leases, timing: timingRepo, enqueue, catalogs, now, providerFor: (databaseId) => providerFor(databaseId) });
  const databaseEntry = (databaseId: string) => catalogs().ofDatabase(databaseId)?.database(databaseId);
  /** `<prefix><10 random characters>` as the engine allows (a placeholder where Vault names the user). */
  const newUsername = (databaseId: string, prefix: string) => {
    const entry = databaseEntry(databaseId);
    const random = randomCode(10).toLowerCase();
    return entry ? engineOf(entry).userName(entry, prefix, random) : `${prefix}${random}`;
  };
  /** Fixed at provision for the life of the lease; engines that cannot record (Vault's users) record nothing. */
  const captureMethodOf = (databaseId: string): CaptureMethod => {
    const entry = databaseEntry(databaseId);
    return entry && engineOf(entry).captureMethods.includes(entry.capture) ? entry.capture : 'none';
  };
  const externalLease = (lease: LeaseRow) => (lease.externalLeaseSealed ? secrets.open(lease.externalLeaseSealed) : undefined);
  const providerFor = async (databaseId: string) => {
    const target = await resolveTarget(databaseId);
    return { target, provider: providers.of(target.entry) };
  };
  /** Scheduled starts, lapsed approvals and the first-login clock (lease-timing.ts). */
  const timing = createLeaseTiming({ db, requests, leases, timing: timingRepo, audit, enqueue, providerFor, externalLease, now });

  /** `attempt`: the how-manieth try of this job (1 = first), for the permanent-failure limit. */
  async function provision(requestId: string, attempt = 1): Promise<ProvisionOutcome> {
    const found = await requests.getById(requestId);
    if (!found) return { kind: 'skipped', why: 'request not found' };
    // A lapsed approval ends here; a scheduled one waits for its start (or starts now).
    const admitted = await timing.admit(found);
    if ('skipped' in admitted) return { kind: 'skipped', why: admitted.skipped };
    const { request } = admitted;
    if (request.kind === 'extension') {
      if (request.state !== 'approved') return { kind: 'skipped', why: `extension is ${request.state}` };
      const { applied } = await applyExtension(request);
      return applied ? { kind: 'extended', request } : { kind: 'skipped', why: 'nothing left to extend' };
    }
    if (request.state !== 'approved' && request.state !== 'provisioning') return { kind: 'skipped', why: `request is ${request.state}` };
    const section = catalogs().ofDatabase(request.databaseId);
    const prefix = section?.catalog.settings.userPrefix ?? 'dba_';
    // The clock starts at approval or the scheduled start (after an admin's Retry: now), or at the first
    // login (expiring meanwhile at its deadline); the row (with the user name) exists before the user does.
    // An engine that cannot list sessions (Vault's) could never see the first login: its clock starts at approval.
    const entry = databaseEntry(request.databaseId);
    const seesSessions = Boolean(entry && providers.of(entry).sessionCount);
    const { expiresAt, firstLoginBy } = leaseClock(seesSessions ? request : { ...request, policy: request.policy && { ...request.policy, firstLoginWaitSeconds: undefined } }, now());
    const lease = await db.transaction(async (tx) => {
      const row = await leases.insertOnce(
        { tenantId: request.tenantId, requestId, databaseId: request.databaseId, username: newUsername(request.databaseId, prefix), expiresAt, firstLoginBy, captureMethod: captureMethodOf(request.databaseId) },
        tx,
      );
      // Cancelled since it was read: the lease goes with the transaction, and no user is made.
      return (await requests.transition(request.tenantId, requestId, 'startProvisioning', {}, tx)) ? row : tx.rollback();
    }).catch((error: unknown) => {
      if (error instanceof TransactionRollbackError) return undefined;
      throw error;
    });
    if (!lease) return { kind: 'skipped', why: 'request ended before provisioning' };
    const tooLate = async (why: string): Promise<ProvisionOutcome> => {
      const failed = await requests.transition(request.tenantId, requestId, 'fail', { failure: 'The approved time ran out before the database could be reached.' });
      if (failed) await leases.update(request.tenantId, lease.id, { endReason: 'failed' });
      await audit.record({ tenantId: request.tenantId, actor: 'job:provision', action: 'lease.provision', subject: `lease:${lease.id}`, outcome: 'failure', details: { why } });
      // Closed through a revocation, not just marked: an earlier attempt that gave up on a frozen target
      // may have made the user after all (its statements waited on the way and ran when the target came
      // back). A revocation that cannot run now leaves the lease due, and the sweep takes it up.
      await revoke(lease.id, 'job:provision').catch(() => undefined);
      return failed ? { kind: 'too-late', request: failed } : { kind: 'skipped', why: 'already failed' };
    };
    if (lease.expiresAt <= now()) return tooLate('expired before provisioning');

    let password = new Secret(generatePassword());
    let statements: string[];
    let leftOut: string[] = [];
    let username = lease.username;
    let externalLeaseSealed: string | null = null;
    try {
      const { target: catalogTarget, provider } = await providerFor(request.databaseId);
      // A source-host rule narrows where a MySQL user may connect from.
      const hosts = request.policy?.hostPatterns;
      const target = hosts?.length ? { ...catalogTarget, entry: { ...catalogTarget.entry, allowedHosts: hosts } } : catalogTarget;
      const result = await provider.provision(target, {
        username: lease.username, password: password.reveal(), expiresAt: lease.expiresAt, level: request.level,
        privileges: section?.level(request.level)?.privileges, scope: parseStoredScope(request.scope), prefix,
        capture: lease.captureMethod as CaptureMethod,
      });
      statements = result.statements;
      leftOut = result.leftOut ?? [];
      if (result.issued) {
        // Vault chose the user: record what it issued (its lease id sealed, for renew and revoke).
        username = result.issued.username;
        password = new Secret(result.issued.password);
        externalLeaseSealed = secrets.seal(result.issued.externalLeaseId);
      }
    } catch (error) {
      if (await guard.dropIfEnded(lease)) return { kind: 'skipped', why: 'request ended during provisioning' };
      const permanent = isPermanentFailure(error);
      await audit.record({ tenantId: request.tenantId, actor: 'job:provision', action: 'lease.provision', subject: `lease:${lease.id}`, outcome: 'failure', details: { error: (error as Error).message, attempt, permanent } });
      if (permanent && attempt >= MAX_PERMANENT_ATTEMPTS) {
        const failed = await failProvisioning(request, lease, error);
        if (failed) return { kind: 'failed', request: failed };
      }
      throw new RetryingFailure(error, attempt, request);
    }
    // The approved time ran out while the user was being made (a slow or held target): it is not handed
    // out, it is dropped, and the request fails with the reason (the sweep leaves such a lease to us).
    if (lease.expiresAt <= now()) {
      if (await guard.dropIfEnded(lease, { username, externalLeaseSealed })) return { kind: 'skipped', why: 'request ended during provisioning' };
      // What Vault issued, so that the revocation drops that user.
      if (externalLeaseSealed) await leases.update(request.tenantId, lease.id, { username, externalLeaseSealed });
      return tooLate('expired during provisioning');
    }

    const active = await db.transaction(async (tx) => {
      const updatedLease = await leases.update(request.tenantId, lease.id, { username, externalLeaseSealed, passwordSealed: secrets.seal(password.reveal()), provisionedAt: now() }, tx);
      const updatedRequest = await requests.transition(request.tenantId, requestId, 'activate', { leftOut }, tx);
      await audit.record(
        { tenantId: request.tenantId, actor: 'job:provision', action: 'lease.provisioned', subject: `lease:${lease.id}`, outcome: 'success', details: { request: requestId, username, expiresAt: lease.expiresAt.toISOString(), statements, ...(leftOut.length > 0 ? { leftOut } : {}) } },
        tx,
      );
      return { lease: updatedLease!, request: updatedRequest };
    });
    if (!active.request) {
      // Ended while we were creating the user (cancelled, revoked early): make sure it goes.
      await guard.dropIfEnded(lease, { username, externalLeaseSealed });
      return { kind: 'skipped', why: 'request ended during provisioning' };
    }
    await Promise.all([
      enqueue('deliver', { leaseId: lease.id }, { jobId: `deliver-${lease.id}` }),
      enqueue('revoke', { leaseId: lease.id }, { jobId: revokeJobId(lease.id), delayMs: lease.expiresAt.getTime() - now().getTime() }),
      enqueue('syncCard', { requestId }),
      // A first look at once: it fixes the log position (and pg_stat_statements' role oid) while the
      // user exists, so even a session ended within seconds is summarized.
      ...(lease.captureMethod !== 'none' ? [enqueue('collectQueries', { databaseId: request.databaseId }, { jobId: `collect-${request.databaseId}-start-${lease.id}` })] : []),
    ]);
    return { kind: 'active', request: active.request, lease: active.lease };
  }

  /**
   * A permanent failure: the request ends as `failed` with the reason (audited), and the lease is
   * closed through a revocation, so that anything an attempt made on the target is dropped. A
   * revocation that cannot run now leaves the lease due: the sweep takes it up, as any other.
   */
  async function failProvisioning(request: RequestRow, lease: LeaseRow, error: unknown): Promise<RequestRow | undefined> {
    const failure = failureReason(error);
    const failed = await db.transaction(async (tx) => {
      const row = await requests.transition(request.tenantId, request.id, 'fail', { failure }, tx);
      if (!row) return undefined;
      await leases.update(request.tenantId, lease.id, { expiresAt: now(), endReason: 'failed' }, tx);
      await audit.record({ tenantId: request.tenantId, actor: 'job:provision', action: 'request.failed', subject: `request:${request.id}`, outcome: 'failure', details: { lease: lease.id, reason: failure } }, tx);
      return row;
    });
    if (failed) await revoke(lease.id, 'job:provision').catch(() => undefined);
    return failed;
  }

  /** The credentials to send, once: the sealed password is wiped when delivery is recorded. */
  async function credentialsFor(leaseId: string): Promise<{ request: RequestRow; lease: LeaseRow; credentials: Credentials } | undefined> {
    const lease = await leases.getById(leaseId);
    if (!lease?.passwordSealed || lease.revokedAt) return undefined;
    const request = (await requests.getById(lease.requestId))!;
    const entry = databaseEntry(lease.databaseId);
    if (!entry) throw notFound(`Database ${lease.databaseId}`);
    return {
      request,
      lease,
      credentials: {
        protocol: serverEngineOf(entry).name,
        host: entry.host, port: entry.port, database: entry.database, username: lease.username,
        password: new Secret(secrets.open(lease.passwordSealed)), expiresAt: lease.expiresAt,
      },
    };
  }

  /**
   * The credentials of the requester's own live lease, for the Reveal step (after MFA): only while
   * the password has not been shown yet.
   */
  async function credentialsForRequester(actor: Actor, requestId: string) {
    const lease = await leases.byRequest(actor.tenantId, requestId);
    const request = await requests.get(actor.tenantId, requestId);
    if (!lease || !request || request.requesterId !== actor.userId) throw notFound(`Request ${requestId}`);
    const ready = await credentialsFor(lease.id);
    if (!ready) throw forbidden(lease.revokedAt ? 'This access has ended; the credentials no longer exist.' : 'These credentials were already revealed.');
    return ready;
  }

  /**
   * The credentials of the requester's own live lease for their signed-in terminal (`dbaccess
   * connect`), when the request asked for that delivery. Unlike a DM, nothing keeps them on a screen:
   * the password stays sealed while the lease lives, so that `connect` can open another session on it,
   * and is wiped when the lease ends. Every hand-over is audited with the token that took it.
   */
  async function credentialsForCli(actor: Actor, requestId: string, tokenId: string) {
    const lease = await leases.byRequest(actor.tenantId, requestId);
    const request = await requests.get(actor.tenantId, requestId);
    if (!lease || !request || request.requesterId !== actor.userId) throw notFound(`Request ${requestId}`);
    if (request.delivery !== 'cli') throw forbidden(`The credentials of ${requestId} went to your direct messages; request again from the terminal to connect from it.`);
    const ready = await credentialsFor(lease.id);
    if (!ready) throw forbidden('This access has ended; the credentials no longer exist.');
    await db.transaction(async (tx) => {
      if (!lease.deliveredAt) await leases.update(lease.tenantId, lease.id, { deliveredAt: now() }, tx);
      await audit.record({ tenantId: lease.tenantId, actor: `user:${actor.userId}`, action: 'lease.delivered', subject: `lease:${lease.id}`, outcome: 'success', details: { channel: 'cli session', token: tokenId } }, tx);
    });
    return ready;
  }

  async function recordDm(lease: LeaseRow, dmRef: LeaseRow['dmRef']): Promise<void> {
    await leases.update(lease.tenantId, lease.id, { dmRef });
  }

  async function markDelivered(lease: LeaseRow, dmRef: LeaseRow['dmRef']): Promise<void> {
    await db.transaction(async (tx) => {
      await leases.update(lease.tenantId, lease.id, { passwordSealed: null, deliveredAt: now(), dmRef }, tx);
      await audit.record({ tenantId: lease.tenantId, actor: 'job:deliver', action: 'lease.delivered', subject: `lease:${lease.id}`, outcome: 'success', details: { channel: 'direct message' } }, tx);
    });
  }

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
      // Events first, then the leases marked (see revokeHeld): an event may be repeated, never lost.
      const recorded = await Promise.allSettled(
        done.map(({ lease, request, pending, sessionsKilled }) =>
          audit.record({ tenantId: lease.tenantId, actor: pending.actor, action: 'lease.revoked', subject: `lease:${lease.id}`, outcome: 'success', details: { request: request.id, username: lease.username, endReason: endReasonOf(lease), sessionsKilled } }),
        ),
      );
      const toFinish = done.filter((item, i) => {
        const result = recorded[i]!;
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
    // lease is never revoked without its event. A crash or error in between leaves the lease due, so
    // the sweep revokes it again (the provider finds the user gone) and records it again: an event may
    // be repeated, never lost.
    // A first-login clock that no connection started ends unused at its wait deadline.
    const endReason = endReasonOf(lease);
    await audit.record({ tenantId: lease.tenantId, actor, action: 'lease.revoked', subject: `lease:${lease.id}`, outcome: 'success', details: { request: request.id, username: lease.username, endReason, sessionsKilled } });
    if (!(await leases.finishRevocation(lease.tenantId, lease.id, endReason))) return { revoked: false, sessionsKilled };
    // The user is gone; telling people waits behind any other revocation still queued.
    await Promise.all([
      enqueue('syncCard', { requestId: request.id }, { later: true }),
      // A lease that never got its user (a failed provisioning) has no session to summarize.
      ...(lease.provisionedAt ? [enqueue('summarize', { leaseId }, { jobId: `summarize-${leaseId}`, later: true })] : []),
    ]);
    return { revoked: true, sessionsKilled };
  }

  /**
   * Moves the expiry of a live lease: same user, same password, open sessions untouched. The delayed
   * revoke job finds the later expiry when it fires and comes back then.
   */
  async function extend(lease: LeaseRow, expiresAt: Date, actor: string): Promise<LeaseRow> {
    const { target, provider } = await providerFor(lease.databaseId);
    await provider.extend(target, lease.username, expiresAt, externalLease(lease));
    const updated = await db.transaction(async (tx) => {
      const row = await leases.update(lease.tenantId, lease.id, { expiresAt }, tx);
      await audit.record(
        { tenantId: lease.tenantId, actor, action: 'lease.extended', subject: `lease:${lease.id}`, outcome: 'success', details: { from: lease.expiresAt.toISOString(), to: expiresAt.toISOString() } },
        tx,
      );
      return row!;
    });
    await Promise.all([
      enqueue('revoke', { leaseId: lease.id }, { jobId: `${revokeJobId(lease.id)}-${expiresAt.getTime()}`, delayMs: expiresAt.getTime() - now().getTime() }),
      enqueue('syncCard', { requestId: lease.requestId }),
      enqueue('notifyExtended', { leaseId: lease.id }, { jobId: `extended-${lease.id}-${expiresAt.getTime()}` }),
    ]);
    return updated;
  }

  /** An approved extension request: adds its duration to the lease it extends, once. */
  async function applyExtension(extension: RequestRow): Promise<{ applied: boolean; lease?: LeaseRow }> {
    const lease = extension.extendsRequestId ? await leases.byRequest(extension.tenantId, extension.extendsRequestId) : undefined;
    if (!lease || lease.revokedAt) {
      await requests.transition(extension.tenantId, extension.id, 'fail', { failure: 'The access it would extend has already ended.' });
      return { applied: false };
    }
    const updated = await extend(lease, new Date(lease.expiresAt.getTime() + extension.durationSeconds * 1000), `job:extend:${extension.id}`);
    await requests.transition(extension.tenantId, extension.id, 'applyExtension');
    return { applied: true, lease: updated };
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

  /** The lease of a request, for endAndRevoke (an offboarding ends a person's active requests). */
  const leaseOf = (tenantId: string, requestId: string) => leases.byRequest(tenantId, requestId);

  return { provision, watchFirstLogin: timing.watchFirstLogin, extend, applyExtension, credentialsForRequester, credentialsForCli, recordDm, failingRevocations: (tenantId: string) => leases.failingRevocations(tenantId), credentialsFor, leaseById: (id: string) => leases.getById(id), markDelivered, revoke, endEarly, endNow, endAndRevoke, leaseOf, listLive: (databaseId?: string) => leases.listLive(databaseId),
    // Across tenants, as the system by name, whoever calls (a job, the CLI).
    sweep: () => asSystem('sweep', sweeper.sweep), reconcile: () => asSystem('reconciler', sweeper.reconcile) };
}

export type LeaseService = ReturnType<typeof createLeaseService>;
export const isLive = (state: string) => LIVE_STATES.includes(state as RequestState);
