import { performance } from 'node:perf_hooks';
import { summarize, type ResultRow } from '../lib/stats.js';
import { startBenchHarness } from '../lib/bench-harness.js';
import { waitUntil } from '../../test/support/app-harness.js';

/**
 * 1. `/dbaccess` (opens the request form): time from sending the signed POST to the HTTP 200, sequential,
 * after a warm-up. The listener keeps running after the acknowledgement (views.open), as in production.
 */
export async function ackScenario(queue: 'redis' | 'postgres', { n, warmup }: { n: number; warmup: number }): Promise<ResultRow[]> {
  const b = await startBenchHarness(queue);
  try {
    const user = 'U0BENCHACK';
    const samples: number[] = [];
    let failures = 0;
    for (let i = 0; i < warmup + n; i += 1) {
      const t0 = performance.now();
      const answer = await b.h.command(user, '');
      const elapsed = performance.now() - t0;
      if (answer.status !== 200) failures += 1;
      else if (i >= warmup) samples.push(elapsed);
    }
    // Every command must also have opened its form.
    const openedCount = () => b.h.slack.callsTo('views.open').filter((call) => (call.response as { ok?: boolean }).ok).length;
    await waitUntil(() => openedCount() >= warmup + n, 10_000, 'every form to open').catch(() => undefined);
    const opened = openedCount();
    const s = summarize(samples);
    return [
      {
        scenario: '1 ack /dbaccess',
        backend: queue,
        metric: 'POST -> HTTP 200',
        n: s.n,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        target: 'p99 <= 50 ms',
        verdict: failures === 0 && s.p99 <= 50 ? 'pass' : 'FAIL',
        notes: failures > 0 || opened < warmup + n ? `${failures} non-200 answers; ${opened}/${warmup + n} forms opened` : undefined,
        extra: { mean: s.mean, warmup, formsOpened: opened },
      },
    ];
  } finally {
    await b.close();
  }
}
