import { createHash } from 'node:crypto';
import { type GrantOptionRow, MYSQL_GRANT_OPTIONS_QUERY, mysqlPlanGrants } from './mysql-grantable.js';
import mysql, { type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { type AppError, badInput, configError, conflict, isAppError, targetUnavailable } from '../../lib/errors.js';
import { sleep, withTimeout } from '../../lib/async.js';
import { networkReason, scrubTarget, where } from './target-text.js';
import { outsideDatabases, scopeDatabases } from './scope-bounds.js';
import type { CredentialProvider, ProvisionSpec, Target } from './credential-types.js';
import {
  MARKER_VALUE,
  type MysqlFlavor,
  accountsQuery,
  alterUserStatement,
  classifyUsers,
  createByGrantStatement,
  createUserStatement,
  droppedCheckQuery,
  dropUserStatement,
  killStatements,
  killUserStatement,
  listUsersQuery,
  lockAndAccountsQuery,
  lockStatement,
  mariadbBlock,
  markStatements,
  maxUserNameLength,
  mysqlMarker,
  mysqlGrantStatements,
  nativePasswordHash,
  releaseLockStatement,
  revokeAllStatement,
  sessionSetup,
  sessionsQuery,
  SYSTEM_DATABASES,
  unmarkedHost,
} from './mysql-grants.js';

export { maxUserNameLength, mysqlUserName, type MysqlFlavor } from './mysql-grants.js';

const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 3_000;
/** How long revocation waits for killed sessions to disappear before it gives up (and is retried). */
const SESSION_WAIT_MS = 10_000;
const POLL_MS = 50;
/** Seconds to wait for another provision or revoke of the same user on the same server. */
const USER_LOCK_SECONDS = 10;

/** What the user lock was taken with: the accounts as they are under it. */
interface Locked {
  accounts: Account[];
  /** Databases of the scope that do not exist. */
  missing: string[];
  /** Whether database names in grants are patterns (see lockUser). */
  wildcards: boolean;
  /** Set by work whose last statement released the lock. */
  released: boolean;
}

interface Account {
  host: string;
  /** This install's marker, or the one from before install ids (the caller holds its lease). */
  ours: boolean;
  /** This install's marker. */
  marked: boolean;
  locked: boolean;
  isRole: boolean;
}

/**
 * Temporary users on MySQL 8 and MariaDB 10.11. DROP USER and ACCOUNT LOCK both leave open sessions
 * running, so revocation is: lock every host's account -> kill every connection of the user name and
 * wait until none is left -> drop -> verify.
 */
export function createMysqlProvider(options: { flavor: MysqlFlavor; installId: string; poolSize?: number; idleMillis?: number }): CredentialProvider {
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

  return {
    async provision(target, spec) {
      checkUsername(target, spec.username, flavor);
      const hosts = checkSpec(target, spec);
      // The form refuses it; this holds even if the catalog narrowed the entry after the request.
      const outside = outsideDatabases(target.entry, spec.scope);
      if (outside) throw badInput(outside);
      const passwordHash = nativePasswordHash(spec.password);
      const limit = target.entry.connectionLimit;
      // The server accepts GRANT ... ON missing_db.* silently (it would start working once someone creates
      // the database): refuse instead. A database named only through its tables needs no look-up: a
      // GRANT on a table of a missing database is refused by the server itself (1146).
      const scope = spec.scope.length > 0 ? spec.scope : [{ schema: target.entry.database }];
      const databases = [...new Set(scope.filter((item) => item.table === undefined).map((item) => item.schema))];

      return run(
        target,
        `Provisioning ${spec.username}`,
        () =>
          withAdmin(target, async (db) => {
            // What the admin may grant (mysql-grantable.ts): databases without grant option are left out.
            const plan = mysqlPlanGrants({ ...spec, database: target.entry.database, flavor }, (await query<RowDataPacket[]>(db, MYSQL_GRANT_OPTIONS_QUERY)) as unknown as GrantOptionRow[]);
            if (plan.nothingGrantable) throw badInput(`Nothing in this scope can be granted on ${where(target)}: ${plan.leftOut.join('; ')}.`);
            return underUserLock(target, db, spec.username, databases, async (locked) => {
              const { accounts: existing, missing, wildcards } = locked;
              if (missing.length > 0) throw badInput(`The database ${missing[0]} does not exist on ${where(target)}.`);
              if (existing.some((account) => !account.ours || account.isRole)) {
                throw conflict(`A user named ${spec.username} already exists on ${target.entry.id} and was not created by this dbaccess install; it was left untouched.`);
              }
              if (existing.some((account) => account.locked)) {
                // Only revocation locks our accounts: never undo it.
                throw conflict(`${spec.username} on ${target.entry.id} is locked by a revocation; it was not re-enabled.`);
              }

              const statements: string[] = [];
              /** What to send, in order; `creates` is the host whose account the step creates. */
              const steps: Array<{ sql: string; creates?: string }> = [];
              const known = new Set(existing.map((account) => account.host.toLowerCase()));
              for (const [index, host] of hosts.entries()) {
                const account = { flavor, install, username: spec.username, host, passwordHash, maxUserConnections: limit };
                const grants = mysqlGrantStatements({
                  level: spec.level,
                  privileges: spec.privileges,
                  scope: plan.scope,
                  database: target.entry.database,
                  username: spec.username,
                  host,
                  flavor,
                  wildcardDatabaseNames: wildcards,
                });
                const isNew = !known.has(host.toLowerCase());
                let pending = grants;
                if (!isNew) {
                  // A retried job: new password, and privileges an earlier spec gave are dropped.
                  const reset = revokeAllStatement(spec.username, host);
                  steps.push({ sql: alterUserStatement(account) }, { sql: reset });
                  statements.push(reset);
                } else if (flavor === 'mariadb' && grants.length > 0) {
                  // The account was checked absent under the lock: its first GRANT creates it.
                  steps.push({ sql: createByGrantStatement(grants[0]!, account), creates: host });
                  statements.push(grants[0]!);
                  pending = grants.slice(1);
                } else {
                  steps.push({ sql: createUserStatement(account), creates: host });
                }
                // A new account, or one made before install ids (its lease is ours): this install's marker.
                if (flavor === 'mariadb' && (isNew || !existing.find((other) => other.host.toLowerCase() === host.toLowerCase())?.marked)) {
                  // MySQL 8 keeps the marker in the ATTRIBUTE of CREATE USER and ALTER USER.
                  steps.push(...markStatements(install, spec.username, host, index).map((sql) => ({ sql })));
                }
                steps.push(...pending.map((grant) => ({ sql: grant })));
                statements.push(...pending);
              }
              // Hosts an earlier spec allowed and this one does not.
              const stale = existing.map((account) => account.host).filter((host) => !hosts.some((wanted) => wanted.toLowerCase() === host.toLowerCase()));
              if (stale.length > 0) steps.push({ sql: lockStatement(spec.username, stale) }, { sql: dropUserStatement(spec.username, stale) });

              const created: string[] = [];
              try {
                if (flavor === 'mariadb') {
                  // One round trip for all of it, the lock's release included. A failure does not say
                  // which accounts the block had created by then: drop (IF EXISTS) every one it would
                  // create, all of them absent under the lock.
                  created.push(...steps.flatMap((step) => (step.creates === undefined ? [] : [step.creates])));
                  await query(db, mariadbBlock([...steps.map((step) => step.sql), releaseLockStatement(userLockName(spec.username))]));
                  locked.released = true;
                } else {
                  for (const step of steps) {
                    await query(db, step.sql);
                    if (step.creates !== undefined) created.push(step.creates);
                  }
                }
                return { statements, leftOut: plan.leftOut };
              } catch (error) {
                // DDL cannot be rolled back: remove what this attempt created, so a failure leaves no
                // half-granted user behind. (Accounts of an earlier attempt stay for the retry.)
                if (created.length > 0) await query(db, dropUserStatement(spec.username, created)).catch(() => {});
                const unmarked = unmarkedHost(error);
                if (unmarked !== undefined) {
                  throw targetUnavailable(`Could not mark ${spec.username}@${hosts[unmarked] ?? '?'} on ${where(target)} as a dbaccess user.`);
                }
                throw error;
              }
            });
          }),
        [passwordHash],
      );
    },

    async revoke(target, username) {
      checkUsername(target, username, flavor);
      return run(target, `Revoking ${username}`, () =>
        withAdmin(target, (db) =>
          underUserLock(target, db, username, [], async (locked) => {
            const { accounts } = locked;
            if (accounts.length === 0) {
              // Already dropped (by an earlier attempt, or by hand); DROP USER leaves sessions running,
              // so end any that are left under the name.
              return { existed: false, sessionsKilled: (await killAndWait(target, db, username)).size };
            }
            if (accounts.some((account) => !account.ours || account.isRole)) {
              throw conflict(`The user ${username} on ${target.entry.id} was not created by this dbaccess install; it was left untouched.`);
            }
            const hosts = accounts.map((account) => account.host);

            // 1. Drop every host's account. That blocks new logins (and COM_CHANGE_USER into it) as
            //    ACCOUNT LOCK would, and more: open sessions lose the account's privileges at once
            //    (they are checked per statement), where a locked account keeps them until killed.
            //    On MariaDB the verification of step 2 rides in the same round trip (a block).
            const lockName = userLockName(username);
            let check: RowDataPacket | undefined;
            try {
              if (flavor === 'mariadb') {
                const results = await query<RowDataPacket[]>(db, mariadbBlock([dropUserStatement(username, hosts), droppedCheckQuery(flavor, { username, lockName })]));
                check = (results[0] as unknown as RowDataPacket[])[0];
              } else {
                await query(db, dropUserStatement(username, hosts));
              }
            } catch (error) {
              // Not dropped: still no new logins and no sessions, then the retry.
              await query(db, lockStatement(username, hosts)).catch(() => {});
              await killAndWait(target, db, username).catch(() => {});
              if (errnoOf(error) === ER_CANNOT_USER_REFERENCED_AS_DEFINER) {
                throw targetUnavailable(
                  `${username} on ${where(target)} is locked and has no sessions left, but MySQL refuses to drop it because it is the DEFINER of stored objects (views, routines, triggers or events). Drop those objects, or give the admin account SET_USER_ID (8.0) or ALLOW_NONEXISTENT_DEFINER (8.2+); revocation will be retried.`,
                );
              }
              throw error;
            }
            // 2. Verify, in one look-up that also releases the user lock: no account left under the
            //    name, on any host, and no session (DROP USER leaves open sessions running): end those
            //    and wait until they are gone.
            check ??= (await query<RowDataPacket[]>(db, droppedCheckQuery(flavor), [username, username, lockName]))[0];
            locked.released = true;
            let killed = 0;
            if (check?.sessions) {
              const ended = flavor === 'mariadb' ? (await query<ResultSetHeader>(db, killUserStatement(username))).affectedRows : 0;
              killed = Math.max(ended, (await killAndWait(target, db, username)).size);
            }
            if (Number(check?.accounts ?? 0) > 0) {
              throw targetUnavailable(`${username} still exists on ${where(target)} after DROP USER; revocation will be retried.`);
            }
            return { existed: true, sessionsKilled: killed };
          }),
        ),
      );
    },

    async extend(target, username, expiresAt) {
      checkUsername(target, username, flavor);
      if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
      // MySQL and MariaDB have no VALID UNTIL: the expiry rests on the revoke job and the sweep. Only
      // check that the user is still there, is ours and is not being revoked.
      await run(target, `Extending ${username}`, () =>
        withAdmin(target, async (db) => {
          const accounts = await accountsOf(db, username);
          if (accounts.length === 0 || accounts.some((account) => !account.ours || account.isRole)) {
            throw conflict(`${username} on ${target.entry.id} does not exist or was not created by this dbaccess install.`);
          }
          if (accounts.some((account) => account.locked)) throw conflict(`${username} on ${target.entry.id} is being revoked.`);
        }),
      );
    },

    async killSessions(target, username) {
      checkUsername(target, username, flavor);
      // No marker check: Vault-issued users are killed through here too.
      return run(target, `Ending the sessions of ${username}`, () => withAdmin(target, async (db) => (await killAndWait(target, db, username)).size));
    },

    async listUsers(target, prefixes) {
      // An empty prefix would list every account, the admin's included, to a reconciler that revokes them.
      if (prefixes.length === 0 || prefixes.some((prefix) => prefix.length === 0)) throw badInput('listUsers needs non-empty prefixes.');
      return run(target, 'Listing users', () =>
        withAdmin(target, async (db) => {
          const listing = listUsersQuery(flavor, { install, prefixes });
          const rows = await query<RowDataPacket[]>(db, listing.sql, listing.values);
          return classifyUsers(rows.map((row) => ({ name: String(row.name), marker: String(row.marker) })), install);
        }),
      );
    },

    async listObjects(target, scope) {
      return run(target, 'Reading the catalog', () =>
        withAdmin(target, async (db) => {
          // Only the entry's databases: names of other databases on the server are not the asker's to see.
          const allowed = new Set(scopeDatabases(target.entry) ?? []);
          const schemas = (await databaseNames(db)).filter((name) => allowed.has(name));
          const tables = (
            await query<RowDataPacket[]>(
              db,
              `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
                WHERE TABLE_SCHEMA IN (?) AND TABLE_SCHEMA NOT IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME`,
              [[...allowed], [...SYSTEM_DATABASES]],
            )
          ).map((row) => ({ schema: String(row.db), table: String(row.name) }));
          const columns: Record<string, string[]> = {};
          for (const item of scope.filter((candidate) => candidate.table !== undefined && candidate.columns)) {
            const rows = await query<RowDataPacket[]>(
              db,
              'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
              [item.schema, item.table],
            );
            columns[`${item.schema}.${item.table}`] = rows.map((row) => String(row.name));
          }
          return { schemas, tables, columns };
        }),
      );
    },

    async grantable(target, request) {
      return run(target, 'Reading what the admin can grant', () =>
        withAdmin(target, async (db) => {
          const plan = mysqlPlanGrants({ ...request, database: target.entry.database, flavor }, (await query<RowDataPacket[]>(db, MYSQL_GRANT_OPTIONS_QUERY)) as unknown as GrantOptionRow[]);
          return { leftOut: plan.leftOut, nothingGrantable: plan.nothingGrantable };
        }),
      );
    },

    async listSchemas(target) {
      return run(target, 'Listing databases', () => withAdmin(target, databaseNames));
    },

    async ping(target) {
      await run(target, 'Ping', () =>
        withTimeout(
          withAdmin(target, (db) => query(db, 'SELECT 1')),
          PING_TIMEOUT_MS,
          () => targetUnavailable(`Cannot reach ${where(target)}: no answer within ${PING_TIMEOUT_MS / 1000} s.`),
        ),
      );
    },

    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map(({ pool }) => pool.end().catch(() => {})));
    },
  };
}

