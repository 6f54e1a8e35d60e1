import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import pg from 'pg';
import type { ProvisionSpec } from '../../src/modules/credentials/credential-types.js';
import { MARIADB_ADMIN_URL } from '../../test/support/databases.js';
import { SERVICES } from '../../test/support/services.js';
import { type EngineKit, type IssuedUser, type RawUser, type Session, mariadbKit, postgresKit, vaultKit } from '../lib/engines-kits.js';
import { type ProfileSummary, QueryProfiler, profileLine, profileStatements } from '../lib/engines-profile.js';
import { againstFloor, ms, summarize, table, type ResultRow } from '../lib/stats.js';

/**
 * 6. Per engine (PostgreSQL, MariaDB, Vault): provision and revoke latency through the real providers,
 *    next to the same effect as raw SQL on a plain admin client, on the same target in the same run,
 *    interleaved one for one (so the machine's load hits both alike). Our overhead = provider / raw,
 *    at p50 and at p99; target <= 1.5x. Revocations without a session, and a smaller series with one
 *    open session each. Every query and pool checkout is timed by a driver-level profiler and charged to
 *    the operation, so a missed target comes with where the time went.
 * 7. PostgreSQL and MariaDB: 1,000 users provisioned through the provider (4 at a time), then all
 *    revoked at once (Promise.all) with the default pool of 4: wall time, per-revoke latency from the
 *    common start, connection errors (target 0), and the users left on the server (target 0).
 *
 * No app, no queue: ResultRow.backend does not apply and is set to 'redis' as in 5a; the engine is in
 * the scenario name. Standalone: `npx tsx bench/scenarios/engines.ts [--quick]` (or BENCH_QUICK=1).
 */

const SIZES = {
  full: { n: 200, sessions: 20, mass: 1000, warmup: 5 },
  quick: { n: 20, sessions: 5, mass: 200, warmup: 2 },
} as const;
const TARGET_RATIO = 1.5;
/** Provisioning the mass users: as many at a time as the provider's pool has connections. */
const PROVISION_CONCURRENCY = 4;
const MASS_DEADLINE_MS = 240_000;
/** The mass users must all exist before the revocations: a failed provision is retried (as the app's job would be). */
const PROVISION_ATTEMPTS = 20;

/** Kits alive right now, for cleanupEngineBench (SIGINT). */
const active = new Set<EngineKit>();

/** Removes the databases and users of a run that was interrupted. */
export async function cleanupEngineBench(): Promise<void> {
  for (const kit of [...active]) {
    active.delete(kit);
    await kit.cleanup().catch((error: Error) => console.error(`bench engines cleanup: ${error.message}`));
  }
}

export async function runEngineBench(options: { quick: boolean }): Promise<ResultRow[]> {
  const sizes = options.quick ? SIZES.quick : SIZES.full;
  const profiler = new QueryProfiler();
  const rows: ResultRow[] = [];
  const log = (text: string) => process.stderr.write(`[engines ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  const makers: Array<[string, () => Promise<EngineKit>, boolean]> = [
    ['postgres', postgresKit, true],
    ['mariadb', mariadbKit, true],
    ['vault', vaultKit, false],
  ];
  try {
    for (const [name, make, mass] of makers) {
      log(`${name}: setting up`);
      const kit = await make();
      active.add(kit);
      try {
        const started = Date.now();
        profiler.install();
        try {
          rows.push(...(await latencySeries(kit, sizes, profiler, log)));
        } finally {
          profiler.uninstall();
        }
        log(`${name}: latency series done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        if (mass) {
          const massStarted = Date.now();
          rows.push(...(await massRevoke(kit, sizes.mass, log)));
          log(`${name}: ${sizes.mass} revocations at once done in ${((Date.now() - massStarted) / 1000).toFixed(1)} s`);
        }
      } finally {
        active.delete(kit);
        await kit.cleanup();
      }
    }
  } finally {
    profiler.uninstall();
  }
  return rows;
}

// ----------------------------------------------------------------------------------------------

interface Failure {
  what: string;
  message: string;
}

const label = (kit: EngineKit, what: string) => `${kit.engine} ${what}`;
const scenarioOf = (kit: EngineKit) => `6 engine: ${kit.engine}`;
const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-');

async function timed<T>(profiler: QueryProfiler, profileLabel: string, samples: number[], work: () => Promise<T>): Promise<T> {
  profiler.begin(profileLabel);
  const started = performance.now();
  try {
    const result = await work();
    samples.push(performance.now() - started);
    return result;
  } finally {
    profiler.end();
  }
}

