import { randomBytes } from 'node:crypto';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import pg, { escapeIdentifier, escapeLiteral } from 'pg';
import type { DatabaseEntry } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import { randomCode } from '../../src/lib/ids.js';
import type { CredentialProvider, ProvisionSpec, RevokeResult, Target } from '../../src/modules/credentials/credential-types.js';
import { postgresGrantStatements } from '../../src/modules/credentials/engines/postgres/grants.js';
import { createUserStatement, dropUserStatement, lockStatement, mysqlGrantStatements, nativePasswordHash } from '../../src/modules/credentials/engines/mysql/grants.js';
import { createMysqlProvider } from '../../src/modules/credentials/engines/mysql/provider.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { scramSha256Verifier } from '../../src/modules/credentials/engines/postgres/scram.js';
import { createVaultClient } from '../../src/modules/credentials/vault-client.js';
import { createVaultProvider } from '../../src/modules/credentials/engines/vault/provider.js';
import { TEST_INSTALL_ID, MARIADB_ADMIN_URL, createMariaTarget, createTargetDatabase } from '../../test/support/databases.js';
import { type FakeVault, startFakeVault } from '../../test/support/fake-vault.js';
import { SERVICES } from '../../test/support/services.js';

/**
 * One engine as the engine bench drives it: a fresh target database with a table to grant on, the
 * real provider, and a plain admin client that runs the same effect as raw SQL (the baseline).
 *
 * - postgres: the scram cluster (127.0.0.1:5433), createPostgresProvider({ installId: TEST_INSTALL_ID }); raw = the provider's own
 *   statements in one transaction sent as one round trip (a floor): the GRANTs to the access group (created
 *   with the first user), CREATE ROLE (with a SCRAM verifier computed on the clock, as the provider does)
 *   and the membership; revoke = ALTER ROLE NOLOGIN, pg_terminate_backend(pid) (signalled, not waited
 *   for), REASSIGN/DROP OWNED, DROP ROLE (and the group with the last user), one round trip.
 * - mariadb: 127.0.0.1:3306 as root, createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' }); raw = the provider's
 *   CREATE USER ... IDENTIFIED BY PASSWORD '<hash>' and GRANT; revoke = ACCOUNT LOCK, KILL CONNECTION
 *   USER, DROP USER.
 * - vault: the fake Vault of the tests, whose role creates PostgreSQL roles on the scram cluster;
 *   createVaultProvider with createVaultClient (node-vault over HTTP) and the PostgreSQL provider as the
 *   session killer; raw = the role's creation statements in one transaction (as Vault runs them: the
 *   server hashes the plaintext password), and for revoke the role's revocation statements in one
 *   transaction, then the terminate of the sessions left without a role (the provider's order).
 *
 * Every kit grants read on one table (`sales.orders` / `<db>.orders`), and removes its database and
 * every user it created in `cleanup()`.
 */

export type EngineName = 'postgres' | 'mariadb' | 'vault';

/** A user the provider issued: what revoke and a login need. */
export interface IssuedUser {
  username: string;
  password: string;
  leaseId?: string;
}

/** A raw-SQL user: the secret (verifier or hash) is computed before the clock starts. */
export interface RawUser {
  username: string;
  password: string;
  secret: string;
}

