import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import type { ProvisionSpec, Target } from '../../src/modules/credentials/credential-types.js';
import { postgresAccessGroup } from '../../src/modules/credentials/engines/postgres/grants.js';
import { createPostgresProvider, groupMarker } from '../../src/modules/credentials/engines/postgres/provider.js';
import { waitUntil } from '../support/app-harness.js';
import { TEST_INSTALL_ID } from '../support/databases.js';
import { createManagedTarget, run, type ManagedTarget } from '../support/managed-postgres.js';

/**
 * Access groups reused without granting again (grantable.ts, the scope fingerprint), on a target set
 * up as a managed one (no superuser admin, an extension, a table of another owner, a schema without
 * grant option): a second user of an unchanged scope is only made a member; a table added in between
 * is granted; what cannot be granted is still reported; two processes at once; the last revocation
 * still drops the group. And the admin connection that stays warm, and closes with the provider.
 */

let managed: ManagedTarget;
let target: Target;
let inspect: pg.Client;
let counter = 0;
const providers: Array<ReturnType<typeof createPostgresProvider>> = [];
const newProvider = (options: { idleMillis?: number } = {}) => {
  const provider = createPostgresProvider({ installId: TEST_INSTALL_ID, ...options });
  providers.push(provider);
  return provider;
};

const prefixOf = () => `${managed.prefix}u_`;
const spec = (scope: ProvisionSpec['scope']): ProvisionSpec => ({
  username: `${prefixOf()}${(counter += 1)}`,
  password: generatePassword(),
  expiresAt: new Date(Date.now() + 3600_000),
  level: 'read',
  scope,
  prefix: prefixOf(),
});
const groupOf = (request: ProvisionSpec) =>
  postgresAccessGroup({ prefix: prefixOf(), install: TEST_INSTALL_ID, database: managed.database, level: request.level, scope: request.scope })!;

/** The comment of the group and the row versions (xmin) of every table and schema in the database: a GRANT rewrites the rows it touches. */
async function grantState(group: string): Promise<{ comment: string | null; rows: string }> {
  const { rows } = await inspect.query<{ comment: string | null; rows: string }>(
    `SELECT (SELECT d.description FROM pg_shdescription d JOIN pg_roles r ON r.oid = d.objoid WHERE r.rolname = $1) AS comment,
            (SELECT string_agg(c.oid || ':' || c.xmin, ',' ORDER BY c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE NOT starts_with(n.nspname, 'pg_') AND n.nspname <> 'information_schema')
            || ';' || (SELECT string_agg(n.oid || ':' || n.xmin, ',' ORDER BY n.oid) FROM pg_namespace n) AS rows`,
    [group],
  );
  return rows[0]!;
}

async function reads(request: ProvisionSpec, table: string): Promise<boolean> {
  const url = new URL(managed.adminUrl);
  const client = new pg.Client({ host: url.hostname, port: Number(url.port), database: managed.database, user: request.username, password: request.password });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(`SELECT count(*) FROM ${table}`).then(() => true, () => false);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  managed = await createManagedTarget();
  const url = new URL(managed.adminUrl);
  const entry: DatabaseEntry = {
    id: 'shop', engine: 'postgres', host: url.hostname, port: Number(url.port), database: managed.database, environment: 'development',
    admin: 'env:SHOP_ADMIN_URL', maxDuration: 4 * 3600, levels: ['read'], connectionLimit: 5, allowedHosts: ['%'], legacyUserNames: false,
    capture: 'none', tableTags: {}, poolSize: 4, tags: [],
  };
  target = { entry, adminUrl: managed.adminUrl };
  inspect = new pg.Client({ connectionString: managed.superUrl });
  inspect.on('error', () => {});
  await inspect.connect();
});

afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  await inspect?.end().catch(() => {});
  await managed?.drop();
});