async function latencySeries(
  kit: EngineKit,
  sizes: { n: number; sessions: number; warmup: number },
  profiler: QueryProfiler,
  log: (text: string) => void,
): Promise<ResultRow[]> {
  const failures: Failure[] = [];
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      failures.push({ what, message: (error as Error).message });
      return undefined;
    }
  };

  // Warm-up: pools connected, catalog caches filled, the fake Vault's pool open. Not counted.
  for (let i = 0; i < sizes.warmup; i += 1) {
    const user = await kit.provision(kit.nextSpec());
    await kit.revoke(user);
    const raw = await kit.rawPrepare();
    await kit.rawProvision(raw);
    await kit.rawRevoke(raw);
  }

  const provisionProvider: number[] = [];
  const provisionRaw: number[] = [];
  const prepareRaw: number[] = [];
  const issued: IssuedUser[] = [];
  const raws: RawUser[] = [];
  log(`${kit.engine}: provisioning ${sizes.n} + ${sizes.n} users`);
  for (let i = 0; i < sizes.n; i += 1) {
    const viaProvider = async () => {
      const spec: ProvisionSpec = kit.nextSpec();
      const user = await attempt('provision', () => timed(profiler, label(kit, 'provider provision'), provisionProvider, () => kit.provision(spec)));
      if (user) issued.push(user);
    };
    const viaRaw = async () => {
      // The secret (SCRAM verifier, password hash) is on the clock: the provider computes its own there too.
      let raw: RawUser | undefined;
      const ok = await attempt('raw provision', () =>
        timed(profiler, label(kit, 'raw provision'), provisionRaw, async () => {
          const t0 = performance.now();
          raw = await kit.rawPrepare();
          prepareRaw.push(performance.now() - t0);
          await kit.rawProvision(raw);
          return true;
        }));
      if (ok && raw) raws.push(raw);
    };
    // Alternate who goes first, so that neither side always follows the other's commit.
    if (i % 2 === 0) {
      await viaProvider();
      await viaRaw();
    } else {
      await viaRaw();
      await viaProvider();
    }
  }

  const revokeProvider: number[] = [];
  const revokeRaw: number[] = [];
  let notExisting = 0;
  log(`${kit.engine}: revoking them (no session)`);
  for (let i = 0; i < Math.max(issued.length, raws.length); i += 1) {
    const viaProvider = async () => {
      const user = issued[i];
      if (!user) return;
      const result = await attempt('revoke', () => timed(profiler, label(kit, 'provider revoke'), revokeProvider, () => kit.revoke(user)));
      if (result && !result.existed) notExisting += 1;
    };
    const viaRaw = async () => {
      const user = raws[i];
      if (user) await attempt('raw revoke', () => timed(profiler, label(kit, 'raw revoke'), revokeRaw, () => kit.rawRevoke(user)));
    };
    if (i % 2 === 0) {
      await viaProvider();
      await viaRaw();
    } else {
      await viaRaw();
      await viaProvider();
    }
  }

  // One open session each: provision and log in off the clock, then time the revocation.
  const sessionProvider: number[] = [];
  const sessionRaw: number[] = [];
  let survivors = 0;
  let killedReported = 0;
  log(`${kit.engine}: ${sizes.sessions} + ${sizes.sessions} revocations with one open session`);
  for (let i = 0; i < sizes.sessions; i += 1) {
    const viaProvider = async () => {
      const user = await attempt('provision (session series)', () => kit.provision(kit.nextSpec()));
      if (!user) return;
      const session = await attempt('login', () => kit.login(user.username, user.password));
      if (!session) {
        await attempt('revoke (session series)', () => kit.revoke(user));
        return;
      }
      const result = await attempt('revoke with a session', () => timed(profiler, label(kit, 'provider revoke, 1 session'), sessionProvider, () => kit.revoke(user)));
      if (result) killedReported += result.sessionsKilled;
      await settle(session, () => (survivors += 1));
    };
    const viaRaw = async () => {
      const raw = await kit.rawPrepare();
      if (!(await attempt('raw provision (session series)', () => kit.rawProvision(raw).then(() => true)))) return;
      const session = await attempt('raw login', () => kit.login(raw.username, raw.password));
      await attempt('raw revoke with a session', () => timed(profiler, label(kit, 'raw revoke, 1 session'), sessionRaw, () => kit.rawRevoke(raw)));
      if (session) await settle(session, () => (survivors += 1));
    };
    if (i % 2 === 0) {
      await viaProvider();
      await viaRaw();
    } else {
      await viaRaw();
      await viaProvider();
    }
  }
  const left = await kit.leftovers();

  // ---- rows
  const scenario = scenarioOf(kit);
  const profileOf = (what: string) => profiler.summary(label(kit, what));
  const problems = [
    ...summarizeFailures(failures),
    ...(notExisting > 0 ? [`${notExisting} provider revokes found no user`] : []),
    ...(survivors > 0 ? [`${survivors} sessions still answered after revocation`] : []),
    ...(left.length > 0 ? [`${left.length} users left on the server after the series (e.g. ${left.slice(0, 3).join(', ')})`] : []),
  ];
  const pair = (metric: string, providerSamples: number[], rawSamples: number[], providerProfile: string, rawProfile: string, extraNotes: string[] = []): ResultRow[] => {
    const p = summarize(providerSamples);
    const r = summarize(rawSamples);
    const verdict = againstFloor(p, r, TARGET_RATIO);
    const ratio = { p50: verdict.ratio, p99: verdict.p99Ratio };
    const ok = verdict.pass;
    const pp = profileOf(providerProfile);
    const rp = profileOf(rawProfile);
    return [
      {
        scenario,
        backend: 'redis',
        metric: `${metric}: provider`,
        n: p.n,
        p50: p.p50,
        p99: p.p99,
        max: p.max,
        target: `p50 <= ${TARGET_RATIO}x raw`,
        verdict: ok ? 'pass' : 'FAIL',
        notes: [`overhead p50 ${x(ratio.p50)}, p99 ${x(ratio.p99)}`, ...(pp ? [`profile ${profileLine(pp)}`] : []), ...extraNotes].join('; '),
        extra: { ratio, summary: p, profile: pp ? serializable(pp) : null },
      },
      {
        scenario,
        backend: 'redis',
        metric: `${metric}: raw SQL`,
        n: r.n,
        p50: r.p50,
        p99: r.p99,
        max: r.max,
        target: '-',
        verdict: 'info',
        notes: rp ? `profile ${profileLine(rp)}` : undefined,
        extra: { summary: r, profile: rp ? serializable(rp) : null },
      },
    ];
  };
  const scram = summarize(prepareRaw);
  const out = [
    ...pair('provision', provisionProvider, provisionRaw, 'provider provision', 'raw provision', kit.engine === 'postgres' ? [`SCRAM verifier alone (client-side PBKDF2, 4096 iterations) p50 ${ms(scram.p50)} / p99 ${ms(scram.p99)}`] : []),
    ...pair('revoke, no session', revokeProvider, revokeRaw, 'provider revoke', 'raw revoke'),
    ...pair('revoke, 1 open session', sessionProvider, sessionRaw, 'provider revoke, 1 session', 'raw revoke, 1 session', [
      `provider reported ${killedReported} sessions killed for ${sessionProvider.length} revokes`,
    ]),
  ];
  if (problems.length > 0) {
    out[0]!.verdict = 'FAIL';
    out[0]!.notes = `${out[0]!.notes}; PROBLEMS: ${problems.join('; ')}`;
  }
  out[0]!.extra = { ...out[0]!.extra, baseline: kit.rawDescription, label: kit.label, failures: failures.slice(0, 20), scram: kit.engine === 'postgres' ? scram : null };
  return out;
}

