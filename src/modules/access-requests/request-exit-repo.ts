import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { accessRequests } from '../../db/schema/access-requests.js';
import { leases } from '../../db/schema/leases.js';
import type { RequestState } from './access-request-state.js';

/** The rows a way out (Cancel, Revoke, offboarding) changes besides the request's state. */
export function createRequestExitRepo({ db }: { db: Db }) {
  return {
    /**
     * Makes the request's lease due now, with who ended it and why, unless it is revoked already; the
     * lease (if any) as it is afterwards. Inside the transaction that moved the request, so a
     * provisioning that wrote its lease a moment before is seen (its transition waited on ours).
     */
    async endLeaseOf(tenantId: string, requestId: string, end: { at: Date; reason: string; by: string | null }, tx: DbOrTx = db) {
      const [row] = await tx
        .update(leases)
        .set({ expiresAt: end.at, endReason: end.reason, endedBy: end.by })
        .where(and(eq(leases.tenantId, tenantId), eq(leases.requestId, requestId), isNull(leases.revokedAt)))
        .returning();
      return row;
    },

    /** A tenant's latest requests, oldest first: what the local console draws again after a restart. */
    async recent(tenantId: string, limit = 200) {
      const rows = await db.select().from(accessRequests).where(eq(accessRequests.tenantId, tenantId)).orderBy(desc(accessRequests.createdAt)).limit(limit);
      return rows.reverse();
    },

    /** A person's requests in the states given (offboarding). */
    async ofRequester(tenantId: string, requesterId: string, states: readonly RequestState[]) {
      return db
        .select()
        .from(accessRequests)
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.requesterId, requesterId), inArray(accessRequests.state, [...states])))
        .limit(500);
    },
  };
}

export type RequestExitRepo = ReturnType<typeof createRequestExitRepo>;
