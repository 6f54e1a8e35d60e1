import mysql, { type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { sleep } from '../../../../lib/async.js';
import { configError, targetUnavailable } from '../../../../lib/errors.js';
import type { Target } from '../../credential-types.js';
import { where } from '../../target-text.js';
import { ER_NO_SUCH_THREAD, STATEMENT_TIMEOUT_MS, connectionOptions, describeFailure, errnoOf, mustDiscard, userLockName } from './connection.js';
import {
  MARKER_VALUE, type MysqlFlavor, SYSTEM_DATABASES, accountsQuery, killStatements, lockAndAccountsQuery, mysqlMarker, sessionSetup, sessionsQuery,
} from './grants.js';

/** How long revocation waits for killed sessions to disappear before it gives up (and is retried). */
const SESSION_WAIT_MS = 10_000;
const POLL_MS = 50;
/** Seconds to wait for another provision or revoke of the same user on the same server. */
const USER_LOCK_SECONDS = 10;

/** What the user lock was taken with: the accounts as they are under it. */
export interface Locked {
  accounts: Account[];
  /** Databases of the scope that do not exist. */
  missing: string[];
  /** Whether database names in grants are patterns (see lockUser). */
  wildcards: boolean;
  /** Set by work whose last statement released the lock. */
  released: boolean;
}

export interface Account {
  host: string;
  /** This install's marker, or the one from before install ids (the caller holds its lease). */
  ours: boolean;
  /** This install's marker. */
  marked: boolean;
  locked: boolean;
  isRole: boolean;
}

/**
 * The admin sessions of one provider: a pool per admin URL, each connection with the pinned session
 * settings, the server checked once to be the configured flavour; and what provisioning and
 * revocation do on such a session (the per-user lock, the accounts, killing sessions).
 */
export function createAdminSessions(options: { flavor: MysqlFlavor; installId: string; poolSize?: number | undefined; idleMillis?: number | undefined }) {
  const { flavor, installId: install } = options;
  const mine = mysqlMarker(install);
  /** Per admin URL: the pool, and the check that the server is the configured flavour (once). */
  const pools = new Map<string, { pool: Pool; checked?: Promise<void> }>();
  /** Connections whose session settings are in place (a pooled connection keeps them). */
  const prepared = new WeakSet<object>();

  function poolFor(target: Target) {
    let entry = pools.get(target.adminUrl);
    if (!entry) {
      const poolSize = target.entry.poolSize ?? options.poolSize ?? 4;
      const settings: PoolOptions = {
        ...connectionOptions(target.adminUrl),
        connectionLimit: poolSize,
        // mysql2 closes idle connections only when maxIdle < connectionLimit: keep at most one spare
        // warm, and close even that one after idleMillis.
        maxIdle: Math.max(0, Math.min(1, poolSize - 1)),
        idleTimeout: options.idleMillis ?? 10_000,
      };
      entry = { pool: mysql.createPool(settings) };
      pools.set(target.adminUrl, entry);
    }
    return entry;
  }

  /** One admin session for the whole piece of work, with the pinned session settings. */
  async function withAdmin<T>(target: Target, work: (db: PoolConnection) => Promise<T>): Promise<T> {
    const entry = poolFor(target);
    const connection = await entry.pool.getConnection();
    let healthy = true;
    try {
      if (!prepared.has(connection.connection)) {
        for (const statement of sessionSetup(flavor)) await connection.query({ sql: statement, timeout: STATEMENT_TIMEOUT_MS });
        prepared.add(connection.connection);
      }
      entry.checked ??= checkFlavor(target, connection).catch((error: unknown) => {
        entry.checked = undefined;
        throw error;
      });
      await entry.checked;
      return await work(connection);
    } catch (error) {
      healthy = !mustDiscard(error);
      throw error;
    } finally {
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  async function checkFlavor(target: Target, db: PoolConnection): Promise<void> {
    const [rows] = await db.query<RowDataPacket[]>({ sql: 'SELECT VERSION() AS version', timeout: STATEMENT_TIMEOUT_MS });
    const version = String(rows[0]?.version ?? '');
    const isMariadb = /mariadb/i.test(version);
    // The marker lives in different places on the two servers: talking to the wrong one would make
    // every user look foreign (or fail), so say so plainly instead.
    if (isMariadb !== (flavor === 'mariadb')) {
      throw configError(`${where(target)} runs ${isMariadb ? 'MariaDB' : 'MySQL'} ${version.slice(0, 40)}, but its engine is set to ${flavor}.`);
    }
  }

  async function run<T>(target: Target, action: string, work: () => Promise<T>, secrets: string[] = []): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw describeFailure(target, action, error, secrets);
    }
  }

  const query = async <R extends RowDataPacket[] | ResultSetHeader>(db: PoolConnection, sql: string, values: unknown[] = []) =>
    (await db.query<R>({ sql, values, timeout: STATEMENT_TIMEOUT_MS }))[0];

  const toAccount = (row: RowDataPacket): Account => ({
    host: String(row.host),
    ours: row.marker === mine || row.marker === MARKER_VALUE,
    marked: row.marker === mine,
    locked: Number(row.locked) === 1,
    isRole: Number(row.isRole) === 1,
  });

  async function accountsOf(db: PoolConnection, username: string): Promise<Account[]> {
    return (await query<RowDataPacket[]>(db, accountsQuery(flavor), [username])).map(toAccount);
  }

  /**
   * Two jobs for the same user (a retried provision, a revoke racing it) must not interleave on the
   * server. Named locks are per server and end with the session, so a crash never leaves one behind.
   * Takes the lock and reads the user's accounts, which of `databases` are missing, and whether
   * database names in grants are patterns: one round trip when nobody else holds the lock. `work`
   * may release the lock in its last statement (and set `released`); otherwise it is released after.
   */
  async function underUserLock<T>(target: Target, db: PoolConnection, username: string, databases: string[], work: (locked: Locked) => Promise<T>): Promise<T> {
    const locked = await lockUser(target, db, username, databases);
    try {
      return await work(locked);
    } finally {
      // A session that could not release the lock must not go back to the pool still holding it.
      if (!locked.released) await query(db, 'SELECT RELEASE_LOCK(?)', [userLockName(username)]).catch(() => db.destroy());
    }
  }

  async function lockUser(target: Target, db: PoolConnection, username: string, databases: string[]): Promise<Locked> {
    const lockName = userLockName(username);
    const combined = lockAndAccountsQuery(flavor, { lockName, username, databases });
    const rows = await query<RowDataPacket[]>(db, combined.sql, combined.values).catch(async (error: unknown) => {
      // The statement may have failed after taking the lock.
      await query(db, 'SELECT RELEASE_LOCK(?)', [lockName]).catch(() => db.destroy());
      throw error;
    });
    // MySQL 8 with partial_revokes ON compares database names in grants literally; otherwise (and always
    // on MariaDB) `_` and `%` are wildcards there. Read at each provision: a DBA may switch it at any time.
    const wildcardsFrom = (row: RowDataPacket | undefined) => flavor === 'mariadb' || !Number(row?.partialRevokes ?? 0);
    if (Number(rows[0]?.got) === 1) {
      return {
        accounts: rows
          .filter((row) => row.host !== null)
          .map(toAccount)
          .sort((x, y) => (x.host < y.host ? -1 : x.host > y.host ? 1 : 0)),
        missing: databases.filter((_, index) => Number(rows[0]?.[`db${index}`] ?? 0) === 0),
        wildcards: wildcardsFrom(rows[0]),
        released: false,
      };
    }
    // Held by another operation on this user: wait for it in a statement of its own (see lockAndAccountsQuery).
    const waited = await query<RowDataPacket[]>(db, 'SELECT GET_LOCK(?, ?) AS got', [lockName, USER_LOCK_SECONDS]);
    if (Number(waited[0]?.got) !== 1) {
      throw targetUnavailable(`Another operation on ${username} on ${where(target)} is still running; this one will be retried.`);
    }
    const missing: string[] = [];
    for (const database of databases) if (!(await databaseExists(db, database))) missing.push(database);
    const settings = flavor === 'mysql' ? (await query<RowDataPacket[]>(db, 'SELECT @@GLOBAL.partial_revokes AS partialRevokes'))[0] : undefined;
    return { accounts: await accountsOf(db, username), missing, wildcards: wildcardsFrom(settings), released: false };
  }

  async function databaseExists(db: PoolConnection, database: string): Promise<boolean> {
    const rows = await query<RowDataPacket[]>(
      db,
      `SELECT 1 FROM information_schema.SCHEMATA
        WHERE SCHEMA_NAME = ? COLLATE utf8mb4_bin OR (@@lower_case_table_names <> 0 AND LOWER(SCHEMA_NAME) = LOWER(?))`,
      [database, database],
    );
    return rows.length > 0;
  }

  /** Kills every connection of the user name and waits until none is left; returns how many there were. */
  async function killAndWait(target: Target, db: PoolConnection, username: string): Promise<Set<number>> {
    const seen = new Set<number>();
    const deadline = Date.now() + SESSION_WAIT_MS;
    let attempt = 0;
    for (;;) {
      const rows = await query<RowDataPacket[]>(db, sessionsQuery(), [username]);
      if (rows.length === 0) return seen;
      const ids = rows.map((row) => Number(row.id));
      for (const id of ids) seen.add(id);
      for (const statement of killStatements(flavor, username, ids)) {
        try {
          await query(db, statement);
        } catch (error) {
          // The session ended between the look-up and the kill.
          if (errnoOf(error) !== ER_NO_SUCH_THREAD) throw error;
        }
      }
      if (Date.now() > deadline) {
        throw targetUnavailable(
          `${rows.length} session(s) of ${username} on ${where(target)} were still running ${SESSION_WAIT_MS / 1000} s after being killed; revocation will be retried.`,
        );
      }
      // A killed session stays in the process list (Command "Killed") until its thread has finished,
      // usually within milliseconds: look again soon, then less often.
      await sleep(Math.min(POLL_MS, 5 * 2 ** Math.min(attempt++, 4)));
    }
  }

  async function databaseNames(db: PoolConnection): Promise<string[]> {
    const rows = await query<RowDataPacket[]>(
      db,
      'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (?) ORDER BY SCHEMA_NAME',
      [[...SYSTEM_DATABASES]],
    );
    return rows.map((row) => String(row.name));
  }


  async function close(): Promise<void> {
    const all = [...pools.values()];
    pools.clear();
    await Promise.all(all.map(({ pool }) => pool.end().catch(() => {})));
  }

  return { flavor, install, withAdmin, run, query, accountsOf, underUserLock, killAndWait, databaseNames, close };
}

export type AdminSessions = ReturnType<typeof createAdminSessions>;
