import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { leases } from '../../db/schema/leases.js';
import type { Enqueue } from '../job-port.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { AccessRequestRepo } from './access-request-repo.js';

interface Deps {
  db: Db;
  requests: Pick<AccessRequestRepo, 'get' | 'transition'>;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  isAdmin: (actor: Pick<Actor, 'tenantId' | 'externalUserId'>) => Promise<boolean>;
  now: () => Date;
}

export type RetryOutcome = { ok: true; message: string } | { ok: false; message: string };

/**
 * An admin's Retry on a failed request: the same request is filed again as approved, with a new
 * lease whose clock starts when it is provisioned. Only admins; only a failed access request whose
 * failed attempt has been cleaned off the target. Anyone else's click is answered and changes nothing.
 */
export function createRetryFailed({ db, requests, audit, enqueue, isAdmin, now }: Deps) {
  return async function retryFailed(actor: Actor, requestId: string): Promise<RetryOutcome> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request) return { ok: false, message: `Request ${requestId} was not found.` };
    if (!(await isAdmin(actor))) {
      await audit.record({ tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: 'request.retry', subject: `request:${requestId}`, outcome: 'refused', details: { why: 'not an admin' } });
      return { ok: false, message: 'Only a dbaccess admin can retry a failed request. Nothing changed.' };
    }
    if (request.state !== 'failed' || request.kind !== 'access') {
      return { ok: false, message: `Request ${requestId} is ${request.state}; only a failed access request can be retried. Nothing changed.` };
    }
    const retried = await db.transaction(async (tx) => {
      // The failed attempt's lease goes once its revocation has run (nothing of it is left on the target);
      // the retry writes a new one, with a new user name.
      const [open] = await tx.select({ id: leases.id }).from(leases).where(and(eq(leases.tenantId, actor.tenantId), eq(leases.requestId, requestId), isNull(leases.revokedAt)));
      if (open) return 'cleaning' as const;
      await tx.delete(leases).where(and(eq(leases.tenantId, actor.tenantId), eq(leases.requestId, requestId), isNotNull(leases.revokedAt), isNull(leases.provisionedAt)));
      const row = await requests.transition(actor.tenantId, requestId, 'retry', { failure: null, retriedAt: now() }, tx);
      if (!row) return undefined;
      await audit.record({ tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: 'request.retried', subject: `request:${requestId}`, outcome: 'success', details: { failure: request.failure } }, tx);
      return row;
    });
    if (retried === 'cleaning') return { ok: false, message: `The failed attempt of ${requestId} is still being removed from the database; try Retry again in a minute.` };
    if (!retried) return { ok: false, message: `Request ${requestId} was already retried. Nothing changed.` };
    await Promise.all([enqueue('syncCard', { requestId }), enqueue('provision', { requestId }, { jobId: `provision-${requestId}-retry-${retried.version}` })]);
    return { ok: true, message: `Retrying ${requestId}: creating the database user again.` };
  };
}
