import { clickToDmScenario } from './scenarios/click-to-dm.js';
import { cleanupAll } from './lib/bench-harness.js';
import { table } from './lib/stats.js';
try { console.log(table(await clickToDmScenario('redis', { n: 5, warmup: 1 }))); } catch (e) { console.error(e); } finally { await cleanupAll(); process.exit(0); }
