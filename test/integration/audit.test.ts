import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { asJobs } from '../support/scopes.js';
import { chainHash, checkpointMac, contentHash } from '../../src/modules/audit/audit-hash.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createTenantService } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../support/databases.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

describe('audit log', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let db: Db;
  let pool: import('pg').Pool;
  /** The owner of the tables, as a database administrator would connect. */
  let owner: pg.Client;
  let tenantId: string;
  const audit = () => asJobs(createAuditService({ db }));

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
    const signed = () => asJobs(createAuditService({ db, checkpointKey: key }));
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
      expect(await asJobs(createAuditService({ db })).verify(id)).toEqual({ ok: true, events: 12 }); // the bare chain is fooled
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
  describe('incremental verification (chat and the report) from the last checkpoint signed as verified', () => {
    const key = randomBytes(32);
    const signed = () => asJobs(createAuditService({ db, checkpointKey: key }));
    const newTenant = () => createTenantService({ db }).ensureTenant('slack', `T${randomBytes(5).toString('hex').toUpperCase()}`);
    const append = async (id: string, n: number) => {
      for (let i = 0; i < n; i += 1) await signed().record({ tenantId: id, actor: 'system', action: 'test.event', subject: `thing:${i}`, outcome: 'success', details: { i } });
    };
    /** Ten events, verified once (the whole chain: no verified checkpoint yet) and signed at 10, then five more. */
    async function verifiedAtTen(): Promise<string> {
      const id = await newTenant();
      await append(id, 10);
      expect(await signed().verifyRecent(id)).toEqual({ ok: true, events: 10 });
      await append(id, 5);
      return id;
    }
    async function asOwner(statement: string, params: unknown[]): Promise<void> {
      await owner.query('BEGIN');
      await owner.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await owner.query(statement, params);
      await owner.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      await owner.query('COMMIT');
    }
    const edit = (id: string, seq: number) => asOwner(`UPDATE audit_events SET details = '{"i":"edited"}' WHERE tenant_id = $1 AND seq = $2`, [id, seq]);

    it('checks only the events after the verified checkpoint, then signs the new head', async () => {
      const id = await verifiedAtTen();
      expect(await signed().verifyRecent(id)).toEqual({ ok: true, events: 15, from: 10 });
      expect(await signed().verifyRecent(id)).toEqual({ ok: true, events: 15, from: 15 });
      await append(id, 1);
      expect(await signed().verifyRecent(id)).toEqual({ ok: true, events: 16, from: 15 });
      // The checkpoints it signed are checkpoints like the others to the whole-chain check.
      expect(await signed().verify(id)).toEqual({ ok: true, events: 16 });
    });

    it('catches an edit after the checkpoint; one before it is left to the full verification (the CLI)', async () => {
      const after = await verifiedAtTen();
      await edit(after, 12);
      expect(await signed().verifyRecent(after)).toEqual({ ok: false, seq: 12, problem: 'content was changed' });

      const before = await verifiedAtTen();
      await edit(before, 3);
      expect(await signed().verifyRecent(before)).toEqual({ ok: true, events: 15, from: 10 });
      expect(await signed().verify(before)).toEqual({ ok: false, seq: 3, problem: 'content was changed' });
    });

    it('catches the checkpoint\'s own event rewritten or deleted, and a link cut right after it', async () => {
      const rewritten = await verifiedAtTen();
      await asOwner("UPDATE audit_events SET hash = repeat('a', 64) WHERE tenant_id = $1 AND seq = 10", [rewritten]);
      expect(await signed().verifyRecent(rewritten)).toMatchObject({ ok: false, seq: 10, problem: expect.stringMatching(/rewritten: it no longer matches the checkpoint verified and signed at/) });
      const cut = await verifiedAtTen();
      await asOwner("UPDATE audit_events SET prev_hash = repeat('b', 64) WHERE tenant_id = $1 AND seq = 11", [cut]);
      expect(await signed().verifyRecent(cut)).toEqual({ ok: false, seq: 11, problem: 'does not follow the previous event' });
    });

    it('refuses a forged checkpoint: made without the key, made with another install\'s key, or a signed one passed off as verified', async () => {
      // Someone with the owner's rights edits event 12 and adds a "verified" checkpoint over the head to hide it.
      const forge = async (id: string, mac: (row: { tenant_id: string; seq: number; hash: string; prev_mac: string; created_at: string }) => string) => {
        await edit(id, 12);
        const { rows } = await owner.query<{ mac: string }>('SELECT mac FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1', [id]);
        const head = (await owner.query<{ hash: string }>('SELECT hash FROM audit_events WHERE tenant_id = $1 AND seq = 15', [id])).rows[0]!;
        const createdAt = new Date().toISOString();
        const row = { tenant_id: id, seq: 15, hash: head.hash, prev_mac: rows[0]!.mac, created_at: createdAt };
        await owner.query('INSERT INTO audit_checkpoints (tenant_id, seq, hash, prev_mac, mac, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [id, 15, head.hash, row.prev_mac, mac(row), createdAt]);
      };
      const refused = { ok: false, seq: 15, problem: expect.stringMatching(/altered or one before it removed/) };
      const noKey = await verifiedAtTen();
      await forge(noKey, () => 'c'.repeat(64));
      expect(await signed().verifyRecent(noKey)).toMatchObject(refused);
      const otherKey = await verifiedAtTen();
      await forge(otherKey, (r) => checkpointMac(randomBytes(32), { tenantId: r.tenant_id, seq: r.seq, hash: r.hash, prevMac: r.prev_mac, createdAt: r.created_at }, true));
      expect(await signed().verifyRecent(otherKey)).toMatchObject(refused);
      // A head the checkpoint job signed (not verified) cannot be turned into a verified one without the key.
      const promoted = await verifiedAtTen();
      expect(await signed().checkpoint(promoted)).toEqual({ seq: 15 });
      await edit(promoted, 12);
      const job = (await owner.query<{ mac: string; prev_mac: string }>('SELECT mac, prev_mac FROM audit_checkpoints WHERE tenant_id = $1 AND seq = 15', [promoted])).rows[0]!;
      expect(job.prev_mac).not.toBe(job.mac);
      expect(await signed().verifyRecent(promoted)).toEqual({ ok: false, seq: 12, problem: 'content was changed' });
      // And the whole-chain check refuses each forged row too.
      expect(await signed().verify(noKey)).toMatchObject({ ok: false, seq: 15 });
    });
  });
  describe('group commit of appends made outside a transaction', () => {
    const newTenant = () => createTenantService({ db }).ensureTenant('slack', `T${randomBytes(5).toString('hex').toUpperCase()}`);
    const event = (tenant: string, subject: string, details: Record<string, unknown> = {}) =>
      ({ tenantId: tenant, actor: 'job:revoke', action: 'lease.revoked', subject, outcome: 'success', details }) as const;
    /** A tenant's events as the owner sees them, with the transaction that wrote each. */
    const eventsOf = async (tenant: string) =>
      (await owner.query<{ seq: string; subject: string; tx: string }>('SELECT seq, subject, xmin::text AS tx FROM audit_events WHERE tenant_id = $1 ORDER BY seq', [tenant])).rows;
    /** Holds the tenant's chain lock (as an in-transaction append would) on a connection of its own until release(). */
    async function holdChainLock(tenant: string) {
      const holder = new pg.Client({ connectionString: state.url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [tenant]);
      return {
        async release() {
          await holder.query('COMMIT');
          await holder.end();
        },
      };
    }
    /** Why an append failed: drizzle's message and the server's, which it carries as the cause. */
    const why = (outcome: PromiseSettledResult<unknown>) => {
      const reason = (outcome as PromiseRejectedResult).reason as (Error & { cause?: Error }) | undefined;
      return `${reason?.message ?? ''} ${reason?.cause?.message ?? ''}`;
    };
    /** Until a session waits for that lock: the write in flight is blocked. */
    async function waitForLockWaiter() {
      for (let i = 0; i < 100; i += 1) {
        const { rows } = await owner.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
        if (rows[0]!.n > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error('no append ever waited for the chain lock');
    }

    it('gathers the appends that arrive while a write is in flight into one transaction, and resolves each caller only once its event is committed', async () => {
      const id = await newTenant();
      const service = audit();
      const lock = await holdChainLock(id);
      const settled: string[] = [];
      const track = (subject: string) => service.record(event(id, subject)).then(() => settled.push(subject));
      const first = track('lease:first');
      await waitForLockWaiter();
      const rest = Array.from({ length: 99 }, (_, i) => track(`lease:${i}`));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Blocked on the chain: nobody was told "written", and nothing is.
      expect(settled).toEqual([]);
      expect(await eventsOf(id)).toEqual([]);
      await lock.release();
      await Promise.all([first, ...rest]);

      const rows = await eventsOf(id);
      expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(rows[0]!.subject).toBe('lease:first');
      expect(new Set(rows.map((row) => row.subject)).size).toBe(100);
      // The one in flight, then the 99 that gathered behind it: two transactions, not 100.
      expect(new Set(rows.map((row) => row.tx)).size).toBe(2);
      expect(await audit().verify(id)).toEqual({ ok: true, events: 100 });
    });

    it('keeps one total order per tenant under concurrent appends for many tenants, every event exactly once', async () => {
      const service = audit();
      const tenantsUnderTest = await Promise.all(Array.from({ length: 6 }, () => newTenant()));
      // Per tenant 4 writers, each appending 25 events one after the other (as a job does), all at once.
      await Promise.all(
        tenantsUnderTest.flatMap((tenant) =>
          Array.from({ length: 4 }, async (_, writer) => {
            for (let i = 0; i < 25; i += 1) await service.record(event(tenant, `writer:${writer}:${i}`, { writer, i }));
          }),
        ),
      );
      for (const tenant of tenantsUnderTest) {
        expect(await service.verify(tenant)).toEqual({ ok: true, events: 100 });
        const rows = await eventsOf(tenant);
        expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        expect(rows.map((row) => row.subject).sort()).toEqual(Array.from({ length: 4 }, (_, w) => Array.from({ length: 25 }, (_, i) => `writer:${w}:${i}`)).flat().sort());
        // A writer's later event always comes after its earlier one.
        for (let writer = 0; writer < 4; writer += 1) {
          const mine = rows.filter((row) => row.subject.startsWith(`writer:${writer}:`)).map((row) => Number(row.subject.split(':')[2]));
          expect(mine).toEqual(Array.from({ length: 25 }, (_, i) => i));
        }
      }
      const { rows: leaked } = await owner.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_events WHERE subject LIKE 'writer:%' AND NOT (tenant_id = ANY($1::uuid[]))",
        [tenantsUnderTest],
      );
      expect(leaked[0]!.n).toBe(0);
    });

    it('fails only the caller whose event the database refuses, and writes the rest of its batch', async () => {
      const id = await newTenant();
      const service = audit();
      const lock = await holdChainLock(id);
      const first = service.record(event(id, 'ok:first'));
      await waitForLockWaiter();
      // These gather into one batch; PostgreSQL's jsonb refuses the NUL character of the one in the middle.
      const good = (i: number) => service.record(event(id, `ok:${i}`, { i }));
      const batch = [...Array.from({ length: 10 }, (_, i) => good(i)), service.record(event(id, 'bad', { text: 'nul \u0000 here' })), ...Array.from({ length: 10 }, (_, i) => good(10 + i))];
      await lock.release();
      const outcomes = await Promise.allSettled([first, ...batch]);

      expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
      expect(outcomes[11]!.status).toBe('rejected');
      expect(why(outcomes[11]!)).toMatch(/unsupported Unicode escape sequence/);
      const subjects = (await eventsOf(id)).map((row) => row.subject);
      expect(subjects).toEqual(['ok:first', ...Array.from({ length: 20 }, (_, i) => `ok:${i}`)]);
      expect(await service.verify(id)).toEqual({ ok: true, events: 21 });
    });

    it('fails the appends of a tenant the database refuses, and loses nothing of the tenants appending beside it', async () => {
      const id = await newTenant();
      const other = await newTenant();
      const unknown = '00000000-0000-4000-8000-000000000000';
      const service = audit();
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 10 }, (_, i) => service.record(event(id, `ok:${i}`))),
        ...Array.from({ length: 3 }, (_, i) => service.record(event(unknown, `nobody:${i}`))),
        // In this tenant's scope, an append to another tenant is refused; its own go through.
        ...Array.from({ length: 3 }, (_, i) => withTenant(other, () => service.record(event(id, `forged:${i}`)))),
        ...Array.from({ length: 10 }, (_, i) => withTenant(other, () => service.record(event(other, `ok:${i}`)))),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([...Array(10).fill('fulfilled'), ...Array(6).fill('rejected'), ...Array(10).fill('fulfilled')]);
      expect(outcomes.slice(10, 13).map(why)).toEqual(Array(3).fill(expect.stringMatching(/violates foreign key constraint/)));
      expect(outcomes.slice(13, 16).map(why)).toEqual(Array(3).fill(expect.stringMatching(/outside the tenant scope/)));
      expect((await eventsOf(id)).map((row) => row.subject)).toEqual(Array.from({ length: 10 }, (_, i) => `ok:${i}`));
      expect((await eventsOf(other)).map((row) => row.subject)).toEqual(Array.from({ length: 10 }, (_, i) => `ok:${i}`));
      expect(await service.verify(id)).toEqual({ ok: true, events: 10 });
      expect(await service.verify(other)).toEqual({ ok: true, events: 10 });
    });

    it('fails every caller of a batch whose connection is lost, and never writes their events twice', async () => {
      const id = await newTenant();
      const proxy = await startTcpProxy(Number(new URL(state.url).port || 5432), new URL(state.url).hostname);
      const viaProxy = new URL(state.url);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      const appendState = createStateDb(viaProxy.toString(), 2);
      try {
        const service = asJobs(createAuditService({ db, appendDb: appendState.db }));
        const lock = await holdChainLock(id);
        const inFlight = service.record(event(id, 'cut:in-flight'));
        await waitForLockWaiter();
        const gathered = Array.from({ length: 5 }, (_, i) => service.record(event(id, `cut:${i}`)));
        await proxy.cut();
        const outcomes = await Promise.allSettled([inFlight, ...gathered]);
        expect(outcomes.map((o) => o.status)).toEqual(Array(6).fill('rejected'));
        await lock.release();
        // The server may still have committed the statement in flight (the caller cannot know: its job
        // retries); what was never sent is not written, and nothing twice.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const subjects = (await eventsOf(id)).map((row) => row.subject);
        expect(subjects.filter((subject) => subject !== 'cut:in-flight')).toEqual([]);
        expect(subjects.filter((subject) => subject === 'cut:in-flight').length).toBeLessThanOrEqual(1);
        expect(await service.verify(id)).toEqual({ ok: true, events: subjects.length });
      } finally {
        await proxy.close();
        await appendState.pool.end().catch(() => {});
      }
    });
  });
});
