import type pg from 'pg';
import type { CatalogSet, DatabaseEntry } from '../../config/catalog.js';
import type { Db } from '../../db/client.js';
import { asSystem, withTenant } from '../../db/tenant-scope.js';
import { sleep } from '../../lib/async.js';
import { conflict, isAppError, notFound, targetUnavailable } from '../../lib/errors.js';
import type { Target } from '../credentials/credential-types.js';
import { scrubTarget, where } from '../credentials/target-text.js';
import { engineOf } from '../credentials/engines/registry.js';
import type { TargetResolver } from '../credentials/targets.js';
import type { CaptureCursor, CaptureLog, CaptureReader, CaptureTotals, CaptureUsers, ReadStatement, ReaderLimits } from './capture-reader.js';
import type { CaptureLease, CaptureRepo, StatementRow } from './capture-repo.js';
import { clipStatement } from './capture-text.js';
import { describeCapture, MAX_STATEMENT_CHARS, MAX_STATEMENTS_PER_LEASE, type CaptureMethod } from './capture-types.js';

export interface CaptureLimits extends ReaderLimits {
  /** Statements kept per lease; more are counted and the lease marked truncated. */
  maxStatementsPerLease: number;
  /** Longer statements are cut, with a marker. */
  maxStatementChars: number;
  /** Reads per collect: what is left is read by the next one (the sweep enqueues it again). */
  maxReads: number;
  /** How long after its end a lease's statements are still looked for (a collect may run late). */
  readEndedLeasesMs: number;
  /** How long a collect waits for another one on the same database to finish. */
  lockWaitMs: number;
}

export const DEFAULT_CAPTURE_LIMITS: CaptureLimits = {
  maxStatementsPerLease: MAX_STATEMENTS_PER_LEASE,
  maxStatementChars: MAX_STATEMENT_CHARS,
  chunkBytes: 4 * 1024 * 1024,
  maxLineBytes: 64 * 1024 * 1024,
  rowLimit: 5_000,
  maxReads: 16,
  readEndedLeasesMs: 7 * 24 * 3600_000,
  lockWaitMs: 60_000,
};

interface Deps {
  db: Db;
  repo: CaptureRepo;
  /**
   * Connections only for the per-database read lock. Never the state pool: a holder needs state
   * connections while it holds the lock (see the card lock in jobs/handlers.ts).
   */
  lockPool: pg.Pool;
  catalogs: () => CatalogSet;
  resolveTarget: TargetResolver;
  limits?: Partial<CaptureLimits>;
  now?: () => Date;
}

export interface CollectResult {
  /** Statements stored by this collect. */
  stored: number;
  /** Leases whose statements were looked for. */
  leases: number;
  /** The bound on reads was reached: more is waiting for the next collect. */
  more: boolean;
}

export interface CapturedSession {
  method: string;
  /** In the order the server logged them; at most maxStatementsPerLease. */
  statements: StatementRow[];
  /** More statements were run than are kept. */
  truncated: boolean;
  /** Statements the user ran (kept or not); for pg_stat_statements, calls in total. */
  count: number;
}

/** An ERROR line is the refusal of the statement line just before it, written within this time. */
const SAME_STATEMENT_MS = 2_000;
/**
 * Cursor rows that remember a user id for a totals method; catalog ids cannot contain ':'. The
 * prefix is that of the first such method (pg_stat_statements), kept for the rows already stored.
 */
const totalsKey = (leaseId: string) => `pgss:${leaseId}`;

/**
 * Query capture: reads what the targets logged for their temporary users (through their engine's
 * reader, see capture-reader.ts), stores each statement with its lease, and says how a session is
 * recorded.
 */