export interface Session {
  /** True when the session still answers a query. */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

export interface EngineKit {
  engine: EngineName;
  /** For tables and notes. */
  label: string;
  target: Target;
  provider: CredentialProvider;
  /** What the raw baseline runs, in words. */
  rawDescription: { provision: string; revoke: string };
  nextSpec(): ProvisionSpec;
  /** provider.provision; the caller times it. */
  provision(spec: ProvisionSpec): Promise<IssuedUser>;
  /** provider.revoke; the caller times it. */
  revoke(user: IssuedUser): Promise<RevokeResult>;
  /** Untimed preparation of a raw user (name, password, verifier or hash). */
  rawPrepare(): Promise<RawUser>;
  rawProvision(user: RawUser): Promise<void>;
  rawRevoke(user: RawUser): Promise<void>;
  login(username: string, password: string): Promise<Session>;
  /** Users of this kit (provider's and raw) still on the server. */
  leftovers(): Promise<string[]>;
  /** Drops the database and every user of this kit; closes everything. Idempotent. */
  cleanup(): Promise<void>;
}

const HOST = '127.0.0.1';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const inAnHour = () => new Date(Date.now() + 3600_000);

function entryFor(changes: Partial<DatabaseEntry> & Pick<DatabaseEntry, 'id' | 'engine' | 'port' | 'database'>): DatabaseEntry {
  return {
    host: HOST,
    environment: 'development',
    admin: 'env:BENCH_ENGINES_ADMIN_URL',
    maxDuration: 4 * 3600,
    levels: ['read'],
    connectionLimit: 5,
    // The catalog's default (4): the pool size the brief asks to measure with.
    poolSize: 4,
    allowedHosts: ['%'],
    legacyUserNames: false,
    capture: 'none',
    tableTags: {},
    tags: [],
    ...changes,
  };
}

async function pgClient(url: string, applicationName = 'dbaccess-bench-raw'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Drops every role of the scram cluster whose name starts with the prefix (their databases are gone first). */
export async function dropPgRolesWithPrefix(prefix: string): Promise<number> {
  if (prefix.length < 6) throw new Error(`refusing to drop roles with the short prefix ${prefix}`);
  const client = await pgClient(SERVICES.targetPg, 'dbaccess-bench-cleanup');
  try {
    const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]);
    if (rows.length === 0) return 0;
    await client.query(
      'SELECT pg_terminate_backend(a.pid, 2000) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE starts_with(r.rolname, $1)',
      [prefix],
    );
    for (let i = 0; i < rows.length; i += 200) {
      const names = rows.slice(i, i + 200).map((row) => escapeIdentifier(row.rolname));
      try {
        await client.query(`DROP ROLE IF EXISTS ${names.join(', ')}`);
      } catch {
        for (const name of names) {
          await client.query(`DROP OWNED BY ${name}`).catch(() => {});
          await client.query(`DROP ROLE IF EXISTS ${name}`).catch((error: Error) => console.error(`bench engines: could not drop ${name}: ${error.message}`));
        }
      }
    }
    return rows.length;
  } finally {
    await client.end().catch(() => {});
  }
}

async function pgRolesWithPrefixes(prefixes: string[]): Promise<string[]> {
  const client = await pgClient(SERVICES.targetPg, 'dbaccess-bench-check');
  try {
    const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p(prefix) WHERE starts_with(rolname, p.prefix)) ORDER BY 1', [prefixes]);
    return rows.map((row) => row.rolname);
  } finally {
    await client.end().catch(() => {});
  }
}

function pgSession(client: pg.Client): Session {
  return {
    alive: () => client.query('SELECT 1').then(() => true, () => false),
    close: () => client.end().catch(() => {}),
  };
}

async function pgLogin(database: string, user: string, password: string): Promise<Session> {
  const client = new pg.Client({ host: HOST, port: 5433, database, user, password, connectionTimeoutMillis: 10_000, application_name: 'dbaccess-bench-session' });
  client.on('error', () => {});
  await client.connect();
  return pgSession(client);
}

// ----------------------------------------------------------------------------------------------

