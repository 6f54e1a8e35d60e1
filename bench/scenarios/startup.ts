import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { summarize, type ResultRow } from '../lib/stats.js';
import { freePort } from '../../test/support/ports.js';

/**
 * 0. Start-up: `npm start` (the README's command, nothing configured: the embedded PostgreSQL and the
 * sandbox) to `/readyz` answering 200, polled every 20 ms. Cold: an empty data directory each time
 * (initdb, the sandbox and the migrations included). Warm: a data directory a previous start made.
 * Each start is stopped with SIGTERM and waited for before the next.
 */
/** The checkout started: this one, or BENCH_START_DIR (to compare with another commit's checkout). */
const ROOT = process.env.BENCH_START_DIR ?? fileURLToPath(new URL('../../', import.meta.url));

export interface StartTiming {
  /** ms from spawning `npm start` to the first 200 of /readyz. */
  readyMs: number;
  output: string;
}

/** One `npm start` in `dataDir`, timed to /readyz, then stopped. */
export async function timeStart(dataDir: string, { timeoutMs = 120_000, command = ['npm', 'start'] }: { timeoutMs?: number; command?: string[] } = {}): Promise<StartTiming> {
  const [port, pgPort] = await Promise.all([freePort(), freePort()]);
  const env = {
    PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort), DBACCESS_CONFIG: join(dataDir, 'none.yaml'), LOG_LEVEL: 'warn',
  };
  const t0 = performance.now();
  // Its own process group: npm, the node under it and the embedded PostgreSQL are stopped together.
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));
  try {
    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (!alive) throw new Error(`npm start exited before /readyz answered: ${output.slice(-800)}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`no /readyz after ${timeoutMs} ms: ${output.slice(-800)}`);
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      if (answer?.status === 200) readyMs = performance.now() - t0;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { readyMs, output };
  } finally {
    if (alive && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 20_000);
      await exited;
      // npm may leave before the app under it has stopped its PostgreSQL: the next start waits for all of them.
      while (groupAlive(child.pid)) await new Promise((resolve) => setTimeout(resolve, 20));
      clearTimeout(killer);
    }
  }
}

/** Whether any process of the group led by `pid` is still running. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** BENCH_START_COMMAND='npm run start:ts' times the TypeScript sources through tsx instead of `npm start`. */
const command = (process.env.BENCH_START_COMMAND ?? 'npm start').split(' ');

export async function startupScenario({ n }: { n: number }): Promise<ResultRow[]> {
  const made: string[] = [];
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-bench-start-'));
    made.push(dir);
    return dir;
  };
  // What `npm ci` leaves: dist/ built from these sources (otherwise `npm start` runs them through tsx).
  if (command.join(' ') === 'npm start' && existsSync(join(ROOT, 'bin/build.js'))) execFileSync(process.execPath, ['bin/build.js'], { cwd: ROOT, stdio: 'ignore' });
  try {
    const cold: number[] = [];
    for (let i = 0; i < n; i += 1) cold.push((await timeStart(fresh(), { command })).readyMs);
    const warmDir = fresh();
    await timeStart(warmDir, { command }); // makes the data directory; not counted
    const warm: number[] = [];
    for (let i = 0; i < n; i += 1) warm.push((await timeStart(warmDir, { command })).readyMs);
    const row = (metric: string, samples: number[], targetMs: number): ResultRow => {
      const s = summarize(samples);
      return {
        scenario: '0 start-up', backend: 'postgres', metric, n: s.n, p50: s.p50, p99: s.p99, max: s.max,
        target: `median < ${targetMs / 1000} s`, verdict: s.p50 < targetMs ? 'pass' : 'FAIL',
        notes: `samples ${samples.map((x) => (x / 1000).toFixed(2)).join(', ')} s`, extra: { samples },
      };
    };
    return [
      row(`${command.join(' ')} -> /readyz, empty data dir (cold)`, cold, 3000),
      row(`${command.join(' ')} -> /readyz, existing data dir (warm)`, warm, 1500),
    ];
  } finally {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  }
}

// `tsx bench/scenarios/startup.ts [n]`: this scenario alone, printed as JSON lines.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await startupScenario({ n: Number(process.argv[2] ?? 5) });
  for (const r of rows) process.stdout.write(`${r.metric}: median ${(r.p50 / 1000).toFixed(2)} s (${r.notes})\n`);
}
