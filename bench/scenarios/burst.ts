import { PEOPLE } from '../../test/support/app-harness.js';
import { Watchdog, connect, diagnoseStatePool, startBenchHarness } from '../lib/bench-harness.js';
import { summarize, type ResultRow } from '../lib/stats.js';

export interface BurstOptions {
  n: number;
  /**
   * What-if: raise the app's state pool `max` at run time (the bench sets `pool.options.max`, which
   * pg-pool reads on every checkout). Not a configuration the app offers; used to measure what a fix
   * of a pool starvation would give. Undefined: the app exactly as configured.
   */
  statePoolMax?: number;
  stallMs?: number;
}

/**
 * 4. `n` requests end to end at once: n people submit the form at the same moment; once every card is
 * posted, one approver clicks Approve on all of them at once; every requester must get credentials.
 * Reports the wall time (first submit -> last DM) and, per request, submit -> card and approve -> DM.
 * A phase that makes no progress for `stallMs` is abandoned and reported with the state of the pool.
 */
export async function burstScenario(queue: 'redis' | 'postgres', { n, statePoolMax, stallMs = 20_000 }: BurstOptions): Promise<ResultRow[]> {
  const b = await startBenchHarness(queue);
  let stalled = false;
  const scenario = statePoolMax ? `4 ${n} concurrent (what-if: state pool max ${statePoolMax})` : `4 ${n} concurrent`;
  try {
    if (statePoolMax) b.h.app.pool.options.max = statePoolMax;
    const people = Array.from({ length: n }, (_, i) => `U0BBU${String(i).padStart(4, '0')}`);
    const problems: string[] = [];
    const dog = new Watchdog(stallMs, 180_000);
    let diagnosis: string | undefined;
    const started = Date.now();

    // Submit all at once.
    const submitted = await Promise.all(
      people.map(async (person) => {
        try {
          const submit = await dog.guard(b.submit(person));
          dog.progress();
          const requestId = await dog.guard(b.index.requestIdOf(person, 600_000));
          const card = await dog.guard(b.index.wait('card', requestId, 600_000));
          dog.progress();
          return { person, requestId, submit, cardMs: card.at - submit.startedAt };
        } catch (error) {
          problems.push(`${person}: ${(error as Error).message}`);
          return undefined;
        }
      }),
    );
    if (dog.reason) diagnosis ??= (await diagnoseStatePool(b)).text;
    const ok = submitted.filter((x): x is NonNullable<typeof x> => x !== undefined);
    const allCardsAt = Date.now();

    // Approve all at once.
    const approveStarted = Date.now();
    const delivered = dog.reason
      ? []
      : await Promise.all(
          ok.map(async ({ requestId }) => {
            try {
              const click = await dog.guard(b.approve(requestId, PEOPLE.alice));
              dog.progress();
              const dm = await dog.guard(b.index.wait('credentials', requestId, 600_000));
              dog.progress();
              return { requestId, clickAckMs: click.ackMs, dmMs: dm.at - click.clickedAt, dmAt: dm.at };
            } catch (error) {
              problems.push(`${requestId}: ${(error as Error).message}`);
              return undefined;
            }
          }),
        );
    if (dog.reason) diagnosis ??= (await diagnoseStatePool(b)).text;
    stalled = Boolean(dog.reason);
    dog.stop();
    const done = delivered.filter((x): x is NonNullable<typeof x> => x !== undefined);
    const lastDm = done.length > 0 ? Math.max(...done.map((d) => d.dmAt)) : Number.NaN;
    const wall = lastDm - started;
    const approveWall = lastDm - approveStarted;

    // Provisioning attempts that failed and were retried by the job (audited as lease.provision failures).
    let provisionFailures = { n: 0, example: '' };
    if (!dog.reason) {
      const state = await connect(b.stateUrl);
      try {
        const { rows } = await state.query<{ n: number; example: string | null }>(
          "SELECT count(*)::int AS n, max(details->>'error') AS example FROM audit_events WHERE action = 'lease.provision' AND outcome = 'failure'",
        );
        provisionFailures = { n: rows[0]!.n, example: rows[0]!.example ?? '' };
      } finally {
        await state.end();
      }
    }
    const cmd = summarize(ok.map((x) => x.submit.commandAckMs));
    const form = summarize(ok.map((x) => x.submit.submitAckMs));
    const card = summarize(ok.map((x) => x.cardMs));
    const click = summarize(done.map((x) => x.clickAckMs));
    const dm = summarize(done.map((x) => x.dmMs));
    const all = done.length === n && problems.length === 0;
    const notes = [
      `${ok.length}/${n} cards posted, ${done.length}/${n} DMed`,
      ...(dog.reason ? [`ABANDONED (${dog.reason}) after ${ok.length} cards / ${done.length} DMs; ${diagnosis}`] : []),
      ...(all ? [`submit phase ${allCardsAt - started} ms (all cards posted), approve phase ${approveWall} ms (all clicks -> last DM)`] : []),
      ...(provisionFailures.n > 0 ? [`${provisionFailures.n} provisioning attempts failed and were retried by the job (backoff 1 s, 2 s, ...), e.g. "${provisionFailures.example.slice(0, 120)}"`] : []),
      ...(problems.length > 0 && !dog.reason ? [problems.slice(0, 3).join('; ')] : []),
      ...(done.length < ok.length && ok[0] ? [`e.g. ${b.explain(ok.find((x) => !done.some((d) => d.requestId === x.requestId))!.requestId, PEOPLE.alice)}`] : []),
    ].join('; ');
    return [
      {
        scenario,
        backend: queue,
        metric: 'wall: first submit -> last DM',
        n: done.length,
        p50: Number.NaN,
        p99: Number.NaN,
        max: all ? wall : Number.NaN,
        target: `all ${n} DMed`,
        verdict: all ? 'pass' : 'FAIL',
        notes,
        extra: { wallMs: all ? wall : null, submitPhaseMs: allCardsAt - started, approvePhaseMs: all ? approveWall : null, cardsPosted: ok.length, dmed: done.length, abandoned: dog.reason ?? null, diagnosis: diagnosis ?? null, provisionFailures, problems: problems.slice(0, 20) },
      },
      { scenario, backend: queue, metric: 'submit -> card posted', n: card.n, p50: card.p50, p99: card.p99, max: card.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: 'approve click -> DM', n: dm.n, p50: dm.p50, p99: dm.p99, max: dm.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: '/dbaccess ack under burst', n: cmd.n, p50: cmd.p50, p99: cmd.p99, max: cmd.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: 'form submit ack under burst', n: form.n, p50: form.p50, p99: form.p99, max: form.max, target: '-', verdict: 'info' },
      { scenario, backend: queue, metric: 'approve click ack under burst', n: click.n, p50: click.p50, p99: click.p99, max: click.max, target: '-', verdict: 'info' },
    ];
  } finally {
    await b.close(stalled ? 2_000 : undefined);
  }
}
