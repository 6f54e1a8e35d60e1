import { and, desc, eq, gte, ne } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { accessRequests, type MessageRef } from '../../db/schema/access-requests.js';
import { analyses } from '../../db/schema/analysis.js';
import type { ModelUsage } from './analysis-types.js';
import { storedScopeWidth } from '../insights/insights-scoring.js';
import type { PastRequest } from '../insights/insights-types.js';

export type AnalysisRow = typeof analyses.$inferSelect;

const APPROVED_STATES = ['approved', 'provisioning', 'active', 'failed', 'revoking', 'revoke_failed', 'revoked', 'extended', 'scheduled', 'lapsed'];
const HISTORY_DAYS = 180;
const HISTORY_ROWS = 1000;

/** Analyses and the history they compare with. Every method filters by tenant, except loaders by id for jobs. */
export function createAnalysisRepo({ db }: { db: Db }) {
  return {
    async insertPending(row: { tenantId: string; kind: 'draft'; userId: string; input: Record<string, unknown>; viewRef: MessageRef }): Promise<AnalysisRow> {
      const [inserted] = await db.insert(analyses).values({ ...row, status: 'pending' }).returning();
      return inserted!;
    },

    async getById(id: string): Promise<AnalysisRow | undefined> {
      const [row] = await db.select().from(analyses).where(eq(analyses.id, id));
      return row;
    },

    async get(tenantId: string, id: string): Promise<AnalysisRow | undefined> {
      const [row] = await db.select().from(analyses).where(and(eq(analyses.tenantId, tenantId), eq(analyses.id, id)));
      return row;
    },

    /** Completes a pending draft analysis, or records a request's or session's. */
    async complete(
      target: { id: string } | { tenantId: string; kind: 'request' | 'session'; userId: string; requestId: string; leaseId?: string | undefined },
      outcome: { result: Record<string, unknown>; analyzer: string; fallback?: string | undefined; usage?: ModelUsage | undefined },
    ): Promise<void> {
      const values = {
        status: 'done',
        result: outcome.result,
        analyzer: outcome.analyzer,
        fallback: outcome.fallback ?? null,
        model: outcome.usage?.model ?? null,
        inputTokens: outcome.usage?.inputTokens ?? 0,
        outputTokens: outcome.usage?.outputTokens ?? 0,
        cacheReadTokens: outcome.usage?.cacheReadTokens ?? 0,
        cacheWriteTokens: outcome.usage?.cacheWriteTokens ?? 0,
        costMicroUsd: outcome.usage?.costMicroUsd ?? 0,
        latencyMs: outcome.usage?.latencyMs ?? 0,
        completedAt: new Date(),
      };
      if ('id' in target) await db.update(analyses).set(values).where(eq(analyses.id, target.id));
      else await db.insert(analyses).values({ ...target, leaseId: target.leaseId ?? null, ...values });
    },

    async latest(tenantId: string, requestId: string, kind: 'request' | 'session'): Promise<AnalysisRow | undefined> {
      const [row] = await db
        .select()
        .from(analyses)
        .where(and(eq(analyses.tenantId, tenantId), eq(analyses.requestId, requestId), eq(analyses.kind, kind), eq(analyses.status, 'done')))
        .orderBy(desc(analyses.createdAt))
        .limit(1);
      return row;
    },

    /** The tenant's past requests for a database (the last 180 days, at most 1,000), for baselines. */
    async pastRequests(tenantId: string, databaseId: string, excludeId?: string): Promise<PastRequest[]> {
      const since = new Date(Date.now() - HISTORY_DAYS * 86_400_000);
      const rows = await db
        .select({ requesterId: accessRequests.requesterId, level: accessRequests.level, durationSeconds: accessRequests.durationSeconds, createdAt: accessRequests.createdAt, state: accessRequests.state, scope: accessRequests.scope })
        .from(accessRequests)
        .where(and(
          eq(accessRequests.tenantId, tenantId), eq(accessRequests.databaseId, databaseId), eq(accessRequests.kind, 'access'),
          gte(accessRequests.createdAt, since), ...(excludeId ? [ne(accessRequests.id, excludeId)] : []),
        ))
        .orderBy(desc(accessRequests.createdAt))
        .limit(HISTORY_ROWS);
      return rows.map(({ state, scope, ...row }) => ({ ...row, scopeWidth: storedScopeWidth(scope), outcome: APPROVED_STATES.includes(state) ? 'approved' : state === 'denied' ? 'denied' : 'other' }));
    },
  };
}

export type AnalysisRepo = ReturnType<typeof createAnalysisRepo>;
