import { and, eq, inArray, isNull, lte, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { accessRequests } from '../../db/schema/access-requests.js';
import { leases } from '../../db/schema/leases.js';
import { chatUsers, tenants } from '../../db/schema/tenants.js';
import { TRANSITIONS } from '../access-requests/access-request-state.js';

export type LeaseRow = typeof leases.$inferSelect;

/** Leases: the row is the truth about a temporary user, written before the user exists on the target. */
export function createLeaseRepo({ db }: { db: Db }) {
  return {
    /** Inserts the lease for a request, or returns the one an earlier attempt wrote. */
    async insertOnce(row: typeof leases.$inferInsert, tx: DbOrTx = db): Promise<LeaseRow> {
      await tx.insert(leases).values(row).onConflictDoNothing({ target: leases.requestId });
      const [existing] = await tx.select().from(leases).where(and(eq(leases.tenantId, row.tenantId), eq(leases.requestId, row.requestId)));
      return existing!;
    },

    async getById(id: string, tx: DbOrTx = db): Promise<LeaseRow | undefined> {
      const [row] = await tx.select().from(leases).where(eq(leases.id, id));
      return row;
    },

    /** A lease with its request in one round trip (every revocation needs both). */
    async getWithRequest(id: string): Promise<{ lease: LeaseRow; request: typeof accessRequests.$inferSelect } | undefined> {
      const [row] = await db.select({ lease: leases, request: accessRequests }).from(leases).innerJoin(accessRequests, eq(accessRequests.id, leases.requestId)).where(eq(leases.id, id));
      return row;
    },

    /** Leases with their requests, many in one round trip (a batch of revocations). */
    async getManyWithRequest(ids: string[]): Promise<Array<{ lease: LeaseRow; request: typeof accessRequests.$inferSelect }>> {
      if (ids.length === 0) return [];
      return db.select({ lease: leases, request: accessRequests }).from(leases).innerJoin(accessRequests, eq(accessRequests.id, leases.requestId)).where(inArray(leases.id, ids));
    },

    /** `startRevoking` for many requests in one statement (those in another state are left as they are). */
    async startRevokingMany(requests: Array<{ tenantId: string; id: string }>): Promise<void> {
      if (requests.length === 0) return;
      const { from, to } = TRANSITIONS.startRevoking;
      await db.execute(sql`
        UPDATE ${accessRequests} SET state = ${to}, version = version + 1, updated_at = now()
         WHERE (tenant_id, id) IN (SELECT * FROM unnest(${sql.param(requests.map((r) => r.tenantId))}::uuid[], ${sql.param(requests.map((r) => r.id))}::text[]))
           AND state IN (${sql.join(from.map((state) => sql`${state}`), sql`, `)})`);
    },

    /**
     * finishRevocation for many leases in one statement: the ids of those it marked (a lease already
     * revoked is left out, as there).
     */
    async finishRevocations(items: Array<{ tenantId: string; id: string; endReason: string }>): Promise<Set<string>> {
      if (items.length === 0) return new Set();
      const { from, to } = TRANSITIONS.finishRevoking;
      const { rows } = await db.execute<{ id: string }>(sql`
        WITH input AS (
          SELECT * FROM unnest(${sql.param(items.map((i) => i.id))}::uuid[], ${sql.param(items.map((i) => i.tenantId))}::uuid[], ${sql.param(items.map((i) => i.endReason))}::text[]) AS t(id, tenant_id, end_reason)
        ), lease AS (
          -- By primary key (= ANY), as the one-lease statement does; the tenant and reason come with each id.
          UPDATE ${leases} l SET revoked_at = now(), last_error = NULL, password_sealed = NULL, end_reason = coalesce(l.end_reason, input.end_reason)
            FROM input
           WHERE l.id = ANY(${sql.param(items.map((i) => i.id))}::uuid[]) AND l.id = input.id AND l.tenant_id = input.tenant_id AND l.revoked_at IS NULL
          RETURNING l.id, l.tenant_id, l.request_id
        ), request AS (
          UPDATE ${accessRequests} r SET state = ${to}, version = r.version + 1, updated_at = now()
           WHERE (r.tenant_id, r.id) IN (SELECT tenant_id, request_id FROM lease) AND r.state IN (${sql.join(from.map((state) => sql`${state}`), sql`, `)})
        )
        SELECT id::text AS id FROM lease`);
      return new Set(rows.map((row) => row.id));
    },

    async byRequest(tenantId: string, requestId: string): Promise<LeaseRow | undefined> {
      const [row] = await db.select().from(leases).where(and(eq(leases.tenantId, tenantId), eq(leases.requestId, requestId)));
      return row;
    },

    async update(tenantId: string, id: string, patch: Partial<LeaseRow>, tx: DbOrTx = db): Promise<LeaseRow | undefined> {
      const [row] = await tx.update(leases).set(patch).where(and(eq(leases.tenantId, tenantId), eq(leases.id, id))).returning();
      return row;
    },

    /** Marks the lease revoked once; returns undefined if it already was. */
    async markRevoked(tenantId: string, id: string, tx: DbOrTx = db): Promise<LeaseRow | undefined> {
      const [row] = await tx
        .update(leases)
        .set({ revokedAt: new Date(), lastError: null, passwordSealed: null })
        .where(and(eq(leases.tenantId, tenantId), eq(leases.id, id), isNull(leases.revokedAt)))
        .returning();
      return row;
    },

    /**
     * The end of a revocation as one statement (one implicit transaction, one round trip): the lease
     * marked revoked (an end reason already recorded is kept, `endReason` set otherwise) and its
     * request moved on as `finishRevoking` does. False, and nothing changed, when the lease was
     * already revoked: of two racing revocations exactly one finishes.
     */
    async finishRevocation(tenantId: string, id: string, endReason: string): Promise<boolean> {
      const { from, to } = TRANSITIONS.finishRevoking;
      const { rows } = await db.execute(sql`
        WITH lease AS (
          UPDATE ${leases} SET revoked_at = now(), last_error = NULL, password_sealed = NULL, end_reason = coalesce(end_reason, ${endReason})
           WHERE tenant_id = ${tenantId} AND id = ${id} AND revoked_at IS NULL
          RETURNING request_id
        ), request AS (
          -- Data-modifying CTEs all run: this one moves the request of the lease marked above, if any.
          UPDATE ${accessRequests} SET state = ${to}, version = version + 1, updated_at = now()
           WHERE tenant_id = ${tenantId} AND id IN (SELECT request_id FROM lease) AND state IN (${sql.join(from.map((state) => sql`${state}`), sql`, `)})
        )
        SELECT 1 FROM lease`);
      return rows.length > 0;
    },

    async countFailedAttempt(tenantId: string, id: string, error: string): Promise<number> {
      const [row] = await db
        .update(leases)
        .set({ revokeAttempts: sql`${leases.revokeAttempts} + 1`, lastError: error.slice(0, 500) })
        .where(and(eq(leases.tenantId, tenantId), eq(leases.id, id)))
        .returning({ attempts: leases.revokeAttempts });
      return row?.attempts ?? 0;
    },

    /** Unrevoked leases past their expiry: the sweep revokes them whatever the queue remembers. */
    async due(now: Date, limit = 1000) {
      return db
        .select({ id: leases.id })
        .from(leases)
        .where(and(
          isNull(leases.revokedAt), lte(leases.expiresAt, now),
          // A lease whose user is still being made (its request provisioning, nothing issued, no end asked
          // for) is its provisioning's to close: revoking it meanwhile recorded a revocation before the user
          // existed, then the user came (chaos run, 17:42). The provisioning finds the time over and fails the
          // request (lease-service.ts, tooLate); one that died is run again by the sweep (stuckInProvisioning).
          sql`NOT (${leases.provisionedAt} IS NULL AND ${leases.endReason} IS NULL AND EXISTS (SELECT 1 FROM ${accessRequests} WHERE ${accessRequests.id} = ${leases.requestId} AND ${accessRequests.state} = 'provisioning'))`,
        ))
        .orderBy(leases.expiresAt)
        .limit(limit);
    },

    /** Usernames on the databases (those of one server, for the reconciler) that a lease still owns (not revoked). */
    async liveUsernames(databaseIds: string[]): Promise<Set<string>> {
      if (databaseIds.length === 0) return new Set();
      const rows = await db
        .select({ username: leases.username })
        .from(leases)
        .where(and(inArray(leases.databaseId, databaseIds), isNull(leases.revokedAt)));
      return new Set(rows.map((row) => row.username));
    },

    /** Leases whose revocation has failed at least once and is still being retried. */
    async failingRevocations(tenantId: string, limit = 20) {
      return db
        .select({ id: leases.id, requestId: leases.requestId, databaseId: leases.databaseId, username: leases.username, expiresAt: leases.expiresAt, attempts: leases.revokeAttempts, lastError: leases.lastError })
        .from(leases)
        .where(and(eq(leases.tenantId, tenantId), isNull(leases.revokedAt), sql`${leases.revokeAttempts} > 0`))
        .orderBy(leases.expiresAt)
        .limit(limit);
    },

    /** Databases with live, provisioned leases whose statements are recorded. */
    async capturingDatabases(): Promise<string[]> {
      const rows = await db
        .selectDistinct({ databaseId: leases.databaseId })
        .from(leases)
        .where(and(isNull(leases.revokedAt), sql`${leases.provisionedAt} IS NOT NULL`, ne(leases.captureMethod, 'none')));
      return rows.map((row) => row.databaseId);
    },

    /**
     * Every lease not yet revoked, across tenants (the caller runs in the system scope), soonest expiry
     * first: what `dbaccess leases` lists and `dbaccess revoke-all` ends.
     */
    async listLive(databaseId?: string) {
      return db
        .select({
          leaseId: leases.id, requestId: leases.requestId, databaseId: leases.databaseId, username: leases.username, expiresAt: leases.expiresAt,
          provisionedAt: leases.provisionedAt, revokeAttempts: leases.revokeAttempts, state: accessRequests.state,
          requester: chatUsers.externalId, requesterName: chatUsers.displayName, platform: tenants.platform, workspace: tenants.externalId,
        })
        .from(leases)
        .innerJoin(accessRequests, eq(accessRequests.id, leases.requestId))
        .innerJoin(chatUsers, eq(chatUsers.id, accessRequests.requesterId))
        .innerJoin(tenants, eq(tenants.id, leases.tenantId))
        .where(and(isNull(leases.revokedAt), databaseId === undefined ? undefined : eq(leases.databaseId, databaseId)))
        .orderBy(leases.expiresAt, leases.id);
    },

    async countActive(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(leases).where(and(isNull(leases.revokedAt), sql`${leases.provisionedAt} IS NOT NULL`));
      return row?.count ?? 0;
    },
  };
}

export type LeaseRepo = ReturnType<typeof createLeaseRepo>;
