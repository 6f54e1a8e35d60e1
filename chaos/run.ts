/**
 * `npm run chaos`: dbaccess under load while processes are killed, Redis is flushed and restarted, the
 * state database is restarted and each target freezes; then the invariants, each a counted figure, PASS
 * or FAIL, and the slopes of memory and connections over the run.
 *
 * Options (environment), one code path:
 * - CHAOS_DURATION: seconds of load (default 75); CHAOS_INTERVAL: ms between requests (default 1000), or
 *   CHAOS_RATE: requests per minute (sets the interval); CHAOS_FREEZE: seconds each target is frozen (25).
 * - CHAOS_TARGETS=shared: the targets on the machine's shared servers, each behind a TCP proxy whose
 *   hold stands in for the freeze; by default the suite starts its own and freezes them with SIGSTOP.
 * - CHAOS_QUEUE=postgres: the queue on the state database (BullMQ's PostgreSQL backend) instead of Redis;
 *   the Redis faults then have nothing to act on and are left out.
 * - CHAOS_QUICK=1: the bounded form for CI (40 s of load, a request every 1.5 s, leases of 10-20 s,
 *   10 s freezes; every fault at least once; about 2 minutes in all).
 * - CHAOS_SOAK=<minutes>: load without faults for that long, then the invariants and the slopes; its
 *   default load is a request every 4 s, within Slack's rates (SOAK_INTERVAL_MS).
 * - CHAOS_WORKSPACES: how many Slack workspaces the load spreads over (20); CHAOS_TENANTS=1: each its own
 *   tenant section with its own approvers' channels (Slack's rates are per workspace and channel), for
 *   the issue's 1,000 requests a minute over 200 workspaces (CHAOS_RATE=1000 CHAOS_WORKSPACES=200).
 * Results: chaos/results/latest.json and each process's log in chaos/results/logs/ (soak.json and
 * logs-soak/ for a soak; git-ignored).
 * Exit code 1 on any violation.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { shown, waitUntil } from '../test/support/app-harness.js';
import { percentile } from '../bench/lib/stats.js';
import { makeRequest, type RequestRecord } from './load.js';
import { slackRates } from './rates.js';
import { startCpuCount } from './cpu.js';
import { startSampler } from './samples.js';
import { channelOf, startTopology, targetOf, type TargetKind, type Topology } from './topology.js';

const QUICK = process.env.CHAOS_QUICK === '1';
const SOAK_MIN = Number(process.env.CHAOS_SOAK ?? 0);
const QUEUE = process.env.CHAOS_QUEUE === 'postgres' ? 'postgres' : 'redis';
const DURATION_S = SOAK_MIN > 0 ? SOAK_MIN * 60 : Number(process.env.CHAOS_DURATION ?? (QUICK ? 40 : 75));
/**
 * A soak's load stays within Slack's rates (the fake's SLACK_RATE_LIMITS, per approvers' channel), so that
 * it measures memory and connections, not a 429 backlog: a request every 4 s, spread evenly over the 4
 * channels, is 3.75 requests a minute per channel, each a card post and a thread reply or two (at most 19
 * posts in a minute, against 60) and about 8 card updates (at most 30 in a minute, against chat.update's
 * 50), and 15 views.open a minute in all (against 100): the figures of a 10-minute soak (2026-12-07 20:03,
 * no 429 at all). The report gives the peak per bucket (`slackRates`).
 */
const SOAK_INTERVAL_MS = 4000;
const INTERVAL_MS = process.env.CHAOS_RATE
  ? 60_000 / Number(process.env.CHAOS_RATE)
  : Number(process.env.CHAOS_INTERVAL ?? (QUICK ? 1500 : SOAK_MIN > 0 ? SOAK_INTERVAL_MS : 1000));
