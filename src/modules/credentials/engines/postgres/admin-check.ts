import pg, { escapeIdentifier } from 'pg';
import { postgresCaptureCheckQuery } from './capture-sql.js';
import { levelTablePrivileges, someOf, type AdminCheckOptions, type AdminFinding } from '../../admin-check.js';
import type { Target } from '../../credential-types.js';
import { withDatabase } from './pool.js';
import { scrubTarget, where } from '../../target-text.js';

const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 10_000;
const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;
/** Functions the jsonlog reader calls (capture-readers.ts); EXECUTE on them is revoked from PUBLIC. */
const LOG_FUNCTIONS = ['pg_catalog.pg_read_binary_file(text,bigint,bigint,boolean)', 'pg_catalog.pg_current_logfile(text)'];
/** Settings provision puts on each temporary role (postgres-capture-sql.ts); all superuser-only. */
const CAPTURE_PARAMETERS = {
  pgaudit: ['pgaudit.log', 'pgaudit.log_statement', 'pgaudit.log_statement_once', 'pgaudit.log_level', 'pgaudit.log_relation', 'pgaudit.log_parameter', 'log_statement', 'log_min_error_statement'],
  log_statement: ['log_statement', 'log_parameter_max_length', 'log_min_error_statement'],
  pg_stat_statements: ['pg_stat_statements.track'],
} as const;
const NON_SYSTEM = "NOT starts_with(n.nspname, 'pg_') AND n.nspname <> 'information_schema'";
/**
 * Objects an extension made (pg_stat_statements' views in public, say): grants leave them out with
 * the reason (grantable.ts), so the admin need not be able to grant them. `classid` and `oid` name the object.
 */