/** Checks (off the clock) that the session no longer answers; a raw KILL is asynchronous, so allow 2 s. */
async function settle(session: Session, onSurvivor: () => void): Promise<void> {
  const deadline = Date.now() + 2000;
  let alive = await session.alive();
  while (alive && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
    alive = await session.alive();
  }
  if (alive) onSurvivor();
  await session.close();
}

function summarizeFailures(failures: Failure[]): string[] {
  const byWhat = new Map<string, { count: number; first: string }>();
  for (const failure of failures) {
    const entry = byWhat.get(failure.what) ?? { count: 0, first: failure.message };
    entry.count += 1;
    byWhat.set(failure.what, entry);
  }
  return [...byWhat.entries()].map(([what, { count, first }]) => `${count} failed ${what} (e.g. "${first.slice(0, 160)}")`);
}

function serializable(s: ProfileSummary) {
  return { ...s, statements: s.statements.map((st) => ({ ...st })) };
}

// ----------------------------------------------------------------------------------------------

/** Connection failures as the providers word them, or the pool's own checkout timeout. */
const isConnectionError = (message: string) => /Cannot reach|timeout exceeded when trying to connect|too many connections|Connection terminated|ECONNRESET|ECONNREFUSED/i.test(message);

async function massRevoke(kit: EngineKit, count: number, log: (text: string) => void): Promise<ResultRow[]> {
  const scenario = `7 ${count} revokes at once: ${kit.engine}`;
  // 1. Users the provider knows as its own: through the provider, PROVISION_CONCURRENCY at a time.
  log(`${kit.engine}: provisioning ${count} users, ${PROVISION_CONCURRENCY} at a time`);
  const users: IssuedUser[] = [];
  const provisionSamples: number[] = [];
  const provisionFailures: Failure[] = [];
  let retries = 0;
  const retryReasons = new Map<string, number>();
  let next = 0;
  const provisionStarted = performance.now();
  await Promise.all(
    Array.from({ length: PROVISION_CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        const spec = kit.nextSpec();
        for (let attemptNo = 1; ; attemptNo += 1) {
          const t0 = performance.now();
          try {
            users.push(await kit.provision(spec));
            provisionSamples.push(performance.now() - t0);
            break;
          } catch (error) {
            const message = (error as Error).message;
            const reason = message.replace(/bne[0-9a-f]{6}_[0-9a-z]+/g, '<user>').slice(0, 140);
            retryReasons.set(reason, (retryReasons.get(reason) ?? 0) + 1);
            if (attemptNo >= PROVISION_ATTEMPTS) {
              provisionFailures.push({ what: 'provision', message });
              break;
            }
            retries += 1;
            // As a retried job would: a short random pause, then the same spec again (provision is idempotent).
            await new Promise((done) => setTimeout(done, Math.random() * 10));
          }
        }
      }
    }),
  );
  const provisionWall = performance.now() - provisionStarted;
  const provisioned = summarize(provisionSamples);

  // 2. Every revoke at once, on the provider's default pool.
  log(`${kit.engine}: revoking ${users.length} users at once`);
  const sampler = await startConnectionSampler(kit);
  const latencies: number[] = [];
  const failed: Array<{ user: IssuedUser; message: string; ms: number }> = [];
  const t0 = performance.now();
  const all = Promise.all(
    users.map((user) =>
      kit.revoke(user).then(
        () => void latencies.push(performance.now() - t0),
        (error: unknown) => void failed.push({ user, message: (error as Error).message, ms: performance.now() - t0 }),
      ),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([all.then(() => true), new Promise<boolean>((done) => (timer = setTimeout(() => done(false), MASS_DEADLINE_MS)))]);
  clearTimeout(timer);
  const wall = performance.now() - t0;
  const serverConnections = await sampler.stop();
  const leftAfter = (await kit.leftovers()).length;

  // 3. What a retry (as the app's revoke job would do) makes of the failures.
  let leftAfterRetry = leftAfter;
  if (failed.length > 0 && finished) {
    for (const { user } of failed) await kit.revoke(user).catch(() => {});
    leftAfterRetry = (await kit.leftovers()).length;
  }
  if (!finished) await all.catch(() => {});

  const connectionErrors = failed.filter((f) => isConnectionError(f.message));
  const otherErrors = failed.filter((f) => !isConnectionError(f.message));
  const s = summarize(latencies);
  const examples = (list: typeof failed) => {
    const kinds = new Map<string, number>();
    for (const f of list) {
      const key = f.message.replace(/bne[0-9a-f]{6}_[0-9a-z]+/g, '<user>').slice(0, 140);
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    return [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([message, n]) => `${n}x "${message}"`).join(', ');
  };
  const failedAt = summarize(failed.map((f) => f.ms));
  const ok = finished && connectionErrors.length === 0 && leftAfter === 0 && provisionFailures.length === 0;
  return [
    {
      scenario,
      backend: 'redis',
      metric: `revoke, common start -> done (pool ${kit.target.entry.poolSize})`,
      n: s.n,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      target: '0 conn. errors, 0 left',
      verdict: ok ? 'pass' : 'FAIL',
      notes: [
        `wall ${ms(wall)} for ${users.length} (${((users.length / wall) * 1000).toFixed(0)} revokes/s)${finished ? '' : `; NOT FINISHED after ${MASS_DEADLINE_MS / 1000} s`}`,
        `${connectionErrors.length} connection errors${connectionErrors.length > 0 ? ` (${examples(connectionErrors)}; failed at p50 ${ms(summarize(connectionErrors.map((f) => f.ms)).p50)})` : ''}`,
        `${otherErrors.length} other errors${otherErrors.length > 0 ? ` (${examples(otherErrors)})` : ''}`,
        `users left on the server: ${leftAfter}${failed.length > 0 ? `, after one sequential retry of the ${failed.length} failed: ${leftAfterRetry}` : ''}`,
        `admin connections seen on the server: max ${serverConnections.max} (${serverConnections.samples} samples)`,
      ].join('; '),
      extra: {
        wallMs: wall,
        finished,
        users: users.length,
        connectionErrors: connectionErrors.length,
        otherErrors: otherErrors.length,
        failedAt,
        errorExamples: failed.slice(0, 10).map((f) => f.message),
        leftAfter,
        leftAfterRetry,
        serverConnections,
      },
    },
    {
      scenario,
      backend: 'redis',
      metric: `setup: provision ${count}, ${PROVISION_CONCURRENCY} at a time`,
      n: provisioned.n,
      p50: provisioned.p50,
      p99: provisioned.p99,
      max: provisioned.max,
      target: '-',
      verdict: provisionFailures.length === 0 ? 'info' : 'FAIL',
      notes: [
        `wall ${ms(provisionWall)} (${((provisioned.n / provisionWall) * 1000).toFixed(0)}/s); latency of the successful attempt`,
        `${retries} failed attempts retried${retryReasons.size > 0 ? ` (${[...retryReasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([m, n]) => `${n}x "${m}"`).join(', ')})` : ''}`,
        `${provisionFailures.length} users not provisioned after ${PROVISION_ATTEMPTS} attempts`,
      ].join('; '),
      extra: { wallMs: provisionWall, retries, retryReasons: Object.fromEntries(retryReasons), failures: provisionFailures.slice(0, 10) },
    },
  ];
}

/** Polls how many admin connections the provider holds on the server while the mass revocation runs. */
async function startConnectionSampler(kit: EngineKit): Promise<{ stop(): Promise<{ max: number; samples: number }> }> {
  let max = 0;
  let samples = 0;
  let running = true;
  let probe: () => Promise<number>;
  let close: () => Promise<void>;
  if (kit.engine === 'mariadb') {
    const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
    probe = async () => {
      const [rows] = await connection.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND USER = 'root' AND ID <> CONNECTION_ID()",
        [kit.target.entry.database],
      );
      return Number(rows[0]?.n ?? 0);
    };
    close = () => connection.end().catch(() => {});
  } else {
    const client = new pg.Client({ connectionString: SERVICES.targetPg, application_name: 'dbaccess-bench-sampler' });
    client.on('error', () => {});
    await client.connect();
    probe = async () => {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbaccess' AND datname = $1", [
        kit.target.entry.database,
      ]);
      return rows[0]?.n ?? 0;
    };
    close = () => client.end().catch(() => {});
  }
  const loop = (async () => {
    while (running) {
      try {
        max = Math.max(max, await probe());
        samples += 1;
      } catch {
        // best effort
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await close();
      return { max, samples };
    },
  };
}

// ----------------------------------------------------------------------------------------------

/** Per-statement breakdown of every profiled operation, for the standalone printout. */
export function profileReport(rows: readonly ResultRow[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const profile = (row.extra?.profile ?? null) as ProfileSummary | null;
    if (!profile) continue;
    lines.push(`  ${row.scenario} / ${row.metric}: ${profileLine(profile)}`);
    for (const line of profileStatements(profile)) lines.push(`      ${line}`);
  }
  return lines.join('\n');
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
  } catch {
    return false;
  }
})();

