import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Watchdog, connect, diagnoseStatePool, sleep, startBenchHarness } from '../lib/bench-harness.js';
import { createLeaseLoader } from '../lib/lease-loader.js';
import { ActivitySampler, describeProfile } from '../lib/sampler.js';
import { summarize, type ResultRow } from '../lib/stats.js';

export interface MassExpiryOptions {
  n: number;
  /** Spread over this many target databases (one database holds about 2,400 read-all roles at most: see acl-limit.ts). */
  databases: number;
  /** How many of the n leases go through the real lease service (`provision`), one at a time. */
  realPath: number;
  /** Give up this long after the common expiry. */
  deadlineMs: number;
  /** What-if: raise the app's state pool `max` at run time (see burst.ts). */
  statePoolMax?: number;
  /** Revocations done by this many `RUN_MODE=worker` processes rather than by the app in the bench's own process. */
  workerProcesses?: number;
  /**
   * The share of the leases with a session open at the expiry (issue 22 asks for 10%), as many as the
   * target cluster's max_connections leaves room for (the shortfall is said in the notes).
   */
  sessionShare?: number;
}

/** Connections of the target cluster left to the app's admin pools and everyone else while sessions are open. */
const CONNECTION_MARGIN = 90;

/**
 * 5. n leases expiring at the same instant T. Setup (not measured): roles and lease rows in bulk, plus
 * `realPath` leases through the real lease service, every lease with its delayed `revoke` job on the
 * app's queue. Measured: the app's own revocation (delayed jobs, the sweep at its default 15 s, the
 * PostgreSQL provider) from T until no role with the prefix is left on the target and every lease row
 * has `revoked_at`. (The tests' 1 s sweep would re-offer up to 1,000 queued leases every second.)
 */
