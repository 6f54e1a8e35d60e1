import { randomBytes } from 'node:crypto';
import { TEST_INSTALL_ID } from '../support/databases.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import { isAppError } from '../../src/lib/errors.js';
import type { ProvisionSpec, Target } from '../../src/modules/credentials/credential-types.js';
import { postgresAccessGroup } from '../../src/modules/credentials/engines/postgres/grants.js';
import { GROUP_MARKER, ROLE_MARKER, createPostgresProvider, roleMarker, withDatabase } from '../../src/modules/credentials/engines/postgres/provider.js';
import { hostileNames } from '../support/hostile-names.js';
import { SERVICES } from '../support/services.js';

// Everything this file creates carries the suffix: its databases, and its roles (roles are cluster-wide).
const suffix = randomBytes(4).toString('hex');
const databaseName = `dbaccess_pgprov_${suffix}`;
const otherDatabaseName = `dbaccess_pgprov_${suffix}_other`;
const adminUrl = SERVICES.targetPg;
const host = new URL(adminUrl).hostname;
const port = Number(new URL(adminUrl).port || 5432);
const adminUser = decodeURIComponent(new URL(adminUrl).username);

const entry: DatabaseEntry = {
  id: 'orders',
  engine: 'postgres',
  host,
  port,
  database: databaseName,
  environment: 'development',
  admin: 'env:ORDERS_ADMIN_URL',
  maxDuration: 4 * 3600,
  levels: ['read', 'write', 'admin'],
  connectionLimit: 5,
  allowedHosts: ['%'],
  legacyUserNames: false,
  capture: 'none',
  tableTags: {},
  poolSize: 4,
  tags: [],
};
const target: Target = { entry, adminUrl };

const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });
let admin: pg.Client; // admin session in the test database
const openClients: pg.Client[] = [];

const roleName = (label: string) => `dbt_${suffix}_${label}`;
const prefix = `dbt_${suffix}_`;
const inAnHour = () => new Date(Date.now() + 3600_000);
const spec = (username: string, rest: Partial<ProvisionSpec> = {}): ProvisionSpec => ({
  username,
  password: generatePassword(),
  expiresAt: inAnHour(),
  level: 'read',
  scope: [],
  prefix,
  ...rest,
});
/** The access group a spec's grants go to. */
const groupOf = (request: ProvisionSpec) => postgresAccessGroup({ prefix, install: TEST_INSTALL_ID, database: databaseName, level: request.level, privileges: request.privileges, scope: request.scope })!;
/** The access groups a user is a member of. */
async function groupsOf(username: string): Promise<string[]> {
  const { rows } = await admin.query<{ rolname: string }>(
    `SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 ORDER BY 1`,
    [username],
  );
  return rows.map((row) => row.rolname);
}

async function connectAdmin(database: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, database), connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** A login as the temporary user over TCP, where the cluster checks passwords (scram-sha-256). */
async function login(user: string, password: string, database = databaseName): Promise<pg.Client> {
  const client = new pg.Client({ host, port, user, password, database, connectionTimeoutMillis: 5000 });
  // A terminated session emits 'error' on an idle client; unhandled, it would crash the test run.
  client.on('error', () => {});
  openClients.push(client);
  await client.connect();
  return client;
}

async function expectLoginRefused(user: string, password: string, database = databaseName): Promise<void> {
  // 28P01: password authentication failed (wrong password, expired, or no such role); 28000: NOLOGIN.
  await expect(login(user, password, database)).rejects.toMatchObject({ code: expect.stringMatching(/^28/) });
}

async function roleRow(username: string) {
  const { rows } = await admin.query('SELECT * FROM pg_roles WHERE rolname = $1', [username]);
  return rows[0] as Record<string, unknown> | undefined;
}

async function serverLog(): Promise<string | null> {
  const { rows } = await admin.query<{ text: string | null; json: string | null }>(
    `SELECT pg_read_file(pg_current_logfile()) AS text, pg_read_file(pg_current_logfile('jsonlog')) AS json`,
  );
  const row = rows[0]!;
  if (row.text === null && row.json === null) return null;
  // jsonlog escapes quotes: read its messages and statements back as the server wrote them.
  const json = (row.json ?? '').split('\n').filter(Boolean).flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { message?: string; statement?: string; detail?: string };
      return [entry.message, entry.statement, entry.detail].filter((part): part is string => typeof part === 'string');
    } catch {
      return [line];
    }
  });
  return `${row.text ?? ''}\n${json.join('\n')}`;
}