export function createCaptureService({ db, repo, lockPool, catalogs, resolveTarget, limits: overrides, now = () => new Date() }: Deps) {
  const limits: CaptureLimits = { ...DEFAULT_CAPTURE_LIMITS, ...overrides };

  /** One reader per database at a time, across workers: a session advisory lock on the state database. */
  async function underLock<T>(databaseId: string, work: () => Promise<T>): Promise<T> {
    const client = await lockPool.connect();
    let broken: Error | undefined;
    try {
      const deadline = Date.now() + limits.lockWaitMs;
      for (;;) {
        const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 12)) AS got', [`capture:${databaseId}`]);
        if (rows[0]?.got) break;
        if (Date.now() > deadline) throw targetUnavailable(`The log of ${databaseId} is still being read by another worker; this read will be retried.`);
        await sleep(100);
      }
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 12))', [`capture:${databaseId}`]).catch((error: Error) => {
          // A connection that may still hold the lock must not go back to the pool.
          broken = error;
        });
      }
    } finally {
      client.release(broken);
    }
  }

  /** The log a method's statements are read from; none for methods that keep no log. */
  function logOf(reader: CaptureReader, method: string): CaptureLog | undefined {
    return Object.values(reader.logs).find((log) => log.methods.includes(method as CaptureMethod));
  }

  /** The log this database's statements are read from: the catalog's, else that of its newest recording lease. */
  function logSourceOf(reader: CaptureReader, entry: DatabaseEntry, candidates: CaptureLease[]): CaptureLog | undefined {
    return logOf(reader, entry.capture) ?? candidates.map((lease) => logOf(reader, lease.captureMethod)).filter(Boolean).at(-1);
  }

  /**
   * Groups a read's statements by lease, in order, cut to length. A refusal read apart from its
   * statement line completes the lease's last statement when it is the same statement.
   */
  function byLease(statements: ReadStatement[], leasesByUser: Map<string, CaptureLease>) {
    const groups = new Map<string, { lease: CaptureLease; rows: StatementRow[]; completesStored?: { statement: string; error: string; at: Date } }>();
    for (const entry of statements) {
      const lease = leasesByUser.get(entry.username);
      if (!lease) continue;
      let group = groups.get(lease.id);
      if (!group) groups.set(lease.id, (group = { lease, rows: [] }));
      const statement = clipStatement(entry.statement, limits.maxStatementChars);
      const error = entry.error ? entry.error.slice(0, 1000) : null;
      if (entry.orphanError && error) {
        const last = group.rows.at(-1);
        if (!last && !group.completesStored) {
          group.completesStored = { statement, error, at: entry.at };
          continue;
        }
        if (last && last.error === null && last.statement === statement && Math.abs(entry.at.getTime() - last.at.getTime()) <= SAME_STATEMENT_MS) {
          last.error = error;
          continue;
        }
      }
      group.rows.push({ at: entry.at, statement, error });
    }
    return [...groups.values()];
  }

  /** Stores one read and moves the cursor, in one transaction: nothing lost, nothing twice. */
  async function store(databaseId: string, from: CaptureCursor | undefined, to: CaptureCursor, statements: ReadStatement[], leasesByUser: Map<string, CaptureLease>): Promise<number> {
    return db.transaction(async (tx) => {
      if (!(await repo.moveCursor(databaseId, from, to, tx))) {
        throw conflict(`The read position in the log of ${databaseId} moved under this read; it will be retried.`);
      }
      let stored = 0;
      for (const group of byLease(statements, leasesByUser)) {
        const pending = group.completesStored;
        if (pending) {
          const last = await repo.lastStatement(group.lease, tx);
          const same = last && last.error === null && last.statement === pending.statement && Math.abs(pending.at.getTime() - last.at.getTime()) <= SAME_STATEMENT_MS;
          if (same) await repo.setError(group.lease.tenantId, last.id, pending.error, tx);
          else group.rows.unshift({ at: pending.at, statement: pending.statement, error: pending.error });
        }
        stored += await repo.append(group.lease, group.rows, limits.maxStatementsPerLease, tx);
      }
      return stored;
    });
  }

  async function readLog(databaseId: string, log: CaptureLog, target: Target, candidates: CaptureLease[]): Promise<{ stored: number; more: boolean }> {
    const recorded = candidates.filter((lease) => log.methods.includes(lease.captureMethod as CaptureMethod));
    if (recorded.length === 0) return { stored: 0, more: false };
    const users: CaptureUsers = new Map(recorded.map((lease) => [lease.username, lease.captureMethod as CaptureMethod]));
    const leasesByUser = new Map(recorded.map((lease) => [lease.username, lease]));
    const oldest = new Date(Math.min(...recorded.map((lease) => lease.createdAt.getTime())));
    const reader = await log.open(target, users, limits, oldest);
    let stored = 0;
    try {
      let cursor = await repo.cursor(databaseId);
      for (let round = 0; round < limits.maxReads; round++) {
        const batch = await reader.next(cursor);
        const moved = !cursor || batch.cursor.source !== cursor.source || batch.cursor.position !== cursor.position;
        if (moved || batch.statements.length > 0) {
          stored += await store(databaseId, cursor, batch.cursor, batch.statements, leasesByUser);
          cursor = batch.cursor;
        }
        if (!batch.more) return { stored, more: false };
      }
      return { stored, more: true };
    } finally {
      await reader.close();
    }
  }

  /**
   * A totals method (pg_stat_statements) keeps totals per user id, also after the user is dropped:
   * the id is remembered while the user exists, and each collect replaces the lease's rows with the
   * current totals.
   */
  async function snapshotTotals(totals: CaptureTotals | undefined, target: Target, candidates: CaptureLease[]): Promise<number> {
    const recorded = totals ? candidates.filter((lease) => lease.captureMethod === totals.method) : [];
    if (!totals || recorded.length === 0) return 0;
    const live = await totals.userIds(target, recorded.filter((lease) => !lease.revokedAt).map((lease) => lease.username));
    const ids = new Map<string, CaptureLease>();
    for (const lease of recorded) {
      const known = await repo.cursor(totalsKey(lease.id));
      const id = known ? String(known.position) : live.get(lease.username);
      if (!id) continue;
      if (!known) await repo.moveCursor(totalsKey(lease.id), undefined, { source: `${totals.method}:${lease.username}`, position: Number(id) });
      ids.set(id, lease);
    }
    const rows = await totals.read(target, [...ids.keys()], limits.maxStatementsPerLease);
    const at = now();
    let stored = 0;
    for (const [id, lease] of ids) {
      const mine = rows.filter((row) => row.userId === id);
      // Totals reset or evicted since the last look: keep what was read then.
      if (mine.length === 0) continue;
      const statements = mine.map((row) => ({ at, statement: clipStatement(row.text, limits.maxStatementChars), error: null }));
      await db.transaction((tx) => repo.replace(lease, statements, mine[0]!.totalCalls, mine[0]!.distinctStatements > statements.length, tx));
      stored += statements.length;
    }
    return stored;
  }

  /**
   * Reads everything new in the database's log and stores it with the leases it belongs to (by user
   * name, leases of this database only). Safe to run at any time, twice, or on several workers.
   */
  async function collect(databaseId: string): Promise<CollectResult> {
    return asSystem('capture', async () => {
      const entry = catalogs().ofDatabase(databaseId)?.database(databaseId);
      // Removed from the catalog: there is no admin connection to read its log with any more.
      if (!entry) return { stored: 0, leases: 0, more: false };
      return underLock(databaseId, async () => {
        const candidates = await repo.candidates(databaseId, new Date(now().getTime() - limits.readEndedLeasesMs));
        if (candidates.length === 0) return { stored: 0, leases: 0, more: false };
        // An engine without a reader (Vault) records nothing.
        const reader = engineOf(entry).capture;
        if (!reader) return { stored: 0, leases: candidates.length, more: false };
        const target = await resolveTarget(databaseId);
        const source = logSourceOf(reader, entry, candidates);
        try {
          const log = source ? await readLog(databaseId, source, target, candidates) : { stored: 0, more: false };
          const totals = await snapshotTotals(reader.totals, target, candidates);
          return { stored: log.stored + totals, leases: candidates.length, more: log.more };
        } catch (error) {
          if (isAppError(error)) throw error;
          // Driver and file errors, in words for the operator, without the admin URL or its password.
          const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
          const said = scrubTarget(target, typeof message === 'string' ? message : 'unknown error');
          throw targetUnavailable(`Cannot read the statements of ${where(target)}: ${said}${typeof code === 'string' ? ` (${code})` : ''}.`);
        }
      });
    });
  }

  /** What was recorded for a lease of the tenant, in order. */
  async function statementsFor(tenantId: string, leaseId: string): Promise<CapturedSession> {
    const found = await withTenant(tenantId, () => repo.statementsOf(tenantId, leaseId));
    if (!found) throw notFound(`Lease ${leaseId}`);
    return { method: found.method, statements: found.statements, truncated: found.truncated, count: found.count };
  }

  return {
    collect,
    statementsFor,
    /** How a session is recorded, in one sentence for the approval card. */
    describe: (method: CaptureMethod): string => describeCapture(method),
  };
}

export type CaptureService = ReturnType<typeof createCaptureService>;
