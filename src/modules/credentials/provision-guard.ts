import type { Enqueue } from '../job-port.js';
import type { AccessRequestRepo } from '../access-requests/access-request-repo.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';

interface Deps {
  requests: Pick<AccessRequestRepo, 'get'>;
  leases: Pick<LeaseRepo, 'getById' | 'update'>;
  enqueue: Enqueue;
  now?: () => Date;
}

/** The states in which a provisioning may go on making its user. */
const STILL_WANTED = new Set(['approved', 'provisioning']);

/**
 * A request cancelled (or revoked, or failed) while its user was being created: a revocation that ran
 * meanwhile found no user, or part of one, and marked the lease revoked; the user made after it must
 * not outlive it. The lease is made due again (not revoked, expiring now, with what was issued) and
 * revoked once more: by the job at once, by the sweep if the queue loses it.
 */
export function createProvisionGuard({ requests, leases, enqueue, now = () => new Date() }: Deps) {
  return {
    /** True (and the drop under way) when the request no longer wants its user. */
    async dropIfEnded(lease: LeaseRow, issued: Partial<Pick<LeaseRow, 'username' | 'externalLeaseSealed'>> = {}): Promise<boolean> {
      const request = await requests.get(lease.tenantId, lease.requestId);
      if (request && STILL_WANTED.has(request.state)) return false;
      const current = await leases.getById(lease.id);
      const at = now();
      await leases.update(lease.tenantId, lease.id, {
        ...issued, revokedAt: null, passwordSealed: null, expiresAt: at, endReason: current?.endReason ?? 'cancelled',
      });
      await enqueue('revoke', { leaseId: lease.id }, { jobId: `revoke-${lease.id}-dropped-${at.getTime()}` });
      return true;
    },
  };
}

export type ProvisionGuard = ReturnType<typeof createProvisionGuard>;
