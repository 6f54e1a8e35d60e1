import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createMariaTarget } from '../support/databases.js';
import type { SlackMessage } from '../support/fake-slack.js';
import { rawQueue } from '../support/raw-queue.js';
import { plainTextInput, staticSelect, viewSubmission } from '../support/slack-requests.js';

/**
 * When access starts (issue 19, item 3), through Slack: scheduled access, approvals that lapse, the
 * lease clock from first login on PostgreSQL and MariaDB. The app's clock is moved forward (an offset
 * on the real one) instead of waiting hours; the sweep (every second here) does the rest.
 */
describe('when access starts', () => {
  let h: Harness;
  let maria: Awaited<ReturnType<typeof createMariaTarget>>;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const HOUR = 3600_000;

  beforeAll(async () => {
    maria = await createMariaTarget();
    h = await startHarness({
      queue: 'redis',
      now,
      env: { SHOP_ADMIN_URL: maria.adminUrl },
      policy: `policies:
  - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never, approvalLifetime: 6h }
  - name: on-first-login
    databases: [orders-fl, shop]
    approvers: [${PEOPLE.alice}, ${PEOPLE.bob}]
    mfa: never
    clock: first-login
    maxWait: 2h
`,
      extraDatabases: `  - { id: orders-fl, engine: postgres, host: 127.0.0.1, port: 5433, database: DBNAME, environment: staging, admin: env:ORDERS_ADMIN_URL, maxDuration: 4h }
  - { id: shop, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${maria.name}, environment: staging, admin: env:SHOP_ADMIN_URL, maxDuration: 4h }
`,
      catalog: ({ target, standard }) => standard.replace('DBNAME', target.name),
    });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await maria?.drop();
  });

  const request = (id: string) => asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, id) }));
  const leaseOf = (id: string) => asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, id) }));
  const auditOf = (subject: string) =>
    asSystem('test', () => h.app.db.query.auditEvents.findMany({ where: (a, { eq }) => eq(a.subject, subject) })).then((rows) => rows.map((row) => row.action));

  /** The request form, filled in and submitted, with a start; returns the new card and the request id. */
  async function ask(reason: string, values: { databaseId?: string; duration?: string; startsAt?: string } = {}): Promise<{ card: SlackMessage; id: string }> {
    const opened = h.slack.callsTo('views.open').length;
    await h.command(PEOPLE.requester, '');
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'views.open');
    const view = (call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view;
    const answer = await h.post(viewSubmission({
      teamId: TEAM, userId: PEOPLE.requester, view,
      values: {
        databaseId: { value: staticSelect(values.databaseId ?? 'orders') }, level: { value: staticSelect('read') },
        duration: { value: plainTextInput(values.duration ?? '1h') }, reason: { value: plainTextInput(reason) },
        startsAt: { value: plainTextInput(values.startsAt ?? null) },
      },
    }));
    expect(answer.status).toBe(200);
    const card = await h.waitForCard((m) => shown(m).includes(reason));
    return { card, id: /R[0-9A-Z]{9}/.exec(shown(card))![0] };
  }
  const cardOf = (id: string, predicate: (text: string) => boolean) => h.waitForCard((m) => shown(m).includes(id) && predicate(shown(m)));
  const dmWith = (id: string, pattern: RegExp) => h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(id) && pattern.test(shown(m)));

  it('refuses a start it cannot read, or one past the approval lifetime, on the form', async () => {
    const opened = h.slack.callsTo('views.open').length;
    await h.command(PEOPLE.requester, '');
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'views.open');
    const view = (call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view;
    const submit = (startsAt: string) => h.post(viewSubmission({
      teamId: TEAM, userId: PEOPLE.requester, view,
      values: {
        databaseId: { value: staticSelect('orders') }, level: { value: staticSelect('read') }, duration: { value: plainTextInput('1h') },
        reason: { value: plainTextInput('Check the nightly payout batch for OPS-77') }, startsAt: { value: plainTextInput(startsAt) },
      },
    }));
    const unreadable = await submit('tomorrowish');
    expect((unreadable.json as { errors: Record<string, string> }).errors.startsAt).toMatch(/Write a start such as 22:00/);
    const tooLate = await submit('in 7h');
    expect((tooLate.json as { errors: Record<string, string> }).errors.startsAt).toMatch(/Approvals here last 6 h/);
  });

  it('approves now and provisions at the start, not before; a lost delayed job is recovered by the sweep', async () => {
    const { card, id } = await ask('Maintenance window: reindex the orders for OPS-4312', { startsAt: 'in 5h' });
    expect(shown(card)).toMatch(/starts at (?:\d{4}-\d\d-\d\d )?\d\d:\d\d UTC \(in (4 h 59 min|5 h)\) once approved/);
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await cardOf(id, (text) => /Approved by/.test(text) && /starts at .*\(in (4 h 59 min|5 h)\)/.test(text) && /approval lapses at/.test(text));
    const scheduled = (await request(id))!;
    expect(scheduled.state).toBe('scheduled');
    expect(await leaseOf(id)).toBeUndefined();

    // The delayed provision job waits for the start; lose it, as a Redis restart would.
    const raw = rawQueue({ kind: 'redis', prefix: h.redisPrefix });
    try {
      const job = await raw.queue.getJob(`provision-${id}`);
      expect(await job!.getState()).toBe('delayed');
      expect(job!.opts.delay).toBeGreaterThan(4.9 * HOUR);
      await job!.remove();
    } finally {
      await raw.close();
    }

    // A minute before the start: the sweep has nothing to start, and a provision run by hand waits.
    offsetMs += 5 * HOUR - 60_000;
    expect((await h.app.leases.sweep()).starts).toBe(0);
    expect((await asSystem('test', () => h.app.leases.provision(id))).kind).toBe('skipped');
    expect((await request(id))!.state).toBe('scheduled');
    expect(await leaseOf(id)).toBeUndefined();

    // At the start, the sweep (every second) finds it: provisioned, the clock from the start.
    offsetMs += 61_000;
    await dmWith(id, /is ready until/);
    const lease = (await leaseOf(id))!;
    expect(lease.provisionedAt!.getTime()).toBeGreaterThanOrEqual(scheduled.startsAt!.getTime());
    expect(lease.expiresAt.getTime()).toBe(scheduled.startsAt!.getTime() + HOUR);
    expect((await request(id))!.state).toBe('active');
    expect(await auditOf(`request:${id}`)).toEqual(expect.arrayContaining(['request.submitted', 'request.approved', 'request.started']));
  });

  it('cancels a scheduled request while it waits; its start then provisions nothing', async () => {
    const { card, id } = await ask('Scheduled export of the customers for OPS-88', { startsAt: 'in 2h' });
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const waiting = await cardOf(id, (text) => /starts at/.test(text) && /Approved by/.test(text));
    expect(JSON.stringify(waiting.blocks)).toContain('"action_id":"dbaccess.cancel"');
    await h.click(PEOPLE.requester, 'dbaccess.cancel', waiting);
    await waitUntil(async () => (await request(id))!.state === 'cancelled', 10_000, 'cancelled');
    await cardOf(id, (text) => /Cancelled/.test(text));

    offsetMs += 2 * HOUR + 1000;
    await h.app.leases.sweep();
    expect((await asSystem('test', () => h.app.leases.provision(id))).kind).toBe('skipped');
    expect(await leaseOf(id)).toBeUndefined();
    expect((await request(id))!.state).toBe('cancelled');
  });

  it('lapses an approval not started within its lifetime, and tells the requester and the approvers', async () => {
    const { card, id } = await ask('Scheduled cleanup of stale carts for OPS-99', { startsAt: 'in 5h' });
    await h.click(PEOPLE.bob, 'dbaccess.approve', card);
    await waitUntil(async () => (await request(id))!.state === 'scheduled', 10_000, 'scheduled').catch(async (error) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(await request(id))}`);
    });
    // The workers were away past the start and past the 6 h approval lifetime: it lapses, unused.
    offsetMs += 6 * HOUR + 1000;
    await waitUntil(async () => (await request(id))!.state === 'lapsed', 15_000, 'lapsed');
    expect(await leaseOf(id)).toBeUndefined();
    await cardOf(id, (text) => /approval lapsed unused/.test(text) && /not started within 6 h/.test(text));
    await dmWith(id, /approval lapsed unused: it was not started within 6 h/);
    expect(await auditOf(`request:${id}`)).toContain('request.lapsed');
  });

  it('PostgreSQL, first-login clock: the first real connection starts the hour', async () => {
    const { card, id } = await ask('Debug the invoice job on staging for OPS-5', { databaseId: 'orders-fl' });
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await dmWith(id, /your hour starts when you first connect \(within 2 h\)/);
    const before = (await leaseOf(id))!;
    expect(before.firstLoginBy!.getTime()).toBe(before.expiresAt.getTime());
    expect(before.expiresAt.getTime() - (await request(id))!.decidedAt!.getTime()).toBe(2 * HOUR);
    await cardOf(id, (text) => /its time starts at the first connection/.test(text));

    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const session = new pg.Client({ connectionString: uri });
    await session.connect();
    const connectedAt = now().getTime();
    try {
      const started = await waitUntil(async () => {
        const lease = await leaseOf(id);
        return lease?.firstLoginAt ? lease : undefined;
      }, 15_000, 'the clock to start');
      expect(started.firstLoginAt!.getTime()).toBeGreaterThanOrEqual(connectedAt - 1000);
      expect(started.expiresAt.getTime()).toBe(started.firstLoginAt!.getTime() + HOUR);
      // The database knows the new expiry too.
      const { rows } = await session.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = current_user');
      expect(new Date(rows[0].rolvaliduntil).getTime()).toBe(started.expiresAt.getTime());
      await cardOf(id, (text) => /from the first connection at/.test(text));
      expect(await auditOf(`lease:${started.id}`)).toContain('lease.clock_started');
    } finally {
      await session.end();
    }
  });

  it('PostgreSQL, first-login clock: no connection within maxWait ends the access unused', async () => {
    const { card, id } = await ask('Look at the queue backlog on staging for OPS-6', { databaseId: 'orders-fl' });
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await dmWith(id, /your hour starts when you first connect/);
    offsetMs += 2 * HOUR + 1000;
    const ended = await waitUntil(async () => {
      const lease = await leaseOf(id);
      return lease?.revokedAt ? lease : undefined;
    }, 20_000, 'the unused lease to end');
    expect(ended.endReason).toBe('no-login');
    expect(ended.firstLoginAt).toBeNull();
    await cardOf(id, (text) => /ended unused: no connection by/.test(text));
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => shown(m).includes(id) && /ended unused/.test(shown(m)));
  });

  it('MariaDB, first-login clock: a real connection (information_schema.processlist) starts the hour', async () => {
    const { card, id } = await ask('Reconcile the shop orders on staging for OPS-7', { databaseId: 'shop', duration: '2h' });
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await dmWith(id, /your 2 h starts when you first connect \(within 2 h\)/);
    const uri = /mysql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const mysql = await import('mysql2/promise');
    const session = await mysql.createConnection({ uri });
    try {
      const started = await waitUntil(async () => {
        const lease = await leaseOf(id);
        return lease?.firstLoginAt ? lease : undefined;
      }, 15_000, 'the clock to start');
      expect(started.expiresAt.getTime()).toBe(started.firstLoginAt!.getTime() + 2 * HOUR);
      const [rows] = await session.query('SELECT COUNT(*) AS n FROM orders');
      expect((rows as Array<{ n: number }>)[0]!.n).toBe(2);
    } finally {
      await session.end();
    }
  });
});
