import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import * as schema from './schema/index.js';
import { scopeSetting } from './tenant-scope.js';

export type Db = NodePgDatabase<typeof schema>;
/** A transaction or the database itself: repos take either. */
export type DbOrTx = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations');

/** The role the app's queries run as: no ownership, no BYPASSRLS, no UPDATE or DELETE on the audit log. */
export const APP_ROLE = 'dbaccess_app';

/**
 * A connection that tells the server, before each query, which tenant it works for (or that it
 * works for none, outside any scope: then it sees no tenant's rows), whenever that changed since
 * its last query. A rolled-back transaction undoes the setting, so after an error or
 * a rollback it is sent again.
 */
class ScopedClient extends pg.Client {
  private scopedTo: string | undefined;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // A connection lost while checked out also rejects the query running on it, which is where the
    // caller learns of it (and the pool drops the client on release); unheard, this event would end
    // the process.
    this.on('error', () => {
      this.scopedTo = undefined;
    });
  }

  // pg's query() has many overloads; promise-style ones (drizzle's) wait for the scope to be set.
  override query(...args: unknown[]): never {
    const scope = scopeSetting();
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text;
    const send = () => {
      const result = (super.query as (...a: unknown[]) => unknown)(...args);
      if (result instanceof Promise) {
        result.catch(() => {
          this.scopedTo = undefined;
        });
      }
      return result;
    };
    if (text && /^\s*rollback/i.test(text)) {
      // A rollback undoes the setting; it must not wait for one (an aborted transaction refuses it).
      this.scopedTo = undefined;
      return send() as never;
    }
    if (scope === this.scopedTo) return send() as never;
    this.scopedTo = scope;
    const setScope = super.query("SELECT set_config('dbaccess.tenant_id', $1, false)", [scope]);
    const promiseStyle = typeof args.at(-1) !== 'function' && typeof (first as { submit?: unknown } | undefined)?.submit !== 'function';
    if (!promiseStyle) {
      setScope.catch(() => {
        this.scopedTo = undefined;
      });
      return send() as never;
    }
    return setScope.then(send, (error: unknown) => {
      this.scopedTo = undefined;
      throw error;
    }) as never;
  }
}

/**
 * pg-pool hands a freed connection to the next waiting query inside the *releasing* caller's async
 * context, so a scope read there could be another request's. Every query here awaits its own
 * connection instead: an await resumes in the awaiting caller's context, so the scope is its own.
 */
class ScopedPool extends pg.Pool {
  override query(...args: unknown[]): never {
    if (typeof args.at(-1) === 'function') throw new Error('The state pool takes promise-style queries only.');
    const run = async () => {
      const client = await this.connect();
      try {
        return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        client.release();
      }
    };
    return run() as never;
  }
}

export function createStateDb(connectionString: string, max = 20): { db: Db; pool: pg.Pool } {
  const pool = new ScopedPool({
    connectionString,
    max,
    // Starved for this long, a query fails (and its job retries) instead of hanging unseen.
    connectionTimeoutMillis: 30_000,
    application_name: 'dbaccess',
    Client: ScopedClient as unknown as new () => pg.ClientBase,
    // Row-level security binds the app's role, not the owner (or superuser) it logs in as.
    onConnect: async (client) => {
      await client.query(`SET ROLE ${APP_ROLE}`);
    },
  });
  survivingLostConnections(pool);
  return { db: drizzle(pool, { schema }), pool };
}

/**
 * A connection the server ends (a restart, a Ctrl-C that reaches it too) must not crash the process.
 * pg's pool listens for that only while a client is idle; a client checked out between two queries
 * (an advisory lock held across other work) would emit an unhandled 'error'. Each client gets a
 * listener of its own: its next query fails, the pool drops it, and the next checkout reconnects.
 */
