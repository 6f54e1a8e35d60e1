import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import pg from 'pg';
import { parseCatalog, type DatabaseEntry } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import type { CaptureMethod } from '../../src/modules/capture/capture-types.js';
import type { CredentialProvider, Target } from '../../src/modules/credentials/credential-types.js';
import { createMysqlProvider } from '../../src/modules/credentials/engines/mysql/provider.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { TEST_INSTALL_ID, MARIADB_ADMIN_URL, createMariaTarget, createTargetDatabase } from '../../test/support/databases.js';
import { summarize, type ResultRow } from '../lib/stats.js';

/**
 * 9. Query capture overhead: queries per second of a simple workload as one temporary user over one
 *    connection (a primary-key SELECT and a one-row UPDATE, `n` a block, `rounds` blocks of each,
 *    extended protocol on PostgreSQL, text protocol on MariaDB), with capture off and with each method of this machine:
 *    pgaudit and log_statement on the scram cluster, server_audit and the general log on MariaDB.
 *    Modes are interleaved round by round (the machine's load hits them alike): each round gives each
 *    method's overhead against capture off in that same round, and the median round counts. SELECT and
 *    UPDATE are reported apart (an UPDATE's commit waits for the WAL flush, a SELECT does not).
 *
 * MariaDB's capture is global: for its rounds the bench switches server_audit_logging and general_log
 * (and restores both at the end). Only the server side is measured; reading the logs is the job's.
 * Standalone: `npx tsx bench/scenarios/capture.ts [--quick]`.
 */

const WARMUP = 200;

interface Mode {
  method: CaptureMethod;
  /** MariaDB: the global switches for this mode. */
  mariadb?: { audit: boolean; general: boolean };
}

const POSTGRES_MODES: Mode[] = [{ method: 'none' }, { method: 'pgaudit' }, { method: 'log_statement' }];
const MARIADB_MODES: Mode[] = [
  { method: 'none', mariadb: { audit: false, general: false } },
  { method: 'server_audit', mariadb: { audit: true, general: false } },
  { method: 'general_log', mariadb: { audit: false, general: true } },
];

const STATEMENTS = ['select', 'update'] as const;
type Statement = (typeof STATEMENTS)[number];

/** One timed block: `count` statements of one kind; per-statement latencies in ms. */
type Round = (kind: Statement, count: number) => Promise<number[]>;

interface EngineRun {
  engine: 'postgres' | 'mariadb';
  modes: Mode[];
  /** Sets the server up for the mode (MariaDB globals); a no-op on PostgreSQL, where the role carries it. */
  enter(mode: Mode): Promise<void>;
  /** A session as a fresh temporary user provisioned with the mode's capture. */
  session(mode: Mode): Promise<{ round: Round; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

const entryFor = (engine: 'postgres' | 'mariadb', database: string): DatabaseEntry =>
  parseCatalog(
    `approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }\ndatabases:\n  - { id: bench, engine: ${engine}, host: 127.0.0.1, port: ${engine === 'postgres' ? 5433 : 3306}, database: ${database}, environment: development, admin: "env:X" }\n`,
  ).database('bench')!;

async function postgresRun(n: number): Promise<EngineRun> {
  const target = await createTargetDatabase();
  const admin = new pg.Client({ connectionString: target.adminUrl });
  await admin.connect();
  await admin.query(`CREATE TABLE public.bench_kv (id int PRIMARY KEY, v bigint NOT NULL); INSERT INTO public.bench_kv SELECT g, 0 FROM generate_series(1, ${n}) g`);
  await admin.end();
  const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });
  const prefix = `bcap${randomBytes(3).toString('hex')}_`;
  const users: string[] = [];
  return {
    engine: 'postgres',
    modes: POSTGRES_MODES,
    enter: async () => {},
    async session(mode) {
      const username = `${prefix}${users.length}`;
      const password = generatePassword();
      users.push(username);
      const entry = { ...entryFor('postgres', target.name), capture: mode.method };
      await provider.provision({ entry, adminUrl: target.adminUrl }, { username, password, expiresAt: new Date(Date.now() + 3600_000), level: 'write', scope: [{ schema: 'public', table: 'bench_kv' }], capture: mode.method });
      const client = new pg.Client({ host: '127.0.0.1', port: 5433, user: username, password, database: target.name });
      client.on('error', () => {});
      await client.connect();
      const statements = {
        select: { name: 'bench_select', text: 'SELECT v FROM public.bench_kv WHERE id = $1' },
        update: { name: 'bench_update', text: 'UPDATE public.bench_kv SET v = v + 1 WHERE id = $1' },
      };
      return {
        async round(kind, count) {
          const latencies: number[] = [];
          for (let i = 0; i < count; i++) {
            const started = performance.now();
            await client.query({ ...statements[kind], values: [(i % n) + 1] });
            latencies.push(performance.now() - started);
          }
          return latencies;
        },
        close: () => client.end(),
      };
    },
    async cleanup() {
      for (const username of users) await provider.revoke({ entry: entryFor('postgres', target.name), adminUrl: target.adminUrl }, username).catch(() => {});
      await provider.close();
      await target.drop();
    },
  };
}