beforeAll(async () => {
  const cluster = await connectAdmin('postgres');
  try {
    await cluster.query(`CREATE DATABASE ${pg.escapeIdentifier(databaseName)}`);
    await cluster.query(`CREATE DATABASE ${pg.escapeIdentifier(otherDatabaseName)}`);
  } finally {
    await cluster.end();
  }
  admin = await connectAdmin(databaseName);
  await admin.query(`
    CREATE SCHEMA sales;
    CREATE TABLE sales.orders (id serial PRIMARY KEY, item text NOT NULL);
    INSERT INTO sales.orders (item) VALUES ('apple'), ('pear'), ('plum');
    CREATE TABLE sales.customers (id serial PRIMARY KEY, name text NOT NULL);
    INSERT INTO sales.customers (name) VALUES ('Ada'), ('Grace');
    CREATE SCHEMA ops;
    CREATE TABLE ops.events (id serial PRIMARY KEY, note text NOT NULL);
    INSERT INTO ops.events (note) VALUES ('boot');
    -- LIKE 'pg_%' would wrongly treat this one as a system schema.
    CREATE SCHEMA pgxdata;
  `);
});

afterAll(async () => {
  await Promise.all(openClients.map((client) => client.end().catch(() => {})));
  await provider.close();
  await admin?.end().catch(() => {});
  const cluster = await connectAdmin('postgres');
  try {
    for (const database of [databaseName, otherDatabaseName]) {
      await cluster.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database]);
      await cluster.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    }
    // Roles a failing test may have left behind; their objects went with the databases.
    const { rows } = await cluster.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE strpos(rolname, $1) > 0', [suffix]);
    for (const { rolname } of rows) {
      await cluster.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [rolname]);
      await cluster.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(rolname)}`);
    }
  } finally {
    await cluster.end();
  }
});

describe('postgres provider: provision', () => {
  it('read on one table: the user logs in and reads it, and nothing else', async () => {
    const request = spec(roleName('read'), { level: 'read', scope: [{ schema: 'sales', table: 'orders' }] });
    const result = await provider.provision(target, request);
    // The grant goes to the access group of (database, level, scope); the user joins it.
    const group = groupOf(request);
    expect(result.statements).toContain(`GRANT SELECT ON TABLE "sales"."orders" TO "${group}"`);
    expect(result.statements.at(-1)).toBe(`GRANT "${group}" TO "${request.username}"`);
    expect(await groupsOf(request.username)).toEqual([group]);
    expect(await roleRow(group)).toMatchObject({ rolcanlogin: false, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false });
    expect(result.statements.join('\n')).not.toContain(request.password);
    expect(result.statements.join('\n')).not.toContain('SCRAM-SHA-256');

    const role = await roleRow(request.username);
    expect(role).toMatchObject({
      rolcanlogin: true,
      rolsuper: false,
      rolinherit: true,
      rolcreaterole: false,
      rolcreatedb: false,
      rolreplication: false,
      rolbypassrls: false,
      rolconnlimit: 5,
    });
    expect((role!.rolvaliduntil as Date).getTime()).toBe(request.expiresAt.getTime());

    const user = await login(request.username, request.password);
    const { rows } = await user.query('SELECT item FROM sales.orders ORDER BY id');
    expect(rows.map((row) => row.item)).toEqual(['apple', 'pear', 'plum']);
    await expect(user.query('SELECT * FROM sales.customers')).rejects.toMatchObject({ code: '42501' });
    await expect(user.query(`INSERT INTO sales.orders (item) VALUES ('fig')`)).rejects.toMatchObject({ code: '42501' });
    await expect(user.query('SELECT * FROM ops.events')).rejects.toMatchObject({ code: '42501' });
  });

  it('write on a schema: rows can change (serial columns included), the schema cannot', async () => {
    const request = spec(roleName('write'), { level: 'write', scope: [{ schema: 'ops' }] });
    await provider.provision(target, request);
    const user = await login(request.username, request.password);

    const inserted = await user.query<{ id: number }>(`INSERT INTO ops.events (note) VALUES ('deploy') RETURNING id`);
    expect(inserted.rows[0]!.id).toBeGreaterThan(1);
    await user.query(`UPDATE ops.events SET note = 'deploy v2' WHERE id = $1`, [inserted.rows[0]!.id]);
    const check = await admin.query('SELECT note FROM ops.events WHERE id = $1', [inserted.rows[0]!.id]);
    expect(check.rows[0]?.note).toBe('deploy v2');

    await expect(user.query('CREATE TABLE ops.sneaky (id int)')).rejects.toMatchObject({ code: '42501' });
    await expect(user.query('SELECT * FROM sales.orders')).rejects.toMatchObject({ code: '42501' });
  });

  it('refuses a wrong password, and a correct one after VALID UNTIL has passed', async () => {
    const request = spec(roleName('pw'), { scope: [{ schema: 'sales', table: 'orders' }] });
    await provider.provision(target, request);
    await expectLoginRefused(request.username, `${request.password}x`);
    // The right password works, so the refusals here are about the password and the expiry.
    await (await login(request.username, request.password)).end();

    const expired = spec(roleName('expired'), { expiresAt: new Date(Date.now() - 5_000), scope: [{ schema: 'sales', table: 'orders' }] });
    await provider.provision(target, expired);
    await expectLoginRefused(expired.username, expired.password);
  });

  it('an empty scope covers every non-system schema, including one whose name starts with "pg"', async () => {
    expect(await provider.listSchemas(target)).toEqual(['ops', 'pgxdata', 'public', 'sales']);
    const request = spec(roleName('all'), { level: 'read', scope: [] });
    const result = await provider.provision(target, request);
    expect(result.statements).toContain(`GRANT SELECT ON ALL TABLES IN SCHEMA "pgxdata" TO "${groupOf(request)}"`);
    const user = await login(request.username, request.password);
    expect((await user.query('SELECT count(*)::int AS n FROM sales.customers')).rows[0]?.n).toBe(2);
    expect((await user.query('SELECT count(*)::int AS n FROM ops.events')).rows[0]?.n).toBeGreaterThanOrEqual(1);
  });

  it('a scope naming a missing table fails as bad input and leaves no role behind', async () => {
    const request = spec(roleName('missing'), { scope: [{ schema: 'sales', table: 'nope' }] });
    await expect(provider.provision(target, request)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await roleRow(request.username)).toBeUndefined();
  });

  it('a retried provision brings the same user to exactly the new spec', async () => {
    const first = spec(roleName('retry'), { scope: [{ schema: 'sales', table: 'orders', columns: ['item'] }] });
    await provider.provision(target, first);
    const second = spec(first.username, { scope: [{ schema: 'ops', table: 'events' }] });
    const result = await provider.provision(target, second);
    expect(result.statements[0]).toBe(`REVOKE ALL ON DATABASE "${databaseName}" FROM "${first.username}"`);

    await expectLoginRefused(first.username, first.password);
    const user = await login(second.username, second.password);
    expect((await user.query('SELECT count(*)::int AS n FROM ops.events')).rows[0]?.n).toBeGreaterThanOrEqual(1);
    await expect(user.query('SELECT * FROM sales.orders')).rejects.toMatchObject({ code: '42501' });
    // It left the first grant's group, which, with no member left, is gone.
    expect(await groupsOf(second.username)).toEqual([groupOf(second)]);
    expect(await roleRow(groupOf(first))).toBeUndefined();
  });

  it('a retried user whose grant no longer goes through a group leaves the one it was in', async () => {
    const first = spec(roleName('regroup'), { scope: [{ schema: 'ops', table: 'events', columns: ['note'] }] });
    await provider.provision(target, first);
    expect(await groupsOf(first.username)).toEqual([groupOf(first)]);
    await provider.provision(target, spec(first.username, { level: 'admin', scope: [{ schema: 'ops' }] }));
    expect(await groupsOf(first.username)).toEqual([]);
    await provider.revoke(target, first.username);
  });

  it('users with the same grant share one access group, which the last revocation drops', async () => {
    const scope = [{ schema: 'sales', table: 'customers' }];
    const [a, b] = [spec(roleName('share_a'), { scope }), spec(roleName('share_b'), { scope })];
    await provider.provision(target, a);
    await provider.provision(target, b);
    const group = groupOf(a);
    expect(groupOf(b)).toBe(group);
    // The table's privilege list names the group once, never the users: its length does not grow with them.
    const acl = await admin.query<{ grantee: string }>(
      `SELECT grantee FROM information_schema.role_table_grants WHERE table_schema = 'sales' AND table_name = 'customers' AND grantee LIKE $1`,
      [`${prefix}%`],
    );
    const grantees = acl.rows.map((row) => row.grantee);
    expect(grantees).toContain(group);
    expect(grantees).not.toEqual(expect.arrayContaining([a.username]));
    expect(grantees).not.toEqual(expect.arrayContaining([b.username]));
    // listUsers (the reconciler's view) shows users, never groups.
    expect((await provider.listUsers(target, [prefix])).ours).toEqual(expect.arrayContaining([a.username, b.username]));
    expect((await provider.listUsers(target, [prefix])).ours).not.toContain(group);

    const sessionB = await login(b.username, b.password);
    await provider.revoke(target, a.username);
    expect(await roleRow(group)).toBeDefined();
    expect((await sessionB.query('SELECT count(*)::int AS n FROM sales.customers')).rows[0]?.n).toBe(2);
    await provider.revoke(target, b.username);
    expect(await roleRow(group)).toBeUndefined();
    const left = await admin.query(`SELECT 1 FROM information_schema.role_table_grants WHERE grantee = $1`, [group]);
    expect(left.rowCount).toBe(0);
  });

  it('leaves no access group behind when its last two members are revoked at the same time', async () => {
    // Two providers (two apps, say): neither batches the other's revocation, so each may see the other still in the group.
    const other = createPostgresProvider({ installId: TEST_INSTALL_ID });
    try {
      const scope = [{ schema: 'sales', table: 'orders', columns: ['id'] }];
      for (let round = 0; round < 6; round += 1) {
        const [a, b] = [spec(roleName(`pair${round}a`), { scope }), spec(roleName(`pair${round}b`), { scope })];
        await provider.provision(target, a);
        await provider.provision(target, b);
        expect(await roleRow(groupOf(a))).toBeDefined();
        await Promise.all([provider.revoke(target, a.username), other.revoke(target, b.username)]);
        expect(await roleRow(groupOf(a))).toBeUndefined();
      }
    } finally {
      await other.close();
    }
  });

  it('never drops a role it did not make, even one named like an access group that its user was put in', async () => {
    const request = spec(roleName('lookalike'), { scope: [{ schema: 'ops', table: 'events' }] });
    await provider.provision(target, request);
    const lookalike = `${prefix}x_grp_0123456789abcdef`;
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(lookalike)} NOLOGIN`);
    await admin.query(`GRANT ${pg.escapeIdentifier(lookalike)} TO ${pg.escapeIdentifier(request.username)}`);
    await provider.revoke(target, request.username);
    expect(await roleRow(request.username)).toBeUndefined();
    expect(await roleRow(lookalike)).toBeDefined();
    await admin.query(`DROP ROLE ${pg.escapeIdentifier(lookalike)}`);
  });

  it('never lends a group it did not make, or one that was changed, to a user', async () => {
    // Someone made a role under the group's name (a login, say), or gave our group another role.
    const squatted = spec(roleName('squat'), { level: 'write', scope: [{ schema: 'sales', table: 'customers' }] });
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(groupOf(squatted))} NOLOGIN`);
    await expect(provider.provision(target, squatted)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(groupOf(squatted)) });
    expect(await roleRow(squatted.username)).toBeUndefined();

    const widened = spec(roleName('widen_a'), { scope: [{ schema: 'ops' }] });
    await provider.provision(target, widened);
    const group = groupOf(widened);
    expect(await roleRow(group)).toBeDefined();
    await admin.query(`GRANT pg_read_all_data TO ${pg.escapeIdentifier(group)}`);
    const next = spec(roleName('widen_b'), { scope: [{ schema: 'ops' }] });
    await expect(provider.provision(target, next)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await roleRow(next.username)).toBeUndefined();
    await admin.query(`REVOKE pg_read_all_data FROM ${pg.escapeIdentifier(group)}`);
    await provider.revoke(target, widened.username);
    const marker = await admin.query(`SELECT 1 FROM pg_shdescription WHERE starts_with(description, $1) AND objoid = (SELECT oid FROM pg_roles WHERE rolname = $2)`, [GROUP_MARKER, group]);
    expect(marker.rowCount).toBe(0);
  });

  it('never touches a role of the same name that dbaccess did not create', async () => {
    const username = roleName('human');
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(username)} LOGIN CONNECTION LIMIT 2`);
    await expect(provider.provision(target, spec(username))).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(provider.revoke(target, username)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await roleRow(username)).toMatchObject({ rolcanlogin: true, rolconnlimit: 2 });
  });
});

