import { createHash, randomBytes } from 'node:crypto';
import { TEST_INSTALL_ID } from '../support/databases.js';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import type { ProvisionSpec, Target } from '../../src/modules/credentials/credential-types.js';
import { markStatements, quoteIdentifier } from '../../src/modules/credentials/engines/mysql/grants.js';
import { createMysqlProvider } from '../../src/modules/credentials/engines/mysql/provider.js';

// The machine's MariaDB (root, empty password). Everything this file creates carries the suffix: its
// databases, and its users (users are server-wide).
const adminUrl = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';
const host = new URL(adminUrl).hostname;
const port = Number(new URL(adminUrl).port || 3306);
const suffix = randomBytes(4).toString('hex');
const shop = `dbaccess_myprov_${suffix}`;
const ops = `dbaccess_myprov_${suffix}_ops`;
// `_` is a wildcard in database-level grants: a grant on the first must not reach the second.
const underscored = `dbaccess_my_${suffix}`;
const lookalike = `dbaccess_myX${suffix}`;
// Quotes, comment markers, a semicolon, a backslash, a dot and look-alikes of ` and ; (U+02CB, U+FF1B).
const hostileDb = `h\`o'st"i;le -- # /* .\\ ˋ；${suffix}`;
const hostileTable = `t\`a'b"l;e -- # /*\\ ˋ；`;

const entry: DatabaseEntry = {
  id: 'shop',
  engine: 'mariadb',
  host,
  port,
  database: shop,
  // The databases its scopes name (a scope outside them is refused: see listObjects and scope-bounds).
  databases: [shop, ops, underscored, lookalike, hostileDb],
  environment: 'development',
  admin: 'env:SHOP_ADMIN_URL',
  maxDuration: 4 * 3600,
  levels: ['read', 'write', 'admin'],
  connectionLimit: 5,
  poolSize: 4,
  allowedHosts: ['%'],
  legacyUserNames: false,
  capture: 'none',
  tableTags: {},
  tags: [],
};
const target: Target = { entry, adminUrl };
const withEntry = (changes: Partial<DatabaseEntry>): Target => ({ entry: { ...entry, ...changes }, adminUrl });

const provider = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
let admin: Connection;
const openConnections: Connection[] = [];
let skipNameResolve = false;

const userName = (label: string) => `dbt_${suffix}_${label}`;
const inAnHour = () => new Date(Date.now() + 3600_000);
const spec = (username: string, rest: Partial<ProvisionSpec> = {}): ProvisionSpec => ({
  username,
  password: generatePassword(),
  expiresAt: inAnHour(),
  level: 'read',
  scope: [],
  ...rest,
});

async function login(user: string, password: string, database?: string): Promise<Connection> {
  const connection = await mysql.createConnection({ host, port, user, password, database, connectTimeout: 5000 });
  // A killed session emits 'error' on an idle connection; unhandled, it would crash the test run.
  connection.on('error', () => {});
  openConnections.push(connection);
  return connection;
}

/**
 * 1045: access denied (wrong password or no such user); 1698: the same for a user that does not exist,
 * when MariaDB's fake authentication (against user enumeration) happens to pick a plugin that answers so;
 * 4151: MariaDB's "account is locked".
 */
async function expectLoginRefused(user: string, password: string): Promise<void> {
  const error = await login(user, password).then(
    () => undefined,
    (caught: { errno?: number }) => caught,
  );
  expect(error?.errno).toSatisfy((errno: number) => [1045, 1698, 4151].includes(errno));
}

const denied = { errno: 1142 }; // ER_TABLEACCESS_DENIED_ERROR

async function accounts(username: string): Promise<Array<{ host: string; priv: Record<string, unknown> }>> {
  const [rows] = await admin.query<RowDataPacket[]>('SELECT Host AS host, Priv AS priv FROM mysql.global_priv WHERE User = ? ORDER BY Host', [username]);
  return rows.map((row) => ({ host: String(row.host), // mysql2 parses the JSON column itself.
    priv: (typeof row.priv === 'string' ? JSON.parse(row.priv) : row.priv) as Record<string, unknown>,
  }));
}

/** Whether the provider's lock on the user (its name hashed) is free: no pooled session kept it. */
async function userLockFree(username: string): Promise<boolean> {
  const lockName = `dbaccess:${createHash('sha1').update(username, 'utf8').digest('hex')}`;
  const [rows] = await admin.query<RowDataPacket[]>('SELECT IS_FREE_LOCK(?) AS free', [lockName]);
  return Number(rows[0]!.free) === 1;
}

