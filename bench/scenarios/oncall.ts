import pg from 'pg';
import { APPROVERS_CHANNEL, PEOPLE } from '../../test/support/app-harness.js';
import { startFakePagerDuty } from '../../test/support/fake-pagerduty.js';
import { startBenchHarness } from '../lib/bench-harness.js';
import { summarize, type ResultRow } from '../lib/stats.js';

/**
 * 12. On-call at 3 a.m.: the engineer on call for the rule's PagerDuty schedule asks (`/dbaccess`,
 * the form submitted) and no approver is around. Timed from the form's submission to a `SELECT 1`
 * answered on the target with the credentials of the DM (request -> usable credential), one request at
 * a time, each by another on-call engineer (so every request asks the PagerDuty double: user by
 * email, on-calls, incidents; nothing from the cache), then the same with the answers cached (the
 * same person again within cacheSeconds). The double answers on loopback at once: the time PagerDuty
 * itself takes comes on top (bounded by timeoutSeconds, 3 s by default, after which the request goes to
 * the approvers instead).
 */
export async function onCallScenario({ n, warmup }: { n: number; warmup: number }): Promise<ResultRow[]> {
  const pd = await startFakePagerDuty({ token: 'bench-pd-key' });
  const people = Array.from({ length: warmup + n }, (_, i) => `U0BOC${String(i).padStart(4, '0')}`);
  const now = Date.now();
  pd.users = people.map((id, i) => ({ id: `P${i}`, name: `Engineer ${i}`, email: `${id.toLowerCase()}@acme.test` }));
  pd.oncalls = people.map((_, i) => ({ userId: `P${i}`, schedule: { id: 'PSCHED1', name: 'Payments primary' }, policy: { id: 'PEP1', name: 'Payments' }, level: 1, start: new Date(now - 3600_000), end: new Date(now + 6 * 3600_000) }));
  pd.incidents = [{ id: 'Q1', number: 4312, title: 'Payouts failing', status: 'triggered', serviceId: 'PSVC1' }];
  const b = await startBenchHarness('redis', {
    env: { BENCH_PD_TOKEN: 'bench-pd-key' },
    slackDirectory: { users: Object.fromEntries(people.map((id) => [id, { email: `${id.toLowerCase()}@acme.test` }])) },
    policy: `integrations:
  pagerduty: { token: env:BENCH_PD_TOKEN, apiUrl: "${pd.url}" }
policies:
  - name: bench
    approvers: [${PEOPLE.alice}, ${PEOPLE.bob}]
    mfa: never
    autoApprove:
      - { name: payments-oncall, levels: [read, write], maxDuration: 2h, maxRisk: critical, onCall: { provider: pagerduty, schedules: [PSCHED1], incidentOpen: true, services: [PSVC1] } }
`,
  });
  try {
    const once = async (user: string) => {
      const seen = b.h.slack.callsTo('chat.postMessage').length;
      const { startedAt, submitAckMs } = await b.submit(user);
      const dmChannel = b.h.slack.dmChannelFor(user);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const dm = b.h.slack.callsTo('chat.postMessage').slice(seen).find((call) => call.args.channel === dmChannel && /is ready until/.test(String(call.args.text ?? '')));
        if (dm) {
          const uri = /postgresql:\/\/[^\s`"\\]+/.exec(JSON.stringify(dm.args.blocks ?? ''))?.[0];
          if (!uri) throw new Error('the credentials DM has no postgresql:// URI');
          const client = new pg.Client({ connectionString: uri });
          await client.connect();
          await client.query('SELECT 1');
          const usableAt = Date.now();
          await client.end();
          return { total: usableAt - startedAt, dm: dm.at - startedAt, submitAckMs };
        }
        const card = b.h.slack.callsTo('chat.postMessage').slice(seen).find((call) => call.args.channel === APPROVERS_CHANNEL && /Waiting for an approver/.test(JSON.stringify(call.args.blocks ?? '')));
        if (card) throw new Error(`the request of ${user} went to the approvers: ${JSON.stringify(card.args.blocks).slice(0, 400)}`);
        if (Date.now() > deadline) throw new Error(`no credentials for ${user} within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const fresh: number[] = [];
    const toDm: number[] = [];
    const cached: number[] = [];
    let cacheHits = 0;
    for (const [i, user] of people.entries()) {
      const sample = await once(user);
      if (i < warmup) continue;
      fresh.push(sample.total);
      toDm.push(sample.dm);
      // The first 20 ask again at once: within cacheSeconds, the answer is reused.
      if (cached.length < Math.min(n, 20)) {
        const asked = pd.callsTo('/oncalls').length;
        cached.push((await once(user)).total);
        if (pd.callsTo('/oncalls').length === asked) cacheHits += 1;
      }
    }
    const s = summarize(fresh);
    const d = summarize(toDm);
    const c = summarize(cached);
    const p95 = (samples: number[]) => [...samples].sort((x, y) => x - y)[Math.min(samples.length - 1, Math.ceil(samples.length * 0.95) - 1)]!;
    return [
      {
        scenario: '12 oncall', backend: 'redis', metric: 'submit -> usable credential (PagerDuty asked)', n: s.n, p50: s.p50, p99: s.p99, max: s.max,
        target: 'p95 < 10 s', verdict: s.n === n && p95(fresh) < 10_000 ? 'pass' : 'FAIL',
        notes: `p95 ${p95(fresh).toFixed(0)} ms; submit -> credentials DM p50 ${d.p50.toFixed(0)} / p99 ${d.p99.toFixed(0)} ms; ${pd.calls.length} calls to the PagerDuty double`,
        extra: { p95: p95(fresh), dm: d },
      },
      { scenario: '12 oncall', backend: 'redis', metric: 'submit -> usable credential (answer cached)', n: c.n, p50: c.p50, p99: c.p99, max: c.max, target: '-', verdict: 'info', notes: `${cacheHits} of ${c.n} served from the cache` },
    ];
  } finally {
    await b.close();
    await pd.close();
  }
}