export function survivingLostConnections<P extends pg.Pool>(pool: P): P {
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Held by this process without waiting (see createSessionLocks). */
export interface SessionLocks {
  /** False when another process, or this one, holds it. */
  tryLock(space: number, key: string): Promise<boolean>;
  unlock(space: number, key: string): Promise<void>;
  /** Many keys in one round trip (a batch of revocations): the keys this process now holds. */
  tryLockMany(space: number, keys: string[]): Promise<Set<string>>;
  unlockMany(space: number, keys: string[]): Promise<void>;
  end(): Promise<void>;
}

/**
 * Advisory locks of this process, all on one state-database session that stays open: taken without
 * waiting, let go when released or when the process dies (its connection closes, so a crashed holder
 * never blocks anyone). A key is `space` (a number per use) and a string. Session locks nest within
 * one session, so the process keeps its own list too: a second taker in this process is refused.
 */
export function createSessionLocks(connectionString: string): SessionLocks {
  // No idle timeout: closing the idle connection would let go of every lock on it.
  const pool = survivingLostConnections(new pg.Pool({ connectionString, max: 1, idleTimeoutMillis: 0, application_name: 'dbaccess-session-locks', connectionTimeoutMillis: 60_000 }));
  const held = new Set<string>();
  return {
    async tryLock(space, key) {
      const id = `${space}:${key}`;
      if (held.has(id)) return false;
      held.add(id);
      try {
        const { rows } = await pool.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, $2)) AS locked', [key, space]);
        if (!rows[0]!.locked) held.delete(id);
        return rows[0]!.locked;
      } catch (error) {
        held.delete(id);
        throw error;
      }
    },
    async unlock(space, key) {
      // A connection lost meanwhile took its locks with it: nothing left to let go of.
      await pool.query('SELECT pg_advisory_unlock(hashtextextended($1, $2))', [key, space]).catch(() => undefined);
      held.delete(`${space}:${key}`);
    },
    async tryLockMany(space, keys) {
      const mine = [...new Set(keys)].filter((key) => !held.has(`${space}:${key}`));
      for (const key of mine) held.add(`${space}:${key}`);
      if (mine.length === 0) return new Set();
      try {
        // One statement: each key tried once, without waiting, on the one session.
        const { rows } = await pool.query<{ key: string; locked: boolean }>('SELECT key, pg_try_advisory_lock(hashtextextended(key, $2)) AS locked FROM unnest($1::text[]) AS key', [mine, space]);
        const locked = new Set(rows.filter((row) => row.locked).map((row) => row.key));
        for (const key of mine) if (!locked.has(key)) held.delete(`${space}:${key}`);
        return locked;
      } catch (error) {
        for (const key of mine) held.delete(`${space}:${key}`);
        throw error;
      }
    },
    async unlockMany(space, keys) {
      if (keys.length === 0) return;
      await pool.query('SELECT count(pg_advisory_unlock(hashtextextended(key, $2))) FROM unnest($1::text[]) AS key', [keys, space]).catch(() => undefined);
      for (const key of keys) held.delete(`${space}:${key}`);
    },
    end: () => pool.end(),
  };
}

/** A few plain connections for session advisory locks, apart from the state pool. */
export function createLockPool(connectionString: string, max = 10): pg.Pool {
  return survivingLostConnections(new pg.Pool({ connectionString, max, application_name: 'dbaccess-locks', connectionTimeoutMillis: 60_000 }));
}

/**
 * Migrations of `migrations/` the state database has not applied yet, by tag, compared the way
 * drizzle's migrator does (a migration is applied when its timestamp is not newer than the last
 * recorded one). Reads only.
 */
export async function pendingMigrations(connectionString: string): Promise<{ applied: number; pending: string[] }> {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  const client = new pg.Client({ connectionString, application_name: 'dbaccess-migrate', connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('dbaccess_migrations.__drizzle_migrations') IS NOT NULL AS exists");
    const recorded = rows[0]?.exists
      ? (await client.query<{ count: number; last: string | null }>('SELECT count(*)::int AS count, max(created_at)::text AS last FROM dbaccess_migrations.__drizzle_migrations')).rows[0]!
      : { count: 0, last: null };
    const last = recorded.last === null ? -Infinity : Number(recorded.last);
    return { applied: recorded.count, pending: journal.entries.filter((entry) => entry.when > last).map((entry) => entry.tag) };
  } finally {
    await client.end();
  }
}

/**
 * The advisory lock every process takes around the migrations (ASCII "dbaccess" as a bigint key). On a
 * fresh database, processes started together would otherwise all run `CREATE TABLE` at once, and all but
 * one fail (23505 on pg_type). PostgreSQL scopes advisory locks to the database.
 */
export const MIGRATION_LOCK_KEY = '7233451031007687539';

/**
 * Applies the migrations as the connecting user (the owner), on a connection of its own, under the
 * migration lock: a process that finds it taken waits, then finds nothing left to apply. The lock is a
 * session lock on that connection, released after (and by the server if the process dies).
 */
export async function runMigrations(connectionString: string, onWait?: () => void): Promise<void> {
  const client = new pg.Client({ connectionString, application_name: 'dbaccess-migrate' });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [MIGRATION_LOCK_KEY]);
    if (!rows[0]!.locked) {
      onWait?.();
      await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
    await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_DIR, migrationsSchema: 'dbaccess_migrations' });
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
  } finally {
    await client.end();
  }
}
