import { sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { TERMINAL_STATES } from '../access-requests/access-request-state.js';
import type { AuditService } from '../audit/audit-service.js';
import { asSystem } from '../../db/tenant-scope.js';
import { describeRetention, RETENTION_KINDS, type Retention, type RetentionKind } from '../../config/retention-schema.js';

interface Deps {
  db: Db;
  audit: Pick<AuditService, 'record'>;
  retention: () => Retention;
  now?: () => Date;
}

export type PurgeOutcome = Record<string, Partial<Record<RetentionKind, number>>>;

/**
 * The purge of history past its retention (catalog `retention:`). It only removes what belongs to a
 * finished request (a final state), nothing of a break-glass access still unreviewed, and never the
 * audit log: that is kept forever, so the chain stays whole. Each tenant's purge is recorded in its
 * audit log in the same transaction as the deletions, with what was removed and the cut-off dates.
 */
export function createRetentionService({ db, audit, retention, now = () => new Date() }: Deps) {
  const terminal = sql.join(TERMINAL_STATES.map((state) => sql`${state}`), sql`, `);
  /** Requests whose history may go: finished, and not a break-glass access still waiting for its review. */
  const finished = sql`SELECT id FROM access_requests WHERE state IN (${terminal}) AND NOT (coalesce((policy->>'breakGlass')::boolean, false) AND reviewed_at IS NULL)`;
  const finishedLeases = sql`SELECT id FROM leases WHERE request_id IN (${finished})`;

  /** Runs a DELETE ... RETURNING tenant_id and counts per tenant. */
  async function counted(tx: DbOrTx, kind: RetentionKind, statement: SQL, into: PurgeOutcome): Promise<void> {
    const result = await tx.execute<{ tenant_id: string; n: number }>(sql`WITH gone AS (${statement} RETURNING tenant_id) SELECT tenant_id, count(*)::int AS n FROM gone GROUP BY tenant_id`);
    for (const row of result.rows) (into[row.tenant_id] ??= {})[kind] = ((into[row.tenant_id] ?? {})[kind] ?? 0) + row.n;
  }

  async function purge(): Promise<PurgeOutcome> {
    const policy = retention();
    const at = now();
    const cutoff = (kind: RetentionKind) => (policy[kind] === null ? undefined : new Date(at.getTime() - policy[kind]! * 1000).toISOString());
    const removed: PurgeOutcome = {};

    await db.transaction(async (tx) => {
      // One purge at a time, across processes; a second one finds nothing left anyway.
      const { rows } = await tx.execute<{ locked: boolean }>(sql`SELECT pg_try_advisory_xact_lock(hashtextextended('dbaccess-retention', 10)) AS locked`);
      if (!rows[0]?.locked) return;

      const requestsBefore = cutoff('requests');
      if (requestsBefore) {
        // Finished requests (with the extensions of them), never an unreviewed break-glass access.
        await tx.execute(sql`CREATE TEMP TABLE purge_requests ON COMMIT DROP AS
          WITH RECURSIVE doomed AS (
            SELECT id FROM access_requests
             WHERE id IN (${finished}) AND updated_at < ${requestsBefore}::timestamptz
            UNION
            SELECT r.id FROM access_requests r JOIN doomed d ON r.extends_request_id = d.id
          ) SELECT id FROM doomed`);
        await counted(tx, 'queries', sql`DELETE FROM captured_statements WHERE lease_id IN (SELECT l.id FROM leases l JOIN purge_requests p ON p.id = l.request_id)`, removed);
        await counted(tx, 'summaries', sql`DELETE FROM analyses WHERE kind = 'session' AND (request_id IN (SELECT id FROM purge_requests) OR lease_id IN (SELECT l.id FROM leases l JOIN purge_requests p ON p.id = l.request_id))`, removed);
        await counted(tx, 'analyses', sql`DELETE FROM analyses WHERE request_id IN (SELECT id FROM purge_requests) OR lease_id IN (SELECT l.id FROM leases l JOIN purge_requests p ON p.id = l.request_id)`, removed);
        await counted(tx, 'decisions', sql`DELETE FROM decisions WHERE request_id IN (SELECT id FROM purge_requests)`, removed);
        await counted(tx, 'leases', sql`DELETE FROM leases WHERE request_id IN (SELECT id FROM purge_requests)`, removed);
        // Extensions first: a request referenced by another cannot go before it.
        await counted(tx, 'requests', sql`DELETE FROM access_requests WHERE id IN (SELECT id FROM purge_requests) AND extends_request_id IS NOT NULL`, removed);
        await counted(tx, 'requests', sql`DELETE FROM access_requests WHERE id IN (SELECT id FROM purge_requests)`, removed);
      }
      const leasesBefore = cutoff('leases');
      if (leasesBefore) {
        const old = sql`SELECT id FROM leases WHERE revoked_at < ${leasesBefore}::timestamptz AND request_id IN (${finished})`;
        await counted(tx, 'queries', sql`DELETE FROM captured_statements WHERE lease_id IN (${old})`, removed);
        await counted(tx, 'summaries', sql`DELETE FROM analyses WHERE kind = 'session' AND lease_id IN (${old})`, removed);
        await counted(tx, 'analyses', sql`DELETE FROM analyses WHERE lease_id IN (${old})`, removed);
        await counted(tx, 'leases', sql`DELETE FROM leases WHERE id IN (${old})`, removed);
      }
      const decisionsBefore = cutoff('decisions');
      if (decisionsBefore) {
        await counted(tx, 'decisions', sql`DELETE FROM decisions WHERE created_at < ${decisionsBefore}::timestamptz AND request_id IN (${finished})`, removed);
      }
      const summariesBefore = cutoff('summaries');
      if (summariesBefore) {
        await counted(tx, 'summaries', sql`DELETE FROM analyses WHERE kind = 'session' AND created_at < ${summariesBefore}::timestamptz AND (request_id IS NULL OR request_id IN (${finished}))`, removed);
      }
      const analysesBefore = cutoff('analyses');
      if (analysesBefore) {
        await counted(tx, 'analyses', sql`DELETE FROM analyses WHERE kind <> 'session' AND created_at < ${analysesBefore}::timestamptz AND (request_id IS NULL OR request_id IN (${finished}))`, removed);
      }
      const queriesBefore = cutoff('queries');
      if (queriesBefore) {
        // The lease keeps its statement count; only the text goes.
        await counted(tx, 'queries', sql`DELETE FROM captured_statements WHERE at < ${queriesBefore}::timestamptz AND lease_id IN (${finishedLeases})`, removed);
      }

      for (const [tenantId, counts] of Object.entries(removed)) {
        await audit.record(
          {
            tenantId, actor: 'job:purgeHistory', action: 'retention.purged', subject: 'history', outcome: 'success',
            details: {
              removed: counts,
              before: Object.fromEntries(RETENTION_KINDS.flatMap((kind) => (cutoff(kind) ? [[kind, cutoff(kind)]] : []))),
              retention: Object.fromEntries(RETENTION_KINDS.map((kind) => [kind, describeRetention(policy[kind])])),
            },
          },
          tx,
        );
      }
    });
    return removed;
  }

  // Across tenants, as the system: it runs as a job or an operator's command, never for one tenant.
  return { purge: () => asSystem('retention', purge) };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