/**
 * Connection settings from the admin URL. Settings that would make our escaping unsafe or widen what a
 * statement can do (another character set, several statements per query) cannot come from the URL.
 */
export function connectionOptions(adminUrl: string): PoolOptions {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw configError('An admin connection string is not a valid URL (expected mysql://user:password@host:port/database).');
  }
  const extra: Record<string, unknown> = {};
  for (const [key, value] of url.searchParams) {
    try {
      extra[key] = JSON.parse(value);
    } catch {
      extra[key] = value;
    }
  }
  return {
    ...extra,
    host: decodeURIComponent(url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname),
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
    // utf8mb4 only: in multi-byte character sets such as GBK or SJIS a backslash escape can be swallowed.
    charset: 'UTF8MB4_GENERAL_CI',
    multipleStatements: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableKeepAlive: true,
    waitForConnections: true,
    queueLimit: 0,
    connectAttributes: { program_name: 'dbaccess' },
  };
}

/** Lock names are limited to 64 characters: the user name hashed. */
function userLockName(username: string): string {
  return `dbaccess:${createHash('sha1').update(username, 'utf8').digest('hex')}`;
}

function checkUsername(target: Target, username: string, flavor: MysqlFlavor): void {
  const limit = maxUserNameLength(flavor, target.entry.legacyUserNames);
  const length = [...username].length;
  // Trailing spaces are not significant in the server's comparisons ('x ' = 'x'); control characters
  // have no business in a user name.
  if (length === 0 || length > limit || /[\u0000-\u001f\u007f]/.test(username) || username.trim() !== username) {
    throw badInput(`A user name on ${target.entry.id} must be 1-${limit} characters, without control characters or surrounding spaces.`);
  }
}

