import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import mysql, { type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { consumersQuery, PERFORMANCE_SCHEMA_CONSUMERS } from './capture-sql.js';
import { levelTablePrivileges, someOf, type AdminCheckOptions, type AdminFinding } from '../../admin-check.js';
import type { Target } from '../../credential-types.js';
import type { MysqlFlavor } from './grants.js';
import { connectionOptions } from './connection.js';
import { scrubTarget, where } from '../../target-text.js';

const STATEMENT_TIMEOUT_MS = 10_000;
/** What `ALL PRIVILEGES ON db.*` (the admin level) covers at database level. */
const DATABASE_PRIVILEGES = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'CREATE TEMPORARY TABLES', 'LOCK TABLES',
  'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER',
] as const;
const TABLE_LEVEL = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REFERENCES', 'TRIGGER'] as const;

interface Privilege {
  privilege: string;
  grantable: boolean;
}

/**
 * What the MySQL/MariaDB provider needs of its admin: CREATE USER, the privileges the levels hand out
 * WITH GRANT OPTION on the database (globally or on it), CONNECTION ADMIN or SUPER and PROCESS to end
 * sessions, on MariaDB SELECT and UPDATE on mysql.global_priv (the marker), and the capture settings.
 * Privileges are read from information_schema for the account and its enabled roles.
 */
