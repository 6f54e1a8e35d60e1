import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createTargetDatabase } from '../test/support/databases.js';
import { randomCode } from '../src/lib/ids.js';
import { postgresGrantStatements } from '../src/modules/credentials/grant-mapping.js';
import { connect, dropRolesWithPrefix } from './lib/bench-harness.js';
const target = await createTargetDatabase();
const prefix = `bnx${randomBytes(3).toString('hex')}_`;
const admin = await connect(target.adminUrl);
try {
  const grants = postgresGrantStatements({ level: 'read', scope: [], database: target.name, username: '__g__', schemas: ['public', 'sales'] });
  const make = async (k: number) => {
    const names = Array.from({ length: k }, () => admin.escapeIdentifier(`${prefix}${randomCode(10).toLowerCase()}`));
    await admin.query(['BEGIN', ...names.map((u) => `CREATE ROLE ${u} LOGIN NOINHERIT`), ...grants.map((s) => s.replace(' TO "__g__"', ` TO ${names.join(', ')}`)), 'COMMIT'].join(';'));
    return names;
  };
  // one by one, the provider's sequence minus session handling
  let names = await make(1000);
  let t0 = performance.now();
  for (const u of names.slice(0, 300)) {
    await admin.query(`ALTER ROLE ${u} NOLOGIN`);
    await admin.query(`REASSIGN OWNED BY ${u} TO CURRENT_USER; DROP OWNED BY ${u}`);
    await admin.query(`DROP ROLE ${u}`);
  }
  console.log(`one by one (1000 roles with grants present): ${((performance.now() - t0) / 300).toFixed(2)} ms per role`);
  t0 = performance.now();
  const rest = names.slice(300);
  for (let i = 0; i < rest.length; i += 100) {
    const b = rest.slice(i, i + 100).join(', ');
    await admin.query(`BEGIN; ${rest.slice(i, i + 100).map((u) => `ALTER ROLE ${u} NOLOGIN`).join('; ')}; REASSIGN OWNED BY ${b} TO CURRENT_USER; DROP OWNED BY ${b}; DROP ROLE ${b}; COMMIT`);
  }
  console.log(`batches of 100: ${((performance.now() - t0) / rest.length).toFixed(2)} ms per role`);
} finally { await admin.end(); await target.drop(); await dropRolesWithPrefix(prefix); }