function checkSpec(target: Target, spec: ProvisionSpec): string[] {
  if (!(spec.expiresAt instanceof Date) || Number.isNaN(spec.expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
  const limit = target.entry.connectionLimit;
  // Interpolated into DDL, so it must be a plain integer whatever the caller's types promise.
  if (!Number.isInteger(limit) || limit < 1) throw configError(`connectionLimit of ${target.entry.id} must be a positive integer.`);
  const hosts = [...new Map((target.entry.allowedHosts ?? ['%']).map((host) => [host.toLowerCase(), host])).values()];
  if (hosts.length === 0 || hosts.some((host) => host.length === 0 || host.length > 255)) {
    throw configError(`allowedHosts of ${target.entry.id} must list 1-20 host names or patterns.`);
  }
  return hosts;
}

// Server error numbers. mysql2 names errors after MySQL's numbering, and MariaDB reuses some numbers
// for other errors (4151 is "account is locked" on MariaDB), so match on numbers.
const ER_NO_SUCH_THREAD = 1094;
const ER_CANNOT_USER_REFERENCED_AS_DEFINER = 4006;

function errnoOf(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/**
 * A connection that must not go back to the pool: broken, or with a statement that timed out on our
 * side (the server may still answer it, and the answer would be read as the next statement's).
 */
function mustDiscard(error: unknown): boolean {
  const { fatal, code } = (error ?? {}) as { fatal?: unknown; code?: unknown };
  return fatal === true || (typeof code === 'string' && code.startsWith('PROTOCOL_'));
}

/** Why a connection could not be made or was lost, in words, or undefined when the failure came later. */
function unreachableReason(error: unknown): string | undefined {
  const { code, errno, fatal, message } = (error ?? {}) as { code?: unknown; errno?: unknown; fatal?: unknown; message?: unknown };
  const network = networkReason(code);
  if (network) return network;
  switch (code) {
    case 'PROTOCOL_CONNECTION_LOST':
      return 'connection closed unexpectedly';
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
      return `no answer within ${STATEMENT_TIMEOUT_MS / 1000} s`;
  }
  switch (errno) {
    case 1045: // ER_ACCESS_DENIED_ERROR
    case 1698: // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
      return 'the admin login was refused (check the admin credentials)';
    case 1049: // ER_BAD_DB_ERROR: only the admin URL's database can be unknown (nothing here runs USE)
      return 'the database in the admin URL does not exist';
    case 1040: // ER_CON_COUNT_ERROR
      return 'too many connections';
    case 1226: // ER_USER_LIMIT_REACHED
    case 1203: // ER_TOO_MANY_USER_CONNECTIONS
      return 'the admin account has reached its connection limit';
    case 1053: // ER_SERVER_SHUTDOWN
    case 1927: // MariaDB ER_CONNECTION_KILLED
    case 3169: // MySQL ER_SESSION_WAS_KILLED
      return 'the server is shutting down or ended the session';
  }
  // Driver-side failures of the connection itself (TLS, handshake) carry no server error number.
  if (fatal === true && typeof errno !== 'number') {
    return typeof message === 'string' && /timeout/i.test(message) ? 'connection timed out' : 'connection failure';
  }
  return undefined;
}

/** Driver and server errors as AppErrors that never carry the admin URL, its password or a password hash. */
function describeFailure(target: Target, action: string, error: unknown, secrets: string[] = []): AppError {
  if (isAppError(error)) return error;
  const reason = unreachableReason(error);
  if (reason) return targetUnavailable(`Cannot reach ${where(target)}: ${reason}.`);
  const { message, sqlMessage } = (error ?? {}) as { message?: unknown; sqlMessage?: unknown };
  const errno = errnoOf(error);
  const said = scrubTarget(target, typeof sqlMessage === 'string' ? sqlMessage : typeof message === 'string' ? message : 'unknown error', secrets);
  switch (errno) {
    case 1146: // ER_NO_SUCH_TABLE: a scope naming a missing table will not get better with retries.
    case 1054: // ER_BAD_FIELD_ERROR: a missing column in a column grant
      return badInput(`${action} on ${where(target)} failed: ${said}.`);
    case 1044: // ER_DBACCESS_DENIED_ERROR
    case 1142: // ER_TABLEACCESS_DENIED_ERROR (e.g. no UPDATE on mysql.global_priv for the marker)
    case 1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
    case 1410: // ER_CANT_CREATE_USER_WITH_GRANT
    case 1370: // ER_PROCACCESS_DENIED_ERROR
      return configError(`The admin account of ${where(target)} lacks a privilege this needs (${said}).`);
    case 1524: // ER_PLUGIN_IS_NOT_LOADED
      return configError(
        `${where(target)} cannot create mysql_native_password users (${said}). MySQL 8.4 disables that plugin by default (mysql_native_password=ON enables it) and MySQL 9 removed it.`,
      );
  }
  return targetUnavailable(`${action} on ${where(target)} failed: ${said}${errno ? ` (error ${errno})` : ''}.`);
}

