import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pg from 'pg';
import { massExpiryScenario } from './scenarios/mass-expiry.js';
import { cleanupAll } from './lib/bench-harness.js';
import { table, summarize } from './lib/stats.js';
const waits = new Map<string, number[]>(); const queries = new Map<string, number[]>();
let on = false;
const rec = (m: Map<string, number[]>, k: string, v: number) => { if (!on) return; const a = m.get(k) ?? []; a.push(v); m.set(k, a); };
const keyOf = (o: any) => { const u = String(o?.connectionString ?? o?.connectionParameters?.database ?? ''); return u.includes('5433') ? 'target' : u.includes('dbaccess_test') ? 'state' : 'other:' + u.slice(-20); };
const origConnect = (pg.Pool.prototype as any).connect;
(pg.Pool.prototype as any).connect = function (cb?: any) {
  const t0 = performance.now(); const k = keyOf(this.options);
  if (cb) return origConnect.call(this, (e: any, c: any, d: any) => { rec(waits, k, performance.now() - t0); cb(e, c, d); });
  return origConnect.call(this).then((c: any) => { rec(waits, k, performance.now() - t0); return c; });
};
const origQuery = (pg.Client.prototype as any).query;
(pg.Client.prototype as any).query = function (...args: any[]) {
  const t0 = performance.now(); const k = (this.connectionParameters?.port === 5433 ? 'target' : 'state') + (this.connectionParameters?.application_name === 'dbaccess' ? '' : ':bench');
  const r = origQuery.apply(this, args);
  if (r && typeof r.then === 'function') r.then(() => rec(queries, k, performance.now() - t0), () => {});
  return r;
};
const q = (process.argv[2] ?? 'redis') as 'redis' | 'postgres';
const eld = monitorEventLoopDelay({ resolution: 10 });
setTimeout(() => { on = true; eld.enable(); }, Number(process.argv[5] ?? 20000));
try {
  const rows = [...await massExpiryScenario(q, { n: Number(process.argv[3] ?? 1000), databases: Number(process.argv[4] ?? 10), realPath: 20, deadlineMs: 30_000 })];
  on = false; eld.disable();
  console.log(table(rows).slice(0, 1500));
  for (const [k, v] of waits) console.log('pool wait', k, JSON.stringify(summarize(v)));
  for (const [k, v] of queries) console.log('query', k, JSON.stringify(summarize(v)));
  console.log('eld ms p50', eld.percentile(50) / 1e6, 'p99', eld.percentile(99) / 1e6, 'max', eld.max / 1e6);
} catch (e) { console.error(e); } finally { await cleanupAll(); process.exit(0); }