if (isMain) {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`${signal}: cleaning up\n`);
      void cleanupEngineBench().finally(() => process.exit(130));
    });
  }
  const started = Date.now();
  const loadBefore = loadavg();
  let code = 0;
  try {
    const rows = await runEngineBench({ quick });
    const loadAfter = loadavg();
    const header = [
      `dbaccess engine bench, ${new Date().toISOString()}${quick ? ' (quick)' : ''}: ${cpus().length} x ${cpuModel()}, Node ${process.version}`,
      `load average before ${loadBefore.map((v) => v.toFixed(2)).join(' ')}, after ${loadAfter.map((v) => v.toFixed(2)).join(' ')}; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
      `sizes: ${JSON.stringify(quick ? SIZES.quick : SIZES.full)}`,
      '',
    ].join('\n');
    const baselines = rows
      .filter((row) => row.extra?.baseline)
      .map((row) => {
        const b = row.extra!.baseline as { provision: string; revoke: string };
        return `  ${row.scenario} (${String(row.extra!.label)}):\n      provision: ${b.provision}\n      revoke:    ${b.revoke}`;
      });
    process.stdout.write(`${header}${table(rows)}\n\nraw baselines:\n${baselines.join('\n')}\n\nprofile (per operation, mean; heaviest statements first):\n${profileReport(rows)}\n`);
    if (rows.some((row) => row.verdict === 'FAIL')) code = 1;
  } catch (error) {
    console.error((error as Error).stack ?? String(error));
    await cleanupEngineBench();
    code = 2;
  }
  process.exit(code);
}

