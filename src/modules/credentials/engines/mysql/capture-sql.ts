/**
 * The SQL the MySQL and MariaDB capture readers send: the general log table and performance_schema.
 * Pure (statement text and values), so it is unit-tested without a server.
 */

/** Escapes `\`, `%` and `_` for a LIKE pattern with the default escape character. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** Microseconds since the epoch as the exact decimal seconds MySQL compares with UNIX_TIMESTAMP(ts(6)). */
export function microsToDecimalSeconds(micros: number): string {
  if (!Number.isSafeInteger(micros) || micros < 0) throw new RangeError('micros must be a non-negative safe integer');
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

/**
 * Rows of mysql.general_log (log_output = TABLE) of these users at or after `fromMicros`, oldest
 * first. `user_host` is `<priv user>[<user>] @ <host> [<ip>]`; the LIKE narrows the scan, and the
 * caller compares the parsed user exactly. Rows newer than `settleMs` ago are left for the next read:
 * a row can be written a moment after its event_time, behind a later one.
 */
export function generalLogQuery(usernames: string[], fromMicros: number, limit: number, settleMs = 50): { sql: string; values: unknown[] } {
  if (usernames.length === 0) throw new RangeError('generalLogQuery needs at least one user name');
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  // Backslash is LIKE's default escape character.
  const users = usernames.map(() => 'user_host LIKE ?').join(' OR ');
  return {
    sql: `SELECT CAST(UNIX_TIMESTAMP(event_time) * 1000000 AS SIGNED) AS micros, thread_id AS threadId, user_host AS userHost,
       command_type AS command, argument
  FROM mysql.general_log
 WHERE UNIX_TIMESTAMP(event_time) >= CAST(? AS DECIMAL(20,6))
   AND UNIX_TIMESTAMP(event_time) <= UNIX_TIMESTAMP(NOW(6)) - ?
   AND command_type IN ('Query', 'Execute')
   AND (${users})
 ORDER BY event_time, thread_id
 LIMIT ${limit}`,
    values: [microsToDecimalSeconds(fromMicros), settleMs / 1000, ...usernames.map((name) => `${escapeLike(name)}[%`)],
  };
}

/** The login user of a general_log `user_host`, or undefined when it does not have that form. */
export function userOfUserHost(userHost: string): string | undefined {
  const match = /^[^[]*\[([^\]]*)\] @ /.exec(userHost);
  return match?.[1];
}

/** performance_schema consumers statement capture needs, all of them enabled. */
export const PERFORMANCE_SCHEMA_CONSUMERS = ['global_instrumentation', 'thread_instrumentation', 'events_statements_current', 'events_statements_history_long'] as const;

export const consumersQuery = (): { sql: string; values: unknown[] } => ({
  sql: 'SELECT NAME AS name, ENABLED AS enabled FROM performance_schema.setup_consumers WHERE NAME IN (?)',
  values: [[...PERFORMANCE_SCHEMA_CONSUMERS]],
});

/** When the server started, in seconds since the epoch: statement timers count picoseconds from there. */
export const serverStartQuery = (): string =>
  "SELECT UNIX_TIMESTAMP() - CAST(VARIABLE_VALUE AS SIGNED) AS startedAt FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Uptime'";

/**
 * Top-level statements (not those inside stored programs) of these users from
 * events_statements_history_long, that ended at or after `fromNs` (nanoseconds since server start),
 * in the order they ended. The user comes from `threads`, which only lists live connections: a
 * session that ended before this read has lost its user, and its statements with it.
 */
export function performanceSchemaQuery(usernames: string[], fromNs: number, limit: number): { sql: string; values: unknown[] } {
  if (usernames.length === 0) throw new RangeError('performanceSchemaQuery needs at least one user name');
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  if (!Number.isSafeInteger(fromNs) || fromNs < 0) throw new RangeError('fromNs must be a non-negative safe integer');
  return {
    sql: `SELECT h.THREAD_ID AS threadId, h.EVENT_ID AS eventId, t.PROCESSLIST_USER AS user,
       CAST(h.TIMER_START DIV 1000 AS SIGNED) AS startNs, CAST(h.TIMER_END DIV 1000 AS SIGNED) AS endNs,
       h.SQL_TEXT AS sqlText, h.MYSQL_ERRNO AS errno, h.RETURNED_SQLSTATE AS sqlState, h.MESSAGE_TEXT AS message
  FROM performance_schema.events_statements_history_long h
  JOIN performance_schema.threads t ON t.THREAD_ID = h.THREAD_ID
 WHERE t.PROCESSLIST_USER IN (?)
   AND h.TIMER_END DIV 1000 >= ?
   AND h.SQL_TEXT IS NOT NULL
   AND (h.NESTING_EVENT_TYPE IS NULL OR h.NESTING_EVENT_TYPE <> 'STATEMENT')
 ORDER BY h.TIMER_END, h.THREAD_ID, h.EVENT_ID
 LIMIT ${limit}`,
    values: [usernames, fromNs],
  };
}

/** How a refused statement is stored: `<errno> (<SQLSTATE>): <message>`. */
export function mysqlError(errno: number, sqlState: string | null | undefined, message: string | null | undefined): string {
  return `${errno}${sqlState ? ` (${sqlState})` : ''}${message ? `: ${message}` : ''}`;
}
