/**
 * `npm run bench` (BENCH_QUICK=1 for a smoke run): latency and capacity of dbaccess against the real
 * services of this machine (state PostgreSQL on 5432, the scram target cluster on 5433, Redis) and the
 * fake Slack of the tests. Prints a table and writes bench/results/latest.json.
 *
 *   0 start-up   `npm start` to /readyz on the embedded default: cold (empty data dir) and warm, median of 5
 *   1 ack        /dbaccess: signed POST -> HTTP 200, sequential
 *   2 approve    approve click -> credentials DM posted, one request at a time
 *   3 expiry     lease expires_at -> role gone from pg_roles and the open session dead
 *   4 burst      200 requests submitted at once, approved at once, all DMed
 *   4b burst-ack 500 first commands, 500 form submissions, 500 approve clicks at once over 20 tenants, from a
 *                driver process; acks timed in the app and at the client; web+worker in one process, then split
 *   5a one db    how many leases one database can hold at once
 *   5 mass       10,000 leases expiring at the same instant, revoked by the app
 *   6-7 engines  provider overhead against raw SQL; 1,000 revocations at once
 *   6b wide      PostgreSQL with 1,000 tables: provision and revoke against the replayed floor; an approval after an idle spell (BENCH_ONLY=wide)
 *   8 analysis   tokens, cost and latency of the three analyses against the fake Anthropic API
 *   9 capture    queries/s of one temporary user with query capture off and on, per method
 *  10 audit      audit append rate with the chain; report for 100,000 requests and 1,000,000 events; verification
 *  11 offboard   a deactivated Slack account -> its open session killed (BENCH_ONLY=offboarding)
 *  12 oncall     the on-call engineer's request -> a usable credential, PagerDuty asked live (BENCH_ONLY=oncall)
 *  13 revocation-slo  expiry, /dbaccess revoke and offboarding -> login refused and open session ended, PostgreSQL
 *                and MariaDB, on the app in its own process: no fault, after kill -9 and restart, target unreachable
 *                past expiry (BENCH_ONLY=revocation-slo)
 *
 * BENCH_ONLY=analysis (words of scenario names, comma-separated) runs a subset; BENCH_REPEAT=3 runs it 3 times and
 * adds each figure's median and range over the runs (the table lists every run's rows). BENCH_WORKER_PROCESSES=2
 * has scenario 5 revoke through that many `RUN_MODE=worker` processes (src/main.ts) instead of in-process;
 * BENCH_MASS_DATABASES=1 puts all of its leases on one database (default 10). BENCH_TRIGGERS=unexpiring has scenario
 * 4b open every form however late (its later bursts then have all their people on a loaded machine).
 *
 * 1-3 run on both queue backends; 4 and 5 on Redis. Every scenario starts its own app (the test
 * harness: fresh state and target databases, fake Slack) and removes everything it created.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ackScenario } from './scenarios/ack.js';
import { startupScenario } from './scenarios/startup.js';
import { aclLimitScenario } from './scenarios/acl-limit.js';
import { burstScenario } from './scenarios/burst.js';
import { burstAckScenario } from './scenarios/burst-ack.js';
import { clickToDmScenario } from './scenarios/click-to-dm.js';
import { expiryScenario } from './scenarios/expiry.js';
import { massExpiryScenario } from './scenarios/mass-expiry.js';
import { cleanupEngineBench, runEngineBench } from './scenarios/engines.js';
import { cleanupWideTarget, wideTargetScenario } from './scenarios/engines-wide.js';
import { analysisScenario } from './scenarios/analysis.js';
import { captureScenario } from './scenarios/capture.js';
import { auditScenario } from './scenarios/audit.js';
import { offboardingScenario } from './scenarios/offboarding.js';
import { onCallScenario } from './scenarios/oncall.js';
import { revocationSloScenario } from './scenarios/revocation-slo.js';
import { cleanupAll } from './lib/bench-harness.js';
import { repeatSummary, repeatTable, table, type ResultRow } from './lib/stats.js';

const quick = process.env.BENCH_QUICK === '1';
/** BENCH_ONLY=analysis,capture runs only the scenarios whose name contains one of these words. */
const only = process.env.BENCH_ONLY?.split(',').map((word) => word.trim()).filter(Boolean);
const wanted = (name: string) => !only || only.some((word) => name.includes(word));
/** BENCH_WORKER_PROCESSES=2: scenario 5's revocations done by that many `RUN_MODE=worker` processes (default: the app in this process). */
const workerProcesses = Number(process.env.BENCH_WORKER_PROCESSES ?? 0) || undefined;
/** BENCH_MASS_DATABASES=1 puts every lease of scenario 5 on one database (default: 10). */
const massDatabases = Number(process.env.BENCH_MASS_DATABASES ?? 0) || undefined;
const sizes = quick
  ? { ack: { n: 30, warmup: 5 }, dm: { n: 5, warmup: 1 }, expiry: { n: 5, durationS: 3, staggerMs: 300 }, burst: 20, burstAck: { n: 100, tenants: 20 }, probe: { max: 480, more: 20 }, mass: { n: 300, databases: 2, deadlineMs: 45_000 } }
  : { ack: { n: 300, warmup: 30 }, dm: { n: 50, warmup: 5 }, expiry: { n: 50, durationS: 4, staggerMs: 400 }, burst: 200, burstAck: { n: 500, tenants: 20 }, probe: { max: 9_800, more: 200 }, mass: { n: 10_000, databases: 10, deadlineMs: 75_000 } };

