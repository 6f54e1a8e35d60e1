import { and, eq, gt, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { accessRequests } from '../../db/schema/access-requests.js';
import { leases } from '../../db/schema/leases.js';
import type { RequestState } from '../access-requests/access-request-state.js';
import type { LeaseRow } from './lease-repo.js';

/** The rows the sweep reads for when access starts (request-timing.ts); across tenants, for the system. */
export function createLeaseTimingRepo({ db }: { db: Db }) {
  return {
    /**
     * Requests the provision job must look at now, whatever became of their delayed job: scheduled
     * ones whose start has come, and approved or scheduled ones whose approval has lapsed.
     */
    async startsDue(now: Date, limit = 500): Promise<Array<{ id: string }>> {
      const lifetime = sql`(${accessRequests.policy}->>'approvalLifetimeSeconds')::int`;
      return db
        .select({ id: accessRequests.id })
        .from(accessRequests)
        .where(
          or(
            and(eq(accessRequests.state, 'scheduled' satisfies RequestState), lte(accessRequests.startsAt, now)),
            and(
              inArray(accessRequests.state, ['scheduled', 'approved'] satisfies RequestState[]),
              sql`${lifetime} IS NOT NULL AND coalesce(${accessRequests.retriedAt}, ${accessRequests.decidedAt}) + make_interval(secs => ${lifetime}) <= ${now}`,
            ),
          ),
        )
        .limit(limit);
    },

    /** Provisioned leases on a first-login clock that no connection has started yet, still within their wait. */
    async awaitingFirstLogin(now: Date, limit = 500): Promise<Array<{ id: string }>> {
      return db
        .select({ id: leases.id })
        .from(leases)
        .where(and(isNull(leases.firstLoginAt), isNull(leases.revokedAt), isNull(leases.endReason), isNotNull(leases.provisionedAt), gt(leases.firstLoginBy, now)))
        .limit(limit);
    },

    /**
     * The first connection was seen at `at`: the clock starts, once. Undefined when it already had,
     * or the lease ended or reached its wait deadline meanwhile (its revocation has the last word).
     */
    async startClock(tenantId: string, id: string, at: Date, expiresAt: Date, tx: DbOrTx = db): Promise<LeaseRow | undefined> {
      const [row] = await tx
        .update(leases)
        .set({ firstLoginAt: at, expiresAt })
        .where(and(eq(leases.tenantId, tenantId), eq(leases.id, id), isNull(leases.firstLoginAt), isNull(leases.revokedAt), isNull(leases.endReason), gt(leases.expiresAt, at)))
        .returning();
      return row;
    },
  };
}

export type LeaseTimingRepo = ReturnType<typeof createLeaseTimingRepo>;
