import pg from 'pg';
import { PEOPLE, TEAM, SIGNING_SECRET, shown } from '../../test/support/app-harness.js';
import { postSigned } from '../../test/support/slack-requests.js';
import { sleep, startBenchHarness } from '../lib/bench-harness.js';
import { summarize, type ResultRow } from '../lib/stats.js';
import { TargetWatch } from '../lib/target-watch.js';

/**
 * 11. Offboarding kill switch: a person with one active lease and an open session is deactivated in
 * Slack (a signed `user_change` event with `deleted: true`). Lag = from the event's POST to the first
 * poll of the target that shows the session gone from pg_stat_activity (and, second figure, the role
 * gone too). One person at a time, `n` samples.
 */
export async function offboardingScenario({ n }: { n: number }): Promise<ResultRow[]> {
  const b = await startBenchHarness('redis');
  const watch = new TargetWatch(b.userPrefix, 20);
  await watch.start();
  const sessionLags: number[] = [];
  const roleLags: number[] = [];
  const problems: string[] = [];
  const sessions: pg.Client[] = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const requester = `U0BOFF${String(i).padStart(4, '0')}`;
      try {
        await b.submit(requester, { duration: '1h' });
        const requestId = await b.index.requestIdOf(requester);
        await b.approve(requestId, PEOPLE.alice);
        const dm = await b.index.wait('credentials', requestId, 30_000);
        const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm.call.args))?.[0];
        if (!uri) throw new Error(`no URI in the DM of ${requestId}`);
        const session = new pg.Client({ connectionString: uri });
        session.on('error', () => {});
        sessions.push(session);
        await session.connect();
        const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const event = {
          token: 'unused', team_id: TEAM, api_app_id: 'A0DBACCESS', type: 'event_callback', event_id: `Ev0BOFF${i}`, event_time: Math.floor(Date.now() / 1000),
          event: { type: 'user_change', user: { id: requester, team_id: TEAM, deleted: true }, event_ts: `${Date.now() / 1000}` },
        };
        const sentAt = Date.now();
        const observed = watch.watch({ username: decodeURIComponent(new URL(uri).username), pid, expiresAt: sentAt });
        const answer = await postSigned(b.h.url, '/slack/events', JSON.stringify(event), { secret: SIGNING_SECRET, contentType: 'application/json' });
        if (answer.status !== 200) throw new Error(`the event answered ${answer.status}`);
        const seen = await Promise.race([observed, sleep(10_000).then(() => undefined)]);
        if (!seen) throw new Error(`${requestId}: the session was still there 10 s after the event`);
        sessionLags.push(seen.sessionGoneAt - sentAt);
        roleLags.push(seen.roleGoneAt - sentAt);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    const s = summarize(sessionLags);
    const role = summarize(roleLags);
    return [{
      scenario: '11 offboarding -> sessions killed',
      backend: 'redis',
      metric: 'user_change deleted -> session gone',
      n: s.n, p50: s.p50, p99: s.p99, max: s.max,
      target: 'max <= 5000 ms',
      verdict: s.n === n && problems.length === 0 && s.max <= 5000 ? 'pass' : 'FAIL',
      notes: [`role gone too: p50 ${role.p50.toFixed(0)} / p99 ${role.p99.toFixed(0)} ms; one person at a time, poll every 20 ms`, ...problems.slice(0, 5)].join('; '),
      extra: { roleLags: role, problems },
    }];
  } finally {
    await Promise.all(sessions.map((session) => session.end().catch(() => {})));
    await watch.stop();
    await b.close();
  }
}
