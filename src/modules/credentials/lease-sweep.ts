import type { CatalogSet } from '../../config/catalog.js';
import { cardJobId, checkJobId, type Enqueue } from '../job-port.js';
import type { AccessRequestRepo } from '../access-requests/access-request-repo.js';
import type { CredentialProvider, Target } from './credential-types.js';
import type { LeaseRepo } from './lease-repo.js';
import { reconcileServers, type ReconcileResult } from './reconciler.js';
import type { LeaseTimingRepo } from './lease-timing-repo.js';

export const revokeJobId = (leaseId: string) => `revoke-${leaseId}`;

/** A card not posted this long after the request came in (or after posting began) is overdue: 30 s is the check's timeout. */
const CARD_OVERDUE_MS = 30_000;

interface Deps {
  requests: Pick<AccessRequestRepo, 'pendingPastDue' | 'stuckInProvisioning' | 'awaitingCard'>;
  leases: Pick<LeaseRepo, 'due' | 'capturingDatabases' | 'liveUsernames'>;
  /** When access starts: scheduled starts and lapsed approvals due, leases waiting for a first login. */
  timing: Pick<LeaseTimingRepo, 'startsDue' | 'awaitingFirstLogin'>;
  enqueue: Enqueue;
  catalogs: () => CatalogSet;
  providerFor: (databaseId: string) => Promise<{ target: Target; provider: CredentialProvider }>;
  now: () => Date;
}

/** What makes revocation independent of the queue (the sweep) and of the lease rows (the reconciler). */
export function createLeaseSweeper({ requests, leases, timing, enqueue, catalogs, providerFor, now }: Deps) {
  /**
   * Runs every few seconds: whatever the queue lost (a Redis flush or restart), leases past expiry get
   * revoked, pending requests past their deadline expire, and stalled provisioning is retried.
   */
  async function sweep(): Promise<{ revocations: number; expirations: number; provisions: number; collections: number; starts: number; loginWatches: number; cards: number }> {
    const at = now();
    const [due, pending, stuck, capturing, starts, awaitingLogin, cardless] = await Promise.all([
      leases.due(at),
      requests.pendingPastDue(at),
      // Untouched for a lock duration (queue.ts): a job that is not waiting, retrying or running is taken over.
      requests.stuckInProvisioning(new Date(at.getTime() - 10_000)),
      leases.capturingDatabases(),
      timing.startsDue(at),
      timing.awaitingFirstLogin(at),
      // Past the check's own timeout (job-catalog.ts): a check or card job still waiting, retrying or
      // running is left alone by the take-over, so only a lost one is added again.
      requests.awaitingCard(new Date(at.getTime() - CARD_OVERDUE_MS)),
    ]);
    // Logs are read while leases are active (a rotated or size-capped log would not wait for the end).
    // The id coalesces duplicates; the minute in it keeps a failed run from blocking later ones.
    const minute = Math.floor(at.getTime() / 60_000);
    // The rest take over their job whatever state it is in (failed, or active under a dead worker):
    // one job per lease or request, added again only when none is waiting, retrying or running.
    await Promise.all([
      ...due.map(({ id }) => enqueue('revoke', { leaseId: id }, { jobId: revokeJobId(id), takeOver: true })),
      ...pending.map(({ id }) => enqueue('expireRequest', { requestId: id }, { jobId: `expire-${id}`, takeOver: true })),
      ...stuck.map(({ id }) => enqueue('provision', { requestId: id }, { jobId: `provision-${id}`, takeOver: true })),
      ...capturing.map((databaseId) => enqueue('collectQueries', { databaseId }, { jobId: `collect-${databaseId}-${minute}` })),
      // Scheduled starts and lapsed approvals: the provision job decides which (a delayed one, promoted if it waits).
      ...starts.map(({ id }) => enqueue('provision', { requestId: id }, { jobId: `provision-${id}`, takeOver: true })),
      // A look at the target's sessions per sweep, one job per lease at a time.
      ...awaitingLogin.map(({ id }) => enqueue('watchFirstLogin', { leaseId: id }, { jobId: `first-login-${id}`, takeOver: true })),
      // A request nobody can approve because its card never came: the check again (it ends in the card), or the card job.
      ...cardless.map(({ id, posting }) => posting
        ? enqueue('syncCard', { requestId: id }, { jobId: cardJobId(id), takeOver: true })
        : enqueue('checkRequest', { requestId: id }, { jobId: checkJobId(id), takeOver: true })),
    ]);
    return { revocations: due.length, expirations: pending.length, provisions: stuck.length, collections: capturing.length, starts: starts.length, loginWatches: awaitingLogin.length, cards: cardless.length };
  }

  /**
   * Per server (reconciler.ts): drops users that carry this install's marker and one of the server's
   * prefixes and that no live lease on that server owns, and this install's empty access groups.
   */
  async function reconcile(): Promise<ReconcileResult> {
    const entries = catalogs().databases().map((entry) => ({ entry, prefix: catalogs().ofDatabase(entry.id)!.catalog.settings.userPrefix }));
    return reconcileServers({ entries, providerFor, liveUsernames: (databaseIds) => leases.liveUsernames(databaseIds) });
  }

  return { sweep, reconcile };
}
