import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, withTenant } from '../../src/db/tenant-scope.js';
import { parseCatalog, singleCatalog, type CatalogView } from '../../src/config/catalog.js';
import { createLockPool, createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { eq } from 'drizzle-orm';
import { accessRequests } from '../../src/db/schema/access-requests.js';
import { leases } from '../../src/db/schema/leases.js';
import { chatUsers, tenants } from '../../src/db/schema/tenants.js';
import { generatePassword } from '../../src/lib/crypto.js';
import { newRequestId } from '../../src/lib/ids.js';
import { createCaptureRepo } from '../../src/modules/capture/capture-repo.js';
import { createCaptureService, type CaptureLimits, type CaptureService } from '../../src/modules/capture/capture-service.js';
import type { CaptureMethod } from '../../src/modules/capture/capture-types.js';
import type { CredentialProvider, Target } from '../../src/modules/credentials/credential-types.js';
import { createMysqlProvider } from '../../src/modules/credentials/engines/mysql/provider.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { createTargetResolver } from '../../src/modules/credentials/targets.js';
import { TEST_INSTALL_ID, MARIADB_ADMIN_URL, createMariaTarget, createStateDatabase, createTargetDatabase } from '../support/databases.js';

// Real sessions on the machine's servers: the scram PostgreSQL 15 cluster (pgaudit loaded by
// .ci/prepare-services.sh, jsonlog on) and MariaDB (server_audit to a file, general log to a table).
// Every user this file creates carries the suffix; each test has its own users and catalog ids.
const suffix = randomBytes(4).toString('hex');
const user = (label: string) => `dbc_${suffix}_${label}`;

let state: Awaited<ReturnType<typeof createStateDatabase>>;
let db: Db;
let statePool: pg.Pool;
let lockPool: pg.Pool;
let pgTarget: Awaited<ReturnType<typeof createTargetDatabase>>;
let mariaTarget: Awaited<ReturnType<typeof createMariaTarget>>;
let catalog: CatalogView;
let capture: CaptureService;
const postgres = createPostgresProvider({ installId: TEST_INSTALL_ID });
const mariadb = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
const tenantIds: string[] = [];
let requesterIds: string[] = [];
const openClients: Array<{ end(): Promise<unknown> }> = [];
const provisioned: Array<{ provider: CredentialProvider; databaseId: string; username: string }> = [];

const resolveTarget = () => createTargetResolver({ catalogs: () => singleCatalog(catalog), resolveReference: async (reference) => (reference === 'env:PG_ADMIN' ? pgTarget.adminUrl : mariaTarget.adminUrl) });
const targetOf = (databaseId: string): Target => ({ entry: catalog.database(databaseId)!, adminUrl: catalog.database(databaseId)!.engine === 'postgres' ? pgTarget.adminUrl : mariaTarget.adminUrl });
const serviceWith = (limits: Partial<CaptureLimits> = {}) => createCaptureService({ db, repo: createCaptureRepo({ db }), lockPool, catalogs: () => singleCatalog(catalog), resolveTarget: resolveTarget(), limits });

async function pgAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgTarget.adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function mariaAdmin<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

beforeAll(async () => {
  [state, pgTarget, mariaTarget] = await Promise.all([createStateDatabase(), createTargetDatabase(), createMariaTarget()]);
  await runMigrations(state.url);
  ({ db, pool: statePool } = createStateDb(state.url, 5));
  lockPool = createLockPool(state.url, 4);
  const auditFile = await mariaAdmin(async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @@server_audit_file_path AS path, @@datadir AS datadir');
    const path = String(rows[0]!.path);
    return isAbsolute(path) ? path : join(String(rows[0]!.datadir), path);
  });
  const pgEntry = (id: string, method: CaptureMethod) =>
    `  - { id: ${id}, engine: postgres, host: 127.0.0.1, port: 5433, database: ${pgTarget.name}, environment: development, admin: "env:PG_ADMIN", capture: ${method} }`;
  const mariaEntry = (id: string, method: CaptureMethod) =>
    `  - { id: ${id}, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${mariaTarget.name}, environment: development, admin: "env:MARIA_ADMIN", capture: ${method}, captureFile: ${JSON.stringify(auditFile)} }`;
  catalog = parseCatalog(
    [
      'approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }',
      'databases:',
      pgEntry('pg-audit', 'pgaudit'),
      pgEntry('pg-statements', 'log_statement'),
      pgEntry('pg-rotation', 'log_statement'),
      pgEntry('pg-bounded', 'log_statement'),
      pgEntry('pg-totals', 'pg_stat_statements'),
      mariaEntry('maria-audit', 'server_audit'),
      mariaEntry('maria-general', 'general_log'),
      '',
    ].join('\n'),
  );
  capture = serviceWith();
  // Two tenants: statements are stored with the tenant of their lease.
  for (const team of ['T0CAPA', 'T0CAPB']) {
    const [tenant] = await db.insert(tenants).values({ platform: 'slack', externalId: `${team}${suffix}` }).returning();
    tenantIds.push(tenant!.id);
  }
  requesterIds = await Promise.all(
    tenantIds.map(async (tenantId) => (await withTenant(tenantId, () => db.insert(chatUsers).values({ tenantId, platform: 'slack', externalId: 'U0REQUESTER' }).returning()))[0]!.id),
  );
});

