import { randomBytes } from 'node:crypto';
import { TEST_INSTALL_ID, createTargetDatabase } from '../../test/support/databases.js';
import { parseCatalog } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import { randomCode } from '../../src/lib/ids.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { connect, createGroupMembersInBulk, dropRolesWithPrefix } from '../lib/bench-harness.js';
import type { ResultRow } from '../lib/stats.js';

/**
 * 5a. How many leases can exist at once on ONE database? With one privilege-list entry per temporary
 * role, a table's ACL (in its pg_class row, which has no TOAST table and must fit in one 8 kB page)
 * held about 2,400 roles. Read grants now go to one access group per database, level and scope. This
 * probe fills a fresh database with `max` read-all users in bulk, as the provider leaves them (members
 * of the group its own guard creates, granted with grant-mapping.ts), then provisions `more` through
 * the real PostgreSQL provider, and reports how many exist at once and how long the orders table's
 * privilege list is.
 */
export async function aclLimitScenario({ max, more }: { max: number; more: number }): Promise<ResultRow[]> {
  const target = await createTargetDatabase();
  const prefix = `bnp${randomBytes(3).toString('hex')}_`;
  const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });
  const started = Date.now();
  try {
    const admin = await connect(target.adminUrl);
    let created = 0;
    let bulkError: string | undefined;
    let aclEntries = Number.NaN;
    try {
      const bulk = await createGroupMembersInBulk(admin, { prefix, install: TEST_INSTALL_ID, database: target.name, schemas: ['public', 'sales'], count: max, attributes: 'LOGIN INHERIT' });
      created = bulk.names.length;
      bulkError = bulk.error;
    } finally {
      await admin.end();
    }

    // Then through the provider, which joins the same group.
    const entry = parseCatalog(
      `approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }\ndatabases:\n  - { id: probe, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: production, admin: "env:X" }\n`,
    ).database('probe')!;
    let providerError: string | undefined;
    for (let i = 0; i < more && !bulkError; i += 1) {
      try {
        await provider.provision(
          { entry, adminUrl: target.adminUrl },
          { username: `${prefix}${randomCode(10).toLowerCase()}`, password: generatePassword(), expiresAt: new Date(Date.now() + 3600_000), level: 'read', scope: [], prefix },
        );
        created += 1;
      } catch (error) {
        providerError = (error as Error).message;
        break;
      }
    }
    const check = await connect(target.adminUrl);
    try {
      const { rows } = await check.query<{ n: number }>("SELECT coalesce(array_length(relacl, 1), 0) AS n FROM pg_class WHERE oid = 'sales.orders'::regclass");
      aclEntries = rows[0]?.n ?? Number.NaN;
    } finally {
      await check.end();
    }
    const limited = bulkError !== undefined || providerError !== undefined;
    return [
      {
        scenario: '5a leases on ONE database',
        backend: 'redis',
        metric: 'read-all users at once',
        n: created,
        p50: Number.NaN,
        p99: Number.NaN,
        max: Number.NaN,
        target: '10,000 at once',
        verdict: limited ? 'FAIL' : created >= 10_000 ? 'pass' : 'info',
        notes: limited
          ? `stopped at ${created}: ${(providerError ?? bulkError)!.slice(0, 160)} (probe ${((Date.now() - started) / 1000).toFixed(1)} s)`
          : `${created} users at once (${created - more} in bulk, ${more} through provider.provision), no limit hit; the orders table's privilege list has ${aclEntries} entries (probe ${((Date.now() - started) / 1000).toFixed(1)} s)`,
        extra: { created, aclEntries, bulkError: bulkError ?? null, providerError: providerError ?? null },
      },
    ];
  } finally {
    await provider.close();
    await target.drop();
    await dropRolesWithPrefix(prefix);
  }
}
