/**
 * What a stronger tenant wall would cost, on the machine's PostgreSQL (the state server, port 5432).
 * Standalone: `npx tsx bench/rls-cost.ts [queries] [tenants]` (default 5,000 queries, 10 tenants).
 *
 * One indexed lookup of a tenant's row under row-level security, by 8 concurrent callers, each
 * query for a tenant picked at random (so consecutive queries on a connection usually change tenant,
 * the worst case of today's design), in three designs:
 *  1. today: the app's own pool (createStateDb) in withTenant, the scope sent with set_config when it
 *     changed (a policy on current_setting);
 *  2. SET ROLE per query to a per-tenant NOLOGIN role the login role is a member of (a policy on
 *     current_user);
 *  3. a pool per tenant, each logging in as that tenant's own LOGIN role (a policy on current_user):
 *     the only one of the three that SQL injected on a connection could not leave, since it holds no
 *     other role to switch to.
 * Prints p50/p99 per query and the throughput of each, and what opening a connection costs (the
 * per-tenant pools' price whenever a tenant's pool is cold).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createStateDb, runMigrations } from '../src/db/client.js';
import { withTenant } from '../src/db/tenant-scope.js';
import { SERVICES } from '../test/support/services.js';
import { summarize } from './lib/stats.js';

const QUERIES = Number(process.argv[2] ?? 5000);
const TENANTS = Number(process.argv[3] ?? 10);
const CONCURRENCY = 8;
const ROWS_PER_TENANT = 1000;

const tag = `rlsbench_${randomBytes(3).toString('hex')}`;
const database = tag;
const urlOf = (db: string, user?: string) => {
  const url = new URL(SERVICES.statePg);
  url.pathname = `/${db}`;
  if (user) url.username = user;
  return url.toString();
};

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function measure(name: string, run: (tenant: number, id: number) => Promise<unknown>): Promise<string> {
  // A warm-up round, then the measured one.
  for (let i = 0; i < 200; i += 1) await run(i % TENANTS, i % ROWS_PER_TENANT);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < QUERIES) {
        next += 1;
        const tenant = Math.floor(Math.random() * TENANTS);
        const at = performance.now();
        const rows = (await run(tenant, Math.floor(Math.random() * ROWS_PER_TENANT))) as unknown[];
        latencies.push(performance.now() - at);
        if (rows.length !== 1) throw new Error(`${name}: expected the tenant's one row, got ${rows.length}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const s = summarize(latencies);
  return `| ${name} | ${QUERIES} | ${s.p50.toFixed(2)} ms | ${s.p99.toFixed(2)} ms | ${Math.round(QUERIES / seconds)}/s |`;
}

async function main(): Promise<void> {
  await admin(SERVICES.statePg, (client) => client.query(`CREATE DATABASE "${database}"`));
  const url = urlOf(database);
  const roles = Array.from({ length: TENANTS }, (_, i) => `${tag}_t${i}`);
  const tenantIds = Array.from({ length: TENANTS }, () => randomUUID());
  const pools: pg.Pool[] = [];
  try {
    await runMigrations(url);
    await admin(url, async (client) => {
      for (const role of roles) await client.query(`CREATE ROLE "${role}" LOGIN; GRANT "${role}" TO current_user`);
      await client.query(`
        CREATE TABLE bench_by_setting (tenant_id uuid NOT NULL, id int NOT NULL, payload text NOT NULL, PRIMARY KEY (tenant_id, id));
        ALTER TABLE bench_by_setting ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON bench_by_setting USING (dbaccess_tenant_visible(tenant_id));
        CREATE TABLE bench_by_role (tenant name NOT NULL, id int NOT NULL, payload text NOT NULL, PRIMARY KEY (tenant, id));
        ALTER TABLE bench_by_role ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON bench_by_role USING (tenant = current_user);
      `);
      for (const role of roles) await client.query(`GRANT SELECT ON bench_by_role TO "${role}"`);
      for (let t = 0; t < TENANTS; t += 1) {
        await client.query(`INSERT INTO bench_by_setting SELECT $1, i, md5(i::text) FROM generate_series(0, ${ROWS_PER_TENANT - 1}) i`, [tenantIds[t]]);
        await client.query(`INSERT INTO bench_by_role SELECT $1, i, md5(i::text) FROM generate_series(0, ${ROWS_PER_TENANT - 1}) i`, [roles[t]]);
      }
      await client.query('ANALYZE');
    });

    // 1. Today's design, through the app's own pool.
    const state = createStateDb(url, CONCURRENCY);
    const shared = new pg.Pool({ connectionString: url, max: CONCURRENCY });
    const plain = new pg.Pool({ connectionString: url, max: CONCURRENCY, onConnect: async (client) => void (await client.query('SET ROLE dbaccess_app')) });
    const perTenant = roles.map((role) => new pg.Pool({ connectionString: urlOf(database, role), max: CONCURRENCY }));
    pools.push(state.pool, shared, plain, ...perTenant);
    const designs: Array<[string, (t: number, id: number) => Promise<unknown>]> = [
      ['1. set_config when the scope changes (today)', (t, id) =>
        withTenant(tenantIds[t]!, async () => (await state.pool.query('SELECT payload FROM bench_by_setting WHERE tenant_id = $1 AND id = $2', [tenantIds[t], id])).rows)],
      // The same, every query for one tenant: the scope is never sent again (one round trip).
      ['1b. today, every query for the same tenant', (_t, id) =>
        withTenant(tenantIds[0]!, async () => (await state.pool.query('SELECT payload FROM bench_by_setting WHERE tenant_id = $1 AND id = $2', [tenantIds[0], id])).rows)],
      // The same two round trips by hand on a plain pool: what the wrapper itself costs.
      ['1c. set_config then the query, by hand on a plain pool', async (t, id) => {
        const client = await plain.connect();
        try {
          await client.query("SELECT set_config('dbaccess.tenant_id', $1, false)", [tenantIds[t]]);
          return (await client.query('SELECT payload FROM bench_by_setting WHERE tenant_id = $1 AND id = $2', [tenantIds[t], id])).rows;
        } finally {
          client.release();
        }
      }],
      // 2. SET ROLE per query on one shared pool.
      ['2. SET ROLE to the tenant\'s role per query', async (t, id) => {
        const client = await shared.connect();
        try {
          await client.query(`SET ROLE "${roles[t]}"`);
          return (await client.query('SELECT payload FROM bench_by_role WHERE tenant = current_user AND id = $1', [id])).rows;
        } finally {
          client.release();
        }
      }],
      // 3. A pool per tenant, logging in as the tenant's role.
      [`3. a pool per tenant (${TENANTS} pools × ${CONCURRENCY})`, async (t, id) =>
        (await perTenant[t]!.query('SELECT payload FROM bench_by_role WHERE tenant = current_user AND id = $1', [id])).rows],
    ];
    // Twice in turn, so that a change of load on the machine touches every design alike.
    const lines: string[] = [];
    for (const round of [1, 2]) for (const [name, run] of designs) lines.push(await measure(`${name} (round ${round})`, run));
    const { rows } = await admin(url, (client) => client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]));
    // Opening one connection (what a cold per-tenant pool pays on its first queries).
    const opens: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      const at = performance.now();
      const client = new pg.Client({ connectionString: urlOf(database, roles[i % TENANTS]) });
      await client.connect();
      await client.query('SELECT 1');
      opens.push(performance.now() - at);
      await client.end();
    }
    const open = summarize(opens);
    console.log(`${new Date().toISOString()}, PostgreSQL at ${new URL(SERVICES.statePg).host}, ${TENANTS} tenants, ${CONCURRENCY} concurrent callers`);
    console.log('| Design | Queries | p50 | p99 | Throughput |\n|---|---|---|---|---|');
    for (const line of lines) console.log(line);
    console.log(`Connections open on the bench database at the end: ${rows[0]!.n}. Opening one (trust auth, then SELECT 1): p50 ${open.p50.toFixed(2)} ms, p99 ${open.p99.toFixed(2)} ms.`);
  } finally {
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
    await admin(SERVICES.statePg, async (client) => {
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      for (const role of roles) await client.query(`DROP ROLE IF EXISTS "${role}"`);
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
