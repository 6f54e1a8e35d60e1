import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/app/embedded-postgres.js';
import { ensureSandbox } from '../../src/app/sandbox.js';
import { freePort } from '../support/ports.js';

/**
 * The sandbox of a fresh install, and its check on every later start (one connection, one query):
 * whatever has drifted from what ensureSandbox makes is put back, never taken as in place.
 */
describe('the sandbox database', () => {
  let dataDir: string;
  let embedded: EmbeddedPostgres;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'dbaccess-sandbox-'));
    embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger, preload: ['pg_stat_statements'] });
  }, 60_000);
  afterAll(async () => {
    await embedded?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const superuser = async (database: string, sql: string) => {
    const url = new URL(embedded.url);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };

  /** What the admin URL can do: log in, read the sample data, see the statements extension. */
  const asAdmin = async (adminUrl: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const orders = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM sales.orders');
      const extension = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'");
      const powers = await client.query<{ signal: boolean; stats: boolean; create: boolean }>(
        "SELECT pg_has_role('pg_signal_backend', 'MEMBER') AS signal, pg_has_role('pg_read_all_stats', 'MEMBER') AS stats, rolcreaterole AS create FROM pg_roles WHERE rolname = current_user",
      );
      return { orders: orders.rows[0]!.n, extension: extension.rowCount, ...powers.rows[0]! };
    } finally {
      await client.end();
    }
  };
  const ready = { orders: 60, extension: 1, signal: true, stats: true, create: true };

  it('is made on the first start, and found in place on the next with the same admin URL', async () => {
    const first = await ensureSandbox({ superUrl: embedded.url, dataDir, logger });
    expect(await asAdmin(first.adminUrl)).toEqual(ready);
    const again = await ensureSandbox({ superUrl: embedded.url, dataDir, logger });
    expect(again).toEqual(first);
    // The password never went to the server in plain: only its SCRAM verifier is stored.
    const stored = await superuser('postgres', "SELECT rolpassword FROM pg_authid WHERE rolname = 'sandbox_admin'");
    expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it.each([
    ['a changed password', 'postgres', "ALTER ROLE sandbox_admin PASSWORD 'someone-else'"],
    ['no password at all', 'postgres', 'ALTER ROLE sandbox_admin PASSWORD NULL'],
    ['logins taken away', 'postgres', 'ALTER ROLE sandbox_admin NOLOGIN'],
    ['a power revoked', 'postgres', 'REVOKE pg_signal_backend FROM sandbox_admin'],
    ['the statements extension dropped', 'sandbox', 'DROP EXTENSION pg_stat_statements'],
  ])('puts it back after %s', async (_what, database, sql) => {
    const { adminUrl } = await ensureSandbox({ superUrl: embedded.url, dataDir, logger });
    await superuser(database, sql);
    const repaired = await ensureSandbox({ superUrl: embedded.url, dataDir, logger });
    expect(repaired.adminUrl).toBe(adminUrl);
    expect(await asAdmin(repaired.adminUrl)).toEqual(ready);
  });
});