const FAULTS = SOAK_MIN <= 0;
const WORKSPACES = Number(process.env.CHAOS_WORKSPACES ?? 20);
/** CHAOS_TENANTS=1: each workspace its own tenant section, channels and database entries (topology.ts). */
const TENANTS = process.env.CHAOS_TENANTS === '1' ? WORKSPACES : undefined;
const KILL_EVERY_MS = 10_000;
const FREEZE_S = Number(process.env.CHAOS_FREEZE ?? (QUICK ? 10 : 25));
/** How long the state database is down when it is restarted (a stop, this pause, a start). */
const STATE_DOWN_MS = 5000;
const GRACE_MS = 60_000;
const leaseSeconds = QUICK ? () => 10 + Math.floor(Math.random() * 11) : () => 20 + Math.floor(Math.random() * 21);
const NOT_STUCK = new Set(['pending', 'active', 'denied', 'expired', 'cancelled', 'failed', 'revoked', 'extended']);
const RESULTS = fileURLToPath(new URL('results/', import.meta.url));
/** A soak writes apart (soak.json, logs-soak/), so that a run of the suite beside it keeps its own. */
const RESULT_NAME = SOAK_MIN > 0 ? 'soak' : 'latest';
const LOG_DIR = `${RESULTS}logs${SOAK_MIN > 0 ? '-soak' : ''}`;

const log = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A time a part was unreachable: a target frozen (SIGSTOP, or held by its TCP proxy), or the state database restarting. */
interface Outage { what: TargetKind | 'state'; start: number; end?: number }

/** The outages that hold up work on a target: its own, and the state database's. */
const outagesFor = (outages: Outage[], kind: TargetKind) => outages.filter((o) => o.what === kind || o.what === 'state');
/** The start of the clock for a deadline that falls at `from`: moved to the end of an outage it fell in or before. */
function clockStart(outages: Outage[], from: number, until = Infinity): number {
  let start = from;
  for (const outage of [...outages].sort((a, b) => a.start - b.start)) {
    const end = outage.end ?? Infinity;
    if (outage.start < until && end > start && end < until) start = Math.max(start, end);
  }
  return start;
}

/** What the suite sees while it runs: users on both targets and request states, polled. */
function startWatch(t: Topology, state: pg.Pool) {
  const seen = new Map<string, { first: number; gone?: number; target: TargetKind }>();
  const states = new Map<string, { state: string; since: number }>();
  const overdue = new Set<string>();
  const stuck = new Set<string>();
  const outages: Outage[] = [];
  let stopped = false;
  const poll = async () => {
    const now = Date.now();
    const byTarget = await t.roles();
    const present = new Set([...byTarget.postgres, ...byTarget.mariadb]);
    for (const kind of ['postgres', 'mariadb'] as const) for (const role of byTarget[kind]) if (!seen.has(role)) seen.set(role, { first: now, target: kind });
    for (const [role, entry] of seen) if (!present.has(role) && entry.gone === undefined) entry.gone = now;
    const { rows } = await state.query<{ id: string; state: string; database_id: string; username: string | null; expires_at: Date | null }>(
      'SELECT r.id, r.state, r.database_id, l.username, l.expires_at FROM access_requests r LEFT JOIN leases l ON l.request_id = r.id');
    const ongoing = outages.some((o) => o.end === undefined);
    for (const row of rows) {
      const relevant = outagesFor(outages, targetOf(row.database_id));
      const before = states.get(row.id);
      if (!before || before.state !== row.state) states.set(row.id, { state: row.state, since: now });
      else if (!NOT_STUCK.has(row.state) && !ongoing && now - clockStart(relevant, before.since) > GRACE_MS) stuck.add(row.id);
      if (!row.username || !row.expires_at || !present.has(row.username)) continue;
      const down = relevant.some((o) => o.end === undefined);
      if (!down && now > clockStart(relevant, row.expires_at.getTime()) + GRACE_MS) overdue.add(row.username);
    }
  };
  const said = new Set<string>();
  const loop = (async () => {
    while (!stopped) {
      await poll().catch((error: unknown) => {
        // Once per kind of error (the state database restarting says the same thing for seconds).
        const message = (error as Error).message;
        if (!said.has(message)) log(`watch: ${message}`);
        said.add(message);
      });
      await sleep(500);
    }
  })();
  return { seen, states, overdue, stuck, outages, async stop() { stopped = true; await loop; } };
}

/**
 * Faults on a schedule, as fractions of the load's length: kill -9 every 10 s (web and worker in turn,
 * a random one of the kind), the Redis queue flushed at 25% and restarted at 55%, the MariaDB target
 * frozen at 15% and the PostgreSQL one at 35% (CHAOS_FREEZE seconds each: SIGSTOP of the server's
 * processes, or the TCP proxy's hold with CHAOS_TARGETS=shared), the state database restarted
 * at 70%. None in a soak.
 */
