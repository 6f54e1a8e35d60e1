import { TransactionRollbackError } from 'drizzle-orm';
import type { CatalogSet } from '../../config/catalog.js';
import type { Db, SessionLocks } from '../../db/client.js';
import type { SecretBox } from '../../lib/crypto.js';
import { generatePassword } from '../../lib/crypto.js';
import { Secret } from '../../lib/secret.js';
import { randomCode } from '../../lib/ids.js';
import type { Enqueue, EnqueueMany } from '../job-port.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import { LIVE_STATES, type RequestState } from '../access-requests/access-request-state.js';
import type { AuditService } from '../audit/audit-service.js';
import { parseStoredScope } from './scope.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import type { TargetResolver } from './targets.js';
import { engineOf, type ProviderRegistry } from './engines/registry.js';
import { asSystem } from '../../db/tenant-scope.js';
import type { CaptureMethod } from '../capture/capture-types.js';
import { createLeaseSweeper, revokeJobId } from './lease-sweep.js';
import { MAX_PERMANENT_ATTEMPTS, failureReason, isPermanentFailure } from './provision-failure.js';
import { createProvisionGuard } from './provision-guard.js';
import { leaseClock } from '../access-requests/request-timing.js';
import { createLeaseTiming } from './lease-timing.js';
import { createLeaseTimingRepo } from './lease-timing-repo.js';
import { createLeaseDelivery } from './lease-delivery.js';
import { createLeaseExtension } from './lease-extension.js';
import { createLeaseRevocation } from './lease-revocation.js';
import { RetryingFailure } from './retrying-failure.js';

interface Deps {
  db: Db;
  requests: AccessRequestRepo;
  leases: LeaseRepo;
  audit: Pick<AuditService, 'record' | 'recordedAmong'>;
  enqueue: Enqueue;
  /** What follows a batch of revocations, added in one round trip (falls back to `enqueue` one by one). */
  enqueueMany?: EnqueueMany;
  providers: Pick<ProviderRegistry, 'of'>;
  resolveTarget: TargetResolver;
  secrets: SecretBox;
  /** The whole catalog: a lease names its database, which belongs to one tenant's section. */
  catalogs: () => CatalogSet;
  /** Held by one process at a time, whatever the others do (revocations, lease-revocation.ts). */
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

/**
 * Temporary users: provisioning after approval (here), delivery of the secret (lease-delivery.ts),
 * extension (lease-extension.ts), revocation at expiry or on demand (lease-revocation.ts), the sweep
 * that makes revocation independent of the queue, and the reconciler of orphans (lease-sweep.ts).
 */
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
  const delivery = createLeaseDelivery({ db, requests, leases, audit, secrets, databaseEntry, now });
  const { extend, applyExtension } = createLeaseExtension({ db, requests, leases, audit, enqueue, providerFor, externalLease, now });
  const { revoke, endEarly, endAndRevoke, endNow } = createLeaseRevocation({ db, requests, leases, audit, enqueue, enqueueMany, locks, providerFor, externalLease, now });

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
  /** The lease of a request, for endAndRevoke (an offboarding ends a person's active requests). */
  const leaseOf = (tenantId: string, requestId: string) => leases.byRequest(tenantId, requestId);

  const { credentialsFor, credentialsForRequester, credentialsForCli, recordDm, markDelivered } = delivery;
  return { provision, watchFirstLogin: timing.watchFirstLogin, extend, applyExtension, credentialsForRequester, credentialsForCli, recordDm, failingRevocations: (tenantId: string) => leases.failingRevocations(tenantId), credentialsFor, leaseById: (id: string) => leases.getById(id), markDelivered, revoke, endEarly, endNow, endAndRevoke, leaseOf, listLive: (databaseId?: string) => leases.listLive(databaseId),
    // Across tenants, as the system by name, whoever calls (a job, the CLI).
    sweep: () => asSystem('sweep', sweeper.sweep), reconcile: () => asSystem('reconciler', sweeper.reconcile) };
}

export type LeaseService = ReturnType<typeof createLeaseService>;
export const isLive = (state: string) => LIVE_STATES.includes(state as RequestState);
