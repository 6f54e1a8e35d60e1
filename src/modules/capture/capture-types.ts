/**
 * Query capture: how a temporary user's statements are recorded without a proxy, from the target's
 * own logs. The catalog names the method per database (`capture:`); the card says which is used.
 */
export const CAPTURE_METHODS = {
  /** pgaudit per role (needs shared_preload_libraries), else log_statement per role; both read from jsonlog over SQL. */
  postgres: ['pgaudit', 'log_statement', 'pg_stat_statements', 'none'],
  /** server_audit plugin (its log file, read by dbaccess), or the general log written to a table. */
  mariadb: ['server_audit', 'general_log', 'none'],
  mysql: ['performance_schema', 'general_log', 'none'],
} as const;

export type CaptureMethod = (typeof CAPTURE_METHODS)[keyof typeof CAPTURE_METHODS][number];
export const ALL_CAPTURE_METHODS = [...new Set(Object.values(CAPTURE_METHODS).flat())] as CaptureMethod[];

/** Kept per lease at most; the rest is counted and the lease marked truncated. */
export const MAX_STATEMENTS_PER_LEASE = 5_000;
/** Longer statements are cut to this many characters, with a marker. */
export const MAX_STATEMENT_CHARS = 8_192;

/** One statement as the target logged it, for one temporary user. Untrusted data. */
export interface CapturedStatement {
  username: string;
  at: Date;
  statement: string;
  /** SQLSTATE / error code and message when the server refused it. */
  error?: string | undefined;
}

const CAPTURE_WORDS: Record<CaptureMethod, string> = {
  pgaudit: 'Every statement is recorded (pgaudit).',
  log_statement: 'Every statement is recorded (PostgreSQL statement log).',
  pg_stat_statements: 'Only statement totals are recorded (pg_stat_statements).',
  server_audit: 'Every statement is recorded (MariaDB audit plugin).',
  general_log: 'Every statement is recorded (general log).',
  performance_schema: 'Recent statements are recorded (performance_schema).',
  none: 'Not recorded: capture is off for this database.',
};

/** How a session will be recorded, in words for the approval card. */
export const describeCapture = (method: CaptureMethod): string => CAPTURE_WORDS[method];
