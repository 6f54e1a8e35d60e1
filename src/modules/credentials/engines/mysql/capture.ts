import { open, stat } from 'node:fs/promises';
import mysql, { type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { configError } from '../../../../lib/errors.js';
import { CAPTURE_STATEMENT_TIMEOUT_MS, type CaptureReader, type CaptureUsers, type LogReader, type ReaderLimits, type ReadStatement } from '../../../capture/capture-reader.js';
import { decodeTies, encodeTies, readLines } from '../../../capture/capture-text.js';
import type { Target } from '../../credential-types.js';
import { connectionOptions } from './connection.js';
import { where } from '../../target-text.js';
import { consumersQuery, generalLogQuery, mysqlError, performanceSchemaQuery, PERFORMANCE_SCHEMA_CONSUMERS, serverStartQuery, userOfUserHost } from './capture-sql.js';
import { mariadbError, parseServerAuditLine, serverAuditTime } from './capture-server-audit.js';

/**
 * MySQL and MariaDB query capture: MariaDB's server_audit log file, the general log written to a
 * table, or MySQL's performance_schema.
 */
export const mysqlCapture: CaptureReader = {
  logs: {
    server_audit: { methods: ['server_audit'], open: (target, users, limits) => openServerAuditReader(target, users, limits) },
    // Without a cursor yet, the general log is read from just before the oldest lease began.
    general_log: { methods: ['general_log'], open: (target, users, limits, since) => openGeneralLogReader(target, users, limits, Math.max(0, (since.getTime() - 1000) * 1000)) },
    performance_schema: { methods: ['performance_schema'], open: (target, users, limits) => openPerformanceSchemaReader(target, users, limits) },
  },
};

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
 * MariaDB's server_audit log file, read from disk (captureFile). Cursor: `server_audit:<inode>` and
 * a byte offset. The plugin rotates by renaming (`file` -> `file.1` -> `file.2` ...): a file whose
 * inode is no longer the current one is found among the rotated names and finished first.
 */
async function openServerAuditReader(target: Target, users: CaptureUsers, limits: ReaderLimits): Promise<LogReader> {
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
async function openGeneralLogReader(target: Target, users: CaptureUsers, limits: ReaderLimits, startMicros: number): Promise<LogReader> {
  const { db, close } = await connectMysql(target);
  const names = [...users].filter(([, method]) => method === 'general_log').map(([name]) => name);
  return {
    async next(cursor) {
      const taken = decodeTies(cursor?.source, 'general_log');
      const position = taken === undefined ? startMicros : cursor!.position;
      const { sql, values } = generalLogQuery(names, position, limits.rowLimit);
      const [rows] = await db.query<RowDataPacket[]>({ sql, values, timeout: CAPTURE_STATEMENT_TIMEOUT_MS });
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
async function openPerformanceSchemaReader(target: Target, users: CaptureUsers, limits: ReaderLimits): Promise<LogReader> {
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
      const [rows] = await db.query<RowDataPacket[]>({ sql, values, timeout: CAPTURE_STATEMENT_TIMEOUT_MS });
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