describe('access groups that are reused without granting again', () => {
  it('grants the first user, only joins the second while nothing in scope changed, and grants again for a new table', async () => {
    const provider = newProvider();
    const first = spec([]);
    const group = groupOf(first);
    const result = await provider.provision(target, first);
    // The extension's objects, the other owner's table and the schema without grant option: reported, not granted.
    expect(result.leftOut).toEqual(expect.arrayContaining([expect.stringMatching(/^public\.pg_stat_statements \(owned by [a-z_]+, an extension\)$/), expect.stringMatching(/^public\.theirs /), expect.stringMatching(/^schema locked /)]));
    const granted = await grantState(group);
    expect(granted.comment).toMatch(new RegExp(`^${groupMarker(TEST_INSTALL_ID)} scope [0-9a-f]{32}$`));

    const second = spec([]);
    const again = await provider.provision(target, second);
    // No GRANT ran: no table or schema row was rewritten, and the fingerprint is the one of the first grant.
    expect(await grantState(group)).toEqual(granted);
    expect(again.leftOut).toEqual(result.leftOut);
    expect(again.statements).toEqual(result.statements.map((statement) => statement.replaceAll(first.username, second.username)));
    expect(await reads(second, 'sales.orders')).toBe(true);
    expect(await reads(second, 'public.theirs')).toBe(false);

    // A new table in scope changes the fingerprint: the next user's provision grants it (to the group, so to both).
    await run(managed.adminUrl, 'CREATE TABLE sales.returns (id int PRIMARY KEY); INSERT INTO sales.returns VALUES (1)');
    expect(await reads(second, 'sales.returns')).toBe(false);
    const third = spec([]);
    await provider.provision(target, third);
    const regranted = await grantState(group);
    expect(regranted.comment).not.toEqual(granted.comment);
    expect(await reads(third, 'sales.returns')).toBe(true);
    expect(await reads(first, 'sales.returns')).toBe(true);

    // A table of another owner added to the scope is reported as left out by the next provision, not granted.
    await run(managed.superUrl, `CREATE TABLE sales.payroll (id int); ALTER TABLE sales.payroll OWNER TO "${managed.other}"; GRANT SELECT ON sales.payroll TO "${managed.admin}"`);
    const fourth = spec([]);
    const withPayroll = await provider.provision(target, fourth);
    expect(withPayroll.leftOut).toEqual(expect.arrayContaining([expect.stringMatching(/^sales\.payroll \(owned by /)]));
    expect(await reads(fourth, 'sales.payroll')).toBe(false);
    expect(await reads(fourth, 'sales.returns')).toBe(true);

    // The last revocation still takes the group along.
    for (const user of [first, second, third, fourth]) await provider.revoke(target, user.username);
    const { rows } = await inspect.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [group]);
    expect(rows).toEqual([]);
  });

  it('still refuses, with the reason, a scope of which nothing can be granted, the second time too', async () => {
    const provider = newProvider();
    for (let i = 0; i < 2; i += 1) {
      const request = spec([{ schema: 'public', table: 'theirs' }]);
      await expect(provider.provision(target, request)).rejects.toThrow(/Nothing in this scope can be granted.*public\.theirs \(owned by /);
    }
  });

  it('two processes provisioning users of one group at once, before and after a new table, both end with every table', async () => {
    const [one, two] = [newProvider(), newProvider()];
    const scope = [{ schema: 'sales' }];
    const firstPair = [spec(scope), spec(scope)];
    await Promise.all([one.provision(target, firstPair[0]!), two.provision(target, firstPair[1]!)]);
    await run(managed.adminUrl, 'CREATE TABLE sales.refunds (id int PRIMARY KEY)');
    const secondPair = [spec(scope), spec(scope)];
    await Promise.all([one.provision(target, secondPair[0]!), two.provision(target, secondPair[1]!)]);
    for (const user of [...firstPair, ...secondPair]) {
      expect(await reads(user, 'sales.orders')).toBe(true);
      expect(await reads(user, 'sales.refunds')).toBe(true);
    }
    // And the fingerprint both left is the current one: a fifth user only joins.
    const before = await grantState(groupOf(firstPair[0]!));
    await one.provision(target, spec(scope));
    expect(await grantState(groupOf(firstPair[0]!))).toEqual(before);
    await Promise.all([...firstPair, ...secondPair].map((user, i) => (i % 2 === 0 ? one : two).revoke(target, user.username)));
  });
});

describe('the warm admin connection', () => {
  /** The provider's admin sessions on the target, other than those already open (the other tests' providers). */
  const adminPids = async () =>
    (await inspect.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'dbaccess'", [managed.database])).rows.map((row) => row.pid);

  it('keeps one connection of a used target open past the idle timeout, and none after close', async () => {
    const before = new Set(await adminPids());
    const adminSessions = async () => (await adminPids()).filter((pid) => !before.has(pid)).length;
    const provider = newProvider({ idleMillis: 50 });
    // Two at once: the pool opens two connections, and the idle one above the minimum closes.
    const users = [spec([{ schema: 'sales' }]), spec([{ schema: 'sales' }])];
    await Promise.all(users.map((user) => provider.provision(target, user)));
    await waitUntil(async () => (await adminSessions()) === 1, 10_000, 'one admin connection left');
    // Well past the idle timeout, the last one is still there.
    await new Promise((done) => setTimeout(done, 300));
    expect(await adminSessions()).toBe(1);
    for (const user of users) await provider.revoke(target, user.username);
    await provider.close();
    await waitUntil(async () => (await adminSessions()) === 0, 10_000, 'no admin connection after close');
  });
});