const cpuModel = (() => {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
})();
const nproc = (() => {
  try {
    return Number(execSync('nproc').toString().trim());
  } catch {
    return cpus().length;
  }
})();

/** The code measured: commit, and the files changed on top of it (read-only git). */
const code = (() => {
  try {
    const commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git --no-optional-locks status --porcelain --untracked-files=no -- src', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .split('\n')
      .filter(Boolean).length;
    return { commit, dirtySrcFiles: dirty };
  } catch {
    return { commit: 'unknown', dirtySrcFiles: 0 };
  }
})();

const rows: ResultRow[] = [];
/** BENCH_REPEAT=k runs the chosen scenarios k times; each figure is then also given as the median and range of its k runs. */
const repeat = Math.max(1, Math.floor(Number(process.env.BENCH_REPEAT ?? 1)) || 1);
const runs: ResultRow[][] = [];
/** Per scenario: how busy the machine (all processes, other engineers' tests included) and this process were. */
const usage: Array<{ step: string; seconds: number; machineBusy: number; processCpu: number; eventLoop: number }> = [];

function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}
const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

async function step(name: string, run: () => Promise<ResultRow[]>): Promise<void> {
  if (!wanted(name)) return;
  const started = Date.now();
  const ticks = machineTicks();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  log(`${name} ...`);
  try {
    const result = await run();
    rows.push(...result);
    const seconds = (Date.now() - started) / 1000;
    const after = machineTicks();
    const used = process.cpuUsage(cpu);
    usage.push({
      step: name,
      seconds,
      machineBusy: after.total > ticks.total ? (after.busy - ticks.busy) / (after.total - ticks.total) : Number.NaN,
      processCpu: (used.user + used.system) / 1e6 / seconds / nproc,
      eventLoop: performance.eventLoopUtilization(elu).utilization,
    });
    log(`${name}: done in ${seconds.toFixed(1)} s`);
  } catch (error) {
    log(`${name}: crashed: ${(error as Error).stack ?? String(error)}`);
    rows.push({ scenario: name, backend: 'redis', metric: 'bench error', n: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, target: '-', verdict: 'FAIL', notes: (error as Error).message });
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${signal}: cleaning up`);
    void Promise.all([cleanupAll(), cleanupEngineBench(), cleanupWideTarget()]).finally(() => process.exit(130));
  });
}

const started = Date.now();
const loadBefore = loadavg();
log(`${quick ? 'QUICK' : 'full'} run on ${nproc} x ${cpuModel}, load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
try {
  for (let repetition = 1; repetition <= repeat; repetition += 1) {
    if (repeat > 1) log(`repetition ${repetition} of ${repeat}`);
    const first = rows.length;
    // First, while nothing else of the bench is running: it measures whole processes.
    await step('0 start-up: npm start -> /readyz, cold and warm', () => startupScenario({ n: quick ? 3 : 5 }));
    for (const queue of ['redis', 'postgres'] as const) {
      await step(`1 ack (${queue})`, () => ackScenario(queue, sizes.ack));
      await step(`2 approve -> DM (${queue})`, () => clickToDmScenario(queue, sizes.dm));
      await step(`3 expiry (${queue})`, () => expiryScenario(queue, sizes.expiry));
    }
    await step(`4 burst of ${sizes.burst}`, () => burstScenario('redis', { n: sizes.burst, stallMs: 15_000 }));
    for (const layout of ['one', 'split'] as const) {
      await step(`4b burst-ack: ${sizes.burstAck.n} commands, forms and clicks at once over ${sizes.burstAck.tenants} tenants (${layout === 'one' ? 'web+worker one process' : 'web, worker split'})`, () => burstAckScenario({ ...sizes.burstAck, layout, unexpiringTriggers: process.env.BENCH_TRIGGERS === 'unexpiring' }));
    }
    await step('5a leases on one database', () => aclLimitScenario(sizes.probe));
    await step(`5 ${sizes.mass.n} simultaneous expiries`, () => massExpiryScenario('redis', { ...sizes.mass, ...(massDatabases ? { databases: massDatabases } : {}), realPath: 20, workerProcesses }));
    await step('6 engines: provision and revoke against raw SQL; 7 revocations at once', () => runEngineBench({ quick }));
    await step('6b wide: PostgreSQL with 1,000 tables against its floor; approval after an idle spell', () => wideTargetScenario({ quick }));
    await step('8 analysis: tokens, cost and latency of the three analyses', () => analysisScenario({ n: quick ? 5 : 50 }));
    await step('9 capture: overhead of recording statements, per method', () => captureScenario(quick ? { n: 300, rounds: 5 } : { n: 300, rounds: 20 }));
    await step('10 audit: append rate, report for 100k requests and 1M events, verification', () => auditScenario(quick ? { requests: 10_000, events: 100_000, appends: 1000 } : {}));
    await step('11 offboarding: deactivated -> sessions killed', () => offboardingScenario({ n: quick ? 5 : 20 }));
    await step('12 oncall: on-call engineer\'s request -> usable credential', () => onCallScenario(quick ? { n: 10, warmup: 2 } : { n: 50, warmup: 5 }));
    await step('13 revocation-slo: trigger -> login refused + session ended (no fault, restart, target outage)', () =>
      revocationSloScenario(quick
        ? { noFault: { n: 5, lanes: 2 }, restart: { rounds: 1, leases: 10 }, outage: { rounds: 1, leases: 10, outageMs: 12_000 } }
        : { noFault: { n: 100, lanes: 4 }, restart: { rounds: 3, leases: 20 }, outage: { rounds: 2, leases: 20, outageMs: 20_000 } }));
    for (const row of rows.slice(first)) row.extra = { ...row.extra, repetition };
    runs.push(rows.slice(first));
  }
} finally {
  await Promise.all([cleanupAll(), cleanupEngineBench(), cleanupWideTarget()]);
}

const durationMs = Date.now() - started;
const loadAfter = loadavg();
const header = [
  `dbaccess bench, ${new Date().toISOString()}${quick ? ' (BENCH_QUICK)' : ''}: ${nproc} x ${cpuModel}, Node ${process.version}; code ${code.commit}${code.dirtySrcFiles > 0 ? ` + ${code.dirtySrcFiles} uncommitted src files` : ''}`,
  `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}; took ${(durationMs / 1000).toFixed(0)} s`,
  '',
].join('\n');
const pct = (x: number) => `${(x * 100).toFixed(0)}%`.padStart(5);
const usageText = [
  '',
  `CPU while each scenario ran (machine = all ${nproc} cores, every process; bench = this process: app + fake Slack + drivers, share of all cores; loop = its event loop busy):`,
  ...usage.map((u) => `  ${u.step.padEnd(48)} ${u.seconds.toFixed(0).padStart(4)} s  machine ${pct(u.machineBusy)}  bench ${pct(u.processCpu)}  loop ${pct(u.eventLoop)}`),
].join('\n');
const repeated = repeat > 1 ? repeatSummary(runs) : [];
const repeatText = repeat > 1 ? `\n\nRepeated ${repeat} times (BENCH_REPEAT): median [min-max] over the runs; verdicts per run, by the one rule\n${repeatTable(repeated)}\n` : '';
process.stdout.write(`${header}${table(rows)}\n${repeatText}${usageText}\n`);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const json = {
  date: new Date().toISOString(),
  quick,
  machine: { nproc, cpu: cpuModel, node: process.version, loadBefore, loadAfter },
  code,
  durationMs,
  repeat,
  repeated,
  usage,
  rows: rows.map((row) => ({ ...row, p50: Number.isNaN(row.p50) ? null : row.p50, p99: Number.isNaN(row.p99) ? null : row.p99, max: Number.isNaN(row.max) ? null : row.max })),
};
writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(json, null, 2)}\n`);
log(`results in bench/results/latest.json`);
// The app leaves a Redis connection open after stop() (see the report); do not wait for it.
process.exit(rows.some((row) => row.metric === 'bench error') ? 1 : 0);