const NOT_EXTENSION = (classid: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

interface Self {
  name: string;
  super: boolean;
  createrole: boolean;
  signal: boolean;
  monitor: boolean;
  readServerFiles: boolean;
  version: string;
}

/**
 * What the PostgreSQL provider needs of its admin on this database: CREATEROLE (or superuser), grant
 * options on what the database's levels hand out over every schema, pg_signal_backend to end
 * sessions, and for capture the log settings, the right to set the capture parameters on a role, and
 * to read the server log over SQL.
 */
export async function checkPostgresAdmin(target: Target, { sessionsOnly, levels }: AdminCheckOptions): Promise<AdminFinding[]> {
  const client = new pg.Client({
    connectionString: withDatabase(target.adminUrl, target.entry.database),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'dbaccess-doctor',
  });
  client.on('error', () => {});
  const findings: AdminFinding[] = [];
  try {
    await client.connect();
    const self = (
      await client.query<Self>(
        `SELECT current_user AS name, r.rolsuper AS super, r.rolcreaterole AS createrole,
                pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal,
                pg_has_role(current_user, 'pg_monitor', 'USAGE') AS monitor,
                pg_has_role(current_user, 'pg_read_server_files', 'USAGE') AS "readServerFiles",
                current_setting('server_version') AS version
           FROM pg_roles r WHERE r.rolname = current_user`,
      )
    ).rows[0]!;
    const role = escapeIdentifier(self.name);
    findings.push({ severity: 'ok', message: `PostgreSQL ${self.version.split(' ')[0]}, admin ${self.name}${self.super ? ' (superuser)' : ''}` });

    if (self.super || self.signal) findings.push({ severity: 'ok', message: 'may end sessions' });
    else findings.push({ severity: 'problem', message: `${self.name} cannot end the sessions of temporary users (pg_terminate_backend).`, fix: `GRANT pg_signal_backend TO ${role};` });
    if (sessionsOnly) return findings;

    if (self.super || self.createrole) findings.push({ severity: 'ok', message: 'may create roles' });
    else findings.push({ severity: 'problem', message: `${self.name} may not create roles.`, fix: `ALTER ROLE ${role} CREATEROLE;  -- as a superuser` });

    findings.push(...(await grantFindings(client, target, self, levels.map((level) => level.name), levelTablePrivileges(levels, TABLE_PRIVILEGES))));
    findings.push(...(await captureFindings(client, target, self)));
  } catch (error) {
    const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
    findings.push({
      severity: 'problem',
      message: `Checking the admin of ${where(target)} failed: ${scrubTarget(target, typeof message === 'string' ? message : 'unknown error')}${typeof code === 'string' ? ` (SQLSTATE ${code})` : ''}.`,
    });
  } finally {
    await client.end().catch(() => {});
  }
  return findings;
}

/** Grant options on the database, every schema, table, sequence and (admin) function the levels reach. */
async function grantFindings(client: pg.Client, target: Target, self: Self, levelNames: string[], tablePrivileges: string[]): Promise<AdminFinding[]> {
  const role = escapeIdentifier(self.name);
  const admin = levelNames.includes('admin');
  const findings: AdminFinding[] = [];
  const lacking: string[] = [];
  const fixes: string[] = [];

  const databasePrivileges = admin ? ['CONNECT', 'TEMPORARY'] : ['CONNECT'];
  const { rows: [database] } = await client.query<{ missing: string[] }>(
    `SELECT coalesce(array_agg(p) FILTER (WHERE NOT has_database_privilege(current_database(), p || ' WITH GRANT OPTION')), '{}') AS missing
       FROM unnest($1::text[]) p`,
    [databasePrivileges],
  );
  if (database!.missing.length > 0) {
    lacking.push(`${database!.missing.join(', ')} on the database`);
    fixes.push(`GRANT ${database!.missing.join(', ')} ON DATABASE ${escapeIdentifier(target.entry.database)} TO ${role} WITH GRANT OPTION;`);
  }

  const schemaPrivileges = admin ? ['USAGE', 'CREATE'] : ['USAGE'];
  const { rows: schemas } = await client.query<{ name: string; missing: string[] }>(
    `SELECT n.nspname AS name, array_agg(p ORDER BY p) AS missing
       FROM pg_namespace n CROSS JOIN unnest($1::text[]) p
      WHERE ${NON_SYSTEM} AND NOT has_schema_privilege(n.oid, p || ' WITH GRANT OPTION')
      GROUP BY n.nspname ORDER BY n.nspname`,
    [schemaPrivileges],
  );
  for (const schema of schemas) fixes.push(`GRANT ${schema.missing.join(', ')} ON SCHEMA ${escapeIdentifier(schema.name)} TO ${role} WITH GRANT OPTION;`);
  if (schemas.length > 0) lacking.push(`schema privileges on ${someOf(schemas.map((schema) => schema.name))}`);

  const { rows: tables } = await client.query<{ schema: string; name: string; missing: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS name, array_agg(p ORDER BY p) AS missing
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN unnest($1::text[]) p
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${NON_SYSTEM} AND ${NOT_EXTENSION('pg_class', 'c.oid')} AND NOT has_table_privilege(c.oid, p || ' WITH GRANT OPTION')
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [tablePrivileges],
  );
  addPerSchema(tables, 'TABLES', role, lacking, fixes);

  const sequencePrivileges = admin ? ['USAGE', 'SELECT', 'UPDATE'] : tablePrivileges.includes('INSERT') ? ['USAGE', 'SELECT'] : [];
  if (sequencePrivileges.length > 0) {
    const { rows: sequences } = await client.query<{ schema: string; name: string; missing: string[] }>(
      `SELECT n.nspname AS schema, c.relname AS name, array_agg(p ORDER BY p) AS missing
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN unnest($1::text[]) p
        WHERE c.relkind = 'S' AND ${NON_SYSTEM} AND ${NOT_EXTENSION('pg_class', 'c.oid')} AND NOT has_sequence_privilege(c.oid, p || ' WITH GRANT OPTION')
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [sequencePrivileges],
    );
    addPerSchema(sequences, 'SEQUENCES', role, lacking, fixes);
  }
  if (admin) {
    const { rows: functions } = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, p.oid::regprocedure::text AS name
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind = 'f' AND ${NON_SYSTEM} AND ${NOT_EXTENSION('pg_proc', 'p.oid')} AND NOT has_function_privilege(p.oid, 'EXECUTE WITH GRANT OPTION')
        ORDER BY 1, 2`,
    );
    addPerSchema(functions.map((fn) => ({ ...fn, missing: ['EXECUTE'] })), 'FUNCTIONS', role, lacking, fixes);
  }

  if (lacking.length === 0) {
    findings.push({ severity: 'ok', message: `may grant ${levelNames.join(', ')} on every schema` });
  } else {
    findings.push({
      severity: 'problem',
      message: `${self.name} may not grant what ${levelNames.join(', ')} hand${levelNames.length === 1 ? 's' : ''} out: it lacks ${lacking.join('; ')} (with GRANT OPTION).`,
      fix: `As the owner of those objects (or make ${self.name} their owner): ${fixes.slice(0, 4).join(' ')}${fixes.length > 4 ? ` (and ${fixes.length - 4} more like these)` : ''}`,
    });
  }
  return findings;
}

function addPerSchema(objects: Array<{ schema: string; name: string; missing: string[] }>, kind: 'TABLES' | 'SEQUENCES' | 'FUNCTIONS', role: string, lacking: string[], fixes: string[]): void {
  if (objects.length === 0) return;
  const bySchema = new Map<string, Set<string>>();
  for (const object of objects) {
    const privileges = bySchema.get(object.schema) ?? new Set<string>();
    object.missing.forEach((privilege) => privileges.add(privilege));
    bySchema.set(object.schema, privileges);
  }
  const privileges = [...new Set(objects.flatMap((object) => object.missing))].sort();
  lacking.push(`${privileges.join(', ')} on ${someOf(objects.map((object) => (kind === 'FUNCTIONS' ? object.name : `${object.schema}.${object.name}`)))}`);
  for (const [schema, missing] of bySchema) {
    fixes.push(`GRANT ${[...missing].sort().join(', ')} ON ALL ${kind} IN SCHEMA ${escapeIdentifier(schema)} TO ${role} WITH GRANT OPTION;`);
  }
}

/** The capture method's server settings, and the admin's right to set it per role and read the log. */
async function captureFindings(client: pg.Client, target: Target, self: Self): Promise<AdminFinding[]> {
  const method = target.entry.capture;
  if (method === 'none' || target.entry.engine !== 'postgres') return [];
  const role = escapeIdentifier(self.name);
  const findings: AdminFinding[] = [];
  const check = postgresCaptureCheckQuery(method);
  if (check) {
    try {
      const problem = (await client.query<{ problem: string | null }>(check)).rows[0]?.problem;
      if (problem) findings.push({ severity: 'problem', message: `capture ${method}: ${problem}.`, fix: captureFix(method) });
      else findings.push({ severity: 'ok', message: `capture ${method} is set up on the server` });
    } catch (error) {
      if ((error as { code?: string }).code !== '42501') throw error;
      findings.push({ severity: 'problem', message: `capture ${method}: ${self.name} may not call pg_current_logfile().`, fix: `GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_logfile(text) TO ${role};` });
    }
  }
  // Provision sets these on each temporary role; they are superuser-only unless granted (PostgreSQL 15+).
  const parameters = CAPTURE_PARAMETERS[method as keyof typeof CAPTURE_PARAMETERS] ?? [];
  if (!self.super && parameters.length > 0) {
    let missing: string[] = [...parameters];
    try {
      const { rows } = await client.query<{ name: string }>(
        `SELECT name FROM unnest($1::text[]) name WHERE NOT has_parameter_privilege(name, 'SET')`,
        [parameters],
      );
      missing = rows.map((row) => row.name);
    } catch {
      // Before PostgreSQL 15 only a superuser can set them.
    }
    if (missing.length > 0) {
      findings.push({ severity: 'problem', message: `capture ${method}: ${self.name} may not set ${missing.join(', ')} on the temporary roles.`, fix: `GRANT SET ON PARAMETER ${missing.join(', ')} TO ${role};  -- PostgreSQL 15+, as a superuser` });
    }
  }
  if (method === 'pg_stat_statements') return findings;

  const { rows: [file] } = await client.query<{ logfile: string | null; executable: boolean }>(
    `SELECT CASE WHEN $2 OR has_function_privilege('pg_catalog.pg_current_logfile(text)', 'EXECUTE') THEN pg_current_logfile('jsonlog') END AS logfile,
            bool_and(has_function_privilege(f, 'EXECUTE')) AS executable FROM unnest($1::text[]) f`,
    [LOG_FUNCTIONS, self.super],
  );
  const outsideDataDirectory = file?.logfile?.startsWith('/') ?? false;
  if (self.super || (file!.executable && (!outsideDataDirectory || self.readServerFiles))) {
    findings.push({ severity: 'ok', message: 'may read the server log over SQL' });
  } else {
    const grants = [
      ...(file!.executable ? [] : [`GRANT EXECUTE ON FUNCTION ${LOG_FUNCTIONS.join(', ')} TO ${role};`]),
      ...(self.readServerFiles ? [] : [`GRANT pg_read_server_files TO ${role};`]),
    ];
    findings.push({ severity: 'problem', message: `capture ${method}: ${self.name} cannot read the server log over SQL, so statements would not be recorded.`, fix: grants.join(' ') });
  }
  if (!self.super && !self.monitor) {
    findings.push({ severity: 'warning', message: `capture ${method}: without pg_monitor, statements logged just before a log rotation can be missed.`, fix: `GRANT pg_monitor TO ${role};` });
  }
  return findings;
}

function captureFix(method: string): string {
  switch (method) {
    case 'pgaudit':
      return "In postgresql.conf: shared_preload_libraries = 'pgaudit', logging_collector = on, log_destination = 'jsonlog'; then restart the server.";
    case 'log_statement':
      return "In postgresql.conf: logging_collector = on, log_destination = 'jsonlog'; then restart the server.";
    default:
      return "shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (restart), then CREATE EXTENSION pg_stat_statements in this database.";
  }
}
