import type { Db } from '../../db/client.js';
import type { Enqueue } from '../job-port.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import type { AuditService } from '../audit/audit-service.js';
import type { CredentialProvider, Target } from './credential-types.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import { revokeJobId } from './lease-sweep.js';

interface Deps {
  db: Db;
  requests: Pick<AccessRequestRepo, 'transition'>;
  leases: Pick<LeaseRepo, 'byRequest' | 'update'>;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  providerFor: (databaseId: string) => Promise<{ target: Target; provider: CredentialProvider }>;
  externalLease: (lease: LeaseRow) => string | undefined;
  now: () => Date;
}

/** More time on a live lease: an approved extension request, or a direct move of its expiry. */
export function createLeaseExtension({ db, requests, leases, audit, enqueue, providerFor, externalLease, now }: Deps) {
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
  return { extend, applyExtension };
}
