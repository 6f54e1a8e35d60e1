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

/**
 * What recording costs the target, as queries per second lost on point queries (a one-row
 * primary-key SELECT or UPDATE, the cheapest statements there are: logging costs per statement).
 * Measured by bench scenario 9 (the README's Benchmarks); a database's own figure (`captureCost:` in
 * the catalog, from the same bench run against it) takes precedence.
 */
export interface CaptureCost {
  /** Percent fewer point queries per second with the recording on. */
  percent: number;
  /** Measured on this database (the catalog's figure), or the bench's default. */
  source: 'catalog' | 'bench';
}

/**
 * Bench scenario 9 (the README's Benchmarks give every run), the worse of SELECT and UPDATE: PostgreSQL
 * 15, median of three quiet runs on 2026-12-07 18:25-18:28 UTC (2-core AMD EPYC, load average 1.6-3.4);
 * MariaDB 10.11, median of three runs at 17:13-17:33 UTC under load (7.7-16.9). Methods without a
 * figure were not measured here.
 */
export const MEASURED_CAPTURE_COST: Partial<Record<CaptureMethod, number>> = {
  pgaudit: 17,
  log_statement: 15,
  pg_stat_statements: 5,
  server_audit: 19,
  general_log: 19,
};

/** The cost to show for a method: the database's measured figure, else the bench's; none when off or unmeasured. */
export function captureCost(method: CaptureMethod, measured?: number): CaptureCost | undefined {
  if (method === 'none') return undefined;
  if (measured !== undefined) return { percent: measured, source: 'catalog' };
  const bench = MEASURED_CAPTURE_COST[method];
  return bench === undefined ? undefined : { percent: bench, source: 'bench' };
}

const costWords = (cost: CaptureCost) =>
  `about ${Math.round(cost.percent)}% slower on ${cost.source === 'catalog' ? "this server's point queries" : "point queries in dbaccess's bench"}`;

/**
 * How a session will be recorded, in words for the approval card; with its cost when given:
 * "Every statement is recorded (pgaudit, about 8% slower on this server's point queries)."
 */
export function describeCapture(method: CaptureMethod, cost?: CaptureCost): string {
  const words = CAPTURE_WORDS[method];
  if (!cost) return words;
  return words.endsWith(').') ? `${words.slice(0, -2)}, ${costWords(cost)}).` : `${words.slice(0, -1)} (${costWords(cost)}).`;
}
