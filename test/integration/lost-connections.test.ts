import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createLockPool, createSessionLocks } from '../../src/db/client.js';
import { SERVICES } from '../support/services.js';

/**
 * A connection the server ends while the app holds it between two queries (an advisory lock held
 * across other work, as the card writer and the capture do) must not crash the process: pg's pool
 * listens for errors only on idle clients. Were it to crash, vitest would fail this file with an
 * unhandled error.
 */
describe('connections the server ends', () => {
  const admin = new pg.Client({ connectionString: SERVICES.statePg });
  afterAll(() => admin.end());

  const terminate = async (pid: number) => {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  };

  it('a checked-out lock connection that the server ends fails its next query; the pool goes on', async () => {
    await admin.connect();
    const pool = createLockPool(SERVICES.statePg, 2);
    try {
      const client = await pool.connect();
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // 'end', not 'error': a listener of the test's own on 'error' would hide what is tested.
      const ended = new Promise((resolve) => client.once('end', resolve));
      await terminate(pid);
      await ended;
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it("the session locks' connection, ended by the server, is replaced: its locks are gone and can be taken again", async () => {
    const locks = createSessionLocks(SERVICES.statePg);
    try {
      expect(await locks.tryLock(99, 'lease-a')).toBe(true);
      const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'dbaccess-session-locks'");
      for (const { pid } of rows) await terminate(pid);
      await locks.unlock(99, 'lease-a');
      expect(await locks.tryLock(99, 'lease-a')).toBe(true);
      await locks.unlock(99, 'lease-a');
    } finally {
      await locks.end();
    }
  });
});
