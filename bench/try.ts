import { cleanupAll, startBenchHarness } from './lib/bench-harness.js';
import { createLeaseLoader } from './lib/lease-loader.js';
const b = await startBenchHarness('redis');
try {
  const loader = await createLeaseLoader(b);
  const T = Date.now() + 3600_000;
  for (const c of [8, 16, 32]) {
    const ids = await loader.insertApproved(500, T);
    const t0 = Date.now();
    const r = await loader.provisionAll(ids, c, () => {});
    console.log(`concurrency ${c}: ${r.active} active in ${Date.now() - t0} ms => ${(r.active / ((Date.now() - t0) / 1000)).toFixed(0)}/s; failures ${r.failures.slice(0, 2)}`);
  }
  console.log(await b.h.app.queue.counts());
  await loader.close();
} finally { await cleanupAll(); process.exit(0); }
