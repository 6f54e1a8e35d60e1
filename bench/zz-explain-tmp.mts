import { auditScenario } from './scenarios/audit.js';
const rows = await auditScenario({ requests: 2000, events: 20000, appends: 100 });
console.log(JSON.stringify(rows.map(r => [r.metric, Math.round(r.p50)])));
process.exit(0);
