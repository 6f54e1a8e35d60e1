import { readFileSync, writeFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { MARIADB_ADMIN_URL } from '../support/databases.js';
import { createManagedTarget, run, type ManagedTarget } from '../support/managed-postgres.js';
import { freePort } from '../support/ports.js';
import type { SlackMessage } from '../support/fake-slack.js';

/**
 * Grants on a database set up as a managed one (no superuser admin; extension objects of the
 * superuser, a table of another owner, a schema without grant option), and the end of a request
 * that cannot be provisioned: permanent failures end as `failed` with the reason everywhere and an
 * admin's Retry, transient ones are retried without end. Through signed Slack HTTP, real databases.
 */

const EXTENSION_LEFT_OUT = /public\.pg_stat_statements \(owned by [a-z_]+, an extension\)/;

describe('grants on a managed-like PostgreSQL, through Slack', () => {
  let managed: ManagedTarget;
  let h: Harness;
  let state: pg.Pool;
  let closedPort: number;

  beforeAll(async () => {
    [managed, closedPort] = await Promise.all([createManagedTarget(), freePort()]);
    h = await startHarness({
      queue: 'redis',
      target: { name: managed.database, adminUrl: managed.adminUrl, drop: () => managed.drop() },
      // A second entry whose server is down (nothing listens on the port): transient failures.
      extraDatabases: `  - { id: down, engine: postgres, host: 127.0.0.1, port: ${closedPort}, database: nothing, environment: staging, admin: env:DOWN_ADMIN_URL }\n`
        // And one whose admin reference stops resolving while a request waits (a catalog edit): a permanent failure.
        + `  - { id: broken, engine: postgres, host: 127.0.0.1, port: 5433, database: ${managed.database}, environment: staging, admin: env:BROKEN_ADMIN_URL }\n`,
      env: { DOWN_ADMIN_URL: `postgresql://nobody:secret-down-pw@127.0.0.1:${closedPort}/nothing`, BROKEN_ADMIN_URL: managed.adminUrl },
    });
    managed.alsoDrop.push(h.prefix);
    state = new pg.Pool({ connectionString: h.env.DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await state?.end();
    await h?.close();
  });

  const dm = () => h.slack.dmChannelFor(PEOPLE.requester);
  const requestOf = async (card: SlackMessage) => /R[0-9A-Z]{9}/.exec(shown(card))![0];
  const stateOf = async (id: string) => (await state.query<{ state: string }>('SELECT state FROM access_requests WHERE id = $1', [id])).rows[0]!.state;
  const events = async (subject: string, action: string) =>
    (await state.query<{ outcome: string; details: Record<string, unknown> }>('SELECT outcome, details FROM audit_events WHERE subject = $1 AND action = $2 ORDER BY seq', [subject, action])).rows;

  /** Submits, waits for the card, approves as Alice, waits for the credentials; returns card, DM and a session. */
  async function grantedSession(scope: string): Promise<{ card: SlackMessage; credentials: SlackMessage; session: pg.Client; id: string }> {
    const before = h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs).length;
    await h.submitRequest(PEOPLE.requester, { scope, reason: 'Check the weekly shop figures for the finance report' });
    const card = await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs)[before], 20_000, 'the card');
    const id = await requestOf(card);
    // The left-out objects are on the card before anyone approves (the scope check runs before the card is posted).
    const pending = await waitUntil(() => {
      const current = h.slack.message(card.channel, card.ts)!;
      return hasButton(current, 'dbaccess.approve') && current;
    }, 10_000, 'approve button');
    await h.click(PEOPLE.alice, 'dbaccess.approve', pending);
    const credentials = await h.waitForMessage(dm(), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(id));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(credentials))![0];
    const session = new pg.Client({ connectionString: uri });
    await session.connect();
    session.on('error', () => {});
    return { card: pending, credentials, session, id };
  }

  it('whole database: grants what the admin can, says what it leaves out and why, before approval and in the DM', async () => {
    const { card, credentials, session, id } = await grantedSession('');
    try {
      const cardText = shown(card);
      expect(cardText).toMatch(EXTENSION_LEFT_OUT);
      expect(cardText).toContain(`public.theirs (owned by ${managed.other})`);
      expect(cardText).toContain(`schema locked (owned by ${managed.other}; no grant option on it)`);
      const dmText = shown(credentials);
      expect(dmText).toMatch(/Not included: .*public\.pg_stat_statements \(owned by [a-z_]+, an extension\)/);
      expect(dmText).toContain(`public.theirs (owned by ${managed.other})`);

      // What was granted works; what was left out does not.
      expect((await session.query('SELECT customer FROM sales.orders ORDER BY id')).rows.map((row) => row.customer)).toEqual(['acme', 'globex']);
      expect((await session.query('SELECT note FROM public.mine')).rows).toEqual([{ note: 'hello' }]);
      await expect(session.query('SELECT * FROM public.theirs')).rejects.toThrow(/permission denied/);
      await expect(session.query('SELECT * FROM locked.vault')).rejects.toThrow(/permission denied/);
      await expect(session.query('INSERT INTO sales.orders (customer, total) VALUES ($1, 1)', ['x'])).rejects.toThrow(/permission denied/);
      expect(await stateOf(id)).toBe('active');

      // The audit log records the statements that ran and what was left out.
      const [lease] = (await state.query<{ id: string }>('SELECT id FROM leases WHERE request_id = $1', [id])).rows;
      const [provisioned] = await events(`lease:${lease!.id}`, 'lease.provisioned');
      expect(JSON.stringify(provisioned!.details.leftOut)).toMatch(/pg_stat_statements/);
      expect((provisioned!.details.statements as string[]).join(';')).not.toMatch(/ON ALL TABLES IN SCHEMA "public"/);
    } finally {
      await session.end();
    }
  });

  it('schema scope: the schema minus the objects the admin cannot grant', async () => {
    const { card, credentials, session } = await grantedSession('public');
    try {
      expect(shown(card)).toMatch(EXTENSION_LEFT_OUT);
      expect(shown(credentials)).toContain(`public.theirs (owned by ${managed.other})`);
      expect(shown(credentials)).not.toContain('schema locked');
      expect((await session.query('SELECT note FROM public.mine')).rows).toEqual([{ note: 'hello' }]);
      await expect(session.query('SELECT * FROM public.theirs')).rejects.toThrow(/permission denied/);
      await expect(session.query('SELECT * FROM sales.orders')).rejects.toThrow(/permission denied/);
    } finally {
      await session.end();
    }
  });

  it('named tables: the grantable one is granted, the other is left out by name', async () => {
    const { card, credentials, session } = await grantedSession('sales.orders, public.theirs');
    try {
      expect(shown(card)).toContain(`Not included: public.theirs (owned by ${managed.other})`);
      expect(shown(credentials)).toContain(`Not included: public.theirs (owned by ${managed.other})`);
      expect((await session.query('SELECT count(*)::int AS n FROM sales.orders')).rows).toEqual([{ n: 2 }]);
      await expect(session.query('SELECT * FROM public.theirs')).rejects.toThrow(/permission denied/);
    } finally {
      await session.end();
    }
  });

  it('a scope of only ungrantable objects is refused before approvers see it, with the reason', async () => {
    const before = h.slack.messagesIn(dm()).length;
    await h.submitRequest(PEOPLE.requester, { scope: 'public.theirs', reason: 'Read the other team table for the incident OPS-77' });
    const refusal = await h.waitForMessage(dm(), (m) => /was not sent to approvers/.test(m.text ?? '') && h.slack.messagesIn(dm()).indexOf(m) >= before);
    expect(shown(refusal)).toContain(`Nothing in this scope can be granted on orders: public.theirs (owned by ${managed.other})`);
  });

  it('a permanent failure ends as failed after at most 3 tries, says why everywhere, leaves nothing; Retry is for admins and starts a fresh clock', async () => {
    const before = h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs).length;
    await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', duration: '1h', reason: 'Check the weekly shop figures for the finance report' });
    const card = await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs)[before], 20_000, 'the card');
    const id = await requestOf(card);
    // The admin loses CREATEROLE after the card went out: CREATE ROLE is then "permission denied" (42501).
    const ours = async () => (await run(managed.superUrl, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, '${h.prefix}') ORDER BY 1`))[0]!.rows;
    const rolesBefore = await ours();
    await run(managed.superUrl, `ALTER ROLE "${managed.admin}" NOCREATEROLE`);
    try {
      await h.click(PEOPLE.alice, 'dbaccess.approve', await waitUntil(() => hasButton(h.slack.message(card.channel, card.ts)!, 'dbaccess.approve') && h.slack.message(card.channel, card.ts)!, 10_000, 'button'));
      const failedCard = await waitUntil(() => {
        const current = h.slack.message(card.channel, card.ts)!;
        return /not provisioned/.test(shown(current)) && current;
      }, 30_000, 'the failed card');
      expect(shown(failedCard)).toMatch(/not provisioned: The database user could not be created: The admin account of orders .* lacks a privilege this needs \(permission denied to create role/);
      expect(hasButton(failedCard, 'dbaccess.retry')).toBe(true);
      expect(await stateOf(id)).toBe('failed');
      const closed = await h.waitForMessage(dm(), (m) => shown(m).includes(id) && /could not be created/.test(shown(m)));
      expect(shown(closed)).toContain('permission denied to create role');
      const [lease] = (await state.query<{ id: string; username: string }>('SELECT id, username FROM leases WHERE request_id = $1', [id])).rows;
      const tries = await events(`lease:${lease!.id}`, 'lease.provision');
      expect(tries.length).toBeGreaterThanOrEqual(1);
      expect(tries.length).toBeLessThanOrEqual(3);
      expect(tries.every((event) => event.details.permanent === true)).toBe(true);
      const [failed] = await events(`request:${id}`, 'request.failed');
      expect(String(failed!.details.reason)).toContain('permission denied to create role');
      // Nothing of it on the target: no user, no new access group.
      expect(await ours()).toEqual(rolesBefore);
      expect(JSON.stringify(rolesBefore)).not.toContain(lease!.username);
      // Still failed a while later (no endless retry): the job is over; the sweep does not take it up again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await stateOf(id)).toBe('failed');
      expect((await events(`lease:${lease!.id}`, 'lease.provision')).length).toBe(tries.length);

      // Retry by someone who is not an admin: refused, nothing changes.
      for (const person of [PEOPLE.requester, PEOPLE.mallory]) {
        await h.click(person, 'dbaccess.retry', failedCard);
        await waitUntil(() => h.slack.ephemeralsFor(person).some((e) => /Only a dbaccess admin can retry/.test(e.text ?? '')), 5000, `refusal to ${person}`);
      }
      expect(await stateOf(id)).toBe('failed');
    } finally {
      await run(managed.superUrl, `ALTER ROLE "${managed.admin}" CREATEROLE`);
    }

    // Retry by an admin (Alice: the catalog names no admins, so approvers act as admins): active, with a fresh clock.
    const retriedAt = Date.now();
    await h.click(PEOPLE.alice, 'dbaccess.retry', h.slack.message(card.channel, card.ts)!);
    await waitUntil(async () => (await stateOf(id)) === 'active', 30_000, 'active after retry');
    const row = (await state.query<{ expires_at: Date; decided_at: Date }>('SELECT l.expires_at, r.decided_at FROM leases l JOIN access_requests r ON r.id = l.request_id WHERE r.id = $1', [id])).rows[0]!;
    expect(row.expires_at.getTime()).toBeGreaterThanOrEqual(retriedAt + 3600_000 - 1000);
    expect(row.expires_at.getTime() - row.decided_at.getTime()).toBeGreaterThan(3600_000);
    const credentials = await h.waitForMessage(dm(), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(id));
    const session = new pg.Client({ connectionString: /postgresql:\/\/[^\s`"]+/.exec(shown(credentials))![0] });
    await session.connect();
    expect((await session.query('SELECT count(*)::int AS n FROM sales.orders')).rows).toEqual([{ n: 2 }]);
    await session.end();
  });

  it('an admin reference that stops resolving while a request waits ends the request as failed, with the reason', async () => {
    const before = h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs).length;
    await h.submitRequest(PEOPLE.requester, { databaseId: 'broken', reason: 'Check the staging figures for the finance report' });
    const card = await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs)[before], 20_000, 'the card');
    const id = await requestOf(card);
    // New requests for it are refused from now on (test/integration/unavailable-databases.test.ts); this one is already in.
    writeFileSync(h.catalogPath, readFileSync(h.catalogPath, 'utf8').replace('admin: env:BROKEN_ADMIN_URL', 'admin: env:NOT_SET_ANYWHERE'));
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => /broken is unavailable: NOT_SET_ANYWHERE is not set/.test(m.text ?? ''), 20_000);
    await h.click(PEOPLE.alice, 'dbaccess.approve', await waitUntil(() => hasButton(h.slack.message(card.channel, card.ts)!, 'dbaccess.approve') && h.slack.message(card.channel, card.ts)!, 10_000, 'button'));
    const failed = await waitUntil(() => {
      const current = h.slack.message(card.channel, card.ts)!;
      return /not provisioned/.test(shown(current)) && current;
    }, 30_000, 'the failed card');
    expect(shown(failed)).toContain('broken is unavailable: NOT_SET_ANYWHERE is not set. Set it to the admin connection URL and restart');
    expect(await stateOf(id)).toBe('failed');
  });

  it('a transient failure (the target port closed) is retried past 3 tries, never failed, and alerted', async () => {
    const before = h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs).length;
    await h.submitRequest(PEOPLE.requester, { databaseId: 'down', reason: 'Check the staging figures for the finance report' });
    const card = await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs)[before], 20_000, 'the card');
    const id = await requestOf(card);
    await h.click(PEOPLE.alice, 'dbaccess.approve', await waitUntil(() => hasButton(h.slack.message(card.channel, card.ts)!, 'dbaccess.approve') && h.slack.message(card.channel, card.ts)!, 10_000, 'button'));
    const lease = await waitUntil(async () => (await state.query<{ id: string }>('SELECT id FROM leases WHERE request_id = $1', [id])).rows[0], 10_000, 'the lease');
    // Backoff 1 s, 2 s, 4 s: the fourth try comes about 7 s after the first.
    await waitUntil(async () => (await events(`lease:${lease!.id}`, 'lease.provision')).length >= 4, 30_000, 'a fourth try');
    expect(await stateOf(id)).toBe('provisioning');
    const tries = await events(`lease:${lease!.id}`, 'lease.provision');
    expect(tries.every((event) => event.details.permanent === false && /connection refused/.test(String(event.details.error)))).toBe(true);
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.threadTs === card.ts && /Could not create the database user on down yet/.test(shown(m)));
    expect(hasButton(h.slack.message(card.channel, card.ts)!, 'dbaccess.retry')).toBe(false);
  });
});

