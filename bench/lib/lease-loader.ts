import { randomBytes } from 'node:crypto';
import { escapeLiteral } from 'pg';
import { TEAM } from '../../test/support/app-harness.js';
import { accessRequests } from '../../src/db/schema/access-requests.js';
import { leases as leaseTable } from '../../src/db/schema/leases.js';
import { createStateDb } from '../../src/db/client.js';
import type { Enqueue } from '../../src/jobs/job-catalog.js';
import { createSecretBox } from '../../src/lib/crypto.js';
import { newRequestId } from '../../src/lib/ids.js';
import { scramSha256Verifier } from '../../src/modules/credentials/engines/postgres/scram.js';
import { createAccessRequestRepo } from '../../src/modules/access-requests/access-request-repo.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
import { createLeaseRepo } from '../../src/modules/credentials/lease-repo.js';
import { createLeaseService } from '../../src/modules/credentials/lease-service.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { createReferenceResolver, createTargetResolver } from '../../src/modules/credentials/targets.js';
import { asSystem } from '../../src/db/tenant-scope.js';
import { connect, createGroupMembersInBulk, type BenchHarness } from './bench-harness.js';

/**
 * Creates many leases quickly through the real lease service code (`createLeaseService().provision`:
 * lease row first, then the role with its grants on the target, then the delayed `revoke` job on the
 * app's own queue), without going through Slack:
 * - the approved request rows are inserted directly (what `requests.decide` would leave behind), with
 *   `decided_at = expiresAt - duration` so that every lease expires at exactly `expiresAt`;
 * - the lease service is a second instance over the same state database, with its own connection pool
 *   (so that the setup does not compete with the app under test for the app's pool), whose `enqueue`
 *   forwards only `revoke` jobs to the app's queue: the credentials DMs and card updates of 10,000
 *   leases are not part of what is measured.
 * Revocation is then entirely the app's own: its worker, its sweep, its provider.
 */
