import { ackScenario } from './scenarios/ack.js';
import { cleanupAll } from './lib/bench-harness.js';
const q = (process.argv[2] ?? 'redis') as 'redis' | 'postgres';
try {
  await ackScenario(q, { n: 5, warmup: 1 });
} finally { await cleanupAll(); }
setTimeout(() => {
  const handles = (process as any)._getActiveHandles();
  for (const h of handles) console.log(h.constructor?.name, h._idleTimeout ?? '', h.remoteAddress ?? '', h.remotePort ?? '', h._host ?? '');
  console.log((process as any)._getActiveRequests().length);
}, 3000).unref();