describe('grants on MariaDB: a database without grant option', () => {
  const suffix = Math.random().toString(36).slice(2, 8);
  const granted = `mg_${suffix}_shop`;
  const denied = `mg_${suffix}_other`;
  const adminUser = `mg_${suffix}_adm`;
  const adminPassword = `pw-${suffix}-x9`;
  let root: mysql.Connection;
  let h: Harness;

  beforeAll(async () => {
    root = await mysql.createConnection({ uri: MARIADB_ADMIN_URL, multipleStatements: true });
    await root.query(`CREATE DATABASE \`${granted}\`; CREATE DATABASE \`${denied}\`;
      CREATE TABLE \`${granted}\`.orders (id int PRIMARY KEY, total int); INSERT INTO \`${granted}\`.orders VALUES (1, 10);
      CREATE TABLE \`${denied}\`.secrets (id int PRIMARY KEY); 
      CREATE USER '${adminUser}'@'%' IDENTIFIED BY '${adminPassword}';
      GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO '${adminUser}'@'%';
      GRANT SELECT, UPDATE ON mysql.global_priv TO '${adminUser}'@'%';
      GRANT SELECT, INSERT, UPDATE, DELETE ON \`${granted}\`.* TO '${adminUser}'@'%' WITH GRANT OPTION;
      GRANT SELECT ON \`${denied}\`.* TO '${adminUser}'@'%';`);
    const url = (database: string) => `mysql://${adminUser}:${adminPassword}@127.0.0.1:3306/${database}`;
    const entry = (id: string, database: string, env: string) => `  - { id: ${id}, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${database}, environment: staging, admin: env:${env}, allowedHosts: ['%'] }\n`;
    h = await startHarness({
      queue: 'redis',
      extraDatabases: entry('shop', granted, 'SHOP_URL') + entry('other', denied, 'OTHER_URL'),
      env: { SHOP_URL: url(granted), OTHER_URL: url(denied) },
    });
  });
  afterAll(async () => {
    await h?.close();
    const [users] = await root.query<mysql.RowDataPacket[]>('SELECT User AS name, Host AS host FROM mysql.user WHERE User LIKE ?', [`${h?.prefix ?? 'none'}%`]);
    for (const user of users) await root.query('DROP USER IF EXISTS ?@?', [user.name, user.host]);
    await root.query(`DROP USER IF EXISTS '${adminUser}'@'%'; DROP DATABASE IF EXISTS \`${granted}\`; DROP DATABASE IF EXISTS \`${denied}\``);
    await root.end();
  });

  it('refuses the whole database the admin may not grant, with the reason, and grants the one it may', async () => {
    const dm = h.slack.dmChannelFor(PEOPLE.requester);
    await h.submitRequest(PEOPLE.requester, { databaseId: 'other', reason: 'Read the other database for the audit OPS-88' });
    const refusal = await h.waitForMessage(dm, (m) => /was not sent to approvers/.test(m.text ?? ''));
    expect(shown(refusal)).toContain(`Nothing in this scope can be granted on other: database ${denied} (the admin account has no grant option for SELECT on it)`);

    await h.submitRequest(PEOPLE.requester, { databaseId: 'shop', reason: 'Read the shop orders for the audit OPS-88' });
    const card = await h.waitForCard((m) => /shop/.test(shown(m)) && hasButton(m, 'dbaccess.approve'));
    expect(shown(card)).not.toContain('Not included');
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const credentials = await h.waitForMessage(dm, (m) => /is ready until/.test(m.text ?? ''));
    const uri = /mysql:\/\/[^\s`"]+/.exec(shown(credentials))![0];
    const user = await mysql.createConnection({ uri });
    try {
      const [rows] = await user.query<mysql.RowDataPacket[]>(`SELECT total FROM \`${granted}\`.orders`);
      expect(rows.map((row) => row.total)).toEqual([10]);
      await expect(user.query(`SELECT * FROM \`${denied}\`.secrets`)).rejects.toThrow(/denied/);
    } finally {
      await user.end();
    }
  });
});
