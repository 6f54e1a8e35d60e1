import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drizzle } from 'drizzle-orm/node-postgres';
import { type Db, createStateDb, runMigrations, survivingLostConnections } from '../../src/db/client.js';
import { INSTALLATION_ID, installationId } from '../../src/modules/installation/installation-id.js';
import { createStateDatabase } from '../support/databases.js';

describe('installation identity', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  beforeAll(async () => {
    state = await createStateDatabase();
    await runMigrations(state.url);
  });
  afterAll(async () => {
    await state?.drop();
  });

  it('is made once, race-free, by processes starting together, and kept', async () => {
    // Eight "processes" (pools of their own) ask at once on a state database that has no id yet.
    const pools = Array.from({ length: 8 }, () => createStateDb(state.url, 1));
    try {
      const ids = await Promise.all(pools.map(({ db }) => installationId(db)));
      expect(ids[0]).toMatch(INSTALLATION_ID);
      expect(new Set(ids)).toEqual(new Set([ids[0]]));
      // A restart reads the same one.
      expect(await installationId(pools[0]!.db)).toBe(ids[0]);
      // The app's role may not change it.
      await expect(pools[1]!.pool.query("UPDATE installation SET id = 'aaaaaaaa'")).rejects.toMatchObject({ code: '42501' });
      await expect(pools[1]!.pool.query('DELETE FROM installation')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await Promise.all(pools.map(({ pool }) => pool.end()));
    }
    const owner = new pg.Client({ connectionString: state.url });
    owner.on('error', () => {});
    await owner.connect();
    try {
      expect((await owner.query('SELECT count(*)::int AS n FROM installation')).rows[0].n).toBe(1);
      // One row only, and only a well-formed id.
      await expect(owner.query("INSERT INTO installation (singleton, id) VALUES (false, 'cccccccc')")).rejects.toMatchObject({ code: '23514' });
      await expect(owner.query("INSERT INTO installation (id) VALUES ('cccccccc')")).rejects.toMatchObject({ code: '23505' });
    } finally {
      await owner.end();
    }
  });

  it('is undefined on a state database without the table (a CLI next to an older schema)', async () => {
    const older = await createStateDatabase();
    // Not migrated: not even the app's role exists, so the owner asks, without SET ROLE.
    // Its connection may still be closing when the database is dropped: the server's goodbye (57P01) is not an error of the test.
    const plain = survivingLostConnections(new pg.Pool({ connectionString: older.url, max: 1 }));
    try {
      expect(await installationId(drizzle(plain) as unknown as Db)).toBeUndefined();
    } finally {
      await plain.end();
      await older.drop();
    }
  });
});