describe('postgres provider: revoke', () => {
  it('kills an open session, blocks new logins and removes the role', async () => {
    const request = spec(roleName('live'), { scope: [{ schema: 'sales', table: 'orders' }] });
    await provider.provision(target, request);
    const session = await login(request.username, request.password);
    expect((await session.query('SELECT count(*)::int AS n FROM sales.orders')).rows[0]?.n).toBe(3);

    const result = await provider.revoke(target, request.username);
    expect(result.existed).toBe(true);
    expect(result.sessionsKilled).toBeGreaterThanOrEqual(1);

    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expectLoginRefused(request.username, request.password);
    expect(await roleRow(request.username)).toBeUndefined();
    const backends = await admin.query('SELECT 1 FROM pg_stat_activity WHERE usename = $1', [request.username]);
    expect(backends.rowCount).toBe(0);
  });

  it('removes a user that owns objects and default privileges, in every database it touched', async () => {
    const request = spec(roleName('owner'), { level: 'admin', scope: [{ schema: 'ops' }] });
    await provider.provision(target, request);
    const user = await login(request.username, request.password);
    await user.query(`CREATE TABLE ops.scratch (id serial PRIMARY KEY, note text); INSERT INTO ops.scratch (note) VALUES ('mine')`);
    await user.query('ALTER DEFAULT PRIVILEGES IN SCHEMA ops GRANT SELECT ON TABLES TO PUBLIC');

    // The same user also owns a table in a second database of the cluster.
    const other = await connectAdmin(otherDatabaseName);
    try {
      await other.query(`GRANT CREATE ON SCHEMA public TO ${pg.escapeIdentifier(request.username)}`);
      const elsewhere = await login(request.username, request.password, otherDatabaseName);
      await elsewhere.query('CREATE TABLE public.elsewhere (id int)');
      // A session still inside a transaction holds locks that REASSIGN OWNED would wait for: only
      // terminating the sessions first lets revocation through.
      await user.query(`BEGIN; INSERT INTO ops.scratch (note) VALUES ('uncommitted')`);

      const result = await provider.revoke(target, request.username);
      expect(result).toMatchObject({ existed: true });
      expect(result.sessionsKilled).toBeGreaterThanOrEqual(2);

      expect(await roleRow(request.username)).toBeUndefined();
      const here = await admin.query(`SELECT tableowner FROM pg_tables WHERE schemaname = 'ops' AND tablename = 'scratch'`);
      expect(here.rows).toEqual([{ tableowner: adminUser }]);
      expect((await admin.query('SELECT note FROM ops.scratch')).rows).toEqual([{ note: 'mine' }]);
      const there = await other.query(`SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'elsewhere'`);
      expect(there.rows).toEqual([{ tableowner: adminUser }]);
    } finally {
      await other.end();
    }
  });

  it('drops an access group that owns objects in another database, cleaning them there as a user’s are', async () => {
    // A grant no other test uses: its group has this one member.
    const request = spec(roleName('grpowner'), { scope: [{ schema: 'ops', table: 'events', columns: ['note'] }] });
    await provider.provision(target, request);
    const group = groupOf(request);
    const other = await connectAdmin(otherDatabaseName);
    try {
      // Before PostgreSQL 16 a member may SET ROLE to its group, and what it creates then belongs to the group.
      await other.query(`GRANT CREATE ON SCHEMA public TO ${pg.escapeIdentifier(group)}`);
      const version = Number((await admin.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v);
      if (version < 160000) {
        const elsewhere = await login(request.username, request.password, otherDatabaseName);
        await elsewhere.query(`SET ROLE ${pg.escapeIdentifier(group)}; CREATE TABLE public.made_by_group (id int); RESET ROLE`);
      } else {
        await other.query(`CREATE TABLE public.made_by_group (id int); ALTER TABLE public.made_by_group OWNER TO ${pg.escapeIdentifier(group)}`);
      }

      expect(await provider.revoke(target, request.username)).toMatchObject({ existed: true });
      expect(await roleRow(request.username)).toBeUndefined();
      expect(await roleRow(group)).toBeUndefined();
      const there = await other.query(`SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'made_by_group'`);
      expect(there.rows).toEqual([{ tableowner: adminUser }]);
    } finally {
      await other.query('DROP TABLE IF EXISTS public.made_by_group').catch(() => {});
      await other.end();
    }
  });

  it('drops, for the reconciler, access groups no user is in, and no other role', async () => {
    // A group left without members (its last step failed), one still in use, and a look-alike that is not ours.
    const [left, used] = [
      spec(roleName('orphangrp'), { scope: [{ schema: 'sales', table: 'customers', columns: ['name'] }] }),
      spec(roleName('usedgrp'), { scope: [{ schema: 'ops', table: 'events', columns: ['id'] }] }),
    ];
    await provider.provision(target, left);
    await provider.provision(target, used);
    await admin.query(`REVOKE ${pg.escapeIdentifier(groupOf(left))} FROM ${pg.escapeIdentifier(left.username)}`);
    const lookalike = `${prefix}grp_fedcba9876543210`;
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(lookalike)} NOLOGIN`);
    try {
      expect(await provider.dropEmptyGroups!(target, [prefix])).toEqual([groupOf(left)]);
      expect(await roleRow(groupOf(left))).toBeUndefined();
      expect(await roleRow(groupOf(used))).toBeDefined();
      expect(await roleRow(lookalike)).toBeDefined();
      expect(await provider.dropEmptyGroups!(target, [prefix])).toEqual([]);
      await expect(provider.dropEmptyGroups!(target, [''])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    } finally {
      await admin.query(`DROP ROLE ${pg.escapeIdentifier(lookalike)}`);
      await provider.revoke(target, left.username);
      await provider.revoke(target, used.username);
    }
  });

  it('provisions, ends the session of, and revokes users with hostile names (quotes, $$, backslashes, separators)', async () => {
    // Provision and revoke send names inside multi-statement strings and a DO block (a literal inside
    // a literal): each must still name exactly this role, never another or a statement of its own.
    const names = hostileNames()
      .accepted.map((name) => `${name}${suffix}`)
      .filter((name) => Buffer.byteLength(name, 'utf8') <= 63 && !name.startsWith('pg_') && !name.includes('\0'));
    expect(names.length).toBeGreaterThanOrEqual(200);
    const withSession = new Set([`'${suffix}`, `$$${suffix}`, `\\'${suffix}`, `'; DROP TABLE victims; --${suffix}`]);
    let sessions = 0;
    for (const name of names) {
      const request = spec(name, { scope: [{ schema: 'sales', table: 'orders' }] });
      await provider.provision(target, request);
      const session = withSession.has(name) ? await login(name, request.password) : undefined;
      if (session) sessions++;
      expect(await provider.revoke(target, name)).toEqual({ existed: true, sessionsKilled: session ? 1 : 0 });
      if (session) await expect(session.query('SELECT 1')).rejects.toThrow();
    }
    expect(sessions).toBe(withSession.size);
    const left = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1::text[])', [names]);
    expect(left.rows[0]!.n).toBe(0);
  });

  it('revokes many users of one target at once in batches, each with its own outcome', async () => {
    // One connection: while the first revocation runs, the others queue and then go together.
    const batched = createPostgresProvider({ installId: TEST_INSTALL_ID, poolSize: 1 });
    try {
      const scope = [{ schema: 'ops', table: 'events' }];
      const many = Array.from({ length: 24 }, (_, i) => spec(roleName(`many${i}`), { level: 'write', scope }));
      for (const request of many) await batched.provision(target, request);
      const sessions = await Promise.all(many.slice(0, 3).map((request) => login(request.username, request.password)));
      const outcomes = await Promise.all([...many.map((request) => batched.revoke(target, request.username)), batched.revoke(target, many[5]!.username)]);
      expect(outcomes.slice(0, 3).every((outcome) => outcome.existed && outcome.sessionsKilled === 1)).toBe(true);
      expect(outcomes.slice(3).every((outcome) => outcome.existed && outcome.sessionsKilled === 0)).toBe(true);
      for (const session of sessions) await expect(session.query('SELECT 1')).rejects.toThrow();
      const left = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1::text[]) OR rolname = $2', [many.map((r) => r.username), groupOf(many[0]!)]);
      expect(left.rows[0]!.n).toBe(0);
      // They went in batches: the server saw one REASSIGN OWNED naming several of them.
      await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      const batches = await admin.query<{ query: string }>(`SELECT query FROM pg_stat_statements WHERE query LIKE 'REASSIGN OWNED BY %' AND strpos(query, $1) > 0`, [`"${many[10]!.username}"`]);
      expect(batches.rows.some((row) => row.query.includes(`"${many[11]!.username}"`))).toBe(true);

      // A role that is not ours fails the batch it is in; the others are then revoked one by one.
      const more = Array.from({ length: 6 }, (_, i) => spec(roleName(`more${i}`), { level: 'write', scope }));
      for (const request of more) await batched.provision(target, request);
      const human = roleName('many_human');
      await admin.query(`CREATE ROLE ${pg.escapeIdentifier(human)} LOGIN`);
      const settled = await Promise.allSettled([...more.map((request) => batched.revoke(target, request.username)), batched.revoke(target, human)]);
      expect(settled.slice(0, 6).map((outcome) => outcome.status)).toEqual(Array(6).fill('fulfilled'));
      expect(settled[6]).toMatchObject({ status: 'rejected', reason: { code: 'CONFLICT' } });
      expect(await roleRow(human)).toMatchObject({ rolcanlogin: true });
      const gone = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1::text[])', [more.map((r) => r.username)]);
      expect(gone.rows[0]!.n).toBe(0);
    } finally {
      await batched.close();
    }
  });

  it('killSessions ends the sessions of a user, whatever its name, and of no one else', async () => {
    const request = spec(`dbt "Mixed" 'Case' ${suffix}`, { scope: [{ schema: 'sales', table: 'orders' }] });
    const bystander = spec(roleName('bystander'), { scope: [{ schema: 'sales', table: 'orders' }] });
    await provider.provision(target, request);
    await provider.provision(target, bystander);
    const sessions = [await login(request.username, request.password), await login(request.username, request.password)];
    const other = await login(bystander.username, bystander.password);
    expect(await provider.killSessions(target, request.username)).toBe(2);
    for (const session of sessions) await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await provider.killSessions(target, roleName('nobody'))).toBe(0);
    expect((await other.query('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    // The user itself stays: it can log in again.
    await (await login(request.username, request.password)).query('SELECT 1');
    await provider.revoke(target, request.username);
    await provider.revoke(target, bystander.username);
  });

  it('two processes revoking the same user at once both succeed, and the user is gone', async () => {
    // The CLI's revoke-all and a worker, or two workers past a revocation's claim: neither may fail on
    // the role the other dropped between its two round trips (42704, "role does not exist").
    const other = createPostgresProvider({ installId: TEST_INSTALL_ID });
    try {
      for (let round = 0; round < 8; round += 1) {
        const request = spec(roleName(`same${round}`), { level: 'write', scope: [{ schema: 'sales' }] });
        await provider.provision(target, request);
        const session = await login(request.username, request.password);
        const outcomes = await Promise.all([provider.revoke(target, request.username), other.revoke(target, request.username)]);
        expect(outcomes.some((outcome) => outcome.existed)).toBe(true);
        expect(await roleRow(request.username)).toBeUndefined();
        await expect(session.query('SELECT 1')).rejects.toThrow();
      }
    } finally {
      await other.close();
    }
  });

  it('two processes each revoking the same users in batches (a mass expiry) both succeed', async () => {
    // One connection each: the users of one target queue up and go together, in either order.
    const [one, two] = [createPostgresProvider({ installId: TEST_INSTALL_ID, poolSize: 1 }), createPostgresProvider({ installId: TEST_INSTALL_ID, poolSize: 1 })];
    try {
      for (let round = 0; round < 4; round += 1) {
        const users = Array.from({ length: 5 }, (_, i) => spec(roleName(`mass${round}_${i}`), { level: 'write', scope: [{ schema: 'sales' }] }));
        for (const request of users) await provider.provision(target, request);
        const names = users.map((request) => request.username);
        const outcomes = await Promise.all([...names.map((name) => one.revoke(target, name)), ...[...names].reverse().map((name) => two.revoke(target, name))]);
        expect(outcomes).toHaveLength(10);
        const left = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1::text[])', [names]);
        expect(left.rows[0]!.n).toBe(0);
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('is idempotent: a second revoke reports that the user was already gone', async () => {
    const request = spec(roleName('twice'), { scope: [{ schema: 'sales', table: 'orders' }] });
    await provider.provision(target, request);
    expect(await provider.revoke(target, request.username)).toEqual({ existed: true, sessionsKilled: 0 });
    expect(await provider.revoke(target, request.username)).toEqual({ existed: false, sessionsKilled: 0 });
  });
});

describe('postgres provider: a non-superuser admin', () => {
  // Managed services (RDS, Cloud SQL) give no superuser: an admin with CREATEROLE that owns what it grants.
  const adminName = roleName('nsadmin');
  const adminPassword = generatePassword();
  let limited: Target;

  beforeAll(async () => {
    const quoted = pg.escapeIdentifier(adminName);
    await admin.query(`
      CREATE ROLE ${quoted} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)} IN ROLE pg_signal_backend;
      GRANT CONNECT, TEMPORARY ON DATABASE ${pg.escapeIdentifier(databaseName)} TO ${quoted} WITH GRANT OPTION;
      CREATE SCHEMA team AUTHORIZATION ${quoted};
      CREATE TABLE team.members (id serial PRIMARY KEY, name text);
      ALTER TABLE team.members OWNER TO ${quoted};
      INSERT INTO team.members (name) VALUES ('Lin');
      GRANT USAGE ON SCHEMA sales TO ${quoted};
      GRANT SELECT ON sales.orders TO ${quoted};
    `);
    const url = new URL(adminUrl);
    url.username = adminName;
    url.password = adminPassword;
    limited = { entry, adminUrl: url.toString() };
  });

  it('provisions and revokes a user that owns objects', async () => {
    const request = spec(roleName('nsuser'), { level: 'admin', scope: [{ schema: 'team' }] });
    await provider.provision(limited, request);
    const user = await login(request.username, request.password);
    expect((await user.query('SELECT name FROM team.members')).rows).toEqual([{ name: 'Lin' }]);
    await user.query('CREATE TABLE team.notes (id int)');

    // PostgreSQL 15 does not make a CREATEROLE admin a member of the roles it creates; without
    // membership, REASSIGN OWNED is refused.
    const result = await provider.revoke(limited, request.username);
    expect(result).toEqual({ existed: true, sessionsKilled: 1 });
    expect(await roleRow(request.username)).toBeUndefined();
    const owner = await admin.query(`SELECT tableowner FROM pg_tables WHERE schemaname = 'team' AND tablename = 'notes'`);
    expect(owner.rows).toEqual([{ tableowner: adminName }]);
  });

  it('refuses, leaving no role, when the admin may read a table but not grant it', async () => {
    // GRANT without grant option is only a warning from the server, and grants nothing: the catalog
    // is read first, and a scope of which nothing can be granted is refused with what and why.
    const request = spec(roleName('nsdenied'), { scope: [{ schema: 'sales', table: 'orders' }] });
    const error = await provider.provision(limited, request).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'BAD_INPUT' });
    expect((error as Error).message).toMatch(/Nothing in this scope can be granted on .*: schema sales \(owned by [^;]+; no grant option on it\)\./);
    expect((error as Error).message).not.toContain(adminPassword);
    expect(await roleRow(request.username)).toBeUndefined();
  });
});

describe('postgres provider: secrets', () => {
  it('never sends the plaintext password to the server, not even in a failing CREATE ROLE', async () => {
    const request = spec(roleName('log'), { scope: [{ schema: 'sales', table: 'orders' }] });
    await provider.provision(target, request);
    const stored = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [request.username]);
    expect(stored.rows[0]?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);

    // Role names starting with pg_ are reserved: the server rejects this CREATE ROLE and logs the statement.
    const failing = spec(`pg_${suffix}_log`, { scope: [{ schema: 'sales', table: 'orders' }] });
    const error: unknown = await provider.provision(target, failing).catch((caught: unknown) => caught);
    expect(isAppError(error)).toBe(true);
    expect((error as Error).message).not.toContain(failing.password);
    expect((error as Error).message).not.toContain('SCRAM-SHA-256');

    let log = await serverLog();
    if (log === null) {
      // pg_read_file gives null only when the server has no log file (logging_collector off): nothing to read.
      return;
    }
    // The logging collector writes asynchronously: wait until the failed statement shows up.
    for (let attempt = 0; attempt < 50 && !log.includes(`CREATE ROLE "${failing.username}"`); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      log = (await serverLog()) ?? '';
    }
    // Proves the check below looks at a log that records failing role statements...
    expect(log).toContain(`CREATE ROLE "${failing.username}" LOGIN PASSWORD 'SCRAM-SHA-256$4096:`);
    // ...and that it holds verifiers only.
    expect(log).not.toContain(failing.password);
    expect(log).not.toContain(request.password);
  });

  it('reports an unreachable target or refused admin login without the URL or the password', async () => {
    const secret = 'admin-secret-9f3k';
    const isolated = createPostgresProvider({ installId: TEST_INSTALL_ID });
    try {
      const down: Target = {
        entry: { ...entry, port: 1 },
        adminUrl: `postgresql://${adminUser}:${secret}@127.0.0.1:1/postgres`,
      };
      const refusedPing = await isolated.ping(down).catch((caught: unknown) => caught);
      expect(refusedPing).toMatchObject({ code: 'TARGET_UNAVAILABLE', message: 'Cannot reach orders (127.0.0.1:1): connection refused.' });

      const wrongPassword: Target = { entry, adminUrl: `postgresql://${adminUser}:${secret}@${host}:${port}/postgres` };
      for (const attempt of [
        () => isolated.provision(wrongPassword, spec(roleName('never'))),
        () => isolated.revoke(wrongPassword, roleName('never')),
        () => isolated.listUsers(wrongPassword, ['dbt_']),
      ]) {
        const error = await attempt().catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'TARGET_UNAVAILABLE' });
        const message = (error as Error).message;
        expect(message).toBe(`Cannot reach orders (${host}:${port}): the admin login was refused (check the admin credentials).`);
        expect(message).not.toContain(secret);
        expect(message).not.toContain('postgresql://');
      }
    } finally {
      await isolated.close();
    }
  });

  it('answers a ping on a healthy target', async () => {
    await expect(provider.ping(target)).resolves.toBeUndefined();
  });
});

