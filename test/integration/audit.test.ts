import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
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
});
