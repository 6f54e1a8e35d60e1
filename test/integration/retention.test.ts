import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
import { DEFAULT_RETENTION, type Retention } from '../../src/config/retention-schema.js';
import { createRetentionService } from '../../src/modules/retention/retention-service.js';
import { createTenantService } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../support/databases.js';

const NOW = new Date('2026-11-29T12:00:00Z');
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

/**
 * History stays queryable after access ends, for as long as the catalog's retention says; the purge
 * removes only what is finished and past it, children with their parents, and records itself in the
 * audit log of each tenant it touched.
 */
describe('retention purge', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let db: Db;
  let pool: pg.Pool;
  let owner: pg.Client;
  let tenantId: string;
  let user: string;

  async function seedRequest(id: string, { days, state: requestState = 'revoked', breakGlass = false, reviewed = false, statementsDaysAgo = [] as number[] }: { days: number; state?: string; breakGlass?: boolean; reviewed?: boolean; statementsDaysAgo?: number[] }): Promise<void> {
    await owner.query(
      `INSERT INTO access_requests (id, tenant_id, requester_id, database_id, level, scope, duration_seconds, reason, state, risk, policy, pending_until, created_at, updated_at, reviewed_at)
       VALUES ($1, $2, $3, 'orders', 'read', '[]', 3600, 'why', $4, '{"level":"low","reasons":[],"analyzer":"heuristic"}', $5, $6, $6, $6, $7)`,
      [id, tenantId, user, requestState, JSON.stringify({ name: 'p', quorum: 1, mfaRequired: false, breakGlass, rules: [] }), ago(days), reviewed ? ago(days) : null],
    );
    await owner.query('INSERT INTO decisions (tenant_id, request_id, approver_id, decision, created_at) VALUES ($1, $2, $3, $4, $5)', [tenantId, id, user, 'approve', ago(days)]);
    const { rows } = await owner.query(
      `INSERT INTO leases (tenant_id, request_id, database_id, username, expires_at, provisioned_at, revoked_at, end_reason, created_at) VALUES ($1, $2, 'orders', $3, $4, $4, $5, 'expired', $4) RETURNING id`,
      [tenantId, id, `dba_${id.toLowerCase()}`, ago(days), requestState === 'revoked' ? ago(days) : null],
    );
    await owner.query(`INSERT INTO analyses (tenant_id, kind, user_id, request_id, lease_id, status, created_at) VALUES ($1, 'session', $2, $3, $4, 'done', $5), ($1, 'request', $2, $3, NULL, 'done', $5)`, [tenantId, user, id, rows[0].id, ago(days)]);
    for (const age of statementsDaysAgo) {
      await owner.query('INSERT INTO captured_statements (tenant_id, lease_id, at, statement) VALUES ($1, $2, $3, $4)', [tenantId, rows[0].id, ago(age), `SELECT ${age}`]);
    }
  }
  const count = async (table: string) => Number((await owner.query(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1`, [tenantId])).rows[0].n);
  const purge = (retention: Retention) => createRetentionService({ db, audit: createAuditService({ db }), retention: () => retention, now: () => NOW }).purge();

  beforeAll(async () => {
    state = await createStateDatabase();
    await runMigrations(state.url);
    ({ db, pool } = createStateDb(state.url));
    owner = new pg.Client({ connectionString: state.url });
    await owner.connect();
    tenantId = await createTenantService({ db }).ensureTenant('slack', 'T0RETAIN');
    user = await createTenantService({ db }).ensureUser(tenantId, 'slack', 'U0SOMEONE');
    await seedRequest('ROLD000001', { days: 800, statementsDaysAgo: [800, 799] });
    await seedRequest('ROLD000002', { days: 500, statementsDaysAgo: [500] });
    await seedRequest('RGLASS0001', { days: 900, breakGlass: true }); // never reviewed: kept
    await seedRequest('RGLASS0002', { days: 900, breakGlass: true, reviewed: true });
    await seedRequest('RLIVE00001', { days: 400, state: 'revoke_failed' }); // still holding a user: kept
    await seedRequest('RNEW000001', { days: 10, statementsDaysAgo: [10, 95] });
  });
  afterAll(async () => {
    await owner?.end();
    await pool?.end();
    await state?.drop();
  });

  it('keeps everything but query text older than 90 days by default, and records the purge', async () => {
    expect(await purge(DEFAULT_RETENTION)).toEqual({ [tenantId]: { queries: 4 } });
    expect(await count('captured_statements')).toBe(1);
    expect((await owner.query('SELECT statement FROM captured_statements')).rows).toEqual([{ statement: 'SELECT 10' }]);
    expect(await count('access_requests')).toBe(6);
    expect(await count('decisions')).toBe(6);
    const [event] = await withTenant(tenantId, () => createAuditService({ db }).list(tenantId, 1));
    expect(event).toMatchObject({ actor: 'job:purgeHistory', action: 'retention.purged', outcome: 'success' });
    expect(event!.details).toEqual({
      removed: { queries: 4 },
      before: { queries: ago(90) },
      retention: { requests: 'forever', decisions: 'forever', leases: 'forever', analyses: 'forever', summaries: 'forever', queries: '90d' },
    });
    // Nothing left to purge: nothing recorded.
    expect(await purge(DEFAULT_RETENTION)).toEqual({});
    expect(await withTenant(tenantId, () => createAuditService({ db }).list(tenantId, 10))).toHaveLength(1);
  });

  it('removes finished requests past their retention with everything that belongs to them', async () => {
    const policy: Retention = { requests: 365 * 86400, decisions: 365 * 86400, leases: 365 * 86400, analyses: 365 * 86400, summaries: 365 * 86400, queries: 90 * 86400 };
    expect(await purge(policy)).toEqual({ [tenantId]: { summaries: 3, analyses: 3, decisions: 3, leases: 3, requests: 3 } });
    expect((await owner.query('SELECT id FROM access_requests ORDER BY id')).rows.map((row) => row.id)).toEqual(['RGLASS0001', 'RLIVE00001', 'RNEW000001']);
    expect(await count('leases')).toBe(3);
    expect(await count('analyses')).toBe(6);
    expect(await withTenant(tenantId, () => createAuditService({ db }).verify(tenantId))).toEqual({ ok: true, events: 2 });
  });
});
