import { ackScenario } from './scenarios/ack.js';
import { clickToDmScenario } from './scenarios/click-to-dm.js';
import { cleanupAll } from './lib/bench-harness.js';
import { table } from './lib/stats.js';
const q = (process.argv[2] ?? 'redis') as 'redis' | 'postgres';
try {
  const rows = [...await ackScenario(q, { n: 50, warmup: 10 }), ...await clickToDmScenario(q, { n: 10, warmup: 2 })];
  console.log(table(rows));
} finally { await cleanupAll(); }