export async function postgresKit(): Promise<EngineKit> {
  const db = await createTargetDatabase();
  const prefix = `bne${hex(3)}_`;
  const target: Target = { entry: entryFor({ id: 'bench_pg', engine: 'postgres', port: 5433, database: db.name }), adminUrl: db.adminUrl };
  const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });
  const scope = [{ schema: 'sales', table: 'orders' }];
  let raw: pg.Client | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await provider.close().catch(() => {});
    await raw?.end().catch(() => {});
    await db.drop().catch((error: Error) => console.error(`bench engines: could not drop ${db.name}: ${error.message}`));
    await dropPgRolesWithPrefix(prefix);
  };
  try {
    raw = await pgClient(db.adminUrl);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const admin = raw;
  // Raw users get the provider's statements for a read grant: privileges to an access group (its own,
  // created with the first user and dropped with the last, as the provider's is), membership for the user.
  const rawGroup = escapeIdentifier(`${prefix}rgrp`);
  const grants = postgresGrantStatements({ level: 'read', scope, database: db.name, username: `${prefix}rgrp`, schemas: [] });
  let rawMembers = 0;

  return {
    engine: 'postgres',
    label: 'PostgreSQL 15 (scram, :5433)',
    target,
    provider,
    rawDescription: {
      provision: 'BEGIN; [CREATE ROLE group NOLOGIN, first user only;] GRANT CONNECT, USAGE, SELECT ON sales.orders TO group; CREATE ROLE <verifier> ... INHERIT; GRANT group TO user; COMMIT (1 round trip; the SCRAM verifier computed on the clock)',
      revoke: 'ALTER ROLE NOLOGIN; SELECT pg_terminate_backend(pid) ... (not waited for); REASSIGN OWNED; DROP OWNED; DROP ROLE [; DROP OWNED BY group; DROP ROLE group, last user only] (1 round trip)',
    },
    nextSpec: () => ({ username: `${prefix}${randomCode(10).toLowerCase()}`, password: generatePassword(), expiresAt: inAnHour(), level: 'read', scope }),
    async provision(spec) {
      await provider.provision(target, spec);
      return { username: spec.username, password: spec.password };
    },
    revoke: (user) => provider.revoke(target, user.username),
    async rawPrepare() {
      const password = generatePassword();
      return { username: `${prefix}r${randomCode(9).toLowerCase()}`, password, secret: await scramSha256Verifier(password) };
    },
    async rawProvision(user) {
      const name = escapeIdentifier(user.username);
      // The floor: the same statements (and attributes as the provider's CREATE ROLE) in one round trip.
      const statements = [
        'BEGIN',
        ...(rawMembers === 0 ? [`CREATE ROLE ${rawGroup} NOLOGIN NOINHERIT`] : []),
        ...grants,
        `CREATE ROLE ${name} LOGIN PASSWORD ${escapeLiteral(user.secret)} VALID UNTIL ${escapeLiteral(inAnHour().toISOString())} CONNECTION LIMIT 5 NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS`,
        `GRANT ${rawGroup} TO ${name}`,
        'COMMIT',
      ];
      try {
        await admin.query(statements.join(';\n'));
        rawMembers += 1;
      } catch (error) {
        await admin.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async rawRevoke(user) {
      const name = escapeIdentifier(user.username);
      rawMembers -= 1;
      // One round trip; the sessions are signalled, not waited for (pg_terminate_backend without a timeout).
      await admin.query(
        [
          `ALTER ROLE ${name} NOLOGIN`,
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${escapeLiteral(user.username)} AND pid <> pg_backend_pid()`,
          `REASSIGN OWNED BY ${name} TO CURRENT_USER`,
          `DROP OWNED BY ${name}`,
          ...(rawMembers === 0 ? [`DROP ROLE ${name}`, `DROP OWNED BY ${rawGroup}`, `DROP ROLE ${rawGroup}`] : [`DROP ROLE ${name}`]),
        ].join(';\n'),
      );
    },
    login: (user, password) => pgLogin(db.name, user, password),
    leftovers: () => pgRolesWithPrefixes([prefix]),
    cleanup,
  };
}

// ----------------------------------------------------------------------------------------------

export async function mariadbKit(): Promise<EngineKit> {
  const db = await createMariaTarget();
  const prefix = `bne${hex(3)}_`;
  const adminUrl = new URL(MARIADB_ADMIN_URL);
  const port = Number(adminUrl.port || 3306);
  const target: Target = { entry: entryFor({ id: 'bench_maria', engine: 'mariadb', port, database: db.name }), adminUrl: db.adminUrl };
  const provider = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
  const scope = [{ schema: db.name, table: 'orders' }];
  let raw: Connection | undefined;
  let cleaned = false;

  async function ourUsers(connection: Connection): Promise<string[]> {
    const [rows] = await connection.query<RowDataPacket[]>(
      'SELECT DISTINCT User AS name FROM mysql.global_priv WHERE LEFT(CAST(User AS BINARY), LENGTH(CAST(? AS BINARY))) = CAST(? AS BINARY) ORDER BY 1',
      [prefix, prefix],
    );
    return rows.map((row) => String(row.name));
  }

  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await provider.close().catch(() => {});
    await raw?.end().catch(() => {});
    await db.drop().catch((error: Error) => console.error(`bench engines: could not drop ${db.name}: ${error.message}`));
    const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
    try {
      const users = await ourUsers(connection);
      for (const user of users) await connection.query(`KILL CONNECTION USER ${mysql.escape(user)}`).catch(() => {});
      for (let i = 0; i < users.length; i += 200) {
        await connection.query(`DROP USER IF EXISTS ${users.slice(i, i + 200).map((user) => `${mysql.escape(user)}@'%'`).join(', ')}`);
      }
      const left = await ourUsers(connection);
      if (left.length > 0) console.error(`bench engines: ${left.length} MariaDB users with prefix ${prefix} could not be dropped`);
    } finally {
      await connection.end().catch(() => {});
    }
  };
  try {
    raw = await mysql.createConnection({ uri: MARIADB_ADMIN_URL, connectAttributes: { program_name: 'dbaccess-bench-raw' } });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const admin = raw;

  return {
    engine: 'mariadb',
    label: 'MariaDB 10.11 (:3306)',
    target,
    provider,
    rawDescription: {
      provision: "CREATE USER ... IDENTIFIED BY PASSWORD '<hash>' WITH MAX_USER_CONNECTIONS 5; GRANT SELECT ON db.orders (2 round trips)",
      revoke: 'ALTER USER ... ACCOUNT LOCK; KILL CONNECTION USER; DROP USER (3 round trips)',
    },
    nextSpec: () => ({ username: `${prefix}${randomCode(10).toLowerCase()}`, password: generatePassword(), expiresAt: inAnHour(), level: 'read', scope }),
    async provision(spec) {
      await provider.provision(target, spec);
      return { username: spec.username, password: spec.password };
    },
    revoke: (user) => provider.revoke(target, user.username),
    async rawPrepare() {
      const password = generatePassword();
      return { username: `${prefix}r${randomCode(9).toLowerCase()}`, password, secret: nativePasswordHash(password) };
    },
    async rawProvision(user) {
      await admin.query(createUserStatement({ install: TEST_INSTALL_ID, flavor: 'mariadb', username: user.username, host: '%', passwordHash: user.secret, maxUserConnections: 5 }));
      for (const grant of mysqlGrantStatements({ level: 'read', scope, database: db.name, username: user.username, host: '%', flavor: 'mariadb' })) {
        await admin.query(grant);
      }
    },
    async rawRevoke(user) {
      await admin.query(lockStatement(user.username, ['%']));
      await admin.query(`KILL CONNECTION USER ${mysql.escape(user.username)}`);
      await admin.query(dropUserStatement(user.username, ['%']));
    },
    async login(user, password) {
      const connection = await mysql.createConnection({ host: HOST, port, user, password, database: db.name, connectTimeout: 10_000 });
      connection.on('error', () => {});
      return {
        alive: () => connection.query('SELECT 1').then(() => true, () => false),
        close: () => connection.end().catch(() => connection.destroy()),
      };
    },
    async leftovers() {
      const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
      try {
        return await ourUsers(connection);
      } finally {
        await connection.end().catch(() => {});
      }
    },
    cleanup,
  };
}

// ----------------------------------------------------------------------------------------------

export async function vaultKit(): Promise<EngineKit> {
  const db = await createTargetDatabase();
  const rawPrefix = `bne${hex(3)}_`;
  // Vault names users v-<display name, 8>-<role, 8>-<random 20>-<unix time>: an 8-character role name
  // makes `v-token-<role>-` this kit's prefix.
  const roleName = `bnv${hex(3).slice(0, 5)}`;
  const vaultPrefix = `v-token-${roleName}-`;
  const quotedDb = escapeIdentifier(db.name);
  const creationStatements = [
    `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    `GRANT CONNECT ON DATABASE ${quotedDb} TO "{{name}}";`,
    `GRANT USAGE ON SCHEMA sales TO "{{name}}";`,
    `GRANT SELECT ON TABLE sales.orders TO "{{name}}";`,
  ];
  const revocationStatements = [
    `REVOKE SELECT ON TABLE sales.orders FROM "{{name}}";`,
    `REVOKE USAGE ON SCHEMA sales FROM "{{name}}";`,
    `REVOKE CONNECT ON DATABASE ${quotedDb} FROM "{{name}}";`,
    `DROP ROLE IF EXISTS "{{name}}";`,
  ];
  const token = `hvs.bench-${hex(12)}`;
  let fake: FakeVault | undefined;
  let raw: pg.Client | undefined;
  const sessions = createPostgresProvider({ installId: TEST_INSTALL_ID });
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await fake?.close().catch(() => {});
    await sessions.close().catch(() => {});
    await raw?.end().catch(() => {});
    await db.drop().catch((error: Error) => console.error(`bench engines: could not drop ${db.name}: ${error.message}`));
    await dropPgRolesWithPrefix(rawPrefix);
    await dropPgRolesWithPrefix(vaultPrefix);
  };
  try {
    fake = await startFakeVault({
      token,
      databases: [{ name: roleName, ttlSeconds: 7200, maxTtlSeconds: 7200, connectionUrl: db.adminUrl, creationStatements, revocationStatements }],
    });
    raw = await pgClient(db.adminUrl);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const admin = raw;
  const vault = createVaultClient({ addr: fake.addr, token });
  const unused = { killSessions: () => Promise.reject(new Error('not used by the engine bench')) };
  const provider = createVaultProvider({ vault, sessions: (engine) => (engine === 'postgres' ? sessions : unused) });
  const target: Target = {
    entry: entryFor({ id: 'bench_vault', engine: 'vault', port: 5433, database: db.name, vault: { role: roleName, mount: 'database', engine: 'postgres' } }),
    // The session killer's admin connection (Vault has its own, connectionUrl above).
    adminUrl: SERVICES.targetPg,
  };
  const fill = (statements: string[], values: Record<string, string>) =>
    statements.map((statement) => Object.entries(values).reduce((text, [key, value]) => text.split(`{{${key}}}`).join(value), statement).replace(/;$/, ''));
  const expiration = () => `${new Date(Date.now() + 7205_000).toISOString().slice(0, 19).replace('T', ' ')}+0000`;

  return {
    engine: 'vault',
    label: 'Vault (fake, node-vault over HTTP) on PostgreSQL :5433',
    target,
    provider,
    rawDescription: {
      provision: 'the role creation statements as Vault runs them: BEGIN; CREATE ROLE ... PASSWORD <plaintext> (server hashes); 3 GRANTs; COMMIT',
      revoke: "the role's revocation statements as Vault runs them: BEGIN; 3 REVOKEs; DROP ROLE; COMMIT; then SELECT pg_terminate_backend(pid, 1000) of the sessions whose role is gone (7 round trips)",
    },
    // Vault chooses the user and password; the spec only carries the expiry.
    nextSpec: () => ({ username: 'chosen_by_vault', password: 'chosen-by-vault', expiresAt: inAnHour(), level: 'read', scope: [] }),
    async provision(spec) {
      const result = await provider.provision(target, spec);
      if (!result.issued) throw new Error('the Vault provider returned no issued credentials');
      return { username: result.issued.username, password: result.issued.password, leaseId: result.issued.externalLeaseId };
    },
    revoke: (user) => provider.revoke(target, user.username, user.leaseId),
    async rawPrepare() {
      return { username: `${rawPrefix}r${randomCode(9).toLowerCase()}`, password: generatePassword(20), secret: '' };
    },
    async rawProvision(user) {
      await admin.query('BEGIN');
      try {
        for (const statement of fill(creationStatements, { name: user.username, password: user.password, expiration: expiration() })) await admin.query(statement);
        await admin.query('COMMIT');
      } catch (error) {
        await admin.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async rawRevoke(user) {
      // In the provider's order: Vault's revocation first (its plugin runs BEGIN, one Exec per statement,
      // COMMIT), then the sessions are ended, so that one opened meanwhile is ended too. Killing first, by
      // name, would be cheaper but leaves that gap. After the DROP ROLE a session no longer shows the
      // name: a plain admin finds it as a session whose role is gone, as the provider does.
      await admin.query('BEGIN');
      try {
        for (const statement of fill(revocationStatements, { name: user.username })) await admin.query(statement);
        await admin.query('COMMIT');
      } catch (error) {
        await admin.query('ROLLBACK').catch(() => {});
        throw error;
      }
      await admin.query('SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity WHERE usesysid IS NOT NULL AND usename IS NULL AND pid <> pg_backend_pid()');
    },
    login: (user, password) => pgLogin(db.name, user, password),
    leftovers: () => pgRolesWithPrefixes([rawPrefix, vaultPrefix]),
    cleanup,
  };
}
