/**
 * `npm run chaos`: dbaccess under load while processes are killed, Redis is flushed and restarted and
 * the target freezes; then the invariants, each a counted figure, PASS or FAIL. CHAOS_DURATION is the
 * length of the load in seconds (default 75); the lease runs out and the checks follow.
 * Results: chaos/results/latest.json (git-ignored). Exit code 1 on any violation.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { shown, waitUntil } from '../test/support/app-harness.js';
import { targetRoles } from '../test/support/databases.js';
import { percentile } from '../bench/lib/stats.js';
import { makeRequest, type RequestRecord } from './load.js';
import { DATABASES, channelOf, startTopology, type Topology } from './topology.js';

const DURATION_S = Number(process.env.CHAOS_DURATION ?? 75);
const INTERVAL_MS = Number(process.env.CHAOS_INTERVAL ?? 1000);
const WORKSPACES = 20;
const KILL_EVERY_MS = 10_000;
const FREEZE_S = Number(process.env.CHAOS_FREEZE ?? 25);
const GRACE_MS = 60_000;
const leaseSeconds = () => 20 + Math.floor(Math.random() * 21);
const NOT_STUCK = new Set(['pending', 'active', 'denied', 'expired', 'cancelled', 'failed', 'revoked', 'extended']);

const log = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the suite sees while it runs: roles on the target and request states, polled. */
function startWatch(t: Topology, state: pg.Pool) {
  const seen = new Map<string, { first: number; gone?: number }>();
  const states = new Map<string, { state: string; since: number }>();
  const overdue = new Set<string>();
  const stuck = new Set<string>();
  /** The target is reachable from this time on (moved by a freeze). */
  const target = { reachableSince: 0, frozen: false };
  let stopped = false;
  const poll = async () => {
    const now = Date.now();
    const roles = new Set(await targetRoles(t.prefix));
    for (const role of roles) if (!seen.has(role)) seen.set(role, { first: now });
    for (const [role, entry] of seen) if (!roles.has(role) && entry.gone === undefined) entry.gone = now;
    const { rows } = await state.query<{ id: string; state: string; username: string | null; expires_at: Date | null }>(
      'SELECT r.id, r.state, l.username, l.expires_at FROM access_requests r LEFT JOIN leases l ON l.request_id = r.id');
    for (const row of rows) {
      const before = states.get(row.id);
      if (!before || before.state !== row.state) states.set(row.id, { state: row.state, since: now });
      else if (!NOT_STUCK.has(row.state) && !target.frozen && now - before.since > GRACE_MS) stuck.add(row.id);
      const deadline = row.expires_at && Math.max(row.expires_at.getTime(), target.reachableSince) + GRACE_MS;
      if (row.username && roles.has(row.username) && deadline && !target.frozen && now > deadline) overdue.add(row.username);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll().catch((error: unknown) => log(`watch: ${(error as Error).message}`));
      await sleep(500);
    }
  })();
  return { seen, states, overdue, stuck, target, async stop() { stopped = true; await loop; } };
}

/** Faults on a schedule: kill -9 every 10 s, Redis flushed then restarted, the target frozen once. */
function startFaults(t: Topology, watch: ReturnType<typeof startWatch>, durationMs: number) {
  const events: string[] = [];
  const note = (what: string) => {
    events.push(`${new Date().toISOString().slice(11, 19)} ${what}`);
    log(what);
  };
  let stopped = false;
  const started = Date.now();
  const at = (fraction: number) => sleep(Math.max(0, started + durationMs * fraction - Date.now()));
  const kills = (async () => {
    while (!stopped) {
      await sleep(KILL_EVERY_MS);
      if (stopped) break;
      const slot = t.slots[Math.floor(Math.random() * t.slots.length)]!;
      const restartMs = await t.killAndRestart(slot).catch((error: unknown) => { note(`restart of ${slot.name} failed: ${(error as Error).message}`); return -1; });
      note(`kill -9 ${slot.name}; up again in ${restartMs} ms`);
    }
  })();
  const redis = (async () => {
    await at(0.25);
    await t.redis.flush();
    note('Redis flushed (FLUSHALL)');
    await at(0.55);
    await t.redis.restart();
    note('Redis restarted (its data gone)');
  })();
  const freeze = (async () => {
    await at(0.35);
    watch.target.frozen = true;
    t.targetProxy.hold();
    note(`target frozen for ${FREEZE_S} s`);
    await sleep(FREEZE_S * 1000);
    t.targetProxy.release();
    watch.target.frozen = false;
    watch.target.reachableSince = Date.now();
    note('target reachable again');
  })();
  return { events, async stop() { stopped = true; await Promise.all([kills, redis, freeze]); } };
}