async function sessionsOf(username: string): Promise<number> {
  const [rows] = await admin.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [username]);
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: adminUrl, multipleStatements: true });
  const [vars] = await admin.query<RowDataPacket[]>('SELECT @@skip_name_resolve AS skip');
  skipNameResolve = Number(vars[0]!.skip) === 1;
  const q = quoteIdentifier;
  await admin.query(`
    CREATE DATABASE ${q(shop)};
    CREATE TABLE ${q(shop)}.orders (id int AUTO_INCREMENT PRIMARY KEY, item varchar(40) NOT NULL);
    INSERT INTO ${q(shop)}.orders (item) VALUES ('apple'), ('pear'), ('plum');
    CREATE TABLE ${q(shop)}.customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL);
    INSERT INTO ${q(shop)}.customers (name) VALUES ('Ada'), ('Grace');
    CREATE DATABASE ${q(ops)};
    CREATE TABLE ${q(ops)}.events (id int AUTO_INCREMENT PRIMARY KEY, note varchar(40) NOT NULL);
    INSERT INTO ${q(ops)}.events (note) VALUES ('boot');
    CREATE DATABASE ${q(underscored)};
    CREATE TABLE ${q(underscored)}.t (id int);
    INSERT INTO ${q(underscored)}.t VALUES (1);
    CREATE DATABASE ${q(lookalike)};
    CREATE TABLE ${q(lookalike)}.t (id int);
    INSERT INTO ${q(lookalike)}.t VALUES (2);
    CREATE DATABASE ${q(hostileDb)};
    CREATE TABLE ${q(hostileDb)}.${q(hostileTable)} (id int);
    INSERT INTO ${q(hostileDb)}.${q(hostileTable)} VALUES (42);
    CREATE TABLE ${q(hostileDb)}.other (id int);
  `);
});

