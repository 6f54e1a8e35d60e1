import { open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import mysql, { type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import pg, { escapeIdentifier } from 'pg';
import { configError } from '../../lib/errors.js';
import type { Target } from '../credentials/credential-types.js';
import { connectionOptions } from '../credentials/mysql-provider.js';
import { withDatabase } from '../credentials/postgres-provider.js';
import { where } from '../credentials/target-text.js';
import { completeLines, decodeTies, encodeTies } from './capture-text.js';
import type { CaptureMethod, CapturedStatement } from './capture-types.js';
import { parseJsonlogLine, parseLogTimestamp, statementsFromJsonlog, type JsonlogRecord, type PostgresLogMethod, type SessionMemory } from './jsonlog-parser.js';
import {
  consumersQuery,
  generalLogQuery,
  mysqlError,
  performanceSchemaQuery,
  PERFORMANCE_SCHEMA_CONSUMERS,
  serverStartQuery,
  userOfUserHost,
} from './mysql-capture-sql.js';
import { pgStatStatementsQuery } from './postgres-capture-sql.js';
import { mariadbError, parseServerAuditLine, serverAuditTime } from './server-audit-parser.js';

/**
 * Readers of what a target logged, each from a cursor (`source`, `position`) to the next: bounded
 * reads, and a cursor that never moves past a line the server is still writing. They only read; the
 * capture service stores statements and cursor together.
 */

export interface CaptureCursor {
  source: string;
  position: number;
}

export interface ReadStatement extends CapturedStatement {
  /** A refusal whose statement line may have been stored by an earlier read (see jsonlog-parser). */
  orphanError?: boolean | undefined;
}

export interface ReadBatch {
  statements: ReadStatement[];
  /** Where the next read starts; stored in the same transaction as the statements. */
  cursor: CaptureCursor;
  /** More is waiting right now (a full chunk, or a rotated file to finish). */
  more: boolean;
}

export interface LogReader {
  next(cursor: CaptureCursor | undefined): Promise<ReadBatch>;
  close(): Promise<void>;
}

export interface ReaderLimits {
  /** Bytes of log per read. */
  chunkBytes: number;
  /** A line longer than this is skipped (it cannot be a sane log line). */
  maxLineBytes: number;
  /** Rows per read from log tables. */
  rowLimit: number;
}

/** The temporary users to look for, with how each one's lease is recorded. */
export type CaptureUsers = ReadonlyMap<string, CaptureMethod>;

const STATEMENT_TIMEOUT_MS = 30_000;

async function connectPostgres(target: Target): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: withDatabase(target.adminUrl, target.entry.database),
    connectionTimeoutMillis: 5_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'dbaccess-capture',
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function connectMysql(target: Target): Promise<{ db: PoolConnection; close(): Promise<void> }> {
  const pool = mysql.createPool({ ...connectionOptions(target.adminUrl), connectionLimit: 1, maxIdle: 0 });
  try {
    const db = await pool.getConnection();
    return {
      db,
      close: async () => {
        db.release();
        await pool.end().catch(() => {});
      },
    };
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

/**
 * Reads the complete lines from `position`: a chunk, grown while one line does not fit (up to
 * maxLineBytes), or, past that, the bytes up to the end of the over-long line, skipped.
 */
async function readLines(
  readAt: (position: number, length: number) => Promise<Buffer | null>,
  position: number,
  limits: ReaderLimits,
): Promise<{ lines: string[]; bytes: number; atEnd: boolean } | null> {
  let length = limits.chunkBytes;
  for (;;) {
    const data = await readAt(position, length);
    if (data === null) return null;
    // A short read reached the end of the file (for now, if the server still writes it).
    const atEnd = data.length < length;
    const { lines, bytes } = completeLines(data);
    if (bytes > 0 || atEnd) return { lines, bytes, atEnd };
    if (length < limits.maxLineBytes) {
      length = Math.min(limits.maxLineBytes, length * 4);
      continue;
    }
    // One line longer than anything sane: skip to its end.
    let skipped = data.length;
    for (;;) {
      const more = await readAt(position + skipped, limits.chunkBytes);
      if (more === null || more.length === 0) return { lines: [], bytes: 0, atEnd: true };
      const newline = more.indexOf(0x0a);
      if (newline >= 0) return { lines: [], bytes: skipped + newline + 1, atEnd: false };
      skipped += more.length;
    }
  }
}

/**
 * PostgreSQL's jsonlog, read over SQL with pg_read_binary_file (binary: a chunk may end inside a
 * multi-byte character). Cursor: the log file's path as pg_current_logfile gives it, and a byte
 * offset. After a rotation the old file is finished first, then the files after it in order.
 */
export async function openJsonlogReader(target: Target, users: CaptureUsers, limits: ReaderLimits): Promise<LogReader> {
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

/**
 * MariaDB's server_audit log file, read from disk (captureFile). Cursor: `server_audit:<inode>` and
 * a byte offset. The plugin rotates by renaming (`file` -> `file.1` -> `file.2` ...): a file whose
 * inode is no longer the current one is found among the rotated names and finished first.
 */
export async function openServerAuditReader(target: Target, users: CaptureUsers, limits: ReaderLimits): Promise<LogReader> {
  const path = target.entry.captureFile;
  if (!path) throw configError(`${target.entry.id} records with server_audit but names no captureFile.`);
  // The plugin writes the server's local time: its offset from UTC, from the server itself.
  const { db, close } = await connectMysql(target);
  let offsetSeconds: number;
  try {
    await db.query("SET time_zone = 'SYSTEM'");
    const [rows] = await db.query<RowDataPacket[]>('SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW()) AS offsetSeconds');
    offsetSeconds = Number(rows[0]?.offsetSeconds ?? 0);
  } finally {
    await close();
  }
  const sourceOf = (inode: number) => `server_audit:${inode}`;
  const inodeOf = (source: string | undefined) => (source?.startsWith('server_audit:') ? Number(source.slice('server_audit:'.length)) : undefined);

  async function inodeAt(file: string): Promise<number | undefined> {
    try {
      return (await stat(file)).ino;
    } catch {
      return undefined;
    }
  }

  /** The current file and the rotated ones, newest first: `[path, path.1, path.2, ...]`. */
  async function generations(): Promise<Array<{ file: string; inode: number }>> {
    const found: Array<{ file: string; inode: number }> = [];
    for (let index = 0; index < 1000; index++) {
      const file = index === 0 ? path! : `${path}.${index}`;
      const inode = await inodeAt(file);
      if (inode === undefined) {
        if (index === 0) throw configError(`The server_audit log of ${target.entry.id} (${path}) cannot be read: it does not exist or is not readable by dbaccess.`);
        break;
      }
      found.push({ file, inode });
    }
    return found;
  }

  return {
    async next(cursor) {
      const files = await generations();
      const current = files[0]!;
      const wanted = inodeOf(cursor?.source);
      const index = wanted === undefined ? 0 : files.findIndex((candidate) => candidate.inode === wanted);
      if (index < 0) {
        // Rotated away entirely before it could be finished: go on with the current file.
        return { statements: [], cursor: { source: sourceOf(current.inode), position: 0 }, more: true };
      }
      const { file, inode } = files[index]!;
      let position = wanted === undefined ? 0 : cursor!.position;
      const handle = await open(file, 'r');
      try {
        const opened = await handle.stat();
        // Renamed between the listing and the open: look again.
        if (opened.ino !== inode) return { statements: [], cursor: cursor ?? { source: sourceOf(current.inode), position: 0 }, more: true };
        // Truncated in place (copytruncate): start again at the beginning.
        if (opened.size < position) position = 0;
        const read = await readLines(async (at, length) => {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, at);
          return buffer.subarray(0, bytesRead);
        }, position, limits);
        const statements = read ? parse(read.lines) : [];
        // A rotated file no longer grows: once its end is reached, go on with the next newer one.
        if (index > 0 && (!read || read.atEnd)) return { statements, cursor: { source: sourceOf(files[index - 1]!.inode), position: 0 }, more: true };
        return { statements, cursor: { source: sourceOf(inode), position: position + (read?.bytes ?? 0) }, more: index > 0 || !(read?.atEnd ?? true) };
      } finally {
        await handle.close();
      }
    },
    close: async () => {},
  };

  function parse(lines: string[]): ReadStatement[] {
    const out: ReadStatement[] = [];
    for (const line of lines) {
      const event = parseServerAuditLine(line);
      if (!event || users.get(event.username) !== 'server_audit') continue;
      out.push({ username: event.username, at: serverAuditTime(event.time, offsetSeconds), statement: event.query, error: event.retcode !== 0 ? mariadbError(event.retcode) : undefined });
    }
    return out;
  }
}

/**
 * mysql.general_log (log_output = TABLE). Cursor: `general_log|<thread ids>` and the event_time in
 * microseconds, the thread ids being the rows already taken at exactly that time.
 */
export async function openGeneralLogReader(target: Target, users: CaptureUsers, limits: ReaderLimits, startMicros: number): Promise<LogReader> {
  const { db, close } = await connectMysql(target);
  const names = [...users].filter(([, method]) => method === 'general_log').map(([name]) => name);
  return {
    async next(cursor) {
      const taken = decodeTies(cursor?.source, 'general_log');
      const position = taken === undefined ? startMicros : cursor!.position;
      const { sql, values } = generalLogQuery(names, position, limits.rowLimit);
      const [rows] = await db.query<RowDataPacket[]>({ sql, values, timeout: STATEMENT_TIMEOUT_MS });
      const fresh = rows
        .map((row) => ({ micros: Number(row.micros), thread: String(row.threadId), userHost: String(row.userHost), argument: row.argument as Buffer | string | null }))
        .filter((row) => !(row.micros === position && (taken ?? []).includes(row.thread)));
      const statements: ReadStatement[] = [];
      for (const row of fresh) {
        const username = userOfUserHost(row.userHost);
        if (!username || users.get(username) !== 'general_log' || row.argument === null) continue;
        statements.push({ username, at: new Date(Math.floor(row.micros / 1000)), statement: Buffer.isBuffer(row.argument) ? row.argument.toString('utf8') : String(row.argument) });
      }
      const last = fresh.at(-1);
      const next = last
        ? { position: last.micros, taken: [...new Set([...(last.micros === position ? taken ?? [] : []), ...fresh.filter((row) => row.micros === last.micros).map((row) => row.thread)])] }
        : { position, taken: taken ?? [] };
      return { statements, cursor: { source: encodeTies('general_log', next.taken), position: next.position }, more: rows.length >= limits.rowLimit };
    },
    close,
  };
}

/**
 * MySQL's performance_schema (events_statements_history_long with threads). Cursor:
 * `performance_schema@<server start>|<thread:event ids>` and the TIMER_END in nanoseconds since the
 * server started; a restart (another start time) starts over. Not tested against a MySQL server here.
 */
export async function openPerformanceSchemaReader(target: Target, users: CaptureUsers, limits: ReaderLimits): Promise<LogReader> {
  const { db, close } = await connectMysql(target);
  try {
    const consumers = consumersQuery();
    const [enabled] = await db.query<RowDataPacket[]>({ sql: consumers.sql, values: consumers.values });
    const on = new Set(enabled.filter((row) => String(row.enabled).toUpperCase() === 'YES').map((row) => String(row.name)));
    const off = PERFORMANCE_SCHEMA_CONSUMERS.filter((name) => !on.has(name));
    if (off.length > 0) throw configError(`${where(target)} cannot record statements with performance_schema: enable the consumers ${off.join(', ')} (UPDATE performance_schema.setup_consumers).`);
  } catch (error) {
    await close();
    throw error;
  }
  const names = [...users].filter(([, method]) => method === 'performance_schema').map(([name]) => name);
  return {
    async next(cursor) {
      const [started] = await db.query<RowDataPacket[]>(serverStartQuery());
      const startedAt = Number(started[0]?.startedAt ?? 0);
      const kind = `performance_schema@${startedAt}`;
      // Uptime is whole seconds: a start time one second off is the same start.
      const previous = cursor?.source.match(/^performance_schema@(\d+)/);
      const sameStart = previous && Math.abs(Number(previous[1]) - startedAt) <= 1;
      const taken = sameStart ? decodeTies(cursor!.source, `performance_schema@${previous[1]}`) ?? [] : [];
      const position = sameStart ? cursor!.position : 0;
      const { sql, values } = performanceSchemaQuery(names, position, limits.rowLimit);
      const [rows] = await db.query<RowDataPacket[]>({ sql, values, timeout: STATEMENT_TIMEOUT_MS });
      const fresh = rows
        .map((row) => ({
          user: String(row.user), startNs: Number(row.startNs), endNs: Number(row.endNs), key: `${row.threadId}:${row.eventId}`,
          sqlText: String(row.sqlText), errno: Number(row.errno ?? 0), sqlState: row.sqlState as string | null, message: row.message as string | null,
        }))
        .filter((row) => !(row.endNs === position && taken.includes(row.key)));
      const statements: ReadStatement[] = fresh
        .filter((row) => users.get(row.user) === 'performance_schema')
        .map((row) => ({
          username: row.user,
          at: new Date(startedAt * 1000 + Math.floor(row.startNs / 1e6)),
          statement: row.sqlText,
          error: row.errno !== 0 ? mysqlError(row.errno, row.sqlState, row.message) : undefined,
        }));
      const last = fresh.at(-1);
      const nextPosition = last ? last.endNs : position;
      const nextTaken = last ? [...new Set([...(last.endNs === position ? taken : []), ...fresh.filter((row) => row.endNs === last.endNs).map((row) => row.key)])] : taken;
      return { statements, cursor: { source: encodeTies(kind, nextTaken), position: nextPosition }, more: rows.length >= limits.rowLimit };
    },
    close,
  };
}

export interface PgStatStatementsRow {
  userid: string;
  query: string;
  calls: number;
  totalCalls: number;
  distinctStatements: number;
}

/** pg_stat_statements totals of these role oids (as text), most called first, at most `limit` per role. */
export async function readPgStatStatements(target: Target, oids: string[], limit: number): Promise<PgStatStatementsRow[]> {
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
export async function postgresRoleOids(target: Target, usernames: string[]): Promise<Map<string, string>> {
  if (usernames.length === 0) return new Map();
  const client = await connectPostgres(target);
  try {
    const { rows } = await client.query<{ rolname: string; oid: string }>('SELECT rolname, oid::text AS oid FROM pg_roles WHERE rolname = ANY($1::text[])', [usernames]);
    return new Map(rows.map((row) => [row.rolname, row.oid]));
  } finally {
    await client.end().catch(() => {});
  }
}
