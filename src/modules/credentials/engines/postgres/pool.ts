import { Sema } from 'async-sema';
import pg from 'pg';
import { configError } from '../../../../lib/errors.js';
import type { Target } from '../../credential-types.js';

const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;

/** A client or the gated pool: anything that runs one statement. */
export type Queryable = { query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> };

/** The connection URL with its database replaced; other parts (user, password, host, options) kept. */
export function withDatabase(url: string, database: string): string {
  // pg decodes the path with decodeURI, which leaves %2F, %3F and %23 encoded: such names cannot round-trip.
  if (database.length === 0 || /[/?#]/.test(database)) {
    throw configError(`The database name "${database.slice(0, 63)}" cannot be put in a connection URL (it is empty or contains /, ? or #).`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError('An admin connection string is not a valid URL (expected postgresql://user:password@host:port/database).');
  }
  parsed.pathname = `/${encodeURI(database)}`;
  return parsed.toString();
}

/**
 * A pool whose callers wait in line here (a semaphore of the pool's size) rather than in pg-pool,
 * whose wait counts against the connection timeout: a thousand revocations at once on one target
 * queue up instead of failing as "cannot reach". Each operation holds one connection for all its
 * statements.
 */
export class GatedPool {
  private readonly gate: Sema;
  constructor(readonly pool: pg.Pool, readonly size: number) {
    this.gate = new Sema(size);
  }

  async connect(): Promise<pg.PoolClient> {
    await this.gate.acquire();
    try {
      const client = await this.pool.connect();
      const release = client.release.bind(client);
      let released = false;
      client.release = (error?: Error | boolean) => {
        if (!released) {
          released = true;
          this.gate.release();
        }
        return release(error);
      };
      return client;
    } catch (error) {
      this.gate.release();
      throw error;
    }
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await this.connect();
    try {
      return await client.query<R>(text, values);
    } finally {
      client.release();
    }
  }
}

const connectionSettings = {
  connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  statement_timeout: STATEMENT_TIMEOUT_MS,
  application_name: 'dbaccess',
} as const;

/** One small pool per target (the admin URL pointed at the target's database), made on first use. */
export function createPools(options: { poolSize?: number | undefined; idleMillis?: number | undefined }) {
  const pools = new Map<string, GatedPool>();

  function poolFor(target: Target): GatedPool {
    const url = withDatabase(target.adminUrl, target.entry.database);
    let gated = pools.get(url);
    if (!gated) {
      const size = target.entry.poolSize ?? options.poolSize ?? 4;
      const pool = new pg.Pool({
        ...connectionSettings,
        connectionString: url,
        max: size,
        // One connection of a target that has been used stays open: the first approval after a quiet
        // spell would otherwise pay a new connection (30-60 ms of TCP, SCRAM and backend start-up).
        // The others close when idle; close() ends them all, and an idle one never keeps the process up.
        min: 1,
        idleTimeoutMillis: options.idleMillis ?? 10_000,
        allowExitOnIdle: true,
      });
      // An idle connection closed by the server (restart, terminate, dropped database) is reported
      // here. The pool has already discarded it and opens a new one on the next checkout; without a
      // listener the event would crash the process.
      pool.on('error', () => {});
      // A checked-out one is not: a revocation holds its connection across other work.
      pool.on('connect', (client) => client.on('error', () => {}));
      gated = new GatedPool(pool, size);
      pools.set(url, gated);
    }
    return gated;
  }

  /** A short-lived admin session in another database of the same cluster (revocation only). */
  async function inDatabase<T>(target: Target, database: string, held: Queryable, work: (client: Queryable) => Promise<T>): Promise<T> {
    if (database === target.entry.database) return work(held);
    const client = new pg.Client({ ...connectionSettings, connectionString: withDatabase(target.adminUrl, database) });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async function close(): Promise<void> {
    const all = [...pools.values()];
    pools.clear();
    await Promise.all(all.map((gated) => gated.pool.end().catch(() => {})));
  }

  return { poolFor, inDatabase, close };
}

export type Pools = ReturnType<typeof createPools>;
