import type { Target } from '../credentials/credential-types.js';
import type { LineLimits } from './capture-text.js';
import type { CaptureMethod, CapturedStatement } from './capture-types.js';

/**
 * What query capture needs of a database engine: the logs its statements are read from, each from a
 * cursor (`source`, `position`) to the next, and the totals some methods keep instead of a log. An
 * engine's folder (`credentials/engines/<engine>/capture.ts`) implements it; the capture service
 * finds it by engine (capture-engines.ts) and only stores statements and cursors. Readers only read:
 * bounded reads, and a cursor that never moves past a line the server is still writing.
 */
export interface CaptureReader {
  /** The logs, by name. Leases whose methods share a log share one reader and one cursor. */
  readonly logs: Readonly<Record<string, CaptureLog>>;
  /** Methods that keep running totals per user instead of a log, read whole at each collect. */
  readonly totals?: CaptureTotals | undefined;
}

export interface CaptureLog {
  /** The capture methods whose statements this log holds. */
  readonly methods: readonly CaptureMethod[];
  /** `since`: when the oldest lease looked for began (a log without a cursor yet may start there). */
  open(target: Target, users: CaptureUsers, limits: ReaderLimits, since: Date): Promise<LogReader>;
}

export interface CaptureTotals {
  readonly method: CaptureMethod;
  /**
   * The server's ids of these users while they exist, as decimal integers: the totals are kept by
   * id, also after the user is dropped, so the id is remembered while it can still be looked up.
   */
  userIds(target: Target, usernames: string[]): Promise<Map<string, string>>;
  /** The totals of these ids, most run first, at most `limit` statements per id. */
  read(target: Target, ids: string[], limit: number): Promise<TotalsRow[]>;
}

export interface TotalsRow {
  userId: string;
  /** The statement as stored, marked as totals rather than one statement as run. */
  text: string;
  /** Every call of this user, and how many distinct statements there were (kept or not). */
  totalCalls: number;
  distinctStatements: number;
}

export interface CaptureCursor {
  source: string;
  position: number;
}

export interface ReadStatement extends CapturedStatement {
  /** A refusal whose statement line may have been stored by an earlier read (see capture-jsonlog.ts). */
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

export interface ReaderLimits extends LineLimits {
  /** Rows per read from log tables. */
  rowLimit: number;
}

/** The temporary users to look for, with how each one's lease is recorded. */
export type CaptureUsers = ReadonlyMap<string, CaptureMethod>;

/** How long one statement of a reader may run on the target. */
export const CAPTURE_STATEMENT_TIMEOUT_MS = 30_000;
