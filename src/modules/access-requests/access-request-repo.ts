import { aliasedTable, and, asc, desc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { accessRequests, decisions } from '../../db/schema/access-requests.js';
import { leases } from '../../db/schema/leases.js';
import { chatUsers } from '../../db/schema/tenants.js';
import { TRANSITIONS, type RequestEvent, type RequestState } from './access-request-state.js';

export type RequestRow = typeof accessRequests.$inferSelect;
export type NewRequestRow = typeof accessRequests.$inferInsert;
export type LeaseRow = typeof leases.$inferSelect;

/**
 * How long a claim to post the approvers' card lasts (claimCardPosting). Its holder's post ends before
 * (answered or given up: jobs/handlers.ts), so a later attempt that looks after the claim sees its card.
 */
export const CARD_CLAIM_MS = 20_000;

/** Requests and their decisions. Every method filters by tenant, except the job loaders by id. */
export function createAccessRequestRepo({ db }: { db: Db }) {
  return {
    async insert(row: NewRequestRow, tx: DbOrTx = db): Promise<RequestRow> {
      const [inserted] = await tx.insert(accessRequests).values(row).returning();
      return inserted!;
    },

    async get(tenantId: string, id: string, tx: DbOrTx = db): Promise<RequestRow | undefined> {
      const [row] = await tx.select().from(accessRequests).where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)));
      return row;
    },

    /** For jobs, which carry only an id; the row's tenant scopes everything after. */
    async getById(id: string, tx: DbOrTx = db): Promise<RequestRow | undefined> {
      const [row] = await tx.select().from(accessRequests).where(eq(accessRequests.id, id));
      return row;
    },

    /**
     * The state change as one conditional update: it succeeds only from the event's `from` states,
     * so of two racing events exactly one wins. Returns the updated row, or undefined if it lost.
     */
    async transition(
      tenantId: string,
      id: string,
      event: RequestEvent,
      patch: Partial<Pick<RequestRow, 'decidedAt' | 'failure' | 'leftOut' | 'retriedAt'>> = {},
      tx: DbOrTx = db,
    ): Promise<RequestRow | undefined> {
      const { from, to } = TRANSITIONS[event];
      const [row] = await tx
        .update(accessRequests)
        .set({ ...patch, state: to, version: sql`${accessRequests.version} + 1`, updatedAt: new Date() })
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id), inArray(accessRequests.state, [...from])))
        .returning();
      return row;
    },

    async setPolicy(tenantId: string, id: string, policy: RequestRow['policy'], tx: DbOrTx = db): Promise<void> {
      await tx.update(accessRequests).set({ policy }).where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)));
    },

    /** Locks a pending request for a decision; undefined when it is no longer pending. */
    async lockPending(tenantId: string, id: string, tx: DbOrTx): Promise<RequestRow | undefined> {
      const [row] = await tx
        .select()
        .from(accessRequests)
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id), eq(accessRequests.state, 'pending')))
        .for('update');
      return row;
    },

    /** Approve with changes: the terms approved so far replace the row's, within a decision's lock. */
    async narrow(tenantId: string, id: string, terms: Pick<RequestRow, 'level' | 'scope' | 'durationSeconds'>, changes: NonNullable<RequestRow['changes']>, tx: DbOrTx): Promise<void> {
      await tx
        .update(accessRequests)
        .set({ level: terms.level, scope: terms.scope, durationSeconds: terms.durationSeconds, changes })
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id), eq(accessRequests.state, 'pending')));
    },

    async countApprovals(tenantId: string, requestId: string, tx: DbOrTx = db): Promise<number> {
      const [row] = await tx
        .select({ count: sql<number>`count(*)::int` })
        .from(decisions)
        .where(and(eq(decisions.tenantId, tenantId), eq(decisions.requestId, requestId), eq(decisions.decision, 'approve')));
      return row?.count ?? 0;
    },

    /** A change that is not a transition (one more approval): the card must be redrawn. */
    async touch(tenantId: string, id: string, tx: DbOrTx = db): Promise<RequestRow | undefined> {
      const [row] = await tx
        .update(accessRequests)
        .set({ version: sql`${accessRequests.version} + 1`, updatedAt: new Date() })
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)))
        .returning();
      return row;
    },

    /** The requester's requests with live access now, for per-person limits. */
    async activeOf(tenantId: string, requesterId: string) {
      return db
        .select({ databaseId: accessRequests.databaseId, level: accessRequests.level })
        .from(accessRequests)
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.requesterId, requesterId), inArray(accessRequests.state, ['scheduled', 'approved', 'provisioning', 'active'] satisfies RequestState[])));
    },

    /** Records the after-the-fact review of a break-glass access, once. */
    async markReviewed(tenantId: string, id: string, reviewerId: string, tx: DbOrTx = db): Promise<RequestRow | undefined> {
      const [row] = await tx
        .update(accessRequests)
        .set({ reviewedAt: new Date(), reviewedBy: reviewerId, version: sql`${accessRequests.version} + 1` })
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id), isNull(accessRequests.reviewedAt), sql`(${accessRequests.policy}->>'breakGlass')::boolean`))
        .returning();
      return row;
    },

    async unreviewedBreakGlass(tenantId: string) {
      return db
        .select({ id: accessRequests.id, databaseId: accessRequests.databaseId, level: accessRequests.level, createdAt: accessRequests.createdAt })
        .from(accessRequests)
        .where(and(eq(accessRequests.tenantId, tenantId), isNull(accessRequests.reviewedAt), sql`(${accessRequests.policy}->>'breakGlass')::boolean`))
        .orderBy(asc(accessRequests.createdAt))
        .limit(50);
    },

    async setRisk(tenantId: string, id: string, risk: RequestRow['risk']): Promise<void> {
      await db.update(accessRequests).set({ risk }).where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)));
    },

    async setLeftOut(tenantId: string, id: string, leftOut: string[]): Promise<void> {
      await db.update(accessRequests).set({ leftOut }).where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)));
    },

    async setCardRef(tenantId: string, id: string, cardRef: RequestRow['cardRef']): Promise<void> {
      await db.update(accessRequests).set({ cardRef }).where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)));
    },

    /**
     * Before the approvers' card is posted (under the request's card lock): claims the posting for
     * CARD_CLAIM_MS from now. `since`: when an earlier claim began, whose card may have landed unseen
     * (look for it first); undefined on the first. `heldForMs` instead, and no claim: an earlier
     * attempt's claim is still live, so that attempt may be posting right now (its lock lost with its
     * connection), and nobody else posts until it ends. One clock for every process: the database's.
     */
    async claimCardPosting(tenantId: string, id: string): Promise<{ since: Date | undefined } | { heldForMs: number }> {
      const where = and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id));
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select({ at: accessRequests.cardPostingAt, heldForMs: sql<number>`greatest(ceil(extract(epoch from ${accessRequests.cardPostingAt} + make_interval(secs => ${CARD_CLAIM_MS / 1000}) - now()) * 1000), 0)::int` })
          .from(accessRequests)
          .where(where)
          .for('update');
        if (row?.heldForMs) return { heldForMs: row.heldForMs };
        await tx.update(accessRequests).set({ cardPostingAt: sql`now()` }).where(where);
        return { since: row?.at ?? undefined };
      });
    },

    async setReceiptRef(tenantId: string, id: string, receiptRef: RequestRow['receiptRef']): Promise<void> {
      await db.update(accessRequests).set({ receiptRef }).where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.id, id)));
    },

    async addDecision(row: typeof decisions.$inferInsert, tx: DbOrTx = db): Promise<void> {
      await tx.insert(decisions).values(row);
    },

    async decisions(tenantId: string, requestId: string) {
      return db
        .select({ decision: decisions.decision, reason: decisions.reason, at: decisions.createdAt, approverExternalId: chatUsers.externalId })
        .from(decisions)
        .innerJoin(chatUsers, eq(chatUsers.id, decisions.approverId))
        .where(and(eq(decisions.tenantId, tenantId), eq(decisions.requestId, requestId)))
        .orderBy(asc(decisions.createdAt));
    },

    async listForRequester(tenantId: string, requesterId: string, limit = 10) {
      return db
        .select()
        .from(accessRequests)
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.requesterId, requesterId)))
        .orderBy(desc(accessRequests.createdAt))
        .limit(limit);
    },

    async pendingPastDue(now: Date, limit = 500) {
      return db
        .select({ id: accessRequests.id })
        .from(accessRequests)
        .where(and(eq(accessRequests.state, 'pending'), lte(accessRequests.pendingUntil, now)))
        .limit(limit);
    },

    /** Approved requests whose provisioning never finished (a lost job), to be retried. */
    async stuckInProvisioning(olderThan: Date, limit = 500) {
      return db
        .select({ id: accessRequests.id })
        .from(accessRequests)
        .where(and(inArray(accessRequests.state, ['approved', 'provisioning'] satisfies RequestState[]), lte(accessRequests.updatedAt, olderThan)))
        .limit(limit);
    },

    /**
     * Requests whose approvers' card is overdue (a lost job: a Redis flush, a worker killed): pending ones
     * whose check never got as far as the card (`posting` false: the check must run again, it decides
     * whether there is a card at all), and waiting or approved ones whose posting began and never
     * finished (`posting` true: the card job runs again and looks for that card first).
     */
    async awaitingCard(olderThan: Date, limit = 500): Promise<Array<{ id: string; posting: boolean }>> {
      return db
        .select({ id: accessRequests.id, posting: sql<boolean>`${accessRequests.cardPostingAt} IS NOT NULL` })
        .from(accessRequests)
        .where(and(
          isNull(accessRequests.cardRef),
          sql`(${accessRequests.state} = 'pending' AND ${accessRequests.cardPostingAt} IS NULL AND ${accessRequests.createdAt} <= ${olderThan})
            OR (${accessRequests.state} IN ('pending', 'approved', 'provisioning', 'active') AND ${accessRequests.cardPostingAt} <= ${olderThan})`,
        ))
        .limit(limit);
    },

    async countByState(): Promise<Array<{ state: string; count: number }>> {
      return db
        .select({ state: accessRequests.state, count: sql<number>`count(*)::int` })
        .from(accessRequests)
        .groupBy(accessRequests.state);
    },

    async externalIdOf(tenantId: string, userId: string): Promise<string | null> {
      const [user] = await db.select({ externalId: chatUsers.externalId }).from(chatUsers).where(and(eq(chatUsers.tenantId, tenantId), eq(chatUsers.id, userId)));
      return user?.externalId ?? null;
    },

    async requesterExternalId(row: RequestRow): Promise<string> {
      const [user] = await db.select({ externalId: chatUsers.externalId }).from(chatUsers).where(and(eq(chatUsers.tenantId, row.tenantId), eq(chatUsers.id, row.requesterId)));
      return user!.externalId;
    },

    async leaseWithEnder(tenantId: string, requestId: string) {
      const ender = aliasedTable(chatUsers, 'ender');
      const [row] = await db
        .select({ lease: leases, endedByExternalId: ender.externalId })
        .from(leases)
        .leftJoin(ender, eq(ender.id, leases.endedBy))
        .where(and(eq(leases.tenantId, tenantId), eq(leases.requestId, requestId)));
      return row;
    },
  };
}

export type AccessRequestRepo = ReturnType<typeof createAccessRequestRepo>;