async function mariadbRun(n: number): Promise<EngineRun> {
  const target = await createMariaTarget();
  const admin = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
  const [saved] = await admin.query<RowDataPacket[]>('SELECT @@GLOBAL.server_audit_logging AS audit, @@GLOBAL.general_log AS general');
  const restore = { audit: String(saved[0]!.audit) === 'ON' || Number(saved[0]!.audit) === 1, general: Number(saved[0]!.general) === 1 };
  await admin.query(`CREATE TABLE \`${target.name}\`.bench_kv (id int PRIMARY KEY, v bigint NOT NULL)`);
  await admin.query(`INSERT INTO \`${target.name}\`.bench_kv SELECT seq, 0 FROM seq_1_to_${n}`);
  const provider: CredentialProvider = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
  const prefix = `bcap${randomBytes(3).toString('hex')}_`;
  const users: string[] = [];
  const targetOf = (method: CaptureMethod): Target => ({ entry: { ...entryFor('mariadb', target.name), capture: method }, adminUrl: target.adminUrl });
  const setGlobals = async (audit: boolean, general: boolean) => {
    await admin.query(`SET GLOBAL server_audit_logging = ${audit ? 'ON' : 'OFF'}`);
    await admin.query(`SET GLOBAL general_log = ${general ? 'ON' : 'OFF'}`);
  };
  return {
    engine: 'mariadb',
    modes: MARIADB_MODES,
    enter: (mode) => setGlobals(mode.mariadb!.audit, mode.mariadb!.general),
    async session(mode) {
      const username = `${prefix}${users.length}`;
      const password = generatePassword();
      users.push(username);
      await provider.provision(targetOf(mode.method), { username, password, expiresAt: new Date(Date.now() + 3600_000), level: 'write', scope: [{ schema: target.name, table: 'bench_kv' }], capture: mode.method });
      const connection: Connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: username, password, database: target.name });
      connection.on('error', () => {});
      const statements = { select: 'SELECT v FROM bench_kv WHERE id = ?', update: 'UPDATE bench_kv SET v = v + 1 WHERE id = ?' };
      return {
        async round(kind, count) {
          const latencies: number[] = [];
          for (let i = 0; i < count; i++) {
            const started = performance.now();
            await connection.query(statements[kind], [(i % n) + 1]);
            latencies.push(performance.now() - started);
          }
          return latencies;
        },
        close: () => connection.end(),
      };
    },
    async cleanup() {
      await setGlobals(restore.audit, restore.general).catch(() => {});
      for (const username of users) await provider.revoke(targetOf('none'), username).catch(() => {});
      await provider.close();
      await admin.end();
      await target.drop();
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function captureScenario({ n, rounds }: { n: number; rounds: number }): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const log = (text: string) => process.stderr.write(`[capture ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  for (const make of [postgresRun, mariadbRun]) {
    const run = await make(n);
    const sessions = new Map<CaptureMethod, Awaited<ReturnType<EngineRun['session']>>>();
    try {
      for (const mode of run.modes) {
        await run.enter(mode);
        const session = await run.session(mode);
        sessions.set(mode.method, session);
        for (const kind of STATEMENTS) await session.round(kind, Math.min(WARMUP, n));
      }
      type Sample = { qps: number[]; latencies: number[]; overhead: number[] };
      const results = new Map<string, Sample>();
      const sample = (method: CaptureMethod, kind: Statement) => {
        const key = `${method}/${kind}`;
        if (!results.has(key)) results.set(key, { qps: [], latencies: [], overhead: [] });
        return results.get(key)!;
      };
      // Short blocks, modes alternating: a burst of load from elsewhere on the machine hits one round,
      // and the median round leaves it out.
      for (let round = 0; round < rounds; round++) {
        const roundQps = new Map<string, number>();
        for (const kind of STATEMENTS) {
          for (const mode of round % 2 === 0 ? run.modes : [...run.modes].reverse()) {
            await run.enter(mode);
            const started = performance.now();
            const latencies = await sessions.get(mode.method)!.round(kind, n);
            const qps = n / ((performance.now() - started) / 1000);
            const into = sample(mode.method, kind);
            into.qps.push(qps);
            into.latencies.push(...latencies);
            roundQps.set(`${mode.method}/${kind}`, qps);
          }
        }
        for (const mode of run.modes) {
          for (const kind of STATEMENTS) {
            const off = roundQps.get(`none/${kind}`)!;
            sample(mode.method, kind).overhead.push((off - roundQps.get(`${mode.method}/${kind}`)!) / off);
          }
        }
      }
      for (const kind of STATEMENTS) {
        const baseline = summarize(sample('none', kind).latencies);
        for (const mode of run.modes) {
          const result = sample(mode.method, kind);
          const qps = median(result.qps);
          const overhead = median(result.overhead);
          const stats = summarize(result.latencies);
          const latencyOverhead = (stats.p50 - baseline.p50) / baseline.p50;
          const quartiles = [...result.overhead].sort((a, b) => a - b);
          const spread = `${pct(quartiles[Math.floor(quartiles.length / 4)]!)} to ${pct(quartiles[Math.floor((3 * quartiles.length) / 4)]!)}`;
          const words =
            mode.method === 'none'
              ? `${qps.toFixed(0)} q/s (baseline)`
              : `${qps.toFixed(0)} q/s: ${pct(overhead)} fewer queries/s than capture off (rounds' middle half ${spread}); p50 latency ${pct(latencyOverhead)} higher`;
          log(`${run.engine} ${kind} ${mode.method}: ${words}`);
          rows.push({
            scenario: `9 capture ${run.engine}`,
            backend: 'redis',
            metric: `${kind.toUpperCase()}, ${mode.method === 'none' ? 'capture off' : mode.method}: latency`,
            n: stats.n,
            p50: stats.p50,
            p99: stats.p99,
            max: stats.max,
            target: '-',
            verdict: 'info',
            notes: `${words}; median of ${rounds} rounds of ${n} over one connection`,
            extra: { qps: result.qps, medianQps: qps, overheads: result.overhead, overhead, latencyOverhead },
          });
        }
      }
    } finally {
      for (const session of sessions.values()) await session.close().catch(() => {});
      await run.cleanup();
    }
  }
  return rows;
}

const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const { table } = await import('../lib/stats.js');
  const rows = await captureScenario(quick ? { n: 300, rounds: 5 } : { n: 300, rounds: 20 });
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