afterAll(async () => {
  await Promise.all(openConnections.map((connection) => connection.end().catch(() => connection.destroy())));
  await provider.close();
  if (!admin) return;
  for (const database of [shop, ops, underscored, lookalike, hostileDb]) {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`);
  }
  // Users a failing test may have left behind (the suffix is hex: no LIKE wildcards in it).
  const [rows] = await admin.query<RowDataPacket[]>('SELECT User AS user, Host AS host FROM mysql.global_priv WHERE User LIKE ?', [`%${suffix}%`]);
  for (const row of rows) {
    await admin.query(`KILL CONNECTION USER ${admin.escape(row.user)}`).catch(() => {});
    await admin.query(`DROP USER IF EXISTS ${admin.escape(row.user)}@${admin.escape(row.host)}`);
  }
  await admin.end();
});

describe('mysql provider (MariaDB): provision', () => {
  it('read on one table: the user logs in and reads it, and nothing else', async () => {
    const request = spec(userName('read'), { level: 'read', scope: [{ schema: shop, table: 'orders' }] });
    const result = await provider.provision(target, request);
    expect(result.statements).toEqual([`GRANT SELECT ON \`${shop}\`.\`orders\` TO '${request.username}'@'%'`]);
    expect(result.statements.join('\n')).not.toContain(request.password);

    const [account] = await accounts(request.username);
    expect(account).toMatchObject({ host: '%', priv: { plugin: 'mysql_native_password', max_user_connections: 5, dbaccess: `dbaccess temporary user ${TEST_INSTALL_ID}`, access: 0 } });
    expect(account!.priv.authentication_string).toMatch(/^\*[0-9A-F]{40}$/);

    const user = await login(request.username, request.password);
    const [rows] = await user.query<RowDataPacket[]>(`SELECT item FROM ${quoteIdentifier(shop)}.orders ORDER BY id`);
    expect(rows.map((row) => row.item)).toEqual(['apple', 'pear', 'plum']);
    await expect(user.query(`SELECT * FROM ${quoteIdentifier(shop)}.customers`)).rejects.toMatchObject(denied);
    await expect(user.query(`INSERT INTO ${quoteIdentifier(shop)}.orders (item) VALUES ('fig')`)).rejects.toMatchObject(denied);
    await expect(user.query(`SELECT * FROM ${quoteIdentifier(ops)}.events`)).rejects.toMatchObject(denied);
    await expect(user.query('SELECT User FROM mysql.user')).rejects.toMatchObject(denied);
  });

  it('read on some columns: those columns and no others', async () => {
    const request = spec(userName('cols'), { level: 'read', scope: [{ schema: shop, table: 'customers', columns: ['name'] }] });
    const result = await provider.provision(target, request);
    expect(result.statements).toEqual([`GRANT SELECT (\`name\`) ON \`${shop}\`.\`customers\` TO '${request.username}'@'%'`]);
    const user = await login(request.username, request.password);
    const [rows] = await user.query<RowDataPacket[]>(`SELECT name FROM ${quoteIdentifier(shop)}.customers ORDER BY name`);
    expect(rows).toEqual([{ name: 'Ada' }, { name: 'Grace' }]);
    await expect(user.query(`SELECT id FROM ${quoteIdentifier(shop)}.customers`)).rejects.toMatchObject({ errno: 1143 }); // ER_COLUMNACCESS_DENIED_ERROR
    await expect(provider.provision(target, spec(userName('colsw'), { level: 'write', scope: [{ schema: shop, table: 'customers', columns: ['name'] }] }))).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    expect(await accounts(userName('colsw'))).toEqual([]);
    const missing = spec(userName('colsm'), { level: 'read', scope: [{ schema: shop, table: 'customers', columns: ['nope'] }] });
    await expect(provider.provision(target, missing)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await accounts(missing.username)).toEqual([]);
  });

  it('write on a database: rows can change, the schema cannot', async () => {
    const request = spec(userName('write'), { level: 'write', scope: [{ schema: ops }] });
    const result = await provider.provision(target, request);
    expect(result.statements).toEqual([`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${ops.replace(/_/g, '\\_')}\`.* TO '${request.username}'@'%'`]);
    const user = await login(request.username, request.password);

    const [inserted] = await user.query<mysql.ResultSetHeader>(`INSERT INTO ${quoteIdentifier(ops)}.events (note) VALUES ('deploy')`);
    expect(inserted.insertId).toBeGreaterThan(1);
    await user.query(`UPDATE ${quoteIdentifier(ops)}.events SET note = 'deploy v2' WHERE id = ?`, [inserted.insertId]);
    const [check] = await admin.query<RowDataPacket[]>(`SELECT note FROM ${quoteIdentifier(ops)}.events WHERE id = ?`, [inserted.insertId]);
    expect(check[0]?.note).toBe('deploy v2');

    await expect(user.query(`CREATE TABLE ${quoteIdentifier(ops)}.sneaky (id int)`)).rejects.toMatchObject(denied);
    await expect(user.query(`SELECT * FROM ${quoteIdentifier(shop)}.orders`)).rejects.toMatchObject(denied);
  });

  it('the whole database: a `_` in its name is not a wildcard', async () => {
    const request = spec(userName('whole'), { level: 'read', scope: [] });
    await provider.provision(withEntry({ database: underscored }), request);
    const user = await login(request.username, request.password);
    const [rows] = await user.query<RowDataPacket[]>(`SELECT id FROM ${quoteIdentifier(underscored)}.t`);
    expect(rows).toEqual([{ id: 1 }]);
    // Without the escaping, `dbaccess_my_<suffix>`.* would also match dbaccess_myX<suffix>.
    await expect(user.query(`SELECT id FROM ${quoteIdentifier(lookalike)}.t`)).rejects.toMatchObject(denied);
  });

  it('admin on a database: schema changes there, nothing global, no GRANT OPTION', async () => {
    const request = spec(userName('admin'), { level: 'admin', scope: [{ schema: ops }] });
    await provider.provision(target, request);
    const user = await login(request.username, request.password);
    await user.query(`CREATE TABLE ${quoteIdentifier(ops)}.scratch (id int)`);
    await user.query(`DROP TABLE ${quoteIdentifier(ops)}.scratch`);
    const [grants] = await user.query<RowDataPacket[]>('SHOW GRANTS');
    const text = grants.map((row) => String(Object.values(row)[0])).join('\n');
    expect(text).toContain(`GRANT ALL PRIVILEGES ON \`${ops.replace(/_/g, '\\_')}\`.* TO \`${request.username}\`@\`%\``);
    expect(text).not.toMatch(/WITH GRANT OPTION|SUPER|FILE|PROCESS|SHUTDOWN|CREATE USER/);
    await expect(user.query(`CREATE USER ${mysql.escape(`${request.username}_x`)}@'%'`)).rejects.toMatchObject({ errno: 1227 });
    await expect(user.query(`SELECT * FROM ${quoteIdentifier(shop)}.orders`)).rejects.toMatchObject(denied);
  });

  it('survives hostile database, table and user names', async () => {
    const username = `${userName('h')}'"\\;-- #/*ˋ；`;
    const request = spec(username, { level: 'read', scope: [{ schema: hostileDb, table: hostileTable }] });
    const result = await provider.provision(target, request);
    expect(result.statements).toHaveLength(1);
    const user = await login(username, request.password);
    const [rows] = await user.query<RowDataPacket[]>(`SELECT id FROM ${quoteIdentifier(hostileDb)}.${quoteIdentifier(hostileTable)}`);
    expect(rows).toEqual([{ id: 42 }]);
    await expect(user.query(`SELECT id FROM ${quoteIdentifier(hostileDb)}.other`)).rejects.toMatchObject(denied);
    // The whole hostile database too (its name has no _ or %, but a backslash the pattern must escape).
    const whole = spec(`${userName('h2')}`, { level: 'read', scope: [{ schema: hostileDb }] });
    await provider.provision(target, whole);
    const second = await login(whole.username, whole.password);
    const [other] = await second.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(hostileDb)}.other`);
    expect(Number(other[0]!.n)).toBe(0);

    expect(await provider.revoke(target, username)).toMatchObject({ existed: true, sessionsKilled: 1 });
    expect(await accounts(username)).toEqual([]);
  });

  it('a scope naming a missing table or database fails as bad input and leaves no user behind', async () => {
    const table = spec(userName('missing'), { scope: [{ schema: shop, table: 'nope' }] });
    await expect(provider.provision(target, table)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await accounts(table.username)).toEqual([]);
    const database = spec(userName('missingdb'), { scope: [{ schema: `${shop}_nope` }] });
    await expect(provider.provision(withEntry({ databases: [...entry.databases!, `${shop}_nope`] }), database)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('does not exist') });
    // A database outside the entry's list is refused before anything is sent.
    await expect(provider.provision(target, database)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining(`is not a database of shop`) });
    expect(await accounts(database.username)).toEqual([]);
    // The first GRANT creates the account and the second fails, in the middle of what is sent at once.
    const half = spec(userName('missing2'), { scope: [{ schema: shop, table: 'orders' }, { schema: shop, table: 'nope' }] });
    await expect(provider.provision(target, half)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `Provisioning ${half.username} on shop (${host}:${port}) failed: Table '${shop}.nope' doesn't exist.`,
    });
    expect(await accounts(half.username)).toEqual([]);
    for (const request of [table, database, half]) expect(await userLockFree(request.username)).toBe(true);
  });

  it('a retried provision brings the same user to exactly the new spec', async () => {
    const first = spec(userName('retry'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(target, first);
    const session = await login(first.username, first.password);
    const second = spec(first.username, { scope: [{ schema: ops, table: 'events' }] });
    const result = await provider.provision(target, second);
    expect(result.statements).toEqual([
      `REVOKE ALL PRIVILEGES, GRANT OPTION FROM '${first.username}'@'%'`,
      `GRANT SELECT ON \`${ops}\`.\`events\` TO '${first.username}'@'%'`,
    ]);
    expect(await accounts(first.username)).toHaveLength(1);
    expect(await userLockFree(first.username)).toBe(true);

    await expectLoginRefused(first.username, first.password);
    const user = await login(second.username, second.password);
    const [rows] = await user.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(ops)}.events`);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(1);
    await expect(user.query(`SELECT * FROM ${quoteIdentifier(shop)}.orders`)).rejects.toMatchObject(denied);
    // Privileges are checked per statement: the session opened before the retry lost them too.
    await expect(session.query(`SELECT * FROM ${quoteIdentifier(shop)}.orders`)).rejects.toMatchObject(denied);
  });

  it('enforces MAX_USER_CONNECTIONS: one connection more than the limit is refused', async () => {
    const request = spec(userName('limit'));
    await provider.provision(withEntry({ connectionLimit: 2 }), request);
    await login(request.username, request.password);
    await login(request.username, request.password);
    await expect(login(request.username, request.password)).rejects.toMatchObject({ errno: 1226 }); // ER_USER_LIMIT_REACHED
  });

  it('creates one account per allowed host, and a host outside the list cannot log in', async () => {
    // With skip_name_resolve OFF, 127.0.0.1 could match an account for "localhost"; this server resolves nothing.
    expect(skipNameResolve).toBe(true);
    const request = spec(userName('hosts'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(withEntry({ allowedHosts: ['10.255.255.%', '192.0.2.1'] }), request);
    expect((await accounts(request.username)).map((account) => account.host)).toEqual(['10.255.255.%', '192.0.2.1']);
    await expectLoginRefused(request.username, request.password);

    const both = spec(userName('hosts2'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(withEntry({ allowedHosts: ['%', '127.0.0.1'] }), both);
    const session = await login(both.username, both.password);
    const [me] = await session.query<RowDataPacket[]>('SELECT CURRENT_USER() AS me');
    expect(me[0]!.me).toBe(`${both.username}@127.0.0.1`);
    expect(await provider.revoke(target, both.username)).toEqual({ existed: true, sessionsKilled: 1 });
    expect(await accounts(both.username)).toEqual([]);
  });

  it('never touches a user of the same name that dbaccess did not create', async () => {
    const username = userName('human');
    const password = generatePassword();
    await admin.query(`CREATE USER ${mysql.escape(username)}@'%' IDENTIFIED BY ${mysql.escape(password)} WITH MAX_USER_CONNECTIONS 2`);
    await expect(provider.provision(target, spec(username))).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(provider.revoke(target, username)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(provider.extend(target, username, inAnHour())).rejects.toMatchObject({ code: 'CONFLICT' });
    const [account] = await accounts(username);
    expect(account!.priv).toMatchObject({ max_user_connections: 2 });
    expect(account!.priv).not.toHaveProperty('account_locked');
    const session = await login(username, password);
    await session.query('SELECT 1');
  });

  it('refuses user names that do not fit the server', async () => {
    await expect(provider.provision(target, spec(`u${'x'.repeat(80)}`))).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('1-80') });
    const legacy = withEntry({ legacyUserNames: true });
    await expect(provider.provision(legacy, spec('a'.repeat(17)))).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('1-16') });
    await expect(provider.provision(target, spec(`${userName('pad')} `))).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('mysql provider (MariaDB): revoke', () => {
  it('kills open sessions (idle and busy), blocks new logins and removes the user', async () => {
    const request = spec(userName('live'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(target, request);
    const idle = await login(request.username, request.password);
    const busy = await login(request.username, request.password);
    const [rows] = await idle.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(shop)}.orders`);
    expect(Number(rows[0]!.n)).toBe(3);
    const running = busy.query('SELECT SLEEP(30)').then(
      () => 'finished',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = Date.now();
    const result = await provider.revoke(target, request.username);
    expect(result).toEqual({ existed: true, sessionsKilled: 2 });
    expect(Date.now() - started).toBeLessThan(5000);

    await expect(idle.query('SELECT 1')).rejects.toThrow();
    expect(await running).toBe('failed');
    await expectLoginRefused(request.username, request.password);
    expect(await accounts(request.username)).toEqual([]);
    expect(await sessionsOf(request.username)).toBe(0);
  });

  it('waits for another operation on the same user, without holding up account changes of anyone else', async () => {
    const request = spec(userName('waits'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(target, request);
    // Another operation on this user holds its lock (the provider's lock name: the user name hashed).
    const holder = await mysql.createConnection({ uri: adminUrl });
    const lockName = `dbaccess:${createHash('sha1').update(request.username, 'utf8').digest('hex')}`;
    try {
      await holder.query('SELECT GET_LOCK(?, 5)', [lockName]);
      let settled = false;
      const revoking = provider.revoke(target, request.username).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      // A statement waiting for the lock with the grant tables open would block every CREATE USER
      // and GRANT on the server, the lock holder's too: this one must go through at once.
      const bystander = spec(userName('bystander'), { scope: [{ schema: shop, table: 'orders' }] });
      const started = Date.now();
      await provider.provision(target, bystander);
      await holder.query(`GRANT SELECT ON ${quoteIdentifier(shop)}.customers TO ${mysql.escape(bystander.username)}@'%'`);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(settled).toBe(false);
      await holder.query('SELECT RELEASE_LOCK(?)', [lockName]);
      expect(await revoking).toEqual({ existed: true, sessionsKilled: 0 });
      expect(await accounts(request.username)).toEqual([]);
      expect(await provider.revoke(target, bystander.username)).toEqual({ existed: true, sessionsKilled: 0 });
    } finally {
      await holder.end();
    }
  });

  it('is idempotent: a second revoke reports that the user was already gone', async () => {
    const request = spec(userName('twice'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(target, request);
    expect(await provider.revoke(target, request.username)).toEqual({ existed: true, sessionsKilled: 0 });
    expect(await provider.revoke(target, request.username)).toEqual({ existed: false, sessionsKilled: 0 });
  });

  it('killSessions ends the sessions and leaves the user able to log in again', async () => {
    const request = spec(userName('kill'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(target, request);
    const one = await login(request.username, request.password);
    await login(request.username, request.password);
    expect(await provider.killSessions(target, request.username)).toBe(2);
    await expect(one.query('SELECT 1')).rejects.toThrow();
    expect(await sessionsOf(request.username)).toBe(0);
    const again = await login(request.username, request.password);
    await again.query('SELECT 1');
    expect(await provider.killSessions(target, userName('nobody'))).toBe(0);
  });

  it('extend only checks that the user is there and ours', async () => {
    const request = spec(userName('extend'), { scope: [{ schema: shop, table: 'orders' }] });
    await provider.provision(target, request);
    const before = await accounts(request.username);
    await expect(provider.extend(target, request.username, new Date(Date.now() + 7200_000))).resolves.toBeUndefined();
    expect(await accounts(request.username)).toEqual(before);
    await expect(provider.extend(target, userName('ghost'), inAnHour())).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(provider.extend(target, request.username, new Date('nope'))).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('mysql provider (MariaDB): secrets', () => {
  it('never sends the plaintext password: the general log holds the hash only', async () => {
    const [saved] = await admin.query<RowDataPacket[]>('SELECT @@GLOBAL.general_log AS on_, @@GLOBAL.log_output AS output');
    const request = spec(userName('log'), { scope: [{ schema: shop, table: 'orders' }] });
    const started = new Date(Date.now() - 1000);
    await admin.query("SET GLOBAL log_output = 'TABLE'");
    await admin.query('SET GLOBAL general_log = 1');
    try {
      await provider.provision(target, request);
      // A retry sends ALTER USER with the new hash: it must not carry the plaintext either.
      await provider.provision(target, { ...request, password: generatePassword() });
    } finally {
      await admin.query(`SET GLOBAL general_log = ${Number(saved[0]!.on_) ? 1 : 0}`);
      await admin.query(`SET GLOBAL log_output = ${mysql.escape(String(saved[0]!.output))}`);
    }
    const [logged] = await admin.query<RowDataPacket[]>(
      'SELECT CONVERT(argument USING utf8mb4) AS text FROM mysql.general_log WHERE event_time >= ? AND LOCATE(?, CONVERT(argument USING utf8mb4)) > 0',
      [started, request.username],
    );
    const text = logged.map((row) => String(row.text)).join('\n');
    // Proves the check below looks at a log that recorded our statements...
    // (MariaDB: the account is created by its first GRANT, which carries the hash.)
    expect(text).toContain(`TO '${request.username}'@'%' IDENTIFIED BY PASSWORD '*`);
    expect(text).toContain(`ALTER USER '${request.username}'@'%' IDENTIFIED BY PASSWORD '*`);
    // ...and that it holds hashes only.
    expect(text).not.toContain(request.password);
    // The general log may stay on (query capture): this very query, which holds the password, is logged too.
    const [anywhere] = await admin.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM mysql.general_log WHERE event_time >= ? AND LOCATE(?, CONVERT(argument USING utf8mb4)) > 0 AND thread_id <> CONNECTION_ID()',
      [started, request.password],
    );
    expect(Number(anywhere[0]!.n)).toBe(0);
  });

  it('reports an unreachable target or refused admin login without the URL or the password', async () => {
    const secret = 'admin-secret-9f3k';
    const isolated = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
    try {
      const down: Target = { entry: { ...entry, port: 1 }, adminUrl: `mysql://root:${secret}@127.0.0.1:1/test` };
      await expect(isolated.ping(down)).rejects.toMatchObject({ code: 'TARGET_UNAVAILABLE', message: 'Cannot reach shop (127.0.0.1:1): connection refused.' });

      const noDatabase: Target = { entry, adminUrl: `mysql://root@${host}:${port}/${shop}_missing` };
      await expect(isolated.listSchemas(noDatabase)).rejects.toMatchObject({
        code: 'TARGET_UNAVAILABLE',
        message: `Cannot reach shop (${host}:${port}): the database in the admin URL does not exist.`,
      });

      const wrongPassword: Target = { entry, adminUrl: `mysql://root:${secret}@${host}:${port}/test` };
      for (const attempt of [
        () => isolated.provision(wrongPassword, spec(userName('never'))),
        () => isolated.revoke(wrongPassword, userName('never')),
        () => isolated.listUsers(wrongPassword, ['dbt_']),
      ]) {
        const error = await attempt().catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'TARGET_UNAVAILABLE' });
        const message = (error as Error).message;
        expect(message).toBe(`Cannot reach shop (${host}:${port}): the admin login was refused (check the admin credentials).`);
        expect(message).not.toContain(secret);
        expect(message).not.toContain('mysql://');
      }
    } finally {
      await isolated.close();
    }
  });

  it('refuses to work when the server is not the configured flavour', async () => {
    const wrong = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mysql' });
    try {
      await expect(wrong.listUsers(target, ['dbt_'])).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining('runs MariaDB') });
    } finally {
      await wrong.close();
    }
  });

  it('answers a ping on a healthy target', async () => {
    await expect(provider.ping(target)).resolves.toBeUndefined();
  });
});

describe('mysql provider (MariaDB): a dedicated admin account', () => {
  const adminName = userName('admin_acct');
  const adminPassword = generatePassword();
  const adminTarget = (): Target => {
    const url = new URL(adminUrl);
    url.username = adminName;
    url.password = adminPassword;
    return { entry, adminUrl: url.toString() };
  };

  it('closes idle admin connections', async () => {
    await admin.query(`CREATE USER ${mysql.escape(adminName)}@'%' IDENTIFIED BY ${mysql.escape(adminPassword)}`);
    await admin.query(`GRANT ALL PRIVILEGES ON *.* TO ${mysql.escape(adminName)}@'%' WITH GRANT OPTION`);
    const pooled = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb', poolSize: 3, idleMillis: 300 });
    try {
      await Promise.all([1, 2, 3].map(() => pooled.listSchemas(adminTarget())));
      expect(await sessionsOf(adminName)).toBeGreaterThanOrEqual(2);
      let left = Number.POSITIVE_INFINITY;
      for (let attempt = 0; attempt < 40 && left > 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = await sessionsOf(adminName);
      }
      expect(left).toBe(0);
      // And the pool opens new ones when needed.
      expect(await pooled.listSchemas(adminTarget())).toContain(shop);
    } finally {
      await pooled.close();
    }
  });

  it('an admin that may not write the marker fails as a configuration error and leaves no user behind', async () => {
    const limitedName = userName('admin_lim');
    const limitedPassword = generatePassword();
    const account = `${mysql.escape(limitedName)}@'%'`;
    await admin.query(`CREATE USER ${account} IDENTIFIED BY ${mysql.escape(limitedPassword)}`);
    await admin.query(`GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ${account}`);
    await admin.query(`GRANT SELECT ON ${quoteIdentifier(shop)}.* TO ${account} WITH GRANT OPTION`);
    await admin.query(`GRANT SELECT ON mysql.global_priv TO ${account}`);
    const url = new URL(adminUrl);
    url.username = limitedName;
    url.password = limitedPassword;
    url.pathname = ''; // no default database: this admin may not use `test`
    const limited: Target = { entry, adminUrl: url.toString() };

    const request = spec(userName('unmarked'), { scope: [{ schema: shop, table: 'orders' }] });
    const error = await provider.provision(limited, request).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFIG', message: expect.stringContaining('lacks a privilege') });
    expect((error as Error).message).not.toContain(limitedPassword);
    expect(await accounts(request.username)).toEqual([]);

    // With UPDATE on the accounts table it works, and revocation by the same admin too.
    await admin.query(`GRANT UPDATE ON mysql.global_priv TO ${account}`);
    await provider.provision(limited, request);
    const user = await login(request.username, request.password);
    const [rows] = await user.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(shop)}.orders`);
    expect(Number(rows[0]!.n)).toBe(3);
    expect(await provider.revoke(limited, request.username)).toEqual({ existed: true, sessionsKilled: 1 });
    expect(await accounts(request.username)).toEqual([]);
  });
});

describe('mysql provider (MariaDB): listing', () => {
  it('listUsers treats _ and % in the prefix literally', async () => {
    const names = [
      `dbt_${suffix}_l_one`, // the only real match
      `dbt_${suffix}_lXtwo`, // would match if the last _ were a wildcard
      `dbtX${suffix}_l_three`, // would match if the first _ were a wildcard
      `DBT_${suffix}_l_four`, // would match a case-insensitive comparison
      `dbt_${suffix}_p%five`, // matches the % prefix below
      `dbt_${suffix}_pzsix`, // would match if % were a wildcard
    ];
    for (const name of names) {
      await admin.query(`CREATE USER ${mysql.escape(name)}@'%' ACCOUNT LOCK`);
      await admin.query(markStatements(TEST_INSTALL_ID, name, '%', 0)[0]!);
    }
    try {
      expect((await provider.listUsers(target, [`dbt_${suffix}_l_`])).ours).toEqual([`dbt_${suffix}_l_one`]);
      expect((await provider.listUsers(target, [`dbt_${suffix}_p%`])).ours).toEqual([`dbt_${suffix}_p%five`]);
      await expect(provider.listUsers(target, [''])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    } finally {
      for (const name of names) await admin.query(`DROP USER IF EXISTS ${mysql.escape(name)}@'%'`);
    }
  });

  it('another install`s account is neither listed nor revoked nor extended; one from before install ids is listed apart and revoked', async () => {
    const [theirs, old] = [userName('theirs'), userName('old')];
    for (const [name, marker] of [[theirs, `dbaccess temporary user bbbbbbbb`], [old, 'dbaccess temporary user']] as const) {
      await admin.query(`CREATE USER ${mysql.escape(name)}@'%'`);
      await admin.query(`UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.dbaccess', ?) WHERE User = ? AND Host = '%'`, [marker, name]);
    }
    try {
      expect(await provider.listUsers(target, [theirs, old])).toEqual({ ours: [], legacy: [old] });
      await expect(provider.revoke(target, theirs)).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(provider.extend(target, theirs, new Date(Date.now() + 60_000))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await accounts(theirs)).length).toBe(1);
      // The caller holds its lease (the reconciler never passes one it does not): revoked.
      expect(await provider.revoke(target, old)).toMatchObject({ existed: true });
      expect(await accounts(old)).toEqual([]);
    } finally {
      for (const name of [theirs, old]) await admin.query(`DROP USER IF EXISTS ${mysql.escape(name)}@'%'`);
    }
  });

  it('listObjects: the entry\'s databases only (its own, or its databases: list), their tables, and the columns of tables named with columns', async () => {
    const own = await provider.listObjects(withEntry({ databases: undefined }), []);
    expect(own.schemas).toEqual([entry.database]);
    expect(own.tables.every((table) => table.schema === entry.database)).toBe(true);
    const objects = await provider.listObjects(withEntry({ databases: [...entry.databases!, 'mysql'] }), [{ schema: shop, table: 'customers', columns: ['name'] }, { schema: ops }]);
    expect(objects.schemas).toEqual(expect.arrayContaining([shop, ops, hostileDb]));
    expect(objects.schemas).not.toContain('mysql');
    expect(objects.tables).toEqual(
      expect.arrayContaining([
        { schema: shop, table: 'customers' },
        { schema: shop, table: 'orders' },
        { schema: ops, table: 'events' },
        { schema: hostileDb, table: hostileTable },
      ]),
    );
    expect(objects.tables.some((table) => table.schema === 'mysql')).toBe(false);
    expect(objects.columns).toEqual({ [`${shop}.customers`]: ['id', 'name'] });
  });

  it('listSchemas lists the databases, without the system ones', async () => {
    const schemas = await provider.listSchemas(target);
    expect(schemas).toEqual(expect.arrayContaining([shop, ops, underscored, lookalike, hostileDb]));
    for (const system of ['mysql', 'sys', 'information_schema', 'performance_schema']) expect(schemas).not.toContain(system);
  });
});