async function main(): Promise<number> {
  const begun = Date.now();
  log(`starting: 3 web + 3 worker processes, ${WORKSPACES} workspaces, a request every ${INTERVAL_MS} ms for ${DURATION_S} s`);
  const t = await startTopology({ web: 3, workers: 3 });
  const state = new pg.Pool({ connectionString: t.state.url, max: 3 });
  const loadAverage = os.loadavg().map((value) => value.toFixed(2)).join(' ');
  log(`up in ${Date.now() - begun} ms; load average ${loadAverage}`);
  let exitCode = 1;
  try {
    const watch = startWatch(t, state);
    const faults = startFaults(t, watch, DURATION_S * 1000);
    const flows: Promise<RequestRecord>[] = [];
    const loadEnds = Date.now() + DURATION_S * 1000;
    for (let n = 0; Date.now() < loadEnds; n += 1) {
      flows.push(makeRequest(t, state, n, WORKSPACES, leaseSeconds));
      await sleep(INTERVAL_MS);
    }
    await faults.stop();
    const records = await Promise.all(flows);
    log(`load done: ${records.length} requests; draining`);
    // Every lease runs out or is ended; wait for every one to be revoked and every role gone.
    await waitUntil(async () => {
      const { rows } = await state.query<{ n: number }>("SELECT count(*)::int AS n FROM leases WHERE revoked_at IS NULL");
      return rows[0]!.n === 0 && (await targetRoles(t.prefix)).length === 0;
    }, 180_000, 'every lease revoked').catch((error: unknown) => log((error as Error).message));
    await sleep(3000);
    await watch.stop();
    const figures = await check(t, state, watch, records);
    const failed = figures.invariants.filter((row) => !row.pass);
    printReport(figures, faults.events, loadAverage);
    mkdirSync(new URL('results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('results/latest.json', import.meta.url), JSON.stringify({
      at: new Date().toISOString(), machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB`, loadAverageAtStart: loadAverage,
      durationS: DURATION_S, intervalMs: INTERVAL_MS, ...figures, faults: faults.events,
    }, null, 2));
    exitCode = failed.length === 0 ? 0 : 1;
  } finally {
    await state.end();
    await t.stop();
  }
  return exitCode;
}

interface Invariant { name: string; value: number; pass: boolean; detail?: string }

async function check(t: Topology, state: pg.Pool, watch: ReturnType<typeof startWatch>, records: RequestRecord[]) {
  const q = async <T extends pg.QueryResultRow>(sql: string) => (await state.query<T>(sql)).rows;
  const leases = await q<{ request_id: string; username: string; expires_at: Date; revoked_at: Date | null }>('SELECT request_id, username, expires_at, revoked_at FROM leases');
  const requests = await q<{ id: string; state: string }>('SELECT id, state FROM access_requests');
  const early = new Set(records.filter((r) => r.endedEarly).map((r) => r.requestId));

  // Revocation lag: expiry (or the target's return, for one that fell in the freeze) -> role gone from pg_roles.
  const lags: number[] = [];
  for (const lease of leases) {
    const gone = watch.seen.get(lease.username)?.gone;
    if (!gone || early.has(lease.request_id)) continue;
    const from = lease.expires_at.getTime();
    lags.push(gone - (watch.target.reachableSince > from && gone > watch.target.reachableSince ? Math.max(from, watch.target.reachableSince) : from));
  }
  lags.sort((a, b) => a - b);

  const cards = new Map<string, number>();
  const dms = new Map<string, number>();
  const ids = new Set(requests.map((r) => r.id));
  for (const id of DATABASES) for (const m of t.slack.messagesIn(channelOf(id))) {
    if (m.threadTs) continue;
    const id = /R[0-9A-Z]{9}/.exec(shown({ text: m.history[0]!.text, blocks: m.history[0]!.blocks }))?.[0];
    if (id) cards.set(id, (cards.get(id) ?? 0) + 1);
  }
  for (const call of t.slack.callsTo('chat.postMessage')) {
    const text = String(call.args.text ?? '');
    const id = /is ready until.*Request (R[0-9A-Z]{9})/.exec(text)?.[1];
    if (id && call.status === 200) dms.set(id, (dms.get(id) ?? 0) + 1);
  }

  const leaseUsers = new Set(leases.map((l) => l.username));
  const strangers = [...watch.seen.keys()].filter((role) => !leaseUsers.has(role));
  const perRequest = new Map<string, number>();
  for (const l of leases) perRequest.set(l.request_id, (perRequest.get(l.request_id) ?? 0) + 1);

  // Lost decisions: a click answered 200, and the request not at one outcome (approved once, revoked once).
  const clicked = records.filter((r) => r.requestId && r.clicks.includes(200));
  const approvals = new Map((await q<{ subject: string; n: number }>("SELECT subject, count(*)::int AS n FROM audit_events WHERE action = 'request.approved' GROUP BY subject")).map((r) => [r.subject, r.n]));
  const revocations = new Map((await q<{ subject: string; n: number }>("SELECT subject, count(*)::int AS n FROM audit_events WHERE action = 'lease.revoked' GROUP BY subject")).map((r) => [r.subject, r.n]));
  const leaseIds = new Map((await q<{ id: string; request_id: string }>('SELECT id, request_id FROM leases')).map((r) => [r.request_id, r.id]));
  const finalState = new Map(requests.map((r) => [r.id, r.state]));
  const lost = clicked.filter((r) => {
    const id = r.requestId!;
    const approved = approvals.get(`request:${id}`) ?? 0;
    const leaseId = leaseIds.get(id);
    return finalState.get(id) !== 'revoked' || approved !== 1 || !leaseId || revocations.get(`lease:${leaseId}`) !== 1;
  });

  // Every 429 retried: a later call to the same method and channel answered 200, after the Retry-After.
  // A post is retried with the same text; an update of the same message may carry a newer state (the card
  // job renders the request as it is when it runs again), which is the point of updating it.
  const calls = t.slack.calls;
  const limited = calls.filter((c) => c.status === 429);
  const dropped = limited.filter((c) => !calls.some((later) => later.at >= c.at + 1000 && later.status === 200 && later.method === c.method
    && later.args.channel === c.args.channel && (c.method === 'chat.update' ? later.args.ts === c.args.ts : later.args.text === c.args.text)));

  const orphans = await targetRoles(t.prefix);
  const audit = await auditVerify(t);
  const clicks = records.flatMap((r) => r.clicks);
  const invariants: Invariant[] = [
    { name: 'credentials past expiry + 60 s (target reachable)', value: watch.overdue.size, pass: watch.overdue.size === 0, detail: [...watch.overdue].slice(0, 5).join(' ') },
    { name: 'lease rows left unrevoked after the drain', value: leases.filter((l) => !l.revoked_at).length, pass: leases.every((l) => l.revoked_at) },
    { name: 'duplicate approval cards', value: [...cards.values()].filter((n) => n > 1).length, pass: [...cards.values()].every((n) => n === 1), detail: [...cards].filter(([, n]) => n > 1).slice(0, 5).map(([id, n]) => `${id}x${n}`).join(' ') },
    { name: 'requests whose card never came', value: [...ids].filter((id) => !cards.has(id)).length, pass: [...ids].every((id) => cards.has(id)) },
    { name: 'duplicate credential DMs', value: [...dms.values()].filter((n) => n > 1).length, pass: [...dms.values()].every((n) => n === 1) },
    { name: 'duplicate users (2 leases for a request, or a role with no lease)', value: strangers.length + [...perRequest.values()].filter((n) => n > 1).length, pass: strangers.length === 0 && [...perRequest.values()].every((n) => n === 1), detail: strangers.slice(0, 5).join(' ') },
    { name: 'lost decisions (clicked, not exactly one approval, lease, revocation)', value: lost.length, pass: lost.length === 0, detail: lost.slice(0, 5).map((r) => `${r.requestId}:${finalState.get(r.requestId!)}`).join(' ') },
    { name: 'requests stuck in a passing state > 60 s', value: watch.stuck.size, pass: watch.stuck.size === 0, detail: [...watch.stuck].slice(0, 5).map((id) => `${id}:${watch.states.get(id)?.state}`).join(' ') },
    { name: 'orphan users on the target after the run', value: orphans.length, pass: orphans.length === 0, detail: orphans.slice(0, 5).join(' ') },
    { name: 'Slack 429s not retried', value: dropped.length, pass: dropped.length === 0, detail: dropped.slice(0, 3).map((c) => `${c.method} ${String(c.args.channel)}`).join(' ') },
    { name: 'audit chains broken', value: audit.broken, pass: audit.broken === 0 && audit.code === 0, detail: audit.output.split('\n').filter((l) => !/intact/.test(l)).slice(0, 3).join(' | ') },
  ];
  return {
    requests: { started: records.length, inState: requests.length, flowProblems: records.filter((r) => r.problem).length, endedEarly: early.size, problems: [...new Set(records.map((r) => r.problem).filter(Boolean))].slice(0, 5) },
    clicks: { total: clicks.length, answered200: clicks.filter((s) => s === 200).length, notAnswered: clicks.filter((s) => s !== 200).length },
    revocationLagMs: { n: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? 0 },
    slack: { calls: calls.length, rateLimited429: limited.length, retriedAfter429: limited.length - dropped.length },
    restarts: t.slots.reduce((sum, slot) => sum + slot.restarts, 0),
    audit: audit.output.trim().split('\n').length,
    invariants,
  };
}

/** `npm run audit:verify` against the suite's state database: every tenant's chain and checkpoints. */
function auditVerify(t: Topology): Promise<{ code: number | null; broken: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/audit-verify.ts'], { env: { ...t.env, PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, broken: (output.match(/BROKEN/g) ?? []).length, output }));
  });
}

function printReport(figures: Awaited<ReturnType<typeof check>>, events: string[], loadAverage: string): void {
  const { requests, clicks, revocationLagMs: lag, slack } = figures;
  console.log(`\nrequests ${requests.started} (${requests.inState} in the state database, ${requests.flowProblems} flows cut short, ${requests.endedEarly} ended early); clicks ${clicks.total} (${clicks.answered200} answered 200, ${clicks.notAnswered} not)`);
  if (requests.problems.length) console.log(`flows cut short by: ${requests.problems.join(' | ')}`);
  console.log(`revocation lag after expiry (or the target's return): n=${lag.n} p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms`);
  console.log(`Slack calls ${slack.calls}, 429s ${slack.rateLimited429}, retried ${slack.retriedAfter429}; process restarts ${figures.restarts}; load average at start ${loadAverage}`);
  console.log(`faults:\n  ${events.join('\n  ')}\n`);
  console.log('| invariant | count | result |\n|---|---|---|');
  for (const row of figures.invariants) console.log(`| ${row.name} | ${row.value} | ${row.pass ? 'PASS' : `FAIL ${row.detail ?? ''}`} |`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
