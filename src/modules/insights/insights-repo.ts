import { and, desc, eq, gte, lt, ne, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { accessRequests, decisions, type StoredPolicy, type StoredRisk } from '../../db/schema/access-requests.js';
import { analyses } from '../../db/schema/analysis.js';
import { leases } from '../../db/schema/leases.js';
import { chatUsers } from '../../db/schema/tenants.js';

/** At most this many rows per question; the newest are kept. */
const MAX_ROWS = 20_000;
/**
 * Sessions analyzed before the analyses stored statement kinds: their writes are counted from the
 * captured text instead (PostgreSQL regular expressions; `\M` ends a word). Leading comments and
 * WITH ... UPDATE are missed there; the parser's counts, stored since, are exact.
 */
const DML_TEXT = '^\\s*(insert|update|delete|merge|truncate|replace|copy|load\\s+data)\\M';
const DDL_TEXT = '^\\s*(create|alter|drop|rename|grant|revoke|comment|reassign)\\M';

export interface RequestRow {
  id: string;
  requesterId: string;
  requesterExternalId: string;
  databaseId: string;
  level: string;
  scope: string[];
  durationSeconds: number;
  state: string;
  risk: StoredRisk;
  policy: StoredPolicy | null;
  createdAt: Date;
  decidedAt: Date | null;
}

export interface DecisionRow {
  approverExternalId: string;
  decision: string;
  at: Date;
  requestCreatedAt: Date;
  risk: StoredRisk;
}

export interface SessionRow {
  requestId: string;
  requesterId: string;
  requesterExternalId: string;
  databaseId: string;
  level: string;
  at: Date;
  statements: number;
  objects: string[];
  /** From the stored statement kinds, else counted from the captured text; undefined when neither is known. */
  dml?: number | undefined;
  ddl?: number | undefined;
}

/**
 * The aggregates insights read: a tenant's access requests, approvers' decisions and recorded
 * sessions in a time range. Every query filters by tenant; callers run it in the tenant's scope.
 */
export function createInsightsRepo({ db }: { db: Db }) {
  return {
    /** Access requests (not extensions) created in [since, until), oldest first. */
    async requests(tenantId: string, since: Date, until: Date): Promise<RequestRow[]> {
      const rows = await db
        .select({
          id: accessRequests.id, requesterId: accessRequests.requesterId, requesterExternalId: chatUsers.externalId, databaseId: accessRequests.databaseId,
          level: accessRequests.level, scope: accessRequests.scope, durationSeconds: accessRequests.durationSeconds, state: accessRequests.state,
          risk: accessRequests.risk, policy: accessRequests.policy, createdAt: accessRequests.createdAt, decidedAt: accessRequests.decidedAt,
        })
        .from(accessRequests)
        .innerJoin(chatUsers, eq(chatUsers.id, accessRequests.requesterId))
        .where(and(eq(accessRequests.tenantId, tenantId), eq(accessRequests.kind, 'access'), gte(accessRequests.createdAt, since), lt(accessRequests.createdAt, until)))
        .orderBy(desc(accessRequests.createdAt))
        .limit(MAX_ROWS);
      return rows.reverse();
    },

    /** Approvers' decisions made in [since, until), with the request's creation time and rating. */
    async decisions(tenantId: string, since: Date, until: Date): Promise<DecisionRow[]> {
      return db
        .select({ approverExternalId: chatUsers.externalId, decision: decisions.decision, at: decisions.createdAt, requestCreatedAt: accessRequests.createdAt, risk: accessRequests.risk })
        .from(decisions)
        .innerJoin(accessRequests, eq(accessRequests.id, decisions.requestId))
        .innerJoin(chatUsers, eq(chatUsers.id, decisions.approverId))
        .where(and(eq(decisions.tenantId, tenantId), gte(decisions.createdAt, since), lt(decisions.createdAt, until)))
        .orderBy(desc(decisions.createdAt))
        .limit(MAX_ROWS);
    },

    /**
     * Recorded sessions (analyzed, capture on) that began in [since, until), oldest first; one per
     * request. Optionally of one database and without one request (the session being compared).
     */
    async sessions(tenantId: string, since: Date, until: Date, only: { databaseId?: string; excludeRequestId?: string } = {}): Promise<SessionRow[]> {
      const began = sql<Date>`coalesce(${leases.provisionedAt}, ${accessRequests.createdAt})`.mapWith(leases.provisionedAt);
      const written = (pattern: string): SQL<number | null> =>
        sql<number | null>`CASE WHEN ${analyses.result} -> 'counts' -> 'byKind' IS NULL THEN (SELECT count(*)::int FROM captured_statements c WHERE c.lease_id = ${leases.id} AND c.statement ~* ${pattern}) END`;
      const rows = await db
        .select({
          requestId: accessRequests.id, requesterId: accessRequests.requesterId, requesterExternalId: chatUsers.externalId, databaseId: accessRequests.databaseId,
          level: accessRequests.level, at: began, counts: sql<StoredCounts | null>`${analyses.result} -> 'counts'`,
          dmlText: written(DML_TEXT), ddlText: written(DDL_TEXT), analyzedAt: analyses.createdAt,
        })
        .from(analyses)
        .innerJoin(accessRequests, eq(accessRequests.id, analyses.requestId))
        .innerJoin(leases, eq(leases.id, analyses.leaseId))
        .innerJoin(chatUsers, eq(chatUsers.id, accessRequests.requesterId))
        .where(and(
          eq(analyses.tenantId, tenantId), eq(analyses.kind, 'session'), eq(analyses.status, 'done'), ne(leases.captureMethod, 'none'),
          sql`${began} >= ${since.toISOString()}::timestamptz`, sql`${began} < ${until.toISOString()}::timestamptz`,
          ...(only.databaseId ? [eq(accessRequests.databaseId, only.databaseId)] : []),
          ...(only.excludeRequestId ? [ne(accessRequests.id, only.excludeRequestId)] : []),
        ))
        .orderBy(desc(began), desc(analyses.createdAt))
        .limit(MAX_ROWS);
      const seen = new Set<string>();
      const sessions: SessionRow[] = [];
      for (const row of rows) {
        // A retried job may have stored a session twice: the newest counts.
        if (seen.has(row.requestId)) continue;
        seen.add(row.requestId);
        const byKind = row.counts?.byKind;
        const kind = (name: string) => Number(byKind?.[name] ?? 0);
        sessions.push({
          requestId: row.requestId, requesterId: row.requesterId, requesterExternalId: row.requesterExternalId, databaseId: row.databaseId, level: row.level,
          at: row.at, statements: Number(row.counts?.statements ?? 0), objects: Array.isArray(row.counts?.objects) ? row.counts.objects.map(String) : [],
          dml: byKind ? kind('insert') + kind('update') + kind('delete') + kind('copy') : (row.dmlText ?? undefined),
          ddl: byKind ? kind('ddl') + kind('dcl') : (row.ddlText ?? undefined),
        });
      }
      return sessions.reverse();
    },
  };
}

interface StoredCounts {
  statements?: number;
  objects?: unknown[];
  byKind?: Record<string, number>;
}

export type InsightsRepo = ReturnType<typeof createInsightsRepo>;