function startFaults(t: Topology, watch: ReturnType<typeof startWatch>, durationMs: number) {
  const events: string[] = [];
  const note = (what: string) => {
    events.push(`${new Date().toISOString().slice(11, 19)} ${what}`);
    log(what);
  };
  if (!FAULTS) return { events, async stop() {} };
  let stopped = false;
  const started = Date.now();
  const at = (fraction: number) => sleep(Math.max(0, started + durationMs * fraction - Date.now()));
  const kills = (async () => {
    for (let n = 0; !stopped; n += 1) {
      await sleep(KILL_EVERY_MS);
      if (stopped) break;
      const kind = n % 2 === 0 ? 'worker' : 'web';
      const candidates = t.slots.filter((slot) => slot.mode === kind);
      const slot = candidates[Math.floor(Math.random() * candidates.length)]!;
      const restartMs = await t.killAndRestart(slot).catch((error: unknown) => { note(`restart of ${slot.name} failed: ${(error as Error).message.slice(0, 300)}`); return -1; });
      note(`kill -9 ${slot.name}; up again in ${restartMs} ms`);
    }
  })();
  const redis = (async () => {
    if (!t.redis) return;
    await at(0.25);
    await t.redis.flush();
    note('Redis flushed (FLUSHALL)');
    await at(0.55);
    await t.redis.restart();
    note('Redis restarted (its data gone)');
  })();
  const freeze = (kind: TargetKind, fraction: number) => (async () => {
    await at(fraction);
    const outage: Outage = { what: kind, start: Date.now() };
    watch.outages.push(outage);
    try {
      note(`${kind} target frozen for ${FREEZE_S} s: ${await t.targets[kind].freeze()}`);
      await sleep(Math.max(0, outage.start + FREEZE_S * 1000 - Date.now()));
    } finally {
      // thaw() sends SIGCONT before its first await, then waits for the held probe query's answer.
      const thawed = t.targets[kind].thaw();
      outage.end = Date.now();
      note(`${kind} target reachable again: ${await thawed}`);
    }
  })();
  const stateRestart = (async () => {
    await at(0.7);
    const outage: Outage = { what: 'state', start: Date.now() };
    watch.outages.push(outage);
    note(`state database stopped (down ${STATE_DOWN_MS} ms)`);
    await t.state.restart(STATE_DOWN_MS);
    outage.end = Date.now();
    note('state database started again');
  })();
  const freezes = [freeze('mariadb', 0.15), freeze('postgres', 0.35)];
  return { events, async stop() { stopped = true; await Promise.all([kills, redis, ...freezes, stateRestart]); } };
}