afterAll(async () => {
  await Promise.all(openClients.map((client) => client.end().catch(() => {})));
  for (const { provider, databaseId, username } of provisioned) await provider.revoke(targetOf(databaseId), username).catch(() => {});
  await Promise.all([postgres.close(), mariadb.close()]);
  await statePool?.end();
  await lockPool?.end();
  await Promise.all([state?.drop(), pgTarget?.drop(), mariaTarget?.drop()]);
});

/** A lease row as the lease service writes it (request first), then the user through the real provider. */
async function provisionLease(databaseId: string, label: string, tenant = 0) {
  const entry = catalog.database(databaseId)!;
  const username = user(label);
  const password = generatePassword();
  const requestId = newRequestId();
  const tenantId = tenantIds[tenant]!;
  const [lease] = await withTenant(tenantId, async () => {
    await db.insert(accessRequests).values({
      id: requestId, tenantId, requesterId: requesterIds[tenant]!, databaseId, level: 'read', scope: [], durationSeconds: 3600,
      reason: 'capture test', state: 'active', risk: { level: 'low', reasons: [], analyzer: 'test' }, pendingUntil: new Date(),
    });
    return db
      .insert(leases)
      .values({ tenantId, requestId, databaseId, username, expiresAt: new Date(Date.now() + 3600_000), captureMethod: entry.capture, provisionedAt: new Date() })
      .returning();
  });
  const provider = entry.engine === 'postgres' ? postgres : mariadb;
  const table = entry.engine === 'postgres' ? { schema: 'sales', table: 'orders' } : { schema: mariaTarget.name, table: 'orders' };
  await provider.provision(targetOf(databaseId), { username, password, expiresAt: lease!.expiresAt, level: 'read', scope: [table], capture: entry.capture });
  provisioned.push({ provider, databaseId, username });
  return { lease: lease!, username, password, tenantId, databaseId };
}

type Lease = Awaited<ReturnType<typeof provisionLease>>;

async function revoke(lease: Lease): Promise<void> {
  const entry = catalog.database(lease.databaseId)!;
  await (entry.engine === 'postgres' ? postgres : mariadb).revoke(targetOf(lease.databaseId), lease.username);
}

/** A statement a test runs, what is stored for it and whether the server refuses it. */
interface Step {
  sql: string;
  error?: RegExp;
  /** Longer than MAX_STATEMENT_CHARS: stored cut, with the marker. */
  long?: boolean;
}

/** A session as the temporary user: runs the steps in order, checking that refusals are refused. */
async function runAs(lease: Lease, steps: Step[]): Promise<void> {
  const entry = catalog.database(lease.databaseId)!;
  if (entry.engine === 'postgres') {
    const client = new pg.Client({ host: '127.0.0.1', port: 5433, user: lease.username, password: lease.password, database: pgTarget.name });
    client.on('error', () => {});
    openClients.push(client);
    await client.connect();
    for (const step of steps) {
      const outcome = await client.query(step.sql).then(() => undefined, (error: Error) => error);
      expect(Boolean(outcome), `${step.sql.slice(0, 60)}: ${outcome?.message}`).toBe(Boolean(step.error));
    }
    await client.end();
  } else {
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: lease.username, password: lease.password, database: mariaTarget.name });
    connection.on('error', () => {});
    openClients.push(connection);
    for (const step of steps) {
      const outcome = await connection.query(step.sql).then(() => undefined, (error: Error) => error);
      expect(Boolean(outcome), `${step.sql.slice(0, 60)}: ${outcome?.message}`).toBe(Boolean(step.error));
    }
    await connection.end();
  }
}

