import { PEOPLE } from '../../test/support/app-harness.js';
import { startBenchHarness } from '../lib/bench-harness.js';
import { summarize, type ResultRow } from '../lib/stats.js';

/**
 * 4. `n` requests end to end at once: n people submit the form at the same moment; once every card is
 * posted, one approver clicks Approve on all of them at once; every requester must get credentials.
 * Reports the wall time (first submit -> last DM) and, per request, submit -> card and approve -> DM.
 */
export async function burstScenario(queue: 'redis' | 'postgres', { n }: { n: number }): Promise<ResultRow[]> {
  const b = await startBenchHarness(queue);
  try {
    const people = Array.from({ length: n }, (_, i) => `U0BBU${String(i).padStart(4, '0')}`);
    const problems: string[] = [];
    const started = Date.now();

    // Submit all at once.
    const submitted = await Promise.all(
      people.map(async (person) => {
        try {
          const submit = await b.submit(person);
          const requestId = await b.index.requestIdOf(person, 120_000);
          const card = await b.index.wait('card', requestId, 120_000);
          return { person, requestId, submit, cardMs: card.at - submit.startedAt };
        } catch (error) {
          problems.push(`${person}: ${(error as Error).message}`);
          return undefined;
        }
      }),
    );
    const ok = submitted.filter((x): x is NonNullable<typeof x> => x !== undefined);
    const allCardsAt = Date.now();

    // Approve all at once.
    const approveStarted = Date.now();
    const delivered = await Promise.all(
      ok.map(async ({ requestId }) => {
        try {
          const click = await b.approve(requestId, PEOPLE.alice);
          const dm = await b.index.wait('credentials', requestId, 120_000);
          return { requestId, clickAckMs: click.ackMs, dmMs: dm.at - click.clickedAt, dmAt: dm.at };
        } catch (error) {
          problems.push(`${requestId}: ${(error as Error).message}`);
          return undefined;
        }
      }),
    );
    const done = delivered.filter((x): x is NonNullable<typeof x> => x !== undefined);
    const lastDm = Math.max(...done.map((d) => d.dmAt));
    const wall = lastDm - started;
    const approveWall = lastDm - approveStarted;

    const cmd = summarize(ok.map((x) => x.submit.commandAckMs));
    const form = summarize(ok.map((x) => x.submit.submitAckMs));
    const card = summarize(ok.map((x) => x.cardMs));
    const click = summarize(done.map((x) => x.clickAckMs));
    const dm = summarize(done.map((x) => x.dmMs));
    const all = done.length === n && problems.length === 0;
    const scenario = `4 ${n} concurrent`;
    return [
      {
        scenario,
        backend: queue,
        metric: 'wall: first submit -> last DM',
        n: done.length,
        p50: Number.NaN,
        p99: Number.NaN,
        max: wall,
        target: `all ${n} DMed`,
        verdict: all ? 'pass' : 'FAIL',
        notes: `${done.length}/${n} DMed; submit phase ${allCardsAt - started} ms (all cards posted), approve phase ${approveWall} ms (all clicks -> last DM)${problems.length > 0 ? `; ${problems.slice(0, 3).join('; ')}` : ''}`,
        extra: { wallMs: wall, submitPhaseMs: allCardsAt - started, approvePhaseMs: approveWall, problems },
      },
      { scenario, backend: queue, metric: 'submit -> card posted', n: card.n, p50: card.p50, p99: card.p99, max: card.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: 'approve click -> DM', n: dm.n, p50: dm.p50, p99: dm.p99, max: dm.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: '/dbaccess ack under burst', n: cmd.n, p50: cmd.p50, p99: cmd.p99, max: cmd.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: 'form submit ack under burst', n: form.n, p50: form.p50, p99: form.p99, max: form.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: 'approve click ack under burst', n: click.n, p50: click.p50, p99: click.p99, max: click.max, target: '-', verdict: 'info' },
    ];
  } finally {
    await b.close();
  }
}