describe('postgres provider: listUsers', () => {
  it('treats _ and % in the prefix literally', async () => {
    const prefix = `dbt_${suffix}_l_`;
    const names = [
      `dbt_${suffix}_l_one`, // the only real match
      `dbt_${suffix}_lXtwo`, // would match if the last _ were a wildcard
      `dbtX${suffix}_l_three`, // would match if the first _ were a wildcard
      `dbt_${suffix}_p%four`, // matches the % prefix below
      `dbt_${suffix}_pzfive`, // would match if % were a wildcard
    ];
    for (const name of names) {
      await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} NOLOGIN; COMMENT ON ROLE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(roleMarker(TEST_INSTALL_ID))}`);
    }

    expect((await provider.listUsers(target, [prefix])).ours).toEqual([`dbt_${suffix}_l_one`]);
    expect((await provider.listUsers(target, [`dbt_${suffix}_p%`])).ours).toEqual([`dbt_${suffix}_p%four`]);
    expect((await provider.listUsers(target, [prefix, `dbt_${suffix}_p%`])).ours).toEqual([`dbt_${suffix}_l_one`, `dbt_${suffix}_p%four`]);
    await expect(provider.listUsers(target, [''])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(provider.listUsers(target, [])).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('lists this install`s users as ours and those made before install ids as legacy; no one else`s', async () => {
    const prefix = `dbt_${suffix}_m_`;
    const marked = { [`${prefix}mine`]: roleMarker(TEST_INSTALL_ID), [`${prefix}old`]: ROLE_MARKER, [`${prefix}other`]: roleMarker('bbbbbbbb'), [`${prefix}nobody`]: 'a person' };
    for (const [name, marker] of Object.entries(marked)) {
      await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} NOLOGIN; COMMENT ON ROLE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(marker)}`);
    }
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(`${prefix}bare`)} NOLOGIN`);
    expect(await provider.listUsers(target, [prefix])).toEqual({ ours: [`${prefix}mine`], legacy: [`${prefix}old`] });
    // Another install's user is not this one's to revoke (nor to extend).
    await expect(provider.revoke(target, `${prefix}other`)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(provider.extend(target, `${prefix}other`, new Date(Date.now() + 60_000))).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await roleRow(`${prefix}other`)).toBeDefined();
  });
});

describe('withDatabase', () => {
  it('swaps the database and keeps everything else', () => {
    const url = 'postgresql://admin:p%40ss@db.internal:6543/postgres?application_name=x';
    for (const name of ['orders', 'with space', '50%_off', 'ümlaut', 'semi;colon']) {
      const client = new pg.Client({ connectionString: withDatabase(url, name) });
      expect(client.database).toBe(name);
      expect(client.user).toBe('admin');
      expect(client.password).toBe('p@ss');
      expect(client.host).toBe('db.internal');
      expect(client.port).toBe(6543);
    }
    expect(withDatabase(url, 'orders')).toContain("application_name=x");
    expect(() => withDatabase(url, 'a/b')).toThrow(/cannot be put in a connection URL/);
  });
});
