import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * Where a provider's time goes, measured on the real provider (no replay): while installed, every
 * query sent through node-postgres or mysql2 (the providers', the fake Vault's and the bench's own
 * clients alike) and every pool checkout is timed and charged to the operation that is open
 * (`begin`/`end`). Operations must run one at a time for the attribution to hold; the
 * concurrent mass-revocation phase runs with the profiler off.
 *
 * Wrapping adds a performance.now() pair and a map update per query: microseconds against queries
 * of milliseconds.
 */

export interface StatementStat {
  count: number;
  totalMs: number;
}

export interface OperationProfile {
  ops: number;
  /** Wall time of the operations, summed. */
  totalMs: number;
  /** Time waiting for a pool checkout (pg Pool.connect / mysql2 getConnection), summed. */
  poolMs: number;
  poolCheckouts: number;
  /** Per normalized statement: how often and how long (client-side round trip, summed). */
  statements: Map<string, StatementStat>;
  /** Named pieces timed by the caller (e.g. the SCRAM verifier). */
  pieces: Map<string, StatementStat>;
}

/** `CREATE ROLE "bnx_..." LOGIN PASSWORD 'SCRAM…'` -> `CREATE ROLE ? LOGIN PASSWORD ?`, at most 70 characters. */
export function statementKind(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.|'')*'/g, '?')
    .replace(/"(?:[^"]|"")*"/g, '?')
    .replace(/`(?:[^`]|``)*`/g, '?')
    .replace(/\$\d+(::\w+)?/g, '?')
    .replace(/\b\d+\b/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 70);
}

type AnyFn = (...args: unknown[]) => unknown;

export class QueryProfiler {
  private current: OperationProfile | undefined;
  private opStarted = 0;
  readonly profiles = new Map<string, OperationProfile>();
  private restore: Array<() => void> = [];

  install(): void {
    if (this.restore.length > 0) return;
    const self = this;

    // node-postgres: Client#query (callback form from Pool#query, promise form elsewhere).
    const clientProto = pg.Client.prototype as unknown as { query: AnyFn };
    const originalQuery = clientProto.query;
    clientProto.query = function patchedQuery(this: unknown, ...args: unknown[]) {
      const first = args[0] as { text?: unknown; submit?: unknown } | string | undefined;
      const profile = self.current;
      const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : undefined;
      if (!profile || text === undefined || (typeof first === 'object' && typeof first.submit === 'function')) {
        return originalQuery.apply(this, args);
      }
      const started = performance.now();
      const record = () => self.addStatement(profile, text, performance.now() - started);
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (...cbArgs: unknown[]) => {
          record();
          return (last as AnyFn)(...cbArgs);
        };
        return originalQuery.apply(this, args);
      }
      const result = originalQuery.apply(this, args) as Promise<unknown>;
      return result.then(
        (value) => {
          record();
          return value;
        },
        (error: unknown) => {
          record();
          throw error;
        },
      );
    };
    this.restore.push(() => {
      clientProto.query = originalQuery;
    });

    // node-postgres: Pool#connect (Pool#query checks out through it with a callback).
    const poolProto = pg.Pool.prototype as unknown as { connect: AnyFn };
    const restoring = (target: object, key: string) => {
      const own = Object.getOwnPropertyDescriptor(target, key);
      return () => {
        if (own) Object.defineProperty(target, key, own);
        else delete (target as Record<string, unknown>)[key];
      };
    };
    const undoConnect = restoring(poolProto, 'connect');
    const originalConnect = poolProto.connect;
    poolProto.connect = function patchedConnect(this: unknown, ...args: unknown[]) {
      const profile = self.current;
      if (!profile) return originalConnect.apply(this, args);
      const started = performance.now();
      const record = () => self.addPool(profile, performance.now() - started);
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (...cbArgs: unknown[]) => {
          record();
          return (last as AnyFn)(...cbArgs);
        };
        return originalConnect.apply(this, args);
      }
      return (originalConnect.apply(this, args) as Promise<unknown>).then((client) => {
        record();
        return client;
      });
    };
    this.restore.push(undoConnect);

    // mysql2/promise: PromiseConnection#query (pool connections inherit it) and PromisePool#getConnection.
    const mysqlProto = (mysql as unknown as { PromiseConnection: { prototype: { query: AnyFn } } }).PromiseConnection.prototype;
    const originalMysqlQuery = mysqlProto.query;
    mysqlProto.query = function patchedMysqlQuery(this: unknown, ...args: unknown[]) {
      const profile = self.current;
      const first = args[0] as { sql?: unknown } | string | undefined;
      const text = typeof first === 'string' ? first : typeof first?.sql === 'string' ? first.sql : undefined;
      if (!profile || text === undefined) return originalMysqlQuery.apply(this, args);
      const started = performance.now();
      return (originalMysqlQuery.apply(this, args) as Promise<unknown>).then(
        (value) => {
          self.addStatement(profile, text, performance.now() - started);
          return value;
        },
        (error: unknown) => {
          self.addStatement(profile, text, performance.now() - started);
          throw error;
        },
      );
    };
    this.restore.push(() => {
      mysqlProto.query = originalMysqlQuery;
    });

    const mysqlPoolProto = (mysql as unknown as { PromisePool: { prototype: { getConnection: AnyFn } } }).PromisePool.prototype;
    const originalGet = mysqlPoolProto.getConnection;
    mysqlPoolProto.getConnection = function patchedGetConnection(this: unknown, ...args: unknown[]) {
      const profile = self.current;
      if (!profile) return originalGet.apply(this, args);
      const started = performance.now();
      return (originalGet.apply(this, args) as Promise<unknown>).then((connection) => {
        self.addPool(profile, performance.now() - started);
        return connection;
      });
    };
    this.restore.push(() => {
      mysqlPoolProto.getConnection = originalGet;
    });
  }

  uninstall(): void {
    for (const undo of this.restore.reverse()) undo();
    this.restore = [];
    this.current = undefined;
  }

  /** Opens an operation: queries from now until `end()` are charged to `label`. */
  begin(label: string): void {
    let profile = this.profiles.get(label);
    if (!profile) {
      profile = { ops: 0, totalMs: 0, poolMs: 0, poolCheckouts: 0, statements: new Map(), pieces: new Map() };
      this.profiles.set(label, profile);
    }
    this.current = profile;
    this.opStarted = performance.now();
  }

  end(): void {
    if (!this.current) return;
    this.current.ops += 1;
    this.current.totalMs += performance.now() - this.opStarted;
    this.current = undefined;
  }

  /** Adds a piece timed by the caller to `label` (not counted as an operation). */
  piece(label: string, name: string, ms: number): void {
    const profile = this.profiles.get(label);
    if (!profile) return;
    const stat = profile.pieces.get(name) ?? { count: 0, totalMs: 0 };
    stat.count += 1;
    stat.totalMs += ms;
    profile.pieces.set(name, stat);
  }

  private addStatement(profile: OperationProfile, sql: string, ms: number): void {
    const kind = statementKind(sql);
    const stat = profile.statements.get(kind) ?? { count: 0, totalMs: 0 };
    stat.count += 1;
    stat.totalMs += ms;
    profile.statements.set(kind, stat);
  }

  private addPool(profile: OperationProfile, ms: number): void {
    profile.poolMs += ms;
    profile.poolCheckouts += 1;
  }

  /** Per operation (mean): wall, round trips, SQL time, pool wait, pieces, and the rest (driver, JS, HTTP). */
  summary(label: string): ProfileSummary | undefined {
    const p = this.profiles.get(label);
    if (!p || p.ops === 0) return undefined;
    const per = (x: number) => x / p.ops;
    const statements = [...p.statements.entries()]
      .map(([kind, stat]) => ({ kind, perOp: stat.count / p.ops, meanMs: stat.totalMs / stat.count, perOpMs: per(stat.totalMs) }))
      .sort((a, b) => b.perOpMs - a.perOpMs);
    const sqlMs = statements.reduce((sum, s) => sum + s.perOpMs, 0);
    const roundTrips = statements.reduce((sum, s) => sum + s.perOp, 0);
    const pieces = [...p.pieces.entries()].map(([name, stat]) => ({ name, perOpMs: per(stat.totalMs) }));
    const piecesMs = pieces.reduce((sum, x) => sum + x.perOpMs, 0);
    const wallMs = per(p.totalMs);
    const poolMs = per(p.poolMs);
    return { label, ops: p.ops, wallMs, roundTrips, sqlMs, poolMs, poolCheckouts: p.poolCheckouts / p.ops, pieces, otherMs: wallMs - sqlMs - poolMs - piecesMs, statements };
  }
}

export interface ProfileSummary {
  label: string;
  ops: number;
  wallMs: number;
  roundTrips: number;
  sqlMs: number;
  poolMs: number;
  poolCheckouts: number;
  pieces: Array<{ name: string; perOpMs: number }>;
  /** Wall minus SQL, pool wait and pieces: driver and JS work, HTTP (Vault), sleeps. */
  otherMs: number;
  statements: Array<{ kind: string; perOp: number; meanMs: number; perOpMs: number }>;
}

/** One line: `12.3 ms/op = 8 round trips 9.1 ms + pool 0.4 ms (2 checkouts) + scram 2.1 ms + other 0.7 ms`. */
export function profileLine(s: ProfileSummary): string {
  const pieces = s.pieces.map((x) => ` + ${x.name} ${x.perOpMs.toFixed(1)}`).join('');
  return `${s.wallMs.toFixed(1)} ms/op = ${s.roundTrips.toFixed(1)} round trips ${s.sqlMs.toFixed(1)} + pool wait ${s.poolMs.toFixed(1)} (${s.poolCheckouts.toFixed(1)} checkouts)${pieces} + other ${s.otherMs.toFixed(1)}`;
}

/** Statement lines, heaviest first: `  2.1 ms  x1.0  SELECT pg_advisory_xact_lock(hashtext(?))`. */
export function profileStatements(s: ProfileSummary, limit = 14): string[] {
  return s.statements.slice(0, limit).map((x) => `${x.perOpMs.toFixed(2).padStart(7)} ms  x${x.perOp.toFixed(1).padEnd(4)} ${x.kind}`);
}
