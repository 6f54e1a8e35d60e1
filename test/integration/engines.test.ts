import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createMariaTarget, createTargetDatabase, MARIADB_ADMIN_URL } from '../support/databases.js';
import { startFakeVault, type FakeVault } from '../support/fake-vault.js';

/** One session as the requester holds it, whatever the engine. */
interface Session {
  query(sql: string): Promise<unknown[]>;
  close(): Promise<void>;
}

async function connectPostgres(uri: string): Promise<Session> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  client.on('error', () => {});
  return { query: async (sql) => (await client.query(sql)).rows, close: () => client.end().catch(() => {}) };
}

async function connectMysql(uri: string): Promise<Session> {
  const url = new URL(uri);
  const connection = await mysql.createConnection({
    host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: decodeURIComponent(url.pathname.slice(1)),
  });
  connection.on('error', () => {});
  return { query: async (sql) => (await connection.query(sql))[0] as unknown[], close: () => connection.end().catch(() => {}) };
}

interface EngineCase {
  engine: string;
  setup(): Promise<{ harness: Harness; scope: string; tables: { granted: string; other: string }; connect(uri: string): Promise<Session>; userGone(username: string): Promise<boolean>; cleanup(): Promise<void> }>;
}

const vaultToken = `hvs.test-${randomBytes(8).toString('hex')}`;

const ENGINES: EngineCase[] = [
  {
    engine: 'postgres',
    async setup() {
      const harness = await startHarness({ queue: 'redis' });
      return {
        harness, scope: 'sales.orders', tables: { granted: 'sales.orders', other: 'sales.customers' }, connect: connectPostgres,
        userGone: async (username) => (await connectAdminPg(harness.target.adminUrl, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).length === 0,
        cleanup: async () => {},
      };
    },
  },
  {
    engine: 'mariadb',
    async setup() {
      const maria = await createMariaTarget();
      const harness = await startHarness({
        queue: 'postgres',
        extraDatabases: `  - id: shop
    engine: mariadb
    host: 127.0.0.1
    port: 3306
    database: ${maria.name}
    environment: staging
    admin: env:SHOP_ADMIN_URL
`,
        env: { SHOP_ADMIN_URL: maria.adminUrl },
      });
      return {
        harness, scope: `${maria.name}.orders`, tables: { granted: `${maria.name}.orders`, other: `${maria.name}.customers` }, connect: connectMysql,
        userGone: async (username) => {
          const admin = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
          try {
            const [rows] = await admin.query('SELECT 1 FROM mysql.user WHERE User = ?', [username]);
            return (rows as unknown[]).length === 0;
          } finally {
            await admin.end();
          }
        },
        cleanup: () => maria.drop(),
      };
    },
  },
  {
    engine: 'vault',
    async setup() {
      const target = await createTargetDatabase();
      const vault: FakeVault = await startFakeVault({
        token: vaultToken,
        databases: [{
          name: 'orders-read', ttlSeconds: 3600, maxTtlSeconds: 7200, connectionUrl: target.adminUrl,
          creationStatements: [
            `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
            `GRANT CONNECT ON DATABASE "${target.name}" TO "{{name}}"; GRANT USAGE ON SCHEMA sales TO "{{name}}"; GRANT SELECT ON sales.orders TO "{{name}}";`,
          ],
        }],
      });
      const harness = await startHarness({
        queue: 'redis',
        target,
        extraDatabases: `  - id: vaulted
    engine: vault
    host: 127.0.0.1
    port: 5433
    database: ${target.name}
    environment: staging
    admin: env:ORDERS_ADMIN_URL
    vault: { role: orders-read, engine: postgres }
`,
        env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vaultToken },
      });
      return {
        harness, scope: '', tables: { granted: 'sales.orders', other: 'sales.customers' }, connect: connectPostgres,
        userGone: async (username) => (await connectAdminPg(target.adminUrl, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).length === 0,
        cleanup: () => vault.close(),
      };
    },
  },
];

async function connectAdminPg(url: string, sql: string, params: unknown[]): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The same behaviour from every engine: exactly the grant, a killed session at the end, and no user left. */
describe.each(ENGINES)('$engine through Slack', ({ engine, setup }) => {
  let env: Awaited<ReturnType<EngineCase['setup']>>;
  beforeAll(async () => {
    env = await setup();
  });
  afterAll(async () => {
    await env?.harness.close();
    await env?.cleanup();
  });

  it('grants exactly the requested access, then kills the session and removes the user at expiry', async () => {
    const databaseId = { postgres: 'orders', mariadb: 'shop', vault: 'vaulted' }[engine]!;
    const h = env.harness;
    expect((await h.submitRequest(PEOPLE.requester, { databaseId, scope: env.scope, duration: '5s' })).status).toBe(200);
    const card = await h.waitForCard();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? ''));
    const uri = /(postgresql|mysql):\/\/[^\s`"]+/.exec(shown(dm))![0];
    const username = decodeURIComponent(new URL(uri).username);

    const session = await env.connect(uri);
    expect((await session.query(`SELECT customer FROM ${env.tables.granted} ORDER BY id`)).length).toBe(2);
    await expect(session.query(`SELECT * FROM ${env.tables.other}`)).rejects.toThrow(/denied/i);
    await expect(session.query(`INSERT INTO ${env.tables.granted} (customer, total) VALUES ('x', 1)`)).rejects.toThrow(/denied/i);

    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))?.revokedAt, 20_000, 'revocation');
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expect(env.connect(uri)).rejects.toThrow();
    expect(await env.userGone(username)).toBe(true);
    await session.close();
  });
});