export async function createLeaseLoader(b: BenchHarness) {
  const { db, pool } = createStateDb(b.stateUrl, 12);
  const provider = createPostgresProvider({ installId: b.h.app.installId, poolSize: 8 });
  const enqueue: Enqueue = async (name, data, options) => {
    if (name === 'revoke') await b.h.app.queue.enqueue(name, data, options);
  };
  const catalogs = b.h.app.catalogs;
  const leases = createLeaseService({
    db,
    requests: createAccessRequestRepo({ db }),
    leases: createLeaseRepo({ db }),
    audit: createAuditService({ db }),
    enqueue,
    // Only the postgres engine is in the harness's catalog.
    providers: { of: () => provider },
    resolveTarget: createTargetResolver({
      catalogs,
      resolveReference: createReferenceResolver({
        readEnvReference: (name) => (name === 'ORDERS_ADMIN_URL' ? b.h.target.adminUrl : b.targets.find((t, i) => i > 0 && name === `BENCH_TARGET_${i + 1}_URL`)?.adminUrl),
      }),
    }),
    secrets: createSecretBox(randomBytes(32)),
    catalogs,
    // It only provisions: revocation is the app's.
    locks: { tryLock: async () => true, unlock: async () => undefined, tryLockMany: async (_space, keys) => new Set(keys), unlockMany: async () => undefined },
  });
  const actor = await b.h.app.tenants.actor('slack', TEAM, 'U0BENCH10K', 'bench');
  const durationSeconds = 3600;

  /**
   * The fast path for thousands of leases: users created in bulk on the target as the PostgreSQL
   * provider leaves them (createGroupMembersInBulk), with its attributes; then `createBulkLeases`
   * writes the rows. Returns the user names.
   */
  /** `password`: the users' password, for a caller that logs in as them (open sessions); random otherwise. */
  async function createRolesInBulk(count: number, target: { id: string; adminUrl: string }, password = randomBytes(18).toString('base64url')): Promise<string[]> {
    const entry = catalogs().ofDatabase(target.id)!.database(target.id)!;
    const verifier = await scramSha256Verifier(password);
    const admin = await connect(target.adminUrl);
    try {
      const { rows } = await admin.query<{ nspname: string }>(
        "SELECT nspname FROM pg_namespace WHERE NOT starts_with(nspname, 'pg_') AND nspname <> 'information_schema' ORDER BY 1",
      );
      const attributes = `LOGIN PASSWORD ${escapeLiteral(verifier)} VALID UNTIL ${escapeLiteral(new Date(Date.now() + 3600_000).toISOString())} CONNECTION LIMIT ${entry.connectionLimit} NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS`;
      const { names, error } = await createGroupMembersInBulk(admin, { prefix: b.userPrefix, install: b.h.app.installId, database: entry.database, schemas: rows.map((row) => row.nspname), count, attributes });
      if (error) throw new Error(`bench: creating users in bulk on ${target.id} failed after ${names.length}: ${error}`);
      return names;
    } finally {
      await admin.end();
    }
  }

  /**
   * Lease rows (and their active requests) for roles that exist, expiring at `expiresAt`, then the
   * delayed `revoke` job of each on the app's queue, exactly as `provision` enqueues it. Returns lease ids.
   */
  async function createBulkLeases(usernames: string[], databaseId: string, expiresAt: number, enqueueConcurrency = 64): Promise<string[]> {
    const leaseIds: string[] = [];
    for (let i = 0; i < usernames.length; i += 1000) {
      const chunk = usernames.slice(i, i + 1000);
      const now = new Date();
      const requests = chunk.map(() => ({
        id: newRequestId(),
        tenantId: actor.tenantId,
        requesterId: actor.userId,
        databaseId,
        level: 'read',
        scope: [] as string[],
        durationSeconds,
        reason: 'Bench: many leases expiring at the same instant',
        state: 'active',
        risk: { level: 'low' as const, reasons: [], analyzer: 'bench' },
        pendingUntil: now,
        decidedAt: new Date(expiresAt - durationSeconds * 1000),
      }));
      await db.insert(accessRequests).values(requests);
      const inserted = await db
        .insert(leaseTable)
        .values(chunk.map((username, j) => ({ tenantId: actor.tenantId, requestId: requests[j]!.id, databaseId, username, expiresAt: new Date(expiresAt), provisionedAt: now, deliveredAt: now })))
        .returning({ id: leaseTable.id });
      leaseIds.push(...inserted.map((row) => row.id));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: enqueueConcurrency }, async () => {
        while (next < leaseIds.length) {
          const leaseId = leaseIds[next++]!;
          // The job id lease-service.ts gives the expiry job (`revokeJobId`), so that the sweep's re-enqueue dedupes against it.
          await b.h.app.queue.enqueue('revoke', { leaseId }, { jobId: `revoke-${leaseId}`, delayMs: expiresAt - Date.now() });
        }
      }),
    );
    return leaseIds;
  }

  /** Inserts `count` approved requests that will expire at `expiresAt`, and returns their ids. */
  async function insertApproved(count: number, expiresAt: number): Promise<string[]> {
    const now = new Date();
    const rows = Array.from({ length: count }, () => ({
      id: newRequestId(),
      tenantId: actor.tenantId,
      requesterId: actor.userId,
      databaseId: 'orders',
      level: 'read',
      scope: [] as string[],
      durationSeconds,
      reason: 'Bench: many leases expiring at the same instant',
      state: 'approved',
      risk: { level: 'low' as const, reasons: [], analyzer: 'bench' },
      pendingUntil: new Date(now.getTime() + 3600_000),
      decidedAt: new Date(expiresAt - durationSeconds * 1000),
    }));
    await db.insert(accessRequests).values(rows);
    return rows.map((row) => row.id);
  }

  /** Provisions `ids` with at most `concurrency` at a time; returns how many became active. */
  async function provisionAll(ids: string[], concurrency: number, onDone: () => void): Promise<{ active: number; failures: string[] }> {
    let next = 0;
    let active = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          try {
            const outcome = await leases.provision(id);
            if (outcome.kind === 'active') active += 1;
            else failures.push(`${id}: ${outcome.kind}`);
          } catch (error) {
            failures.push(`${id}: ${(error as Error).message}`);
          }
          onDone();
        }
      }),
    );
    return { active, failures };
  }

  // The loader writes across the app's state as the system, by name (outside a scope it would see nothing).
  return {
    createRolesInBulk,
    createBulkLeases: (...args: Parameters<typeof createBulkLeases>) => asSystem('bench', () => createBulkLeases(...args)),
    insertApproved: (...args: Parameters<typeof insertApproved>) => asSystem('bench', () => insertApproved(...args)),
    provisionAll: (...args: Parameters<typeof provisionAll>) => asSystem('bench', () => provisionAll(...args)),
    async close() {
      await provider.close();
      await pool.end();
    },
  };
}
