import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { chainHash, contentHash, createAuditService } from '../../src/modules/audit/audit-service.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createTenantService } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../support/databases.js';

describe('audit log', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let db: Db;
  let pool: import('pg').Pool;
  /** The owner of the tables, as a database administrator would connect. */
  let owner: pg.Client;
  let tenantId: string;
  const audit = () => createAuditService({ db });

  beforeAll(async () => {
    state = await createStateDatabase();
    await runMigrations(state.url);
    ({ db, pool } = createStateDb(state.url));
    owner = new pg.Client({ connectionString: state.url });
    await owner.connect();
    tenantId = await createTenantService({ db }).ensureTenant('slack', 'T0AUDIT');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => audit().record({ tenantId, actor: 'system', action: 'test.event', subject: `thing:${i}`, outcome: 'success', details: { i } })),
    );
  });
  afterAll(async () => {
    await owner?.end();
    await pool?.end();
    await state?.drop();
  });

  it('chains concurrent appends without gaps', async () => {
    expect(await audit().verify(tenantId)).toEqual({ ok: true, events: 20 });
  });

  it('gives the app no UPDATE or DELETE on it, and refuses them for the owner too', async () => {
    await expect(pool.query("UPDATE audit_events SET outcome = 'failure' WHERE seq = 3")).rejects.toThrow(/permission denied for table audit_events/);
    await expect(pool.query('DELETE FROM audit_events WHERE seq = 3')).rejects.toThrow(/permission denied for table audit_events/);
    await expect(owner.query("UPDATE audit_events SET outcome = 'failure' WHERE seq = 3")).rejects.toThrow(/append-only/);
    await expect(owner.query('DELETE FROM audit_events WHERE seq = 3')).rejects.toThrow(/append-only/);
    await expect(owner.query('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
  });

  it('detects an edit, a deletion and a reordering made behind the trigger', async () => {
    // Tampering as someone with table-owner rights would: around the trigger, then committed.
    const committed = async (sql: string) => {
      await owner.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      try {
        await owner.query(sql);
        return await audit().verify(tenantId);
      } finally {
        await owner.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      }
    };
    const where = `tenant_id = '${tenantId}'`;
    const { rows } = await owner.query(`SELECT details::text AS details FROM audit_events WHERE ${where} AND seq = 5`);
    expect(await committed(`UPDATE audit_events SET details = '{"i": 99}' WHERE ${where} AND seq = 5`)).toEqual({ ok: false, seq: 5, problem: 'content was changed' });
    await committed(`UPDATE audit_events SET details = '${rows[0].details}' WHERE ${where} AND seq = 5`);
    expect(await audit().verify(tenantId)).toEqual({ ok: true, events: 20 });

    expect(await committed(`UPDATE audit_events SET seq = -1 WHERE ${where} AND seq = 7; UPDATE audit_events SET seq = 7 WHERE ${where} AND seq = 8; UPDATE audit_events SET seq = 8 WHERE ${where} AND seq = -1`)).toMatchObject({ ok: false, seq: 7 });
    await committed(`UPDATE audit_events SET seq = -1 WHERE ${where} AND seq = 7; UPDATE audit_events SET seq = 7 WHERE ${where} AND seq = 8; UPDATE audit_events SET seq = 8 WHERE ${where} AND seq = -1`);
    expect(await audit().verify(tenantId)).toEqual({ ok: true, events: 20 });
    expect(await committed(`DELETE FROM audit_events WHERE ${where} AND seq = 12`)).toEqual({ ok: false, seq: 12, problem: 'missing or reordered event' });
  });

  describe('with signed checkpoints, against tampering by someone with the owner\'s rights', () => {
    const key = randomBytes(32);
    const signed = () => createAuditService({ db, checkpointKey: key });
    /** A tenant of its own with `n` events and a checkpoint at `checkpointAt` (and at the end). */
    async function chainOf(n: number, checkpointAt: number[] = []): Promise<string> {
      const id = await createTenantService({ db }).ensureTenant('slack', `T${randomBytes(5).toString('hex').toUpperCase()}`);
      for (let i = 1; i <= n; i += 1) {
        await signed().record({ tenantId: id, actor: `user:${i % 3}`, action: 'test.event', subject: `thing:${i}`, outcome: 'success', details: { i, note: `event ${i}` } });
        if (checkpointAt.includes(i)) expect(await signed().checkpoint(id)).toEqual({ seq: i });
      }
      return id;
    }
    /** Runs SQL as the owner around the append-only trigger, committed. */
    async function tamper(sql: string, params: unknown[] = []): Promise<void> {
      await owner.query('BEGIN');
      try {
        await owner.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
        await owner.query('ALTER TABLE audit_checkpoints DISABLE TRIGGER USER');
        await owner.query(sql, params);
        await owner.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
        await owner.query('ALTER TABLE audit_checkpoints ENABLE TRIGGER USER');
        await owner.query('COMMIT');
      } catch (error) {
        await owner.query('ROLLBACK');
        throw error;
      }
    }
    const verify = (id: string) => signed().verify(id);

    it('lets the app write only through the append function, and only in its own tenant\'s scope', async () => {
      const id = await chainOf(2);
      const other = await chainOf(1);
      await expect(pool.query("INSERT INTO audit_events (tenant_id, seq, actor, action, subject, outcome, details, created_at, prev_hash, hash) VALUES ($1, 3, 'x', 'x', 'x', 'success', '{}', now(), 'x', 'x')", [id])).rejects.toThrow(/permission denied for table audit_events/);
      await expect(pool.query("UPDATE audit_checkpoints SET seq = 1")).rejects.toThrow(/permission denied for table audit_checkpoints/);
      await expect(
        withTenant(id, () => signed().record({ tenantId: other, actor: 'system', action: 'forged', subject: 'x', outcome: 'success' })),
      ).rejects.toThrow();
      expect(await verify(other)).toEqual({ ok: true, events: 1 });
      expect(await verify(id)).toEqual({ ok: true, events: 2 });
    });

    it.each([
      ['actor', "actor = 'user:someone-else'"],
      ['action', "action = 'test.other'"],
      ['subject', "subject = 'thing:99'"],
      ['outcome', "outcome = 'failure'"],
      ['details', `details = details || '{"i": 99}'`],
      ['time', "created_at = created_at + interval '1 second'"],
    ])('names the event whose %s was edited', async (_field, change) => {
      const id = await chainOf(10, [10]);
      await tamper(`UPDATE audit_events SET ${change} WHERE tenant_id = $1 AND seq = 6`, [id]);
      expect(await verify(id)).toEqual({ ok: false, seq: 6, problem: 'content was changed' });
    });

    it('names the event after an edited hash or link', async () => {
      const id = await chainOf(10);
      await tamper("UPDATE audit_events SET prev_hash = repeat('a', 64) WHERE tenant_id = $1 AND seq = 4", [id]);
      expect(await verify(id)).toEqual({ ok: false, seq: 4, problem: 'does not follow the previous event' });
      const other = await chainOf(10);
      await tamper("UPDATE audit_events SET hash = repeat('b', 64) WHERE tenant_id = $1 AND seq = 4", [other]);
      expect(await verify(other)).toEqual({ ok: false, seq: 4, problem: 'content was changed' });
    });

    it.each([
      ['the first', 1],
      ['a middle', 5],
    ])('names %s event deleted', async (_which, seq) => {
      const id = await chainOf(10, [10]);
      await tamper('DELETE FROM audit_events WHERE tenant_id = $1 AND seq = $2', [id, seq]);
      expect(await verify(id)).toEqual({ ok: false, seq, problem: 'missing or reordered event' });
    });

    it('names the gap when an event is moved far ahead, without walking to it', async () => {
      const id = await chainOf(10);
      await tamper('UPDATE audit_events SET seq = 999999999999 WHERE tenant_id = $1 AND seq = 10', [id]);
      expect(await verify(id)).toEqual({ ok: false, seq: 10, problem: 'missing or reordered event' });
    });

    it('names deleted last events: the signed checkpoint counted them', async () => {
      const id = await chainOf(10, [10]);
      await tamper('DELETE FROM audit_events WHERE tenant_id = $1 AND seq >= 9', [id]);
      expect(await verify(id)).toMatchObject({ ok: false, seq: 9, problem: expect.stringMatching(/^events 9 to 10 are missing/) });
    });

    it('names the first of two reordered events, whether seq or content was swapped', async () => {
      const id = await chainOf(10);
      await tamper('UPDATE audit_events SET seq = CASE seq WHEN 3 THEN -4 ELSE -3 END WHERE tenant_id = $1 AND seq IN (3, 4)', [id]);
      await tamper('UPDATE audit_events SET seq = -seq WHERE tenant_id = $1 AND seq < 0', [id]);
      expect(await verify(id)).toEqual({ ok: false, seq: 3, problem: 'does not follow the previous event' });
      const other = await chainOf(10);
      // Contents swapped, links left in place: both events now say the other's thing.
      await tamper(
        `UPDATE audit_events a SET actor = b.actor, subject = b.subject, details = b.details, created_at = b.created_at
           FROM audit_events b WHERE a.tenant_id = $1 AND b.tenant_id = $1 AND ((a.seq = 3 AND b.seq = 4) OR (a.seq = 4 AND b.seq = 3))`,
        [other],
      );
      expect(await verify(other)).toEqual({ ok: false, seq: 3, problem: 'content was changed' });
    });

    it('detects a chain rewritten with fresh hashes, at the first signed checkpoint it no longer matches', async () => {
      const id = await chainOf(12, [6, 12]);
      // The attacker edits event 4 and recomputes every hash after it: the chain is consistent again.
      await tamper(`UPDATE audit_events SET details = '{"i": 4, "note": "nothing happened"}' WHERE tenant_id = $1 AND seq = 4`, [id]);
      const { rows } = await owner.query('SELECT * FROM audit_events WHERE tenant_id = $1 ORDER BY seq', [id]);
      let prev = '0'.repeat(64);
      for (const row of rows) {
        const content = contentHash({ tenantId: row.tenant_id, actor: row.actor, action: row.action, subject: row.subject, outcome: row.outcome, details: row.details, createdAt: new Date(row.created_at).toISOString() });
        const hash = chainHash(prev, Number(row.seq), content);
        await tamper('UPDATE audit_events SET prev_hash = $2, hash = $3 WHERE id = $1', [row.id, prev, hash]);
        prev = hash;
      }
      expect(await createAuditService({ db }).verify(id)).toEqual({ ok: true, events: 12 }); // the bare chain is fooled
      expect(await verify(id)).toMatchObject({ ok: false, seq: 6, problem: expect.stringMatching(/rewritten: it no longer matches the checkpoint signed at/) });
    });

    it('detects a forged, edited or removed checkpoint', async () => {
      const id = await chainOf(6, [2, 4, 6]);
      expect(await verify(id)).toEqual({ ok: true, events: 6 });
      await tamper("UPDATE audit_checkpoints SET seq = 3 WHERE tenant_id = $1 AND seq = 4", [id]);
      expect(await verify(id)).toMatchObject({ ok: false, seq: 3, problem: expect.stringMatching(/altered or one before it removed/) });
      const other = await chainOf(6, [2, 4, 6]);
      await tamper('DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND seq = 4', [other]);
      expect(await verify(other)).toMatchObject({ ok: false, seq: 6, problem: expect.stringMatching(/altered or one before it removed/) });
      const third = await chainOf(3);
      await tamper("INSERT INTO audit_checkpoints (tenant_id, seq, hash, prev_mac, mac, created_at) SELECT tenant_id, seq, hash, repeat('0', 64), repeat('c', 64), now() FROM audit_events WHERE tenant_id = $1 AND seq = 3", [third]);
      expect(await verify(third)).toMatchObject({ ok: false, seq: 3 });
    });

    it('signs a head only when it moved, and verifies a long chain page by page', async () => {
      const id = await chainOf(3, [3]);
      expect(await signed().checkpoint(id)).toBeUndefined();
      for (let i = 0; i < 3; i += 1) await signed().record({ tenantId: id, actor: 'system', action: 'more', subject: 's', outcome: 'success' });
      expect(await signed().checkpoint(id)).toEqual({ seq: 6 });
      expect(await verify(id)).toEqual({ ok: true, events: 6 });
    });
  });
});