/** What must be stored for the steps: the text (cut when long) and the refusal, in order. */
function expected(steps: Step[], { errors = true } = {}) {
  return steps.map((step) => ({
    at: expect.any(Date),
    statement: step.long
      ? expect.stringMatching(new RegExp(`^${step.sql.slice(0, 40).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*\\n/\\* dbaccess: statement cut here, ${step.sql.length} characters in all \\*/$`))
      : step.sql,
    error: errors && step.error ? expect.stringMatching(step.error) : null,
  }));
}

/**
 * Collects until the lease has `count` statements (the PostgreSQL log collector writes a moment
 * after the statement returns) or 10 s have passed; the caller then asserts on exactly what is stored.
 */
async function collectUntil(lease: Lease, count: number, service = capture) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await service.collect(lease.databaseId);
    const session = await service.statementsFor(lease.tenantId, lease.lease.id);
    if (session.count >= count || Date.now() > deadline) return session;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const longLiteral = 'x'.repeat(20_000);

const postgresSteps = (tag: string): Step[] => [
  { sql: `SELECT id, customer FROM sales.orders WHERE customer <> '${tag}' ORDER BY id` },
  { sql: 'SELECT name FROM sales.customers', error: /^42501: permission denied for table customers$/ },
  { sql: `/* it's a "quoted" comment, with a newline\n and another 'quote' for ${tag} */ SELECT count(*) FROM sales.orders` },
  { sql: `SELECT '${longLiteral}' AS long_value, '${tag}' AS tag`, long: true },
  { sql: `SELECT 1/0 AS ${tag}`, error: /^22012: division by zero$/ },
  { sql: `SELECT total FROM sales.orders WHERE id = 1 AND customer <> '${tag}'` },
];

const mariaSteps = (tag: string): Step[] => [
  { sql: `SELECT id, customer FROM orders WHERE customer <> '${tag}' ORDER BY id` },
  { sql: 'SELECT name FROM customers', error: /^error 1142$/ },
  { sql: `/* it's a "quoted" comment, with a newline\n a tab\tand a backslash \\\\ for ${tag} */ SELECT COUNT(*) FROM orders` },
  { sql: `SELECT '${longLiteral}' AS long_value, '${tag}' AS tag`, long: true },
  { sql: `SELEC oops_${tag}`, error: /^error 1064$/ },
  { sql: `SELECT total FROM orders WHERE id = 1 AND customer <> '${tag}'` },
];

