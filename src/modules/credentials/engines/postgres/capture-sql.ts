import type { CaptureMethod } from '../../../capture/capture-types.js';

/**
 * PostgreSQL capture, set per role: the temporary role cannot change these settings (they are
 * superuser-only), and they are gone with the role. Pure: the provider runs the statements.
 */

/** pgaudit classes: everything a session can run (function covers DO blocks and calls). */
export const PGAUDIT_CLASSES = 'read, write, function, ddl, role, misc, misc_set';

/**
 * The statements that make the server record what `quotedUser` runs (the identifier already quoted
 * with escapeIdentifier), for a capture method; none for methods that are not per role. ERROR lines
 * carry the statement only when log_min_error_statement lets them.
 *
 * Each logged line costs the server a write to its logging collector (bench scenario 9), so the role
 * is logged once per statement whatever the cluster's defaults: pgaudit with log_statement off (both
 * on is every statement twice), one line per statement and not per relation, and no bind parameters
 * (the reader never uses them, and they are the rows' values); pg_stat_statements tracks this role
 * even where the cluster tracks nobody (`pg_stat_statements.track = 'none'`, the README's setting).
 */
export function postgresRoleCaptureStatements(method: CaptureMethod, quotedUser: string): string[] {
  const set = (name: string, value: string) => `ALTER ROLE ${quotedUser} SET ${name} = ${value}`;
  switch (method) {
    case 'pgaudit':
      return [
        set('pgaudit.log', `'${PGAUDIT_CLASSES}'`),
        set('pgaudit.log_statement', 'on'),
        set('pgaudit.log_statement_once', 'off'),
        set('pgaudit.log_level', "'log'"),
        set('pgaudit.log_relation', 'off'),
        set('pgaudit.log_parameter', 'off'),
        set('log_statement', "'none'"),
        set('log_min_error_statement', "'error'"),
      ];
    case 'log_statement':
      return [set('log_statement', "'all'"), set('log_parameter_max_length', '0'), set('log_min_error_statement', "'error'")];
    case 'pg_stat_statements':
      return [set('pg_stat_statements.track', "'top'")];
    default:
      return [];
  }
}

/**
 * What the server must have for the method, as one query returning `problem` (null when ready):
 * pgaudit loaded (a placeholder setting would be accepted and log nothing), jsonlog written, and
 * pg_stat_statements installed in the database.
 */
export function postgresCaptureCheckQuery(method: CaptureMethod): string | undefined {
  const jsonlog = `CASE WHEN pg_current_logfile('jsonlog') IS NULL
      THEN 'the server does not write jsonlog (log_destination must include jsonlog, with logging_collector on)' END`;
  switch (method) {
    case 'pgaudit':
      return `SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'pgaudit.log')
        THEN 'pgaudit is not loaded (shared_preload_libraries must include pgaudit, and the server be restarted)'
        ELSE ${jsonlog} END AS problem`;
    case 'log_statement':
      return `SELECT ${jsonlog} AS problem`;
    case 'pg_stat_statements':
      // Loaded first: its per-role setting is only known (and so only checked) once the library is.
      return `SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'pg_stat_statements.track')
        THEN 'pg_stat_statements is not loaded (shared_preload_libraries must include pg_stat_statements, and the server be restarted)'
        WHEN NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')
        THEN 'pg_stat_statements is not installed in this database (CREATE EXTENSION pg_stat_statements, with the library in shared_preload_libraries)' END AS problem`;
    default:
      return undefined;
  }
}

/** The per-role settings of a role, cleared before a retried provision sets them again. */
export const postgresRoleCaptureReset = (quotedUser: string) => `ALTER ROLE ${quotedUser} RESET ALL`;

/**
 * pg_stat_statements: per role oid, the normalized statements with their calls in every database of
 * the cluster (at most `limit` per role, most called first), and the role's total of calls and of
 * distinct statements. `schema` is the extension's schema, already quoted.
 */
export const pgStatStatementsQuery = (schema: string, limit: number) =>
  `SELECT userid, query, calls, total_calls AS "totalCalls", distinct_statements AS "distinctStatements"
     FROM (SELECT s.userid::text AS userid, s.query, sum(s.calls)::bigint AS calls,
                  sum(sum(s.calls)) OVER (PARTITION BY s.userid)::bigint AS total_calls,
                  count(*) OVER (PARTITION BY s.userid)::int AS distinct_statements,
                  row_number() OVER (PARTITION BY s.userid ORDER BY sum(s.calls) DESC, s.query) AS rank
             FROM ${schema}.pg_stat_statements s
            WHERE s.userid = ANY($1::oid[]) AND s.query IS NOT NULL
            GROUP BY s.userid, s.query) ranked
    WHERE rank <= ${Math.max(1, Math.floor(limit))}
    ORDER BY userid, rank`;

/** How a pg_stat_statements row is stored: marked as normalized totals, not one statement as run. */
export const pgStatStatementsText = (query: string, calls: number) =>
  `/* pg_stat_statements: normalized, ${calls} call${calls === 1 ? '' : 's'} in total */ ${query}`;
