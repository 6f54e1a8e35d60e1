/**
 * 10. Audit and reports:
 *  - append rate through the real path (audit.record -> dbaccess_audit_append: chain lock, head, insert),
 *    one tenant with 16 concurrent writers (all serialized on its chain) and 16 tenants at once;
 *  - report generation for a month with 100,000 requests (85% granted, with decisions, leases and
 *    session verdicts) and 1,000,000 audit events, each step timed (SQL, build, verify, render);
 *  - verification of the 1,000,000-event chain.
 * The history is seeded fast, not through the app: requests, decisions and leases with generate_series,
 * the audit events computed in Node (canonical form, sha256 chain) and inserted 5,000 rows per
 * statement with unnest, so the chain is valid and verifiable.
 * Standalone: `npx tsx bench/scenarios/audit.ts [--quick]`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { parseCatalog } from '../../src/config/catalog.js';
import { createStateDb, runMigrations } from '../../src/db/client.js';
import { asSystem, withTenant } from '../../src/db/tenant-scope.js';
import { chainHash, contentHash } from '../../src/modules/audit/audit-hash.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
import { renderCsv, renderJson } from '../../src/modules/reports/report-csv.js';
import { renderHtml } from '../../src/modules/reports/report-html.js';
import { renderPdf } from '../../src/modules/reports/report-pdf.js';
import { parsePeriod } from '../../src/modules/reports/report-period.js';
import { createReportRepo } from '../../src/modules/reports/report-repo.js';
import { createReportService } from '../../src/modules/reports/report-service.js';
import { createTenantService } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../../test/support/databases.js';
import { summarize, type ResultRow } from '../lib/stats.js';

const CATALOG = parseCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
databases:
${Array.from({ length: 10 }, (_, i) => `  - { id: db${i}, engine: postgres, host: 127.0.0.1, port: 5432, database: db${i}, environment: ${i < 6 ? 'production' : 'staging'}, admin: env:X }`).join('\n')}
`);

const log = (text: string) => process.stderr.write(`[bench audit ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const row = (metric: string, n: number, ms: number, target: string, ok: boolean | undefined, notes?: string): ResultRow => ({
  scenario: '10 audit', backend: 'postgres', metric, n, p50: ms, p99: Number.NaN, max: Number.NaN, target, verdict: ok === undefined ? 'info' : ok ? 'pass' : 'FAIL', notes,
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

export async function auditScenario({ requests = 100_000, events = 1_000_000, appends = 5_000 }: { requests?: number; events?: number; appends?: number } = {}): Promise<ResultRow[]> {
  const state = await createStateDatabase();
  const rows: ResultRow[] = [];
  const owner = new pg.Client({ connectionString: state.url });
  const { db, pool } = createStateDb(state.url, 20);
  try {
    await runMigrations(state.url);
    await owner.connect();
    const tenants = createTenantService({ db });
    const audit = createAuditService({ db });

    // 1. Appends through the real path.
    const appendTenant = await tenants.ensureTenant('slack', 'T0APPEND');
    const latencies: number[] = [];
    const oneTenant = await timed(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < appends) {
            next += 1;
            const started = performance.now();
            await withTenant(appendTenant, () => audit.record({ tenantId: appendTenant, actor: 'job:revoke', action: 'lease.revoked', subject: `lease:${randomUUID()}`, outcome: 'success', details: { request: 'R000000001', sessionsKilled: 0 } }));
            latencies.push(performance.now() - started);
          }
        }),
      );
    });
    const stats = summarize(latencies);
    rows.push({ ...row(`append, 1 tenant, 16 writers (events/s: ${Math.round(appends / (oneTenant.ms / 1000))})`, appends, stats.p50, '-', undefined), p99: stats.p99, max: stats.max });
    const many = await Promise.all(Array.from({ length: 16 }, (_, i) => tenants.ensureTenant('slack', `T0APPEND${i}`)));
    const manyTenants = await timed(async () => {
      let next = 0;
      await Promise.all(
        many.map(async (tenantId) => {
          while (next < appends) {
            next += 1;
            await withTenant(tenantId, () => audit.record({ tenantId, actor: 'job:revoke', action: 'lease.revoked', subject: 'lease:x', outcome: 'success', details: {} }));
          }
        }),
      );
    });
    rows.push(row(`append, 16 tenants, 1 writer each (events/s: ${Math.round(appends / (manyTenants.ms / 1000))})`, appends, manyTenants.ms / appends, '-', undefined));
    log(`appends: ${Math.round(appends / (oneTenant.ms / 1000))}/s one tenant, ${Math.round(appends / (manyTenants.ms / 1000))}/s 16 tenants`);

    // 2. A month of history: requests, decisions, leases, session verdicts.
    const tenantId = await tenants.ensureTenant('slack', 'T0REPORT');
    const period = parsePeriod('2026-11');
    const seedStarted = performance.now();
    await owner.query(`INSERT INTO chat_users (tenant_id, platform, external_id) SELECT $1, 'slack', 'U' || lpad(i::text, 7, '0') FROM generate_series(1, 500) i`, [tenantId]);
    const { rows: users } = await owner.query<{ id: string }>('SELECT id FROM chat_users WHERE tenant_id = $1 ORDER BY external_id', [tenantId]);
    const userIds = users.map((user) => user.id);
    const spacing = (period.to.getTime() - period.from.getTime()) / 1000 / requests;
    await owner.query(
      `INSERT INTO access_requests (id, tenant_id, requester_id, database_id, level, scope, duration_seconds, reason, state, risk, policy, pending_until, decided_at, created_at, updated_at, failure)
       SELECT 'RB' || lpad(i::text, 8, '0'), $1, ($2::uuid[])[1 + (i % 480)], 'db' || (i % 10), (ARRAY['read','read','read','write','admin'])[1 + (i % 5)], '["sales.orders"]', 3600,
              'Investigate ticket OPS-' || i, CASE WHEN i % 20 = 0 THEN 'denied' WHEN i % 20 = 1 THEN 'expired' WHEN i % 20 = 2 THEN 'cancelled' ELSE 'revoked' END,
              jsonb_build_object('level', (ARRAY['low','medium','high','critical'])[1 + (i % 4)], 'reasons', '[]'::jsonb, 'analyzer', 'heuristic'),
              jsonb_build_object('name', 'default', 'quorum', 1, 'mfaRequired', i % 5 >= 3, 'breakGlass', i % 200 = 7, 'rules', '[]'::jsonb),
              at + interval '1 hour', CASE WHEN i % 20 = 1 THEN NULL ELSE at + interval '3 minutes' END, at, at,
              CASE WHEN i % 20 = 2 THEN 'A rule refused it.' END
         FROM (SELECT i, $3::timestamptz + (i * $4::double precision) * interval '1 second' AS at FROM generate_series(1, $5::int) i) g`,
      [tenantId, userIds, period.from.toISOString(), spacing, requests],
    );
    await owner.query(
      `INSERT INTO decisions (tenant_id, request_id, approver_id, decision, reason, created_at)
       SELECT r.tenant_id, r.id, ($2::uuid[])[481 + (hashtext(r.id) & 15)], CASE WHEN r.state = 'denied' THEN 'deny' ELSE 'approve' END,
              CASE WHEN r.state = 'denied' THEN 'Use the replica.' END, r.decided_at
         FROM access_requests r WHERE r.tenant_id = $1 AND r.state IN ('revoked', 'denied')`,
      [tenantId, userIds],
    );
    await owner.query(
      `INSERT INTO leases (tenant_id, request_id, database_id, username, expires_at, provisioned_at, delivered_at, revoked_at, end_reason, revoke_attempts, last_error)
       SELECT r.tenant_id, r.id, r.database_id, 'dba_' || lower(r.id), r.created_at + interval '64 minutes', r.created_at + interval '4 minutes', r.created_at + interval '4 minutes',
              r.created_at + interval '4 minutes' + (30 + (hashtext(r.id) & 127)) * interval '1 minute',
              (ARRAY['expired','expired','expired','ended','revoked'])[1 + (abs(hashtext(r.id)) % 5)],
              CASE WHEN abs(hashtext(r.id)) % 500 = 0 THEN 3 ELSE 0 END, CASE WHEN abs(hashtext(r.id)) % 500 = 0 THEN 'connection refused' END
         FROM access_requests r WHERE r.tenant_id = $1 AND r.state = 'revoked'`,
      [tenantId],
    );
    await owner.query(
      `INSERT INTO analyses (tenant_id, kind, user_id, request_id, lease_id, status, result, created_at)
       SELECT l.tenant_id, 'session', r.requester_id, r.id, l.id, 'done',
              jsonb_build_object('review', abs(hashtext(r.id)) % 50 = 0, 'flags', CASE WHEN abs(hashtext(r.id)) % 50 = 0 THEN '[{"severity":"warning","message":"Bulk export of a pii table."}]'::jsonb ELSE '[]'::jsonb END),
              l.revoked_at
         FROM leases l JOIN access_requests r ON r.id = l.request_id WHERE l.tenant_id = $1`,
      [tenantId],
    );
    await owner.query('ANALYZE');
    log(`seeded ${requests} requests in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

    // 3. A million audit events with a valid chain: per request its story, then filler, in time order.
    const eventsStarted = performance.now();
    const { rows: granted } = await owner.query<{ id: string; approver: string; mfa: boolean }>(
      `SELECT r.id, d.approver_id AS approver, coalesce((r.policy->>'mfaRequired')::boolean, false) AS mfa FROM access_requests r LEFT JOIN decisions d ON d.request_id = r.id WHERE r.tenant_id = $1 ORDER BY r.created_at`,
      [tenantId],
    );
    const perRequest = Math.max(1, Math.floor(events / granted.length));
    const stepMs = (period.to.getTime() - period.from.getTime()) / events;
    let prev = '0'.repeat(64);
    let seq = 0;
    const batch: unknown[][] = [[], [], [], [], [], [], [], [], []];
    const flush = async () => {
      if (batch[0]!.length === 0) return;
      await owner.query(
        `INSERT INTO audit_events (tenant_id, seq, actor, action, subject, outcome, details, created_at, prev_hash, hash)
         SELECT $1, s, a, ac, su, o, d::jsonb, c, p, h FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[]) AS t(s, a, ac, su, o, d, c, p, h)`,
        [tenantId, ...batch],
      );
      for (const column of batch) column.length = 0;
    };
    const add = async (actor: string, action: string, subject: string, details: Record<string, unknown>) => {
      seq += 1;
      const createdAt = new Date(period.from.getTime() + seq * stepMs).toISOString();
      const hash = chainHash(prev, seq, contentHash({ tenantId, actor, action, subject, outcome: 'success', details, createdAt }));
      for (const [i, value] of [seq, actor, action, subject, 'success', JSON.stringify(details), createdAt, prev, hash].entries()) batch[i]!.push(value);
      prev = hash;
      if (batch[0]!.length >= 5000) await flush();
    };
    const story = ['request.submitted', 'request.approved', 'lease.provisioned', 'lease.delivered', 'mfa.verified', 'lease.revoked', 'session.summarized', 'card.updated', 'request.viewed', 'lease.checked'];
    for (const request of granted) {
      for (let k = 0; k < perRequest && seq < events; k += 1) {
        const action = story[k % story.length]!;
        if (action === 'request.approved' && request.approver) await add(`user:${request.approver}`, action, `request:${request.id}`, { approvals: 1, quorum: 1, mfa: request.mfa });
        else await add('system', action, `request:${request.id}`, { step: k });
      }
    }
    while (seq < events) await add('system', 'filler', 'none', {});
    await flush();
    await owner.query('ANALYZE audit_events');
    log(`seeded ${events} audit events in ${((performance.now() - eventsStarted) / 1000).toFixed(1)} s`);

    // BENCH_EXPLAIN=1: the plan of the report's statement as the app runs it (role, row-level security).
    if (process.env.BENCH_EXPLAIN) {
      const { PgDialect } = await import('drizzle-orm/pg-core');
      const { reportRequestsSql } = await import('../../src/modules/reports/report-repo.js');
      const query = new PgDialect().sqlToQuery(reportRequestsSql({ tenantId, period }));
      // As the app runs it: its role, under row-level security, in the system scope.
      await owner.query("SET ROLE dbaccess_app; SELECT set_config('dbaccess.tenant_id', '*', false); SET enable_nestloop = off");
      const plan = await owner.query(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, query.params);
      await owner.query('RESET ROLE; RESET enable_nestloop');
      log(plan.rows.map((line) => line['QUERY PLAN']).join('\n'));
    }

    // 4. The report, step by step, as the Slack command and the download make it.
    const reports = createReportService({ repo: createReportRepo({ db }), audit, catalogOf: async () => CATALOG, isAdmin: async () => true });
    const repo = createReportRepo({ db });
    const sqlOnly = await timed(() => asSystem('bench', () => Promise.all([repo.requests({ tenantId, period }), repo.audit({ tenantId, period })])));
    const built = await timed(() => reports.build(tenantId, period, {}));
    const filtered = await timed(() => reports.build(tenantId, period, { databaseId: 'db3' }));
    const report = built.value;
    const html = await timed(async () => renderHtml(report));
    const csv = await timed(async () => renderCsv(report));
    const json = await timed(async () => renderJson(report));
    const pdf = await timed(() => renderPdf(report));
    const t = report.totals;
    const facts = `${t.requests} requests, ${t.grants} grants, ${report.audit.eventsInPeriod} events in the period`;
    rows.push(row(`report data: 2 SQL statements (${sqlOnly.value[0].length} request rows)`, 1, sqlOnly.ms, '-', undefined));
    rows.push(row('report built (SQL + model), 100k requests, 1M events', 1, built.ms, '< 10 s', built.ms < 10_000, facts));
    rows.push(row('report built, filtered to one database', 1, filtered.ms, '< 10 s', filtered.ms < 10_000, `${filtered.value.totals.grants} grants`));
    rows.push(row(`render HTML (${(Buffer.byteLength(html.value) / 1e6).toFixed(1)} MB, first 500 rows per table)`, 1, html.ms, '-', undefined));
    rows.push(row(`render CSV (${(Buffer.byteLength(csv.value) / 1e6).toFixed(1)} MB, every row)`, 1, csv.ms, '-', undefined));
    rows.push(row(`render JSON (${(Buffer.byteLength(json.value) / 1e6).toFixed(1)} MB)`, 1, json.ms, '-', undefined));
    rows.push(row(`render PDF (${(pdf.value.length / 1e6).toFixed(1)} MB, first 200 rows per table)`, 1, pdf.ms, '-', undefined));
    log(`report: sql ${sqlOnly.ms.toFixed(0)} ms, built ${built.ms.toFixed(0)} ms; ${facts}`);

    // 5. Verification of the million-event chain.
    const verified = await timed(() => asSystem('bench', () => audit.verify(tenantId)));
    rows.push(row(`verify 1M-event chain (${verified.value.ok ? `ok, ${verified.value.events} events` : `broken at ${verified.value.seq}`})`, events, verified.ms, '-', verified.value.ok ? undefined : false, `${Math.round(events / (verified.ms / 1000))} events/s`));
    log(`verify: ${verified.ms.toFixed(0)} ms`);

    // 6. What chat and the report run (issue 22): from the last checkpoint signed as verified. The first
    // run has none and checks the whole chain (as the checkpoint job does once); then 1,000 events are
    // appended through the app and `/dbaccess audit verify` checks those.
    const signed = createAuditService({ db, checkpointKey: randomBytes(32) });
    const first = await timed(() => withTenant(tenantId, () => signed.verifyRecent(tenantId)));
    rows.push(row(`verifyRecent, no verified checkpoint yet (whole chain, then signs it): ${first.value.ok ? `ok, ${first.value.events} events` : `broken at ${first.value.seq}`}`, events, first.ms, '-', first.value.ok ? undefined : false));
    const more = 1_000;
    await Promise.all(Array.from({ length: more }, (_, i) => withTenant(tenantId, () => signed.record({ tenantId, actor: 'job:revoke', action: 'lease.revoked', subject: `lease:${i}`, outcome: 'success', details: { sessionsKilled: 0 } }))));
    const incremental: number[] = [];
    let last: Awaited<ReturnType<typeof signed.verifyRecent>> | undefined;
    for (let i = 0; i < 5; i += 1) {
      // Each sample has 1,000 new events to check (the checkpoint moves with every verification).
      if (i > 0) await Promise.all(Array.from({ length: more }, (_, k) => withTenant(tenantId, () => signed.record({ tenantId, actor: 'job:revoke', action: 'lease.revoked', subject: `lease:${i}-${k}`, outcome: 'success', details: { sessionsKilled: 0 } }))));
      const sample = await timed(() => withTenant(tenantId, () => signed.verifyRecent(tenantId)));
      incremental.push(sample.ms);
      last = sample.value;
    }
    const inc = summarize(incremental);
    const okRecent = Boolean(last?.ok && last.from !== undefined);
    rows.push({
      ...row(`/dbaccess audit verify at ${events / 1e6}M events: verifyRecent, ${more} new since the verified checkpoint (${last?.ok ? `ok, ${last.events} events, from ${last.from}` : `broken at ${last?.seq}`})`, incremental.length, inc.p50, '< 1 s', okRecent && inc.max < 1000),
      p99: inc.p99, max: inc.max,
    });
    log(`verifyRecent: first ${first.ms.toFixed(0)} ms, then p50 ${inc.p50.toFixed(0)} ms, max ${inc.max.toFixed(0)} ms`);
    return rows;
  } finally {
    await owner.end().catch(() => {});
    await pool.end().catch(() => {});
    await state.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const { table } = await import('../lib/stats.js');
  const result = await auditScenario(quick ? { requests: 10_000, events: 100_000, appends: 1000 } : {});
  process.stdout.write(`${table(result)}\n`);
  process.exit(0);
}
