import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { generate } from 'otplib';
import pg from 'pg';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { createSecretBox } from '../../src/lib/crypto.js';
import { asJobs } from '../support/scopes.js';
import { asSystem, withTenant } from '../../src/db/tenant-scope.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
import { createMfaRepo } from '../../src/modules/mfa/mfa-repo.js';
import { createMfaService, type MfaService, type MfaVerification } from '../../src/modules/mfa/mfa-service.js';
import { createTenantService, type Actor } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../support/databases.js';

// pngjs comes with qrcode (it writes the PNG with it) and ships no types: the little used here is declared.
interface DecodedPng {
  width: number;
  height: number;
  data: Buffer;
}
const { PNG } = createRequire(import.meta.url)('pngjs') as { PNG: { sync: { read(buffer: Buffer): DecodedPng } } };

const START = new Date('2030-05-01T13:52:10Z');

describe('TOTP multi-factor authentication', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let db: Db;
  let pool: pg.Pool;
  let mfa: MfaService;
  let tenantA: string;
  let tenantB: string;
  let admin: Actor;
  /** The service's clock; each test sets it. */
  let clock = START;
  const secrets = createSecretBox(randomBytes(32));
  const audit = () => asJobs(createAuditService({ db }));
  /** Every secret and code this file handles, to prove none reaches the audit log. */
  const handled = new Set<string>();

  const epoch = (at: Date) => Math.floor(at.getTime() / 1000);
  const later = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000);
  async function codeAt(secret: string, at: Date): Promise<string> {
    const code = await generate({ secret, epoch: epoch(at) });
    handled.add(code);
    return code;
  }
  /** Six digits that match none of the steps accepted at `at`. */
  async function wrongCode(secret: string, at: Date): Promise<string> {
    const valid = new Set(await Promise.all([-30, 0, 30].map((s) => generate({ secret, epoch: epoch(at) + s }))));
    for (let n = 0; ; n++) {
      const code = String((123_456 + n * 7_919) % 1_000_000).padStart(6, '0');
      if (!valid.has(code)) return code;
    }
  }

  let users = 0;
  async function newUser(tenantId = tenantA, externalUserId = `U0MFA${++users}`): Promise<Actor> {
    const userId = await createTenantService({ db }).ensureUser(tenantId, 'slack', externalUserId);
    return { tenantId, userId, platform: 'slack', externalUserId };
  }

  /** A user with a confirmed enrollment; the clock is left at `at`. */
  async function enrolled(at = START, user?: Actor): Promise<{ actor: Actor; secret: string; recoveryCodes: string[] }> {
    const actor = user ?? (await newUser());
    clock = at;
    const secret = (await mfa.startEnrollment(actor, `${actor.externalUserId}@example.com`)).secret.reveal();
    handled.add(secret);
    const recoveryCodes = (await mfa.confirmEnrollment(actor, await codeAt(secret, at))).recoveryCodes.map((code) => code.reveal());
    recoveryCodes.forEach((code) => handled.add(code));
    return { actor, secret, recoveryCodes };
  }

  const events = async (tenantId = tenantA) => (await audit().list(tenantId, 1000)).reverse();
  const eventsFor = async (actor: Actor, action: string) => (await events(actor.tenantId)).filter((e) => e.action === action && e.subject === `user:${actor.userId}`);

  beforeAll(async () => {
    state = await createStateDatabase();
    await runMigrations(state.url);
    ({ db, pool } = createStateDb(state.url));
    tenantA = await createTenantService({ db }).ensureTenant('slack', 'T0MFA');
    tenantB = await createTenantService({ db }).ensureTenant('slack', 'T0MFAOTHER');
    mfa = asJobs(createMfaService({ db, repo: createMfaRepo({ db }), audit: audit(), secrets, now: () => clock }));
    admin = await newUser(tenantA, 'U0ADMIN');
  });
  afterAll(async () => {
    await pool?.end();
    await state?.drop();
  });

  it('enrolls only with a valid first code, from a QR code that carries issuer, account and secret', async () => {
    const actor = await newUser(tenantA, 'U0ALICE');
    clock = START;
    const started = await mfa.startEnrollment(actor, 'alice@example.com');
    // Secrets print as [redacted] anywhere but where they are revealed on purpose.
    expect(JSON.stringify(started)).not.toContain(started.secret.reveal());
    const { qrPng } = started;
    const [secret, otpauthUri] = [started.secret.reveal(), started.otpauthUri.reveal()];
    handled.add(secret);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    const uri = new URL(otpauthUri);
    expect(`${uri.protocol}//${uri.host}`).toBe('otpauth://totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/dbaccess:alice@example.com');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('dbaccess');

    // A real PNG, and the QR symbol in it is the one for exactly this URI.
    expect(qrPng.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const png = PNG.sync.read(qrPng);
    const symbol = QRCode.create(otpauthUri, { errorCorrectionLevel: 'M' }).modules;
    const scale = png.width / (symbol.size + 8);
    expect(png.width).toBe(png.height);
    expect(Number.isInteger(scale)).toBe(true);
    const dark = (row: number, col: number) => png.data[(((row + 4) * scale + scale / 2) * png.width + (col + 4) * scale + scale / 2) * 4]! < 128;
    // The top-left finder pattern: a dark ring, a light ring, a dark 3x3 core.
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => dark(3, i))).toEqual([true, false, true, true, true, false, true]);
    const mismatches = [];
    for (let row = 0; row < symbol.size; row++) for (let col = 0; col < symbol.size; col++) if (dark(row, col) !== Boolean(symbol.get(row, col))) mismatches.push([row, col]);
    expect(mismatches).toEqual([]);

    expect(await mfa.status(actor)).toEqual({ enrolled: true, confirmed: false, locked: false, recoveryCodesLeft: 0 });
    expect(await mfa.isEnrolled(actor)).toBe(false);
    expect(await mfa.verify(actor, await codeAt(secret, START), 'approve')).toMatchObject({ ok: false, reason: 'not-enrolled' });

    await expect(mfa.confirmEnrollment(actor, await wrongCode(secret, START))).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^That code did not match/) });
    await expect(mfa.confirmEnrollment(actor, await codeAt(secret, later(START, -60)))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(mfa.confirmEnrollment(actor, 'not a code')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await mfa.isEnrolled(actor)).toBe(false);

    const firstCode = await codeAt(secret, START);
    const recoveryCodes = (await mfa.confirmEnrollment(actor, firstCode)).recoveryCodes.map((code) => code.reveal());
    recoveryCodes.forEach((code) => handled.add(code));
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}$/);
    expect(await mfa.status(actor)).toEqual({ enrolled: true, confirmed: true, locked: false, recoveryCodesLeft: 10 });
    expect(await mfa.isEnrolled(actor)).toBe(true);

    // The code that confirmed the enrollment has been used.
    expect(await mfa.verify(actor, firstCode, 'approve')).toMatchObject({ ok: false, reason: 'replayed' });
    await expect(mfa.confirmEnrollment(actor, await codeAt(secret, later(START, 30)))).rejects.toMatchObject({ code: 'CONFLICT' });
    // A confirmed enrollment is not replaced by starting over; an admin resets it first.
    await expect(mfa.startEnrollment(actor, 'alice@example.com')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/ask an admin to reset it/) });
    clock = later(START, 30);
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toEqual({ ok: true, method: 'totp' });
  });

  it('replaces an unconfirmed enrollment when it is started again', async () => {
    const actor = await newUser();
    clock = START;
    const first = { secret: (await mfa.startEnrollment(actor, 'bob')).secret.reveal() };
    const second = { secret: (await mfa.startEnrollment(actor, 'bob')).secret.reveal() };
    handled.add(first.secret).add(second.secret);
    expect(second.secret).not.toBe(first.secret);
    await expect(mfa.confirmEnrollment(actor, await codeAt(first.secret, START))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(mfa.confirmEnrollment(actor, await codeAt(second.secret, START))).resolves.toMatchObject({ recoveryCodes: expect.any(Array) });
  });

  it('accepts a code once: the same code again is refused, the next one is fine', async () => {
    const { actor, secret } = await enrolled();
    clock = later(START, 30);
    const code = await codeAt(secret, clock);
    expect(await mfa.verify(actor, code, 'approve')).toEqual({ ok: true, method: 'totp' });
    expect(await mfa.verify(actor, code, 'approve')).toEqual({ ok: false, reason: 'replayed', message: 'That code was already used; wait for the next one.' });
    clock = later(clock, 30);
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'reveal')).toEqual({ ok: true, method: 'totp' });
    // A replay is not a wrong guess: it does not count towards the lock.
    expect((await eventsFor(actor, 'mfa.verified')).map((e) => [e.outcome, e.details.purpose, e.details.reason])).toEqual([
      ['success', 'approve', undefined],
      ['refused', 'approve', 'replayed'],
      ['success', 'reveal', undefined],
    ]);
  });

  it('allows one step of clock skew either way, not two', async () => {
    const { actor, secret } = await enrolled();
    clock = later(START, 300);
    expect(await mfa.verify(actor, await codeAt(secret, later(clock, -60)), 'approve')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await mfa.verify(actor, await codeAt(secret, later(clock, 60)), 'approve')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await mfa.verify(actor, await codeAt(secret, later(clock, -30)), 'approve')).toEqual({ ok: true, method: 'totp' });
    expect(await mfa.verify(actor, await codeAt(secret, later(clock, 30)), 'approve')).toEqual({ ok: true, method: 'totp' });
    // Once a later step was used, an earlier one is a replay, even inside the window.
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('locks after 5 wrong codes in a row for 15 minutes, refusing even a right code meanwhile', async () => {
    const { actor, secret } = await enrolled(new Date('2030-05-01T13:51:40Z'));
    clock = new Date('2030-05-01T13:52:00Z');
    for (let attempt = 1; attempt <= 4; attempt++) {
      const result = await mfa.verify(actor, await wrongCode(secret, clock), 'approve');
      expect(result).toEqual({ ok: false, reason: 'invalid', message: expect.stringContaining(`(${5 - attempt} ${attempt === 4 ? 'try' : 'tries'} left before MFA locks for 15 minutes)`) });
    }
    const lockedUntil = new Date('2030-05-01T14:07:00Z');
    const message = 'Too many wrong codes: MFA is locked until 14:07 UTC.';
    expect(await mfa.verify(actor, await wrongCode(secret, clock), 'approve')).toEqual({ ok: false, reason: 'locked', lockedUntil, message, lockedNow: true });
    expect(await mfa.status(actor)).toMatchObject({ locked: true, lockedUntil });

    clock = later(clock, 60);
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toEqual({ ok: false, reason: 'locked', lockedUntil, message });
    clock = new Date('2030-05-01T14:06:59Z');
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toMatchObject({ ok: false, reason: 'locked' });

    const locks = await eventsFor(actor, 'mfa.locked');
    expect(locks.map((e) => e.details)).toEqual([{ failedAttempts: 5, lockedUntil: lockedUntil.toISOString(), lockMinutes: 15 }]);

    clock = lockedUntil;
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toEqual({ ok: true, method: 'totp' });
    expect(await mfa.status(actor)).toMatchObject({ locked: false });
  });

  it('starts the count of wrong codes over after a right one', async () => {
    const { actor, secret } = await enrolled();
    clock = later(START, 30);
    for (let i = 0; i < 4; i++) await mfa.verify(actor, await wrongCode(secret, clock), 'approve');
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toEqual({ ok: true, method: 'totp' });
    for (let i = 0; i < 4; i++) expect(await mfa.verify(actor, await wrongCode(secret, clock), 'approve')).toMatchObject({ reason: 'invalid' });
    expect(await mfa.status(actor)).toMatchObject({ locked: false });
    // Typing something that is not a code at all is a typo, not a guess.
    expect(await mfa.verify(actor, 'hello', 'approve')).toMatchObject({ ok: false, reason: 'invalid', message: expect.stringMatching(/^Enter the 6-digit code/) });
    expect(await mfa.status(actor)).toMatchObject({ locked: false });
  });

  it('accepts each recovery code once, typed any way', async () => {
    const { actor, recoveryCodes } = await enrolled();
    const [first, second] = recoveryCodes as [string, string];
    expect(await mfa.verify(actor, first, 'reveal')).toEqual({ ok: true, method: 'recovery', recoveryCodesLeft: 9 });
    expect(await mfa.verify(actor, first, 'reveal')).toEqual({ ok: false, reason: 'replayed', message: 'That recovery code was already used; each one works once.' });
    expect(await mfa.verify(actor, ` ${second.toUpperCase().replaceAll('-', '')} `, 'reveal')).toEqual({ ok: true, method: 'recovery', recoveryCodesLeft: 8 });
    expect(await mfa.verify(actor, second, 'reveal')).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await mfa.verify(actor, 'abcd-efgh-jkmn', 'reveal')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await mfa.status(actor)).toMatchObject({ recoveryCodesLeft: 8 });
    // Another user's recovery code is no use here.
    const other = await enrolled();
    expect(await mfa.verify(actor, other.recoveryCodes[0]!, 'reveal')).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('lets an admin reset a user, audited, after which the user enrolls again', async () => {
    const { actor, secret } = await enrolled();
    expect(await mfa.reset(admin, actor.userId)).toEqual({ removed: true });
    const [event] = await eventsFor(actor, 'mfa.reset');
    expect(event).toMatchObject({ actor: `user:${admin.userId}`, outcome: 'success', details: { removed: true, wasConfirmed: true } });
    expect(await mfa.status(actor)).toEqual({ enrolled: false, confirmed: false, locked: false, recoveryCodesLeft: 0 });
    const { rows } = await asSystem('test', () => pool.query('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1', [actor.userId]));
    expect(rows[0].n).toBe(0);
    clock = later(START, 30);
    expect(await mfa.verify(actor, await codeAt(secret, clock), 'approve')).toMatchObject({ ok: false, reason: 'not-enrolled' });

    const again = await enrolled(later(START, 60), actor);
    expect(again.secret).not.toBe(secret);
    expect(await mfa.isEnrolled(actor)).toBe(true);

    await expect(mfa.reset(admin, admin.userId)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(mfa.reset(admin, 'not-a-user')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores the secret sealed, and recovery codes only as hashes', async () => {
    const { actor, secret, recoveryCodes } = await enrolled();
    const { rows } = await withTenant(actor.tenantId, () => pool.query<{ secret_sealed: string }>('SELECT secret_sealed FROM mfa_enrollments WHERE tenant_id = $1 AND user_id = $2', [actor.tenantId, actor.userId]));
    const sealed = rows[0]!.secret_sealed;
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(secret);
    expect(secrets.open(sealed)).toBe(secret);
    const codes = await withTenant(actor.tenantId, () => pool.query<{ code_hash: string }>('SELECT code_hash FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2', [actor.tenantId, actor.userId]));
    expect(codes.rows).toHaveLength(10);
    for (const { code_hash } of codes.rows) {
      expect(code_hash).toMatch(/^scrypt\$/);
      for (const code of recoveryCodes) expect(code_hash).not.toContain(code.replaceAll('-', ''));
    }
  });

  /**
   * Runs `attempts` verifications at once, all started while another transaction holds the user's
   * enrollment row, and released together once every one of them is waiting: a real race, not a queue.
   */
  async function race(actor: Actor, attempts: number, verify: () => Promise<MfaVerification>): Promise<MfaVerification[]> {
    const holder = new pg.Client({ connectionString: state.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM mfa_enrollments WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE', [actor.tenantId, actor.userId]);
      const results = Promise.all(Array.from({ length: attempts }, () => verify()));
      const waiting = async () => {
        // Activity statistics are read once per transaction unless the snapshot is cleared.
        await holder.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await holder.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
        return rows[0]!.n;
      };
      for (let tries = 0; (await waiting()) < attempts; tries++) {
        if (tries > 200) throw new Error(`only ${await waiting()} of ${attempts} verifications reached the database`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await holder.query('COMMIT');
      return await results;
    } finally {
      await holder.end();
    }
  }

  it('accepts the same code exactly once when verifications race', async () => {
    const { actor, secret, recoveryCodes } = await enrolled();
    clock = later(START, 30);
    const code = await codeAt(secret, clock);
    const results = await race(actor, 6, () => mfa.verify(actor, code, 'approve'));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(Array(5).fill('replayed'));

    const recovery = await race(actor, 3, () => mfa.verify(actor, recoveryCodes[0]!, 'reveal'));
    expect(recovery.filter((r) => r.ok)).toHaveLength(1);
    expect(recovery.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(['replayed', 'replayed']);
    expect(await mfa.status(actor)).toMatchObject({ recoveryCodesLeft: 9 });
  });

  it("keeps another tenant's user, with the same platform id, a separate enrollment", async () => {
    const alice = await enrolled(START, await newUser(tenantA, 'U0SAME'));
    const aliceB = await newUser(tenantB, 'U0SAME');
    expect(aliceB.userId).not.toBe(alice.actor.userId);
    expect(await mfa.status(aliceB)).toMatchObject({ enrolled: false });
    clock = later(START, 30);
    expect(await mfa.verify(aliceB, await codeAt(alice.secret, clock), 'approve')).toMatchObject({ ok: false, reason: 'not-enrolled' });

    const b = await enrolled(START, aliceB);
    clock = later(START, 30);
    expect(await mfa.verify(aliceB, await codeAt(alice.secret, clock), 'approve')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await mfa.verify(aliceB, await codeAt(b.secret, clock), 'approve')).toEqual({ ok: true, method: 'totp' });
    // Tenant B's use of its code leaves tenant A's enrollment untouched.
    expect(await mfa.verify(alice.actor, await codeAt(alice.secret, clock), 'approve')).toEqual({ ok: true, method: 'totp' });

    // An admin of tenant B cannot reach tenant A's user, and tenant A's log holds none of tenant B's events.
    const adminB = await newUser(tenantB, 'U0ADMINB');
    await expect(mfa.reset(adminB, alice.actor.userId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await mfa.isEnrolled(alice.actor)).toBe(true);
    expect((await events(tenantA)).some((e) => e.subject === `user:${aliceB.userId}`)).toBe(false);
  });

  // Last: by now every kind of event has been recorded, in both tenants.
  it('keeps every secret and code it handled out of the audit log and out of the tables in clear', async () => {
    const longSecrets = [...handled].filter((value) => !/^\d{6}$/.test(value)).flatMap((value) => [value, value.replaceAll('-', '')]);
    expect(longSecrets.length).toBeGreaterThan(100);
    const tables = await asSystem('test', () => pool.query<{ row: string }>('SELECT row_to_json(e)::text AS row FROM mfa_enrollments e UNION ALL SELECT row_to_json(c)::text FROM mfa_recovery_codes c'));
    expect(tables.rows.length).toBeGreaterThan(0);
    const log = [...(await events(tenantA)), ...(await events(tenantB))].filter((e) => e.action.startsWith('mfa.'));
    expect(new Set(log.map((e) => e.action))).toEqual(new Set(['mfa.enrolling', 'mfa.enrolled', 'mfa.verified', 'mfa.locked', 'mfa.reset']));
    const readable = [...tables.rows.map(({ row }) => row), ...log.map(({ actor: who, action, subject, outcome, details }) => JSON.stringify({ who, action, subject, outcome, details }))];
    expect(longSecrets.filter((value) => readable.some((text) => text.includes(value)))).toEqual([]);
    // Six-digit codes could turn up by chance inside a uuid; the details, where a careless write would put them, have no six digits in a row.
    expect(log.filter((e) => /\d{6}/.test(JSON.stringify(e.details)))).toEqual([]);
    expect(await audit().verify(tenantA)).toMatchObject({ ok: true });
    expect(await audit().verify(tenantB)).toMatchObject({ ok: true });
  });
});
