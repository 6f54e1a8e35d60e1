import { resolve } from 'node:path';
import { asc } from 'drizzle-orm';
import { loadConfig } from '../config/env.js';
import { createStateDb } from '../db/client.js';
import { tenants } from '../db/schema/tenants.js';
import { asSystem, withTenant } from '../modules/tenants/tenant-scope.js';
import { deriveKey, loadMasterKey } from '../lib/crypto.js';
import { publicMessage } from '../lib/errors.js';
import { createAuditService } from '../modules/audit/audit-service.js';
import { stateUrlOf } from './cli-state.js';

/**
 * `npm run audit:verify [-- <tenant>]`: checks every tenant's audit chain (or one, by id or Slack team
 * id) and its signed checkpoints; prints the first broken link of each; exits 1 when any is broken.
 */
async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const stateUrl = await stateUrlOf(config);
  if (!stateUrl) {
    process.stderr.write('No state database: set DATABASE_URL, or run this where dbaccess runs with its embedded database.\n');
    return 2;
  }
  const { db, pool } = createStateDb(stateUrl, 2);
  try {
    const audit = createAuditService({ db, checkpointKey: deriveKey(loadMasterKey(config.env.MASTER_KEY, resolve(config.env.DATA_DIR)), 'audit-checkpoints') });
    const only = process.argv[2];
    const all = await asSystem('cli:audit-verify', () => db.select().from(tenants).orderBy(asc(tenants.createdAt)));
    const chosen = only ? all.filter((tenant) => tenant.id === only || tenant.externalId === only) : all;
    if (only && chosen.length === 0) {
      process.stderr.write(`No tenant ${only}.\n`);
      return 2;
    }
    let broken = 0;
    for (const tenant of chosen) {
      const started = Date.now();
      const result = await withTenant(tenant.id, () => audit.verify(tenant.id));
      const name = `${tenant.platform} ${tenant.externalId} (${tenant.id})`;
      const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (result.ok) process.stdout.write(`${name}: intact, ${result.events} events (${took})\n`);
      else {
        broken += 1;
        process.stdout.write(`${name}: BROKEN at event ${result.seq}: ${result.problem}\n`);
      }
    }
    if (chosen.length === 0) process.stdout.write('No tenants yet: nothing to verify.\n');
    return broken > 0 ? 1 : 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`audit:verify failed: ${publicMessage(error)}\n`);
    if (!(error instanceof Error && 'code' in error)) process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(2);
  },
);