describe.each([
  { databaseId: 'pg-audit', steps: postgresSteps, errors: true },
  { databaseId: 'pg-statements', steps: postgresSteps, errors: true },
  { databaseId: 'maria-audit', steps: mariaSteps, errors: true },
  // The general log is written before a statement runs: it has no outcome to record.
  { databaseId: 'maria-general', steps: mariaSteps, errors: false },
])('query capture on $databaseId', ({ databaseId, steps, errors }) => {
  it('stores exactly what each temporary user ran, in order, once, with its refusals', async () => {
    const [alice, bob] = [await provisionLease(databaseId, `${databaseId.replace('-', '')}_a`, 0), await provisionLease(databaseId, `${databaseId.replace('-', '')}_b`, 1)];
    const aliceSteps = steps('alice');
    const bobSteps = steps('bob');
    // Two users at the same time, on the same server.
    await Promise.all([runAs(alice, aliceSteps), runAs(bob, bobSteps)]);
    await Promise.all([revoke(alice), revoke(bob)]);

    const aliceSession = await collectUntil(alice, aliceSteps.length);
    const bobSession = await collectUntil(bob, bobSteps.length);
    expect(aliceSession.statements).toEqual(expected(aliceSteps, { errors }));
    expect(bobSession.statements).toEqual(expected(bobSteps, { errors }));
    expect(aliceSession).toMatchObject({ method: catalog.database(databaseId)!.capture, count: aliceSteps.length, truncated: false });
    expect(aliceSession.statements.every((row) => row.statement.length <= 8192)).toBe(true);

    // Read again: nothing new, nothing twice.
    const again = await capture.collect(databaseId);
    expect(again.stored).toBe(0);
    expect((await capture.statementsFor(alice.tenantId, alice.lease.id)).statements).toEqual(aliceSession.statements);

    // A lease of another tenant is not found in this one.
    await expect(capture.statementsFor(alice.tenantId, bob.lease.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('query capture: the PostgreSQL log', () => {
  it('log_statement records transaction control as well', async () => {
    const carol = await provisionLease('pg-statements', 'stmt_tx');
    const steps: Step[] = [
      { sql: 'BEGIN' },
      { sql: 'SELECT id FROM sales.orders ORDER BY id' },
      { sql: 'SELECT email FROM sales.customers', error: /^42501: / },
      { sql: 'ROLLBACK' },
    ];
    await runAs(carol, steps);
    await revoke(carol);
    expect((await collectUntil(carol, steps.length)).statements).toEqual(expected(steps));
  });

  it('finishes the old log file after a rotation, then reads the new one from its start', async () => {
    const dave = await provisionLease('pg-rotation', 'rotation');
    const before = [{ sql: "SELECT 'before rotation 1'" }, { sql: "SELECT 'before rotation 2'" }];
    await runAs(dave, before);
    expect((await collectUntil(dave, 2)).statements).toEqual(expected(before));
    const firstFile = (await capture.statementsFor(dave.tenantId, dave.lease.id)).count;
    expect(firstFile).toBe(2);

    // Written to the old file after the first read, so that the old file must be finished.
    const lastInOld = { sql: "SELECT 'in the old file, read after the rotation'" };
    await runAs(dave, [lastInOld]);
    const oldFile = await pgAdmin(async (admin) => (await admin.query<{ file: string }>("SELECT pg_current_logfile('jsonlog') AS file")).rows[0]!.file);
    // Log file names carry the second: wait until the collector has really switched files.
    for (let attempt = 0; ; attempt++) {
      await pgAdmin((admin) => admin.query('SELECT pg_rotate_logfile()'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const now = await pgAdmin(async (admin) => (await admin.query<{ file: string }>("SELECT pg_current_logfile('jsonlog') AS file")).rows[0]!.file);
      if (now !== oldFile) break;
      if (attempt > 10) throw new Error('the log file did not rotate');
    }
    const after = [{ sql: "SELECT 'after rotation'" }];
    await runAs(dave, after);
    await revoke(dave);
    expect((await collectUntil(dave, 4)).statements).toEqual(expected([...before, lastInOld, ...after]));
    expect((await capture.collect('pg-rotation')).stored).toBe(0);
  });

  it('keeps at most the bound per lease, counts the rest and marks the lease truncated', async () => {
    const bounded = serviceWith({ maxStatementsPerLease: 3 });
    const erin = await provisionLease('pg-bounded', 'bounded');
    const steps = [1, 2, 3, 4, 5].map((n) => ({ sql: `SELECT ${n} AS n` }));
    await runAs(erin, steps);
    await revoke(erin);
    const session = await collectUntil(erin, steps.length, bounded);
    expect(session).toMatchObject({ count: 5, truncated: true });
    expect(session.statements).toEqual(expected(steps.slice(0, 3)));
    expect((await bounded.collect('pg-bounded')).stored).toBe(0);
    expect((await bounded.statementsFor(erin.tenantId, erin.lease.id)).count).toBe(5);
  });

  it('pg_stat_statements: normalized totals per user, still read after the role is dropped', async () => {
    await pgAdmin((admin) => admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
    const frank = await provisionLease('pg-totals', 'totals');
    // While the lease is active (the sweep's collects): the role's oid is remembered.
    await capture.collect('pg-totals');
    await runAs(frank, [
      { sql: 'SELECT id FROM sales.orders WHERE id = 1' },
      { sql: 'SELECT id FROM sales.orders WHERE id = 2' },
      { sql: 'SELECT id FROM sales.orders WHERE id = 3' },
      { sql: 'SELECT count(*) FROM sales.orders' },
    ]);
    await revoke(frank);
    const session = await collectUntil(frank, 4);
    expect(session).toMatchObject({ method: 'pg_stat_statements', count: 4, truncated: false });
    expect(session.statements.map((row) => row.statement)).toEqual([
      '/* pg_stat_statements: normalized, 3 calls in total */ SELECT id FROM sales.orders WHERE id = $1',
      '/* pg_stat_statements: normalized, 1 call in total */ SELECT count(*) FROM sales.orders',
    ]);
    // A snapshot replaces the previous one: reading again stores the same rows, not more.
    await capture.collect('pg-totals');
    expect((await capture.statementsFor(frank.tenantId, frank.lease.id)).statements).toHaveLength(2);
  });
});

describe('query capture: the MariaDB audit log', () => {
  it('follows the audit file through a rotation', async () => {
    const gina = await provisionLease('maria-audit', 'arotation');
    const before = [{ sql: "SELECT 'before rotation'" }];
    await runAs(gina, before);
    expect((await collectUntil(gina, 1)).statements).toEqual(expected(before));
    const lastInOld = { sql: "SELECT 'in the old file'" };
    await runAs(gina, [lastInOld]);
    await mariaAdmin((admin) => admin.query('SET GLOBAL server_audit_file_rotate_now = ON'));
    const after = { sql: "SELECT 'after rotation'" };
    await runAs(gina, [after]);
    await revoke(gina);
    expect((await collectUntil(gina, 3)).statements).toEqual(expected([...before, lastInOld, after]));
    expect((await capture.collect('maria-audit')).stored).toBe(0);
  });
});

describe('query capture in the app', () => {
  it('records the capture method at provision and reads the log while the lease is active (sweep -> collectQueries)', async () => {
    const { startHarness, waitUntil, PEOPLE } = await import('../support/app-harness.js');
    const target = await createTargetDatabase();
    const h = await startHarness({
      queue: 'redis',
      target,
      extraDatabases: `  - { id: audited, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: development, admin: "env:ORDERS_ADMIN_URL", capture: pgaudit }\n`,
    });
    try {
      await h.submitRequest(PEOPLE.requester, { databaseId: 'audited', scope: 'sales.orders', duration: '1h' });
      const card = await h.waitForCard();
      await h.click(PEOPLE.alice, 'dbaccess.approve', card);
      const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? ''));
      const uri = /postgresql:\/\/[^\s`"]+/.exec(JSON.stringify(dm.blocks ?? []) + (dm.text ?? ''))![0];
      const lease = (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (row, { eq }) => eq(row.databaseId, 'audited') })))!;
      expect(lease.captureMethod).toBe('pgaudit');

      const session = new pg.Client({ connectionString: uri });
      session.on('error', () => {});
      await session.connect();
      await session.query('SELECT customer FROM sales.orders ORDER BY id');
      await session.query('SELECT email FROM sales.customers').catch(() => {});
      // Nobody calls collect here: the sweep (every second in tests) enqueues collectQueries.
      const recorded = await waitUntil(async () => {
        const found = await asSystem('test', () => h.app.capture.statementsFor(lease.tenantId, lease.id));
        return found.count >= 2 ? found : undefined;
      }, 20_000, 'the sweep to collect the statements');
      expect(recorded.statements.map((row) => [row.statement, row.error])).toEqual([
        ['SELECT customer FROM sales.orders ORDER BY id', null],
        ['SELECT email FROM sales.customers', '42501: permission denied for table customers'],
      ]);
      await session.end();
      const role = await pgAdmin(async (admin) =>
        (await admin.query<{ config: string[] }>('SELECT rolconfig AS config FROM pg_roles WHERE rolname = $1', [lease.username])).rows[0]?.config,
      );
      expect(role).toEqual(expect.arrayContaining(['pgaudit.log=read, write, function, ddl, role, misc, misc_set']));
      // Ends now: the role goes with its settings.
      await asSystem('test', () => h.app.db.update(leases).set({ expiresAt: new Date() }).where(eq(leases.id, lease.id)));
      await asSystem('test', () => h.app.leases.revoke(lease.id));
    } finally {
      await h.close();
    }
  });
});
