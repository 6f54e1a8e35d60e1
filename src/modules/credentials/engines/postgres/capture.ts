import { basename, dirname, join } from 'node:path';
import pg, { escapeIdentifier } from 'pg';
import { configError } from '../../../../lib/errors.js';
import { CAPTURE_STATEMENT_TIMEOUT_MS, type CaptureReader, type CaptureUsers, type LogReader, type ReaderLimits } from '../../../capture/capture-reader.js';
import { readLines } from '../../../capture/capture-text.js';
import type { Target } from '../../credential-types.js';
import { withDatabase } from './pool.js';
import { where } from '../../target-text.js';
import { parseJsonlogLine, parseLogTimestamp, statementsFromJsonlog, type JsonlogRecord, type PostgresLogMethod, type SessionMemory } from './capture-jsonlog.js';
import { pgStatStatementsQuery, pgStatStatementsText } from './capture-sql.js';

/**
 * PostgreSQL query capture: pgaudit and log_statement write to jsonlog, read over SQL;
 * pg_stat_statements keeps totals per role, read whole at each collect.
 */
export const postgresCapture: CaptureReader = {
  logs: {
    jsonlog: { methods: ['pgaudit', 'log_statement'], open: (target, users, limits) => openJsonlogReader(target, users, limits) },
  },
  totals: {
    method: 'pg_stat_statements',
    userIds: postgresRoleOids,
    async read(target, ids, limit) {
      const rows = await readPgStatStatements(target, ids, limit);
      return rows.map((row) => ({ userId: row.userid, text: pgStatStatementsText(row.query, row.calls), totalCalls: row.totalCalls, distinctStatements: row.distinctStatements }));
    },
  },
};

async function connectPostgres(target: Target): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: withDatabase(target.adminUrl, target.entry.database),
    connectionTimeoutMillis: 5_000,
    statement_timeout: CAPTURE_STATEMENT_TIMEOUT_MS,
    application_name: 'dbaccess-capture',
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * PostgreSQL's jsonlog, read over SQL with pg_read_binary_file (binary: a chunk may end inside a
 * multi-byte character). Cursor: the log file's path as pg_current_logfile gives it, and a byte
 * offset. After a rotation the old file is finished first, then the files after it in order.
 */