export async function checkMysqlAdmin(target: Target, flavor: MysqlFlavor, { sessionsOnly, levels }: AdminCheckOptions): Promise<AdminFinding[]> {
  const pool = mysql.createPool({ ...connectionOptions(target.adminUrl), connectionLimit: 1, maxIdle: 0 });
  const findings: AdminFinding[] = [];
  let connection: PoolConnection | undefined;
  try {
    connection = await pool.getConnection();
    const db = connection;
    const query = async <R extends RowDataPacket[]>(sql: string, values: unknown[] = []) => (await db.query<R>({ sql, values, timeout: STATEMENT_TIMEOUT_MS }))[0];

    const [self] = await query<RowDataPacket[]>('SELECT CURRENT_USER() AS account, VERSION() AS version');
    const account = String(self!.account);
    const at = account.lastIndexOf('@');
    const user = account.slice(0, at);
    const host = account.slice(at + 1);
    const quoted = `${mysql.escape(user)}@${mysql.escape(host)}`;
    const grantees = [`'${user.replace(/'/g, "''")}'@'${host.replace(/'/g, "''")}'`];
    try {
      // MariaDB lists a role's privileges under 'role'@''; MySQL 8 under 'role'@'%'.
      const roles = await query<RowDataPacket[]>('SELECT ROLE_NAME AS name FROM information_schema.ENABLED_ROLES WHERE ROLE_NAME IS NOT NULL');
      for (const role of roles) grantees.push(`'${String(role.name).replace(/'/g, "''")}'@'${flavor === 'mariadb' ? '' : '%'}'`);
    } catch {
      // Servers without ENABLED_ROLES: the account's own privileges only.
    }
    const read = async (sql: string, values: unknown[]): Promise<Privilege[]> =>
      (await query<RowDataPacket[]>(sql, values)).map((row) => ({ privilege: String(row.privilege), grantable: row.grantable === 'YES' }));
    const global = await read('SELECT PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN (?)', [grantees]);
    const onDatabase = await read(
      'SELECT PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN (?) AND TABLE_SCHEMA = ?',
      [grantees, target.entry.database],
    );
    const onMysql = await read("SELECT PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN (?) AND TABLE_SCHEMA = 'mysql'", [grantees]);
    const onMysqlTables = await query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS name, PRIVILEGE_TYPE AS privilege FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE IN (?) AND TABLE_SCHEMA = 'mysql'",
      [grantees],
    );
    const hasGlobal = (privilege: string) => global.some((entry) => entry.privilege === privilege);
    const super_ = hasGlobal('SUPER');
    const onMysqlTable = (table: string, privilege: string) =>
      hasGlobal(privilege) || onMysql.some((entry) => entry.privilege === privilege) || onMysqlTables.some((row) => row.name === table && row.privilege === privilege);

    findings.push({ severity: 'ok', message: `${String(self!.version).slice(0, 40)}, admin ${account}` });

    // Ending sessions: KILL CONNECTION needs CONNECTION ADMIN (or SUPER); PROCESS to see them.
    const connectionAdmin = flavor === 'mariadb' ? 'CONNECTION ADMIN' : 'CONNECTION_ADMIN';
    const killMissing = [...(hasGlobal(connectionAdmin) || super_ ? [] : [connectionAdmin]), ...(hasGlobal('PROCESS') ? [] : ['PROCESS'])];
    if (killMissing.length === 0) findings.push({ severity: 'ok', message: 'may end sessions' });
    else findings.push({ severity: 'problem', message: `${account} cannot end the sessions of temporary users: it lacks ${killMissing.join(' and ')}.`, fix: `GRANT ${killMissing.join(', ')} ON *.* TO ${quoted};` });
    if (sessionsOnly) return findings;

    if (hasGlobal('CREATE USER')) findings.push({ severity: 'ok', message: 'may create users' });
    else findings.push({ severity: 'problem', message: `${account} may not create users.`, fix: `GRANT CREATE USER ON *.* TO ${quoted};` });

    const wanted = levels.some((level) => level.name === 'admin')
      ? [...DATABASE_PRIVILEGES, ...(flavor === 'mariadb' ? ['DELETE HISTORY'] : [])]
      : levelTablePrivileges(levels, TABLE_LEVEL);
    const grantable = (privilege: string) =>
      global.some((entry) => entry.privilege === privilege && entry.grantable) || onDatabase.some((entry) => entry.privilege === privilege && entry.grantable);
    const missing = wanted.filter((privilege) => !grantable(privilege));
    const database = `\`${target.entry.database.replace(/`/g, '``')}\``;
    if (missing.length === 0) findings.push({ severity: 'ok', message: `may grant ${levels.map((level) => level.name).join(', ')} on ${target.entry.database}` });
    else {
      findings.push({
        severity: 'problem',
        message: `${account} may not grant ${someOf(missing, 6)} on ${target.entry.database} (it needs them WITH GRANT OPTION, on *.* or on the database).`,
        fix: `GRANT ${missing.join(', ')} ON ${database}.* TO ${quoted} WITH GRANT OPTION;`,
      });
    }

    if (flavor === 'mariadb') {
      const markerMissing = ['SELECT', 'UPDATE'].filter((privilege) => !onMysqlTable('global_priv', privilege));
      if (markerMissing.length === 0) findings.push({ severity: 'ok', message: 'may mark its users (mysql.global_priv)' });
      else {
        findings.push({ severity: 'problem', message: `${account} cannot mark the users it creates: it lacks ${markerMissing.join(' and ')} on mysql.global_priv.`, fix: `GRANT ${markerMissing.join(', ')} ON mysql.global_priv TO ${quoted};` });
      }
    }
    findings.push(...(await captureFindings(target, flavor, query, onMysqlTable, quoted)));
  } catch (error) {
    const { message, sqlMessage, errno } = (error ?? {}) as { message?: unknown; sqlMessage?: unknown; errno?: unknown };
    const said = typeof sqlMessage === 'string' ? sqlMessage : typeof message === 'string' ? message : 'unknown error';
    findings.push({ severity: 'problem', message: `Checking the admin of ${where(target)} failed: ${scrubTarget(target, said)}${typeof errno === 'number' ? ` (error ${errno})` : ''}.` });
  } finally {
    connection?.release();
    await pool.end().catch(() => {});
  }
  return findings;
}

type Query = <R extends RowDataPacket[]>(sql: string, values?: unknown[]) => Promise<R>;

