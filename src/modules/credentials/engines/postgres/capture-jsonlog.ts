/**
 * PostgreSQL's jsonlog (log_destination = jsonlog, PostgreSQL 15+), one JSON object per line: the
 * statements of temporary users as pgaudit or log_statement wrote them, and the ERROR lines of the
 * statements the server refused. Pure: the reader feeds it lines.
 */

/** The fields of one jsonlog line that capture uses. */
export interface JsonlogRecord {
  timestamp: string;
  user: string;
  sessionId: string;
  vxid: string;
  severity: string;
  stateCode?: string | undefined;
  message: string;
  statement?: string | undefined;
}

export type PostgresLogMethod = 'pgaudit' | 'log_statement';

/** A statement as read from the log, before it is given to a lease. */
export interface LogStatement {
  username: string;
  /** The line's timestamp as written (its zone resolved by the reader). */
  timestamp: string;
  statement: string;
  error?: string | undefined;
  /**
   * An ERROR line with no statement line of its session before it in this read: it may be the
   * refusal of the lease's last statement stored by an earlier read (written just after it).
   */
  orphanError?: boolean;
}

/** What one session last logged, carried from one chunk to the next within a read. */
interface SessionState {
  vxid: string;
  statementId?: number | undefined;
  text: string;
  /** Index in the output of the entry an ERROR line may complete, if it has no error yet. */
  index: number;
}

export type SessionMemory = Map<string, SessionState>;

export function parseJsonlogLine(line: string): JsonlogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const text = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
  const timestamp = text('timestamp');
  const user = text('user');
  const message = text('message');
  const severity = text('error_severity');
  if (!timestamp || !user || message === undefined || !severity) return undefined;
  return {
    timestamp, user, message, severity,
    sessionId: text('session_id') ?? '',
    vxid: text('vxid') ?? '',
    stateCode: text('state_code'),
    statement: text('statement'),
  };
}

/** One CSV record as pgaudit writes it: fields quoted with "" when they hold a comma, quote or newline. */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let start = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      start = true;
      continue;
    } else if (ch === '"' && start) quoted = true;
    else field += ch;
    start = false;
  }
  fields.push(field);
  return fields;
}

export interface PgauditEntry {
  statementId: number;
  substatementId: number;
  auditClass: string;
  command: string;
  statement: string;
}

/**
 * `AUDIT: SESSION,<statement id>,<substatement id>,<class>,<command>,<object type>,<object name>,<statement>,<parameter>[,<rows>]`.
 * Object audit lines (`AUDIT: OBJECT,...`) repeat session ones and are ignored.
 */
export function parsePgauditMessage(message: string): PgauditEntry | undefined {
  if (!message.startsWith('AUDIT: SESSION,')) return undefined;
  const fields = parseCsvRecord(message.slice('AUDIT: '.length));
  if (fields.length < 9) return undefined;
  const statementId = Number(fields[1]);
  const substatementId = Number(fields[2]);
  if (!Number.isInteger(statementId) || !Number.isInteger(substatementId)) return undefined;
  return { statementId, substatementId, auditClass: fields[3]!, command: fields[4]!, statement: fields[7]! };
}

/**
 * log_statement's `statement: <text>` (simple protocol) or `execute <name>: <text>` (extended protocol,
 * also `execute fetch from <name>/<portal>: <text>`); the text without parameters.
 */
export function parseLogStatementMessage(message: string): string | undefined {
  if (message.startsWith('statement: ')) return message.slice('statement: '.length);
  const match = /^execute (?:fetch from )?[^:\s]*(?:\/[^:\s]*)?: /.exec(message);
  return match ? message.slice(match[0].length) : undefined;
}

/** `<SQLSTATE>: <message>`, the form stored in `error`. */
export const postgresError = (record: Pick<JsonlogRecord, 'stateCode' | 'message'>) =>
  record.stateCode ? `${record.stateCode}: ${record.message}` : record.message;

/** A multi-statement simple query: pgaudit logs each statement, each with the whole string. */
const holdsSeveralStatements = (text: string) => /;\s*\S/.test(text);

/**
 * The statements of the users `methodOf` knows, in log order:
 * - pgaudit users: the first line of each statement (substatements of functions and DO blocks are
 *   the inside of the one statement the user ran); a multi-statement string once.
 * - log_statement users: every `statement:` / `execute` line.
 * - both: ERROR lines with a statement. One that follows the statement line of the same statement
 *   (same session, same transaction, same text) completes it; otherwise (a statement refused before
 *   pgaudit saw it, a syntax error) it is a statement of its own with its error.
 * `memory` carries sessions across the chunks of one read.
 */
export function statementsFromJsonlog(
  records: Iterable<JsonlogRecord>,
  methodOf: (username: string) => PostgresLogMethod | undefined,
  memory: SessionMemory = new Map(),
): LogStatement[] {
  const out: LogStatement[] = [];
  // Entries completed in an earlier chunk cannot be amended in this output.
  for (const state of memory.values()) state.index = -1;
  for (const record of records) {
    const method = methodOf(record.user);
    if (!method) continue;
    const key = `${record.user}\u0000${record.sessionId}`;
    const previous = memory.get(key);
    if (record.severity === 'ERROR') {
      if (record.statement === undefined) continue;
      const error = postgresError(record);
      if (previous && previous.vxid === record.vxid && previous.text === record.statement && previous.index !== -2) {
        if (previous.index >= 0) out[previous.index]!.error = error;
        else out.push({ username: record.user, timestamp: record.timestamp, statement: record.statement, error, orphanError: true });
        previous.index = -2;
        continue;
      }
      out.push({ username: record.user, timestamp: record.timestamp, statement: record.statement, error, orphanError: previous === undefined });
      memory.set(key, { vxid: record.vxid, text: record.statement, index: -2 });
      continue;
    }
    if (record.severity !== 'LOG') continue;
    let text: string | undefined;
    let statementId: number | undefined;
    if (method === 'pgaudit') {
      const audit = parsePgauditMessage(record.message);
      if (!audit) continue;
      if (previous?.statementId === audit.statementId && previous.vxid === record.vxid) continue; // a substatement
      if (previous && previous.vxid === record.vxid && previous.text === audit.statement && holdsSeveralStatements(audit.statement)) {
        previous.statementId = audit.statementId;
        continue;
      }
      text = audit.statement;
      statementId = audit.statementId;
    } else {
      text = parseLogStatementMessage(record.message);
      if (text === undefined) continue;
    }
    out.push({ username: record.user, timestamp: record.timestamp, statement: text });
    memory.set(key, { vxid: record.vxid, statementId, text, index: out.length - 1 });
  }
  return out;
}

/**
 * jsonlog timestamps (`2026-11-29 09:38:35.475 UTC`) in the server's log_timezone. UTC, GMT and
 * numeric offsets are read here; other zone abbreviations return undefined (the reader asks the
 * server, which knows its own abbreviations).
 */
export function parseLogTimestamp(text: string): Date | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) ?(.*)$/.exec(text);
  if (!match) return undefined;
  const [, date, time, zone] = match;
  let offset: string;
  if (zone === 'UTC' || zone === 'GMT' || zone === 'Z' || zone === '') offset = 'Z';
  else {
    const numeric = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone!);
    if (!numeric) return undefined;
    offset = `${numeric[1]}${numeric[2]}:${numeric[3] ?? '00'}`;
  }
  const parsed = new Date(`${date}T${time!.slice(0, 12)}${offset}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
