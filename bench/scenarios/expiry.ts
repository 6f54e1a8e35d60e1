import pg from 'pg';
import { PEOPLE, shown, waitUntil } from '../../test/support/app-harness.js';
import { connect, sleep, startBenchHarness } from '../lib/bench-harness.js';
import { summarize, type ResultRow } from '../lib/stats.js';
import { TargetWatch } from '../lib/target-watch.js';

/**
 * 3. Expiry -> role dropped and session killed. Leases of `durationS` seconds are started every
 * `staggerMs` (so expiries overlap with other requests being approved, as in real life); each requester
 * connects with the DMed URI and keeps the session open. Lag = from the lease's expires_at to the first
 * poll of the target that shows both the role gone from pg_roles and the session gone from
 * pg_stat_activity. Cross-checked with leases.revoked_at, and the session must fail a query.
 */
export async function expiryScenario(
  queue: 'redis' | 'postgres',
  { n, durationS, staggerMs }: { n: number; durationS: number; staggerMs: number },
): Promise<ResultRow[]> {
  const b = await startBenchHarness(queue);
  const state = await connect(b.stateUrl);
  const watch = new TargetWatch(b.userPrefix, 20);
  await watch.start();
  const lags: number[] = [];
  const roleLags: number[] = [];
  const sessionLags: number[] = [];
  const clientSawKill: number[] = [];
  const revokedAtLags: number[] = [];
  const problems: string[] = [];
  const sessions: pg.Client[] = [];

  async function one(i: number): Promise<void> {
    const requester = `U0BEX${String(i).padStart(4, '0')}`;
    await b.submit(requester, { duration: `${durationS}s` });
    const requestId = await b.index.requestIdOf(requester);
    await b.approve(requestId, PEOPLE.alice);
    const dm = await b.index.wait('credentials', requestId, 30_000).catch((error: Error) => {
      throw new Error(`${error.message} (${b.explain(requestId, PEOPLE.alice)})`);
    });
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm.call.args))?.[0];
    if (!uri) throw new Error(`no URI in the DM of ${requestId}`);
    const username = decodeURIComponent(new URL(uri).username);
    const session = new pg.Client({ connectionString: uri });
    let killedAt: number | undefined;
    session.on('error', () => {
      killedAt ??= Date.now();
    });
    sessions.push(session);
    await session.connect();
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const { rows } = await state.query<{ expires: Date }>('SELECT expires_at AS expires FROM leases WHERE request_id = $1', [requestId]);
    const expiresAt = rows[0]!.expires.getTime();
    if (Date.now() >= expiresAt) problems.push(`${requestId}: the session connected only after expiry`);

    const observed = await Promise.race([
      watch.watch({ username, pid, expiresAt }),
      sleep(Math.max(0, expiresAt - Date.now()) + 30_000).then(() => undefined),
    ]);
    if (!observed) {
      problems.push(`${requestId}: not revoked 30 s after expiry`);
      return;
    }
    // The session is dead for the client too, and the role is gone.
    const stillWorks = await session.query('SELECT 1').then(() => true, () => false);
    if (stillWorks) problems.push(`${requestId}: the session still answers after revocation`);
    roleLags.push(observed.roleGoneAt - expiresAt);
    sessionLags.push(observed.sessionGoneAt - expiresAt);
    lags.push(Math.max(observed.roleGoneAt, observed.sessionGoneAt) - expiresAt);
    if (killedAt !== undefined) clientSawKill.push(killedAt - expiresAt);
    // revoked_at is written just after the role is dropped: wait for it.
    const revokedAt = await waitUntil(async () => {
      const revoked = await state.query<{ revoked: Date | null }>('SELECT revoked_at AS revoked FROM leases WHERE request_id = $1', [requestId]);
      return revoked.rows[0]?.revoked ?? undefined;
    }, 10_000, `revoked_at of ${requestId}`).catch(() => undefined);
    if (revokedAt) revokedAtLags.push(revokedAt.getTime() - expiresAt);
    else problems.push(`${requestId}: leases.revoked_at still empty 10 s after the role was gone`);
  }

  try {
    const runs: Array<Promise<void>> = [];
    for (let i = 0; i < n; i += 1) {
      runs.push(one(i).catch((error: unknown) => void problems.push((error as Error).message)));
      await sleep(staggerMs);
    }
    await Promise.all(runs);
    const s = summarize(lags);
    const part = (samples: number[]) => {
      const x = summarize(samples);
      return `p50 ${x.p50.toFixed(0)} / p99 ${x.p99.toFixed(0)}`;
    };
    return [
      {
        scenario: '3 expiry -> revoked',
        backend: queue,
        metric: 'expires_at -> role gone + session dead',
        n: s.n,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        target: 'p99 <= 1000 ms',
        verdict: s.n === n && problems.length === 0 && s.p99 <= 1000 ? 'pass' : 'FAIL',
        notes: [
          `split (ms): role gone ${part(roleLags)}; session gone ${part(sessionLags)}; client saw kill ${part(clientSawKill)}; leases.revoked_at ${part(revokedAtLags)}; poll every 20 ms (${watch.polls} polls); ${durationS}s leases started every ${staggerMs} ms`,
          ...problems.slice(0, 5),
        ].join('; '),
        extra: { roleLags: summarize(roleLags), sessionLags: summarize(sessionLags), clientSawKill: summarize(clientSawKill), revokedAt: summarize(revokedAtLags), problems },
      },
    ];
  } finally {
    await Promise.all(sessions.map((session) => session.end().catch(() => {})));
    await watch.stop();
    await state.end();
    await b.close();
  }
}