async function openJsonlogReader(target: Target, users: CaptureUsers, limits: ReaderLimits): Promise<LogReader> {
  const client = await connectPostgres(target);
  const memory: SessionMemory = new Map();
  const methodOf = (username: string): PostgresLogMethod | undefined => {
    const method = users.get(username);
    return method === 'pgaudit' || method === 'log_statement' ? method : undefined;
  };
  const zoned = new Map<string, Date>();

  const readAt = async (file: string, position: number, length: number) => {
    const { rows } = await client.query<{ data: Buffer | null }>('SELECT pg_read_binary_file($1, $2, $3, true) AS data', [file, position, length]);
    return rows[0]?.data ?? null;
  };

  async function currentFile(): Promise<string> {
    const { rows } = await client.query<{ file: string | null }>("SELECT pg_current_logfile('jsonlog') AS file");
    const file = rows[0]?.file;
    if (!file) throw configError(`${where(target)} does not write jsonlog: statements cannot be read (log_destination must include jsonlog, with logging_collector on).`);
    return file;
  }

  /** The file written after `file`: by modification time, then name; the current file when unknown. */
  async function fileAfter(file: string, current: string): Promise<string> {
    try {
      const { rows } = await client.query<{ name: string }>(
        `SELECT l.name FROM pg_ls_logdir() l, pg_stat_file($1, true) f
          WHERE l.name LIKE '%.json' AND f.modification IS NOT NULL
            AND (l.modification > f.modification OR (l.modification = f.modification AND l.name > $2))
          ORDER BY l.modification, l.name LIMIT 1`,
        [file, basename(file)],
      );
      const name = rows[0]?.name;
      return name ? join(dirname(current), name) : current;
    } catch {
      // pg_ls_logdir needs pg_monitor: without it, go straight to the current file.
      return current;
    }
  }

  /** Dates of the timestamps this reader could not read itself, from the server (its zone names). */
  async function resolveTimestamps(records: JsonlogRecord[]): Promise<void> {
    const unknown = [...new Set(records.map((record) => record.timestamp))].filter((text) => !zoned.has(text) && !parseLogTimestamp(text));
    if (unknown.length === 0) return;
    const { rows } = await client.query<{ text: string; at: Date }>('SELECT t AS text, t::timestamptz AS at FROM unnest($1::text[]) t', [unknown]);
    for (const row of rows) zoned.set(row.text, row.at);
  }

  return {
    async next(cursor) {
      const current = await currentFile();
      const file = cursor && cursor.source.endsWith('.json') ? cursor.source : current;
      const position = cursor && cursor.source === file ? cursor.position : 0;
      const rotated = file !== current;
      const read = await readLines((at, length) => readAt(file, at, length), position, limits);
      if (read === null) {
        // Gone: a rotated file removed before it was finished, or a current file not there yet.
        return rotated ? { statements: [], cursor: { source: await fileAfter(file, current), position: 0 }, more: true } : { statements: [], cursor: { source: file, position: 0 }, more: false };
      }
      const records = read.lines.map(parseJsonlogLine).filter((record): record is JsonlogRecord => record !== undefined && methodOf(record.user) !== undefined);
      await resolveTimestamps(records);
      const statements = statementsFromJsonlog(records, methodOf, memory).map((entry) => ({
        username: entry.username,
        at: parseLogTimestamp(entry.timestamp) ?? zoned.get(entry.timestamp) ?? new Date(),
        statement: entry.statement,
        error: entry.error,
        orphanError: entry.orphanError,
      }));
      // A rotated file no longer grows: once its end is reached, go on with the file after it.
      if (rotated && read.atEnd) return { statements, cursor: { source: await fileAfter(file, current), position: 0 }, more: true };
      return { statements, cursor: { source: file, position: position + read.bytes }, more: rotated || !read.atEnd };
    },
    close: () => client.end().catch(() => {}),
  };
}

interface PgStatStatementsRow {
  userid: string;
  query: string;
  calls: number;
  totalCalls: number;
  distinctStatements: number;
}

/** pg_stat_statements totals of these role oids (as text), most called first, at most `limit` per role. */
async function readPgStatStatements(target: Target, oids: string[], limit: number): Promise<PgStatStatementsRow[]> {
  if (oids.length === 0) return [];
  const client = await connectPostgres(target);
  try {
    const { rows: schemas } = await client.query<{ schema: string }>(
      "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'",
    );
    const schema = schemas[0]?.schema;
    if (!schema) throw configError(`${where(target)} cannot record statements with pg_stat_statements: the extension is not installed in ${target.entry.database} (CREATE EXTENSION pg_stat_statements).`);
    const { rows } = await client.query<{ userid: string; query: string; calls: string; totalCalls: string; distinctStatements: number }>(
      pgStatStatementsQuery(escapeIdentifier(schema), limit),
      [oids],
    );
    return rows.map((row) => ({ userid: row.userid, query: row.query, calls: Number(row.calls), totalCalls: Number(row.totalCalls), distinctStatements: Number(row.distinctStatements) }));
  } finally {
    await client.end().catch(() => {});
  }
}

/** The oids of these roles, while they exist (pg_stat_statements keeps the oid after DROP ROLE). */
async function postgresRoleOids(target: Target, usernames: string[]): Promise<Map<string, string>> {
  if (usernames.length === 0) return new Map();
  const client = await connectPostgres(target);
  try {
    const { rows } = await client.query<{ rolname: string; oid: string }>('SELECT rolname, oid::text AS oid FROM pg_roles WHERE rolname = ANY($1::text[])', [usernames]);
    return new Map(rows.map((row) => [row.rolname, row.oid]));
  } finally {
    await client.end().catch(() => {});
  }
}