async function captureFindings(target: Target, flavor: MysqlFlavor, query: Query, onMysqlTable: (table: string, privilege: string) => boolean, quoted: string): Promise<AdminFinding[]> {
  const method = target.entry.capture;
  const findings: AdminFinding[] = [];
  const variables = async (pattern: string) =>
    new Map((await query<RowDataPacket[]>('SHOW GLOBAL VARIABLES LIKE ?', [pattern])).map((row) => [String(row.Variable_name), String(row.Value)]));
  switch (method) {
    case 'general_log': {
      const settings = await variables('%log%');
      const problems = [
        ...(settings.get('general_log') === 'ON' ? [] : ['general_log is OFF']),
        ...((settings.get('log_output') ?? '').split(',').includes('TABLE') ? [] : [`log_output is ${settings.get('log_output') ?? 'unknown'}, not TABLE`]),
      ];
      if (problems.length > 0) findings.push({ severity: 'problem', message: `capture general_log: ${problems.join('; ')}.`, fix: "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = ON;  -- and the same in the server's configuration file" });
      if (!onMysqlTable('general_log', 'SELECT')) findings.push({ severity: 'problem', message: 'capture general_log: the admin may not read mysql.general_log.', fix: `GRANT SELECT ON mysql.general_log TO ${quoted};` });
      if (findings.length === 0) findings.push({ severity: 'ok', message: 'capture general_log is set up' });
      return findings;
    }
    case 'server_audit': {
      const plugin = await query<RowDataPacket[]>("SELECT PLUGIN_STATUS AS status FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT'");
      if (plugin[0]?.status !== 'ACTIVE') {
        findings.push({ severity: 'problem', message: 'capture server_audit: the server_audit plugin is not loaded.', fix: "INSTALL SONAME 'server_audit'; then SET GLOBAL server_audit_events = 'CONNECT,QUERY', server_audit_logging = ON." });
        return findings;
      }
      const settings = await variables('server_audit%');
      const events = (settings.get('server_audit_events') ?? '').split(',');
      const problems = [
        ...(settings.get('server_audit_logging') === 'ON' ? [] : ['server_audit_logging is OFF']),
        ...(events.includes('QUERY') && events.includes('CONNECT') ? [] : [`server_audit_events is "${settings.get('server_audit_events') ?? ''}", not CONNECT,QUERY`]),
        ...(settings.get('server_audit_output_type') === 'file' ? [] : ['server_audit_output_type is not file']),
        ...(settings.get('server_audit_incl_users') ? ['server_audit_incl_users is set, so temporary users are not recorded'] : []),
      ];
      if (problems.length > 0) findings.push({ severity: 'problem', message: `capture server_audit: ${problems.join('; ')}.`, fix: "SET GLOBAL server_audit_events = 'CONNECT,QUERY'; SET GLOBAL server_audit_incl_users = ''; SET GLOBAL server_audit_output_type = 'file'; SET GLOBAL server_audit_logging = ON;" });
      const file = target.entry.captureFile!;
      const serverFile = settings.get('server_audit_file_path') ?? '';
      if (serverFile && basename(serverFile) !== basename(file)) {
        findings.push({ severity: 'warning', message: `capture server_audit: the server writes ${serverFile}, but captureFile is ${file}.`, fix: 'Point captureFile at the file the server writes (through a shared volume when dbaccess runs elsewhere).' });
      }
      try {
        await access(file, constants.R_OK);
      } catch {
        findings.push({ severity: 'problem', message: `capture server_audit: ${file} cannot be read here.`, fix: 'Make the audit log readable by the user dbaccess runs as (and mount it when dbaccess runs on another host).' });
      }
      if (findings.length === 0) findings.push({ severity: 'ok', message: 'capture server_audit is set up and its file is readable' });
      return findings;
    }
    case 'performance_schema': {
      if (flavor !== 'mysql') return findings;
      const { sql, values } = consumersQuery();
      const rows = await query<RowDataPacket[]>(sql, values).catch(() => undefined);
      if (!rows) {
        findings.push({ severity: 'problem', message: 'capture performance_schema: the admin cannot read performance_schema.', fix: `GRANT SELECT ON performance_schema.* TO ${quoted};` });
        return findings;
      }
      const enabled = new Set(rows.filter((row) => row.enabled === 'YES').map((row) => String(row.name)));
      const off = PERFORMANCE_SCHEMA_CONSUMERS.filter((name) => !enabled.has(name));
      if (off.length > 0) findings.push({ severity: 'problem', message: `capture performance_schema: consumers not enabled: ${off.join(', ')}.`, fix: `UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN (${off.map((name) => `'${name}'`).join(', ')});  -- and performance-schema-consumer-... in my.cnf` });
      else findings.push({ severity: 'ok', message: 'capture performance_schema consumers are enabled' });
      return findings;
    }
    default:
      return findings;
  }
}