async function main(): Promise<number> {
  const begun = Date.now();
  const mode = SOAK_MIN > 0 ? `soak of ${SOAK_MIN} min, no faults` : QUICK ? 'quick form' : 'full form';
  log(`starting (${mode}): 3 web + 3 worker processes, queue on ${QUEUE}, ${WORKSPACES} workspaces${TENANTS ? ' (a tenant section each)' : ''}, a request every ${Math.round(INTERVAL_MS)} ms for ${DURATION_S} s`);
  rmSync(LOG_DIR, { recursive: true, force: true });
  const t = await startTopology({ web: 3, workers: 3, queue: QUEUE, targets: process.env.CHAOS_TARGETS === 'shared' ? 'shared' : 'own', logDir: LOG_DIR, tenants: TENANTS });
  log(`targets: ${t.targets.postgres.server}; ${t.targets.mariadb.server}`);
  // Ctrl-C stops what the suite started (its processes, Redis, state cluster, target databases) first.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void t.stop().finally(() => process.exit(130)));
  const state = new pg.Pool({ connectionString: t.state.url, max: 3 });
  // The suite's own connections are cut when the state database restarts: the pool opens new ones.
  state.on('error', () => undefined);
  const loadAverage = os.loadavg().map((value) => value.toFixed(2)).join(' ');
  log(`up in ${Date.now() - begun} ms; load average ${loadAverage}`);
  let exitCode = 1;
  try {
    const watch = startWatch(t, state);
    const sampler = startSampler(() => t.slots.map((slot) => ({ name: slot.name, mode: slot.mode, pid: slot.process.child.pid ?? -1, startedAt: slot.startedAt })), state, t.state.port);
    const faults = startFaults(t, watch, DURATION_S * 1000);
    const flows: Promise<RequestRecord>[] = [];
    const loadStarts = Date.now();
    const cpuCount = startCpuCount(() => t.slots.map((slot) => ({ pid: slot.process.child.pid ?? -1, mode: slot.mode })));
    const loadEnds = loadStarts + DURATION_S * 1000;
    // The n-th request at its own time (a busy event loop lengthens each sleep: the rate would drift).
    for (let n = 0; Date.now() < loadEnds; n += 1) {
      flows.push(makeRequest(t, n, WORKSPACES, leaseSeconds));
      await sleep(loadStarts + (n + 1) * INTERVAL_MS - Date.now());
    }
    const offeredPerMin = Math.round((flows.length * 60_000) / (Date.now() - loadStarts));
    const cpu = cpuCount.stop();
    log(`CPU while the load ran (${cpu.seconds} s): ${cpu.busyCores} of ${cpu.cores} cores busy; cores used by the suite's own process ${cpu.byKind.suite}, web ${cpu.byKind.web}, workers ${cpu.byKind.worker}, the suite's servers ${cpu.byKind.servers}, the rest of the machine ${cpu.byKind.other}`);
    await faults.stop();
    await t.thawAll();
    const records = await Promise.all(flows);
    log(`load done: ${records.length} requests (${offeredPerMin} a minute started, ${Math.round(60_000 / INTERVAL_MS)} asked); draining`);
    // Every lease runs out or is ended; wait for every one to be revoked and every user gone.
    await waitUntil(async () => {
      const { rows } = await state.query<{ n: number }>('SELECT count(*)::int AS n FROM leases WHERE revoked_at IS NULL').catch(() => ({ rows: [{ n: -1 }] }));
      const roles = await t.roles();
      return rows[0]!.n === 0 && roles.postgres.length + roles.mariadb.length === 0;
    }, 180_000, 'every lease revoked').catch((error: unknown) => log((error as Error).message));
    // A 429 is retried after its Retry-After and the job's backoff (up to 30 s, more with a backlog
    // behind a restart): the check waits for the retries still due, up to 2 minutes, before counting.
    await waitUntil(() => droppedLimits(t.slack.calls).length === 0, 120_000, 'every Slack 429 retried').catch((error: unknown) => log((error as Error).message));
    await sleep(3000);
    await Promise.all([watch.stop(), sampler.stop()]);
    const figures = { ...(await check(t, state, watch, records)), samples: sampler.report() };
    const failed = figures.invariants.filter((row) => !row.pass);
    printReport(figures, faults.events, loadAverage);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(`${RESULTS}${RESULT_NAME}.json`, JSON.stringify({
      at: new Date().toISOString(), machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB`, loadAverageAtStart: loadAverage,
      loadAverageAtEnd: os.loadavg().map((value) => value.toFixed(2)).join(' '),
      mode, queue: QUEUE, durationS: DURATION_S, intervalMs: INTERVAL_MS, cpu, ...figures, faults: faults.events, exits: t.exits, failedStarts: t.failedStarts,
    }, null, 2));
    exitCode = failed.length === 0 ? 0 : 1;
  } finally {
    await state.end();
    await t.stop();
  }
  log(`done in ${Math.round((Date.now() - begun) / 1000)} s`);
  return exitCode;
}

/**
 * Every 429 retried: a later call to the same method and channel answered 200, after the Retry-After.
 * A post is retried with the same text; an update of the same message may carry a newer state (the card
 * job renders the request as it is when it runs again), which is the point of updating it.
 */
function droppedLimits(calls: Topology['slack']['calls']) {
  return calls.filter((c) => c.status === 429 && !calls.some((later) => later.at >= c.at + 1000 && later.status === 200 && later.method === c.method
    && later.args.channel === c.args.channel && (c.method === 'chat.update' ? later.args.ts === c.args.ts : later.args.text === c.args.text)));
}

interface Invariant { name: string; value: number; pass: boolean; detail?: string }

async function check(t: Topology, state: pg.Pool, watch: ReturnType<typeof startWatch>, records: RequestRecord[]) {
  const q = async <T extends pg.QueryResultRow>(sql: string) => (await state.query<T>(sql)).rows;
  const leases = await q<{ request_id: string; database_id: string; username: string; expires_at: Date; revoked_at: Date | null }>('SELECT request_id, database_id, username, expires_at, revoked_at FROM leases');
  const requests = await q<{ id: string; state: string; failure: string | null; database_id: string; card: boolean }>('SELECT id, state, failure, database_id, card_ref IS NOT NULL AS card FROM access_requests');
  const early = new Set(records.filter((r) => r.endedEarly).map((r) => r.requestId));

  // Revocation lag: expiry (or the return of its target or of the state database, for one that fell in
  // an outage) -> the user gone from the target, per target.
  const lagsOf: Record<TargetKind, number[]> = { postgres: [], mariadb: [] };
  for (const lease of leases) {
    const gone = watch.seen.get(lease.username)?.gone;
    if (!gone || early.has(lease.request_id)) continue;
    const kind = targetOf(lease.database_id);
    lagsOf[kind].push(gone - clockStart(outagesFor(watch.outages, kind), lease.expires_at.getTime(), gone));
  }
  const lagFigures = (lags: number[]) => {
    lags.sort((a, b) => a - b);
    return { n: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? 0 };
  };

  const cards = new Map<string, number>();
  const dms = new Map<string, number>();
  const ids = new Set(requests.map((r) => r.id));
  // A card is a message posted with the card's metadata (what the product looks for again); other
  // top-level messages that name a request (an alarm, a thread reply posted before the card was known)
  // are counted apart.
  const strays = new Map<string, number>();
  for (const id of t.databaseIds) for (const m of t.slack.messagesIn(channelOf(id))) {
    if (m.threadTs) continue;
    const card = m.metadata?.event_type === 'dbaccess_approval_card' ? String(m.metadata.event_payload.request_id) : undefined;
    const named = /R[0-9A-Z]{9}/.exec(shown({ text: m.history[0]!.text, blocks: m.history[0]!.blocks }))?.[0];
    if (card) cards.set(card, (cards.get(card) ?? 0) + 1);
    else if (named) strays.set(named, (strays.get(named) ?? 0) + 1);
  }
  for (const call of t.slack.callsTo('chat.postMessage')) {
    const text = String(call.args.text ?? '');
    const id = /is ready until.*Request (R[0-9A-Z]{9})/.exec(text)?.[1];
    if (id && call.status === 200) dms.set(id, (dms.get(id) ?? 0) + 1);
  }

  const calls = t.slack.calls;
  const leaseUsers = new Set(leases.map((l) => l.username));
  const strangers = [...watch.seen.keys()].filter((role) => !leaseUsers.has(role));
  const perRequest = new Map<string, number>();
  for (const l of leases) perRequest.set(l.request_id, (perRequest.get(l.request_id) ?? 0) + 1);

  // Lost decisions: a click answered 200, and the request not at one outcome: approved once, then
  // revoked once, or failed with its reason (the approved time ran out while the target or the state
  // database was away: the requester is told) and its lease closed once. A request no click could
  // approve (the state database down at that moment) is not lost when every click was answered on its
  // response_url (the approver told it did not work).
  const clicked = records.filter((r) => r.requestId && r.clicks.includes(200));
  const answered = new Set(calls.filter((c) => c.method === 'response_url').map((c) => c.responseUrlId));
  const approvals = new Map((await q<{ subject: string; n: number }>("SELECT subject, count(*)::int AS n FROM audit_events WHERE action = 'request.approved' GROUP BY subject")).map((r) => [r.subject, r.n]));
  const revocations = new Map((await q<{ subject: string; n: number }>("SELECT subject, count(*)::int AS n FROM audit_events WHERE action = 'lease.revoked' GROUP BY subject")).map((r) => [r.subject, r.n]));
  const leaseIds = new Map((await q<{ id: string; request_id: string }>('SELECT id, request_id FROM leases')).map((r) => [r.request_id, r.id]));
  const finalState = new Map(requests.map((r) => [r.id, r.state]));
  const failure = new Map(requests.map((r) => [r.id, r.failure]));
  const lost = clicked.filter((r) => {
    const id = r.requestId!;
    const approved = approvals.get(`request:${id}`) ?? 0;
    const leaseId = leaseIds.get(id);
    if (approved === 0 && r.clicks.every((status, i) => status !== 200 || answered.has(`${r.tag}-click-${i}`))) return false;
    const outcome = finalState.get(id) === 'revoked' || (finalState.get(id) === 'failed' && Boolean(failure.get(id)));
    return !outcome || approved !== 1 || !leaseId || revocations.get(`lease:${leaseId}`) !== 1;
  });
  const failedLate = clicked.filter((r) => finalState.get(r.requestId!) === 'failed').length;
  const unapproved = clicked.filter((r) => !approvals.get(`request:${r.requestId!}`)).length;

  const limited = calls.filter((c) => c.status === 429);
  const dropped = droppedLimits(calls);

  const left = await t.roles();
  const orphans = [...left.postgres.map((u) => `pg:${u}`), ...left.mariadb.map((u) => `maria:${u}`)];
  // What happened to each request that failed a check: its state, failure and audit trail.
  const trail = async (id: string) => {
    const leaseId = leaseIds.get(id);
    const { rows } = await state.query<{ at: Date; action: string; outcome: string; details: unknown }>(
      'SELECT created_at AS at, action, outcome, details FROM audit_events WHERE subject = ANY($1) ORDER BY id', [[`request:${id}`, ...(leaseId ? [`lease:${leaseId}`] : [])]]).catch(() => ({ rows: [] }));
    const row = requests.find((r) => r.id === id);
    return { id, state: row?.state, database: row?.database_id, failure: row?.failure, audit: rows.map((r) => `${r.at.toISOString().slice(11, 23)} ${r.action} ${r.outcome} ${JSON.stringify(r.details).slice(0, 160)}`) };
  };
  const cardless = [...ids].filter((id) => !cards.has(id));
  const diagnostics = {
    lost: await Promise.all(lost.slice(0, 10).map((r) => trail(r.requestId!))),
    cardless: await Promise.all(cardless.slice(0, 10).map(trail)),
    stuck: await Promise.all([...watch.stuck].slice(0, 10).map(trail)),
  };
  const audit = await auditVerify(t);
  const clicks = records.flatMap((r) => r.clicks);
  const invariants: Invariant[] = [
    { name: 'credentials past expiry + 60 s (target reachable)', value: watch.overdue.size, pass: watch.overdue.size === 0, detail: [...watch.overdue].slice(0, 5).join(' ') },
    { name: 'lease rows left unrevoked after the drain', value: leases.filter((l) => !l.revoked_at).length, pass: leases.every((l) => l.revoked_at) },
    { name: 'duplicate approval cards', value: [...cards.values()].filter((n) => n > 1).length, pass: [...cards.values()].every((n) => n === 1), detail: [...cards].filter(([, n]) => n > 1).slice(0, 5).map(([id, n]) => `${id}x${n}`).join(' ') },
    { name: 'requests whose card never came', value: cardless.length, pass: cardless.length === 0, detail: cardless.slice(0, 5).join(' ') },
    { name: 'duplicate credential DMs', value: [...dms.values()].filter((n) => n > 1).length, pass: [...dms.values()].every((n) => n === 1) },
    { name: 'duplicate users (2 leases for a request, or a role with no lease)', value: strangers.length + [...perRequest.values()].filter((n) => n > 1).length, pass: strangers.length === 0 && [...perRequest.values()].every((n) => n === 1), detail: strangers.slice(0, 5).join(' ') },
    { name: 'lost decisions (clicked, not exactly one approval, lease, revocation)', value: lost.length, pass: lost.length === 0, detail: lost.slice(0, 5).map((r) => `${r.requestId}:${finalState.get(r.requestId!)}`).join(' ') },
    { name: 'requests stuck in a passing state > 60 s', value: watch.stuck.size, pass: watch.stuck.size === 0, detail: [...watch.stuck].slice(0, 5).map((id) => `${id}:${watch.states.get(id)?.state}`).join(' ') },
    { name: 'orphan users on the targets after the run (PostgreSQL and MariaDB)', value: orphans.length, pass: orphans.length === 0, detail: orphans.slice(0, 5).join(' ') },
    { name: 'Slack 429s not retried', value: dropped.length, pass: dropped.length === 0, detail: dropped.slice(0, 3).map((c) => `${c.method} ${String(c.args.channel)}`).join(' ') },
    { name: 'processes that exited on their own (restarted by the suite)', value: t.exits.length, pass: t.exits.length === 0, detail: t.exits.slice(0, 3).join(' | ') },
    { name: 'audit chains broken', value: audit.broken, pass: audit.broken === 0 && audit.code === 0, detail: audit.output.split('\n').filter((l) => !/intact/.test(l)).slice(0, 3).join(' | ') },
  ];
  return {
    requests: { started: records.length, inState: requests.length, flowProblems: records.filter((r) => r.problem).length, endedEarly: early.size, problems: [...new Set(records.map((r) => r.problem).filter(Boolean))].slice(0, 5) },
    clicks: { total: clicks.length, answered200: clicks.filter((s) => s === 200).length, notAnswered: clicks.filter((s) => s !== 200).length },
    /** Clicked requests that were approved and then failed (time ran out during an outage), or that no click could approve (every approver told). */
    outcomes: { approvedThenFailed: failedLate, noClickRecorded: unapproved },
    revocationLagMs: { postgres: lagFigures(lagsOf.postgres), mariadb: lagFigures(lagsOf.mariadb) },
    slack: { calls: calls.length, rateLimited429: limited.length, retriedAfter429: limited.length - dropped.length, otherTopLevelAboutARequest: [...strays.values()].reduce((a, b) => a + b, 0), busiestBuckets: slackRates(calls, 8, TENANTS ?? 1) },
    restarts: t.slots.reduce((sum, slot) => sum + slot.restarts, 0),
    failedStarts: t.failedStarts.length,
    audit: audit.output.trim().split('\n').length,
    invariants,
    diagnostics,
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

function printReport(figures: Awaited<ReturnType<typeof check>> & { samples: ReturnType<ReturnType<typeof startSampler>['report']> }, events: string[], loadAverage: string): void {
  const { requests, clicks, revocationLagMs: lag, slack } = figures;
  console.log(`\nrequests ${requests.started} (${requests.inState} in the state database, ${requests.flowProblems} flows cut short, ${requests.endedEarly} ended early); clicks ${clicks.total} (${clicks.answered200} answered 200, ${clicks.notAnswered} not)`);
  if (requests.problems.length) console.log(`flows cut short by: ${requests.problems.join(' | ')}`);
  console.log(`clicked requests approved then failed (time ran out in an outage): ${figures.outcomes.approvedThenFailed}; with no click recorded (every approver answered): ${figures.outcomes.noClickRecorded}; starts that failed and were retried: ${figures.failedStarts}`);
  for (const kind of ['postgres', 'mariadb'] as const) {
    console.log(`revocation lag on ${kind} after expiry (or the return of the target or state database): n=${lag[kind].n} p50 ${lag[kind].p50} ms, p99 ${lag[kind].p99} ms, max ${lag[kind].max} ms`);
  }
  const { memory, connections, applications, samples } = figures.samples;
  console.log(`samples: ${samples} (every 5 s); RSS slope per process after its first minute (median [min, max] MB/min, instances; mean RSS at the end):`);
  for (const [kind, m] of Object.entries(memory)) console.log(`  ${kind}: ${m.mbPerMinMedian} [${m.mbPerMinMin}, ${m.mbPerMinMax}] MB/min over ${m.instances} processes; ${m.rssMbLastMean} MB`);
  console.log('state database connections (pg_stat_activity), slope per min, first -> last (max):');
  for (const [kind, c] of Object.entries(connections)) console.log(`  ${kind} processes: ${c.perMin}/min, ${c.first} -> ${c.last} (${c.max})`);
  for (const [name, c] of Object.entries(applications)) console.log(`  application_name ${name}: ${c.perMin}/min, ${c.first} -> ${c.last} (${c.max})`);
  for (const [what, list] of Object.entries(figures.diagnostics)) for (const d of list) console.log(`${what} ${d.id} (${d.database}, ${d.state}${d.failure ? `: ${d.failure}` : ''}):\n    ${d.audit.join('\n    ')}`);
  console.log(`Slack calls ${slack.calls}, 429s ${slack.rateLimited429}, retried ${slack.retriedAfter429}, top-level messages naming a request that are not its card ${slack.otherTopLevelAboutARequest}; process restarts ${figures.restarts}; load average at start ${loadAverage}`);
  console.log(`Slack's busiest rate buckets (most calls in any 60 s, 429s included, against the rate a minute): ${slack.busiestBuckets.map((b) => `${b.method} ${b.bucket} ${b.peakPerMin}/${b.limitPerMin} (${b.limited429} 429s)`).join('; ')}`);
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
