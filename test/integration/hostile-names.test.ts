import { escapeIdentifier } from 'pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/config/catalog.js';
import { validateDraft } from '../../src/modules/access-requests/access-request-schemas.js';
import { postgresAccessGroup, postgresGrantStatements } from '../../src/modules/credentials/engines/postgres/grants.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { formatScope, formatScopeItem, parseStoredScope } from '../../src/modules/credentials/scope.js';
import mysql from 'mysql2/promise';
import { quoteIdentifier } from '../../src/modules/credentials/engines/mysql/grants.js';
import { createMysqlProvider } from '../../src/modules/credentials/engines/mysql/provider.js';
import { TEST_INSTALL_ID, createMariaTarget, createTargetDatabase } from '../support/databases.js';
import { hostileNames } from '../support/hostile-names.js';

/**
 * Every hostile name goes the whole way a requester's text goes: the form's validation, the stored
 * scope, the grant statements, and the real server. The proof that no name changes the SQL's meaning
 * is what the server then holds: exactly one SELECT grant, on exactly that table, for that user.
 */
describe('hostile names through the whole path (PostgreSQL)', () => {
  const { accepted, tooLong } = hostileNames();
  let target: Awaited<ReturnType<typeof createTargetDatabase>>;
  let admin: pg.Client;
  const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });

  beforeAll(async () => {
    target = await createTargetDatabase();
    admin = new pg.Client({ connectionString: target.adminUrl });
    await admin.connect();
    await admin.query('CREATE SCHEMA hostile; CREATE TABLE hostile.victims (id int)');
    for (const name of accepted) await admin.query(`CREATE TABLE hostile.${escapeIdentifier(name)} (id int)`);
  });
  afterAll(async () => {
    await admin?.end();
    await provider.close();
    await target?.drop();
  });

  it('has at least 200 names to try', () => {
    expect(accepted.length).toBeGreaterThanOrEqual(200);
  });

  it('grants exactly the named table, whatever its name', async () => {
    const catalog = parseCatalog(`approvers:
  slack: { channel: C0A, users: [U0A] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: staging, admin: env:X }
`);
    const entry = catalog.database('orders')!;
    const failures: string[] = [];
    for (const [index, name] of accepted.entries()) {
      const typed = formatScopeItem({ schema: 'hostile', table: name });
      const draft = validateDraft({ databaseId: 'orders', level: 'read', scope: typed, duration: '1h', reason: 'Checking hostile names end to end', ticket: '' }, catalog);
      if (!draft.ok) {
        failures.push(`${JSON.stringify(name)}: refused by the form: ${JSON.stringify(draft.errors)}`);
        continue;
      }
      const scope = parseStoredScope(formatScope(draft.value.scope));
      expect(scope).toEqual([{ schema: 'hostile', table: name }]);
      const username = `hn_${index}_${Date.now() % 100000}`;
      const statements = postgresGrantStatements({ level: 'read', scope, database: target.name, username, schemas: [] });
      expect(statements).toHaveLength(3);
      await provider.provision({ entry, adminUrl: target.adminUrl }, { username, password: 'Hostile-names-pw-1234', expiresAt: new Date(Date.now() + 3600_000), level: 'read', scope });
      // Held through the access group of this grant, which the user is a member of.
      const group = postgresAccessGroup({ prefix: 'dba_', install: TEST_INSTALL_ID, database: target.name, level: 'read', scope })!;
      const { rows } = await admin.query<{ table_schema: string; table_name: string; privilege_type: string }>(
        `SELECT table_schema, table_name, privilege_type FROM information_schema.role_table_grants
          WHERE grantee = $1 AND pg_has_role($2, grantee, 'USAGE')`,
        [group, username],
      );
      if (rows.length !== 1 || rows[0]!.table_schema !== 'hostile' || rows[0]!.table_name !== name || rows[0]!.privilege_type !== 'SELECT') {
        failures.push(`${JSON.stringify(name)}: server holds ${JSON.stringify(rows)}`);
      }
      await provider.revoke({ entry, adminUrl: target.adminUrl }, username);
    }
    expect(failures).toEqual([]);
    // Nothing was dropped or granted by a name: the decoy table is there, and PUBLIC got nothing.
    expect((await admin.query("SELECT to_regclass('hostile.victims') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
    const publicGrants = await admin.query("SELECT count(*)::int AS n FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' AND table_schema = 'hostile'");
    expect(publicGrants.rows[0].n).toBe(0);
  });

  it('refuses over-long names with a clear message instead of truncating them', () => {
    const catalog = parseCatalog(`approvers:
  slack: { channel: C0A, users: [U0A] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: x, environment: staging, admin: env:X }
`);
    for (const name of tooLong) {
      const draft = validateDraft({ databaseId: 'orders', level: 'read', scope: `hostile.${formatScopeItem({ schema: name })}`, duration: '1h', reason: 'Checking hostile names end to end', ticket: '' }, catalog);
      expect(draft.ok).toBe(false);
      if (!draft.ok) expect(draft.errors.scope).toMatch(/longer than 63 bytes/);
    }
  });
});

describe('hostile names through the whole path (MariaDB)', () => {
  const { accepted } = hostileNames();
  let target: Awaited<ReturnType<typeof createMariaTarget>>;
  let admin: mysql.Connection;
  const provider = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
  const creatable: string[] = [];

  beforeAll(async () => {
    target = await createMariaTarget();
    admin = await mysql.createConnection({ uri: target.adminUrl });
    await admin.query('CREATE TABLE victims (id int)');
    for (const name of accepted) {
      // MariaDB refuses some names outright (trailing spaces, characters outside the BMP): a scope
      // can never name those, so they cannot reach a grant either.
      const ok = await admin.query(`CREATE TABLE ${quoteIdentifier(name)} (id int)`).then(() => true, () => false);
      if (ok) creatable.push(name);
    }
  });
  afterAll(async () => {
    await admin?.end();
    await provider.close();
    await target?.drop();
  });

  it('grants exactly the named table, whatever its name', async () => {
    expect(creatable.length).toBeGreaterThanOrEqual(200);
    const catalog = parseCatalog(`approvers:
  slack: { channel: C0A, users: [U0A] }
databases:
  - { id: shop, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${target.name}, environment: staging, admin: env:X }
`);
    const entry = catalog.database('shop')!;
    const failures: string[] = [];
    for (const [index, name] of creatable.entries()) {
      const draft = validateDraft({ databaseId: 'shop', level: 'read', scope: formatScopeItem({ schema: target.name, table: name }), duration: '1h', reason: 'Checking hostile names end to end', ticket: '' }, catalog);
      if (!draft.ok) {
        failures.push(`${JSON.stringify(name)}: refused by the form: ${JSON.stringify(draft.errors)}`);
        continue;
      }
      const scope = parseStoredScope(formatScope(draft.value.scope));
      const username = `hn_${index}_${Date.now() % 100000}`;
      await provider.provision({ entry, adminUrl: target.adminUrl }, { username, password: 'Hostile-names-pw-1234', expiresAt: new Date(Date.now() + 3600_000), level: 'read', scope });
      const [rows] = await admin.query('SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?', [`'${username}'@'%'`]);
      const grants = rows as Array<{ s: string; t: string; p: string }>;
      const [schemaGrants] = await admin.query('SELECT COUNT(*) AS n FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?', [`'${username}'@'%'`]);
      if (grants.length !== 1 || grants[0]!.s !== target.name || grants[0]!.t !== name || grants[0]!.p !== 'SELECT' || (schemaGrants as Array<{ n: number }>)[0]!.n !== 0) {
        failures.push(`${JSON.stringify(name)}: server holds ${JSON.stringify(grants)}`);
      }
      await provider.revoke({ entry, adminUrl: target.adminUrl }, username);
    }
    expect(failures).toEqual([]);
    const [victims] = await admin.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'victims'");
    expect((victims as Array<{ n: number }>)[0]!.n).toBe(1);
  });
});
