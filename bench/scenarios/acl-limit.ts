import { randomBytes } from 'node:crypto';
import { escapeLiteral } from 'pg';
import { createTargetDatabase } from '../../test/support/databases.js';
import { parseCatalog } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import { randomCode } from '../../src/lib/ids.js';
import { postgresGrantStatements } from '../../src/modules/credentials/grant-mapping.js';
import { createPostgresProvider, ROLE_MARKER } from '../../src/modules/credentials/postgres-provider.js';
import { connect, dropRolesWithPrefix } from '../lib/bench-harness.js';
import type { ResultRow } from '../lib/stats.js';

/**
 * 5a. How many leases can exist at once on ONE database? Each temporary role gets its own entries in
 * the ACLs of the database, its schemas and (for a whole-database or schema scope) every table. A
 * table's ACL lives in its pg_class row, and pg_class has no TOAST table, so the row (compressed
 * inline at best) must fit in one 8 kB page. This probe fills a fresh database with read-all roles (in
 * bulk, with the grant statements of grant-mapping.ts), then adds roles one by one through the real
 * PostgreSQL provider until provisioning fails, and reports the count and the error.
 */
export async function aclLimitScenario({ max }: { max: number }): Promise<ResultRow[]> {
  const target = await createTargetDatabase();
  const prefix = `bnp${randomBytes(3).toString('hex')}_`;
  const provider = createPostgresProvider();
  const started = Date.now();
  try {
    const admin = await connect(target.adminUrl);
    let created = 0;
    let bulkError: string | undefined;
    try {
      const placeholder = '__bench_grantee__';
      const grants = postgresGrantStatements({ level: 'read', scope: [], database: target.name, username: placeholder, schemas: ['public', 'sales'] });
      const batch = 100;
      while (created + batch <= max) {
        const names = Array.from({ length: batch }, () => admin.escapeIdentifier(`${prefix}${randomCode(10).toLowerCase()}`));
        const sql = [
          'BEGIN',
          ...names.flatMap((user) => [`CREATE ROLE ${user} LOGIN NOINHERIT`, `COMMENT ON ROLE ${user} IS ${escapeLiteral(ROLE_MARKER)}`]),
          ...grants.map((statement) => statement.replace(` TO "${placeholder}"`, ` TO ${names.join(', ')}`)),
          'COMMIT',
        ].join(';\n');
        try {
          await admin.query(sql);
          created += batch;
        } catch (error) {
          bulkError = (error as Error).message;
          await admin.query('ROLLBACK').catch(() => {});
          break;
        }
      }
    } finally {
      await admin.end();
    }

    // One by one through the provider, from where the bulk stopped.
    const entry = parseCatalog(
      `approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }\ndatabases:\n  - { id: probe, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: production, admin: "env:X" }\n`,
    ).database('probe')!;
    let providerError: string | undefined;
    while (bulkError && created < max + 200) {
      try {
        await provider.provision(
          { entry, adminUrl: target.adminUrl },
          { username: `${prefix}${randomCode(10).toLowerCase()}`, password: generatePassword(), expiresAt: new Date(Date.now() + 3600_000), level: 'read', scope: [] },
        );
        created += 1;
      } catch (error) {
        providerError = (error as Error).message;
        break;
      }
    }
    const limited = providerError !== undefined;
    return [
      {
        scenario: '5a leases on ONE database',
        backend: 'redis',
        metric: 'read-all roles before CREATE fails',
        n: created,
        p50: Number.NaN,
        p99: Number.NaN,
        max: Number.NaN,
        target: '10,000 at once',
        verdict: limited ? 'FAIL' : 'pass',
        notes: limited
          ? `the ${created + 1}th role cannot be granted (no queue involved): provider.provision failed with "${providerError!.slice(0, 160)}"; bulk grants stopped with "${bulkError?.slice(0, 80)}" (probe ${((Date.now() - started) / 1000).toFixed(1)} s)`
          : `no limit hit up to ${created} roles`,
        extra: { created, bulkError: bulkError ?? null, providerError: providerError ?? null },
      },
    ];
  } finally {
    await provider.close();
    await target.drop();
    await dropRolesWithPrefix(prefix);
  }
}