export async function massExpiryScenario(queue: 'redis' | 'postgres', { n, databases, realPath, deadlineMs, statePoolMax, workerProcesses, sessionShare = 0.1 }: MassExpiryOptions): Promise<ResultRow[]> {
  const b = await startBenchHarness(queue, { extraTargets: databases - 1, workerProcesses, env: { SWEEP_INTERVAL: '15s' } });
  const label = statePoolMax
    ? `5 ${n} expiries (what-if: state pool max ${statePoolMax})`
    : `5 ${n} simultaneous expiries${workerProcesses ? ` (${workerProcesses} worker process${workerProcesses > 1 ? 'es' : ''})` : ''}`;
  let stalled = false;
  try {
    if (statePoolMax) b.h.app.pool.options.max = statePoolMax;
    const loader = await createLeaseLoader(b);
    const setupStarted = Date.now();
    const share = (i: number) => Math.floor((n - realPath) / databases) + (i < (n - realPath) % databases ? 1 : 0);
    const usernames: string[][] = [];
    const password = randomBytes(18).toString('base64url');
    for (const [i, target] of b.targets.entries()) usernames.push(await loader.createRolesInBulk(share(i), target, password));
    const rolesMs = Date.now() - setupStarted;
    // Sessions held open as the leases' users, spread over the databases (the provider kills them at the revocation).
    const sessions: pg.Client[] = [];
    const probe = await connect(b.h.target.adminUrl);
    const room = await probe.query<{ max: number; used: number }>("SELECT current_setting('max_connections')::int AS max, (SELECT count(*)::int FROM pg_stat_activity) AS used");
    await probe.end();
    const wantedSessions = Math.round(n * sessionShare);
    const sessionCount = Math.max(0, Math.min(wantedSessions, room.rows[0]!.max - room.rows[0]!.used - CONNECTION_MARGIN));
    const entryOf = (id: string) => b.h.app.catalogs().ofDatabase(id)!.database(id)!;
    for (let k = 0; k < sessionCount; k += 1) {
      const i = k % databases;
      const username = usernames[i]![Math.floor(k / databases)];
      if (!username) continue;
      const entry = entryOf(b.targets[i]!.id);
      const client = new pg.Client({ host: entry.host, port: entry.port, database: entry.database, user: username, password, application_name: 'bench-open-session' });
      client.on('error', () => {});
      // Opened before the expiry is set: a user whose revocation had begun would refuse the login.
      await client.connect();
      sessions.push(client);
    }
    const sessionNote = `${sessions.length} of the leases (${((sessions.length / n) * 100).toFixed(1)}%) with a session open at the expiry${sessions.length < wantedSessions ? ` (${wantedSessions} asked; the target cluster's max_connections ${room.rows[0]!.max} left room for ${sessions.length})` : ''}`;
    // T leaves time to write the rows and enqueue the jobs (measured here at well over 1,000/s).
    const expiresAt = Date.now() + 8_000 + n * 1.2;
    const realIds = await loader.insertApproved(realPath, expiresAt);
    const real = await loader.provisionAll(realIds, 1, () => {});
    const leaseIds: string[] = [];
    for (const [i, target] of b.targets.entries()) leaseIds.push(...(await loader.createBulkLeases(usernames[i]!, target.id, expiresAt)));
    const setupMs = Date.now() - setupStarted;
    await loader.close();
    const setupNote = `setup ${(setupMs / 1000).toFixed(1)} s (${n - realPath} roles in bulk over ${databases} databases in ${(rolesMs / 1000).toFixed(1)} s, ${real.active}/${realPath} through lease-service provision${real.failures.length > 0 ? `, failures: ${real.failures.slice(0, 2).join('; ')}` : ''}, ${leaseIds.length} revoke jobs enqueued)`;
    const lateBy = Date.now() - expiresAt;
    if (lateBy > 0) console.error(`bench: the setup of scenario 5 ended ${lateBy} ms after the common expiry; the revocation figures include that delay`);

    const target = await connect(b.h.target.adminUrl);
    const state = await connect(b.stateUrl);
    const timeline: Array<{ t: number; roles: number; revoked: number; queue?: Record<string, number> }> = [];
    const dog = new Watchdog(30_000, deadlineMs + Math.max(0, expiresAt - Date.now()));
    let lastRoleSeenGoneAt: number | undefined;
    let rolesLeft = Number.NaN;
    let revoked = 0;
    const sampler = new ActivitySampler([{ name: 'state', url: b.stateUrl }, ...b.targets.map((t) => ({ name: 'target', url: t.adminUrl }))]);
    let profile: Awaited<ReturnType<ActivitySampler['stop']>> | undefined;
    try {
      await sleep(Math.max(0, expiresAt - Date.now()));
      await sampler.start();
      let previous = -1;
      for (;;) {
        const [roles, rows] = await Promise.all([
          target.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE starts_with(rolname, $1)', [b.userPrefix]),
          state.query<{ n: number }>('SELECT count(*)::int AS n FROM leases WHERE revoked_at IS NOT NULL'),
        ]);
        rolesLeft = roles.rows[0]!.n;
        revoked = rows.rows[0]!.n;
        const t = Date.now() - expiresAt;
        if (timeline.length === 0 || t - timeline.at(-1)!.t >= 1000 || rolesLeft === 0) {
          const counts = await b.h.app.queue.counts().catch(() => undefined);
          timeline.push({ t, roles: rolesLeft, revoked, ...(counts ? { queue: counts } : {}) });
        }
        if (rolesLeft !== previous || revoked < n) {
          if (rolesLeft !== previous) dog.progress();
          previous = rolesLeft;
        }
        if (rolesLeft === 0 && lastRoleSeenGoneAt === undefined) lastRoleSeenGoneAt = Date.now();
        if (rolesLeft === 0 && revoked >= n) break;
        if (dog.reason) break;
        await sleep(200);
      }
    } finally {
      dog.stop();
      profile = await sampler.stop();
    }
    const diagnosis = dog.reason ? await diagnoseStatePool(b) : undefined;
    stalled = Boolean(diagnosis && diagnosis.pool.waiting > 0);
    const { rows } = await state.query<{ lag: number }>(
      'SELECT extract(epoch FROM revoked_at - expires_at)::float8 * 1000 AS lag FROM leases WHERE revoked_at IS NOT NULL',
    );
    const failing = await state.query<{ n: number; attempts: number; error: string | null }>(
      'SELECT count(*)::int AS n, coalesce(max(revoke_attempts), 0)::int AS attempts, max(last_error) AS error FROM leases WHERE revoke_attempts > 0',
    );
    // Every open session killed with its user (this bench's sessions only: the cluster is shared).
    const left = await target.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'bench-open-session' AND starts_with(usename, $1)", [b.userPrefix]);
    const sessionsLeft = left.rows[0]!.n;
    await Promise.all([target.end(), state.end()]);
    await Promise.all(sessions.map((client) => client.end().catch(() => {})));

    const lags = rows.map((row) => row.lag);
    const s = summarize(lags);
    const lastDropMs = lastRoleSeenGoneAt !== undefined ? lastRoleSeenGoneAt - expiresAt : Number.NaN;
    const all = revoked >= n && rolesLeft === 0 && sessionsLeft === 0;
    const pick = (seconds: number) => timeline.find((point) => point.t >= seconds * 1000);
    const points = [1, 5, 10, 20, 30, 45, 60, 90].map((seconds) => pick(seconds)).filter((p): p is NonNullable<typeof p> => p !== undefined);
    const shape = points.map((point) => `+${Math.round(point.t / 1000)}s ${point.roles} left`).join(', ');
    const rate = s.n > 0 && s.max > 0 ? (s.n / (s.max / 1000)).toFixed(0) : '-';
    const fail = failing.rows[0]!;
    return [
      {
        scenario: label,
        backend: queue,
        metric: 'T -> leases.revoked_at',
        n: s.n,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        target: 'all revoked <= 60 s',
        verdict: all && s.max <= 60_000 && lastDropMs <= 60_000 ? 'pass' : 'FAIL',
        notes: [
          `${revoked}/${n} revoked, ${rolesLeft} roles with the prefix left on the target${lastRoleSeenGoneAt !== undefined ? `, last role seen gone at T+${(lastDropMs / 1000).toFixed(1)} s` : ''}; ~${rate} revocations/s`,
          shape && `remaining: ${shape}`,
          `${sessionNote}, ${sessionsLeft} left open`,
          fail.n > 0 ? `${fail.n} leases needed retries (max ${fail.attempts} attempts; e.g. "${(fail.error ?? '').slice(0, 120)}")` : 'no revocation needed a retry',
          dog.reason ? `ABANDONED (${dog.reason}); ${diagnosis?.text}` : '',
          `profile T..end: ${describeProfile(profile)}`,
          setupNote,
        ].filter(Boolean).join('; '),
        extra: { revoked, rolesLeft, sessionsOpened: sessions.length, sessionsLeft, lastRoleGoneMs: lastDropMs, timeline, setupMs, retried: fail, abandoned: dog.reason ?? null, diagnosis: diagnosis ?? null, profile },
      },
    ];
  } finally {
    await b.close(stalled ? 2_000 : undefined);
  }
}
