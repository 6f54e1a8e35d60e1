import pg from 'pg';
import { PEOPLE } from '../../test/support/app-harness.js';
import { startBenchHarness } from '../lib/bench-harness.js';
import { summarize, type ResultRow } from '../lib/stats.js';

/**
 * 2. Approve click -> credentials DM: from the approve POST to the fake Slack receiving the
 * chat.postMessage "... is ready until ...", one request at a time. The state database's own
 * timestamps split each sample: click -> decided_at (ack + decision), decided_at -> provisioned_at
 * (provision job: queue pick-up + user creation), provisioned_at -> DM (deliver job).
 */
export async function clickToDmScenario(queue: 'redis' | 'postgres', { n, warmup }: { n: number; warmup: number }): Promise<ResultRow[]> {
  const b = await startBenchHarness(queue);
  const state = new pg.Client({ connectionString: b.stateUrl });
  await state.connect();
  try {
    const total: number[] = [];
    const acks: number[] = [];
    const parts = { decide: [] as number[], provision: [] as number[], deliver: [] as number[] };
    for (let i = 0; i < warmup + n; i += 1) {
      const requester = `U0BDM${String(i).padStart(4, '0')}`;
      await b.submit(requester);
      const requestId = await b.index.requestIdOf(requester);
      await b.index.wait('card', requestId);
      // Let the submission's own jobs (card, receipt) finish first: the sample is the approval alone.
      const { clickedAt, ackMs } = await b.approve(requestId, PEOPLE.alice);
      const dm = await b.index.wait('credentials', requestId, 30_000).catch((error: Error) => {
        throw new Error(`${error.message} (${b.explain(requestId, PEOPLE.alice)})`);
      });
      if (i < warmup) continue;
      total.push(dm.at - clickedAt);
      acks.push(ackMs);
      const { rows } = await state.query<{ decided: Date; provisioned: Date }>(
        'SELECT r.decided_at AS decided, l.provisioned_at AS provisioned FROM access_requests r JOIN leases l ON l.request_id = r.id WHERE r.id = $1',
        [requestId],
      );
      const row = rows[0]!;
      parts.decide.push(row.decided.getTime() - clickedAt);
      parts.provision.push(row.provisioned.getTime() - row.decided.getTime());
      parts.deliver.push(dm.at - row.provisioned.getTime());
    }
    const s = summarize(total);
    const a = summarize(acks);
    const breakdown = Object.fromEntries(Object.entries(parts).map(([name, samples]) => [name, summarize(samples)]));
    const word = (name: keyof typeof parts) => `p50 ${breakdown[name]!.p50.toFixed(0)} / p99 ${breakdown[name]!.p99.toFixed(0)}`;
    return [
      {
        scenario: '2 approve -> DM',
        backend: queue,
        metric: 'click -> credentials DM',
        n: s.n,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        target: 'p50 <= 150, p99 <= 500 ms',
        verdict: s.n === n && s.p50 <= 150 && s.p99 <= 500 ? 'pass' : 'FAIL',
        notes: `split (ms): click->decided ${word('decide')}; decided->provisioned ${word('provision')}; provisioned->DM ${word('deliver')}`,
        extra: { breakdown, mean: s.mean },
      },
      { scenario: '2 approve -> DM', backend: queue, metric: 'approve click ack', n: a.n, p50: a.p50, p99: a.p99, max: a.max, target: '-', verdict: 'info' },
    ];
  } finally {
    await state.end();
    await b.close();
  }
}
