import { burstScenario } from './scenarios/burst.js';
import { cleanupAll } from './lib/bench-harness.js';
import { table } from './lib/stats.js';
const q = (process.argv[2] ?? 'redis') as 'redis' | 'postgres';
try {
  const max = process.argv[4] ? Number(process.argv[4]) : undefined;
  const rows = [...await burstScenario(q, { n: Number(process.argv[3] ?? 200), statePoolMax: max, stallMs: 10_000 })];
  console.log(table(rows));
} finally { await cleanupAll(); process.exit(0); }
