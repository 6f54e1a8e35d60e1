/**
 * Query capture: how a temporary user's statements are recorded without a proxy, from the target's
 * own logs. The catalog names the method per database (`capture:`, its values in config); the card
 * says which is used.
 */
import type { CaptureMethod } from '../../config/capture-methods.js';

export { ALL_CAPTURE_METHODS, CAPTURE_METHODS, type CaptureMethod } from '../../config/capture-methods.js';

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
