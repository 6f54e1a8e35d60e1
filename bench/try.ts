import { monitorEventLoopDelay } from 'node:perf_hooks';
import { burstScenario } from './scenarios/burst.js';
import { cleanupAll } from './lib/bench-harness.js';
import { table } from './lib/stats.js';
const q = (process.argv[2] ?? 'redis') as 'redis' | 'postgres';
const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
try {
  const rows = [...await burstScenario(q, { n: Number(process.argv[3] ?? 200) })];
  console.log(table(rows));
} finally { h.disable(); console.log('eld p50', h.percentile(50)/1e6, 'p99', h.percentile(99)/1e6, 'max', h.max/1e6); await cleanupAll(); process.exit(0); }
