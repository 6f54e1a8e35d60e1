import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, withTenant } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, deleteRedisPrefix, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { SERVICES } from '../support/services.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { TEST_INSTALL_ID, onTarget, targetGroups, targetRoles, targetSessionsOf } from '../support/databases.js';

/**
 * A harness with one more catalog entry on the target cluster whose admin connects through a TCP proxy
 * the test can hold (the catalog names the real port; only the admin's URL goes through the proxy).
 */
async function harnessBehindProxy(id: string, envName: string): Promise<{ h: Harness; proxy: Awaited<ReturnType<typeof startTcpProxy>> }> {
  const proxy = await startTcpProxy(Number(new URL(SERVICES.targetPg).port));
  const adminUrl = new URL(SERVICES.targetPg);
  adminUrl.port = String(proxy.port);
  const h = await startHarness({
    queue: 'redis',
    extraDatabases: `  - id: ${id}
    engine: postgres
    host: 127.0.0.1
    port: ${new URL(SERVICES.targetPg).port}
    database: postgres
    environment: staging
    admin: env:${envName}
`,
    env: { [envName]: adminUrl.toString() },
  });
  return { h, proxy };
}

/** Nothing depends on the queue alone: the lease row is the truth, the sweep and the reconciler act on it. */
describe('resilience', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis',
      extraDatabases: `  - id: offline
    engine: postgres
    host: 127.0.0.1
    port: 1
    database: offline
    environment: staging
    admin: env:OFFLINE_ADMIN_URL
`,
      env: { OFFLINE_ADMIN_URL: 'postgresql://nobody:secret-offline-pw@127.0.0.1:1/offline' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const approveNew = async (values: Parameters<Harness['submitRequest']>[1]) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    await h.submitRequest(PEOPLE.requester, values);
    const card = await h.waitForCard((m) => !before.has(m.ts));
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    return { card, requestId: /R[0-9A-Z]{9}/.exec(shown(card))![0] };
  };

  it('revokes on time after Redis lost every job of the lease', async () => {
    const { card, requestId } = await approveNew({ duration: '5s' });
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(m.text ?? ''));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const session = new pg.Client({ connectionString: uri });
    await session.connect();
    session.on('error', () => {});

    // Everything the queue knew is gone: the delayed revoke job and the sweep's schedule.
    expect(await deleteRedisPrefix(h.redisPrefix)).toBeGreaterThan(0);

    const lease = (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))!;
    const revoked = await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.id, lease.id) })))?.revokedAt, 20_000, 'revocation');
    // On time: within a couple of sweep intervals (1 s in tests) of the expiry.
    expect(revoked!.getTime() - lease.expiresAt.getTime()).toBeLessThan(4000);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await targetRoles(lease.username)).toEqual([]);
    await h.waitForCard((m) => m.ts === card.ts && /access ended/.test(shown(m)));
  });

  it('never marks a lease revoked before its audit event is committed: with the log refusing, the lease stays due, then is revoked and recorded', async () => {
    const { requestId } = await approveNew({ duration: '4s' });
    const leaseRow = () => asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));
    const lease = await waitUntil(async () => ((await leaseRow())?.provisionedAt ? leaseRow() : undefined), 20_000, 'provisioned lease');
    const owner = new pg.Client({ connectionString: h.app.stateUrl });
    await owner.connect();
    const revokedEvents = async () =>
      (await owner.query<{ actor: string }>("SELECT actor FROM audit_events WHERE subject = $1 AND action = 'lease.revoked'", [`lease:${lease!.id}`])).rows;
    const appendFunctions = [
      'dbaccess_audit_append(uuid, text, text, text, text, jsonb, timestamptz, text)',
      'dbaccess_audit_append_batch(uuid, text[], text[], text[], text[], jsonb[], timestamptz[], text[])',
    ];
    try {
      // The audit log refuses every append, as a broken state database would.
      for (const fn of appendFunctions) await owner.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM dbaccess_app`);
      // The user still goes at expiry...
      await waitUntil(async () => (await targetRoles(lease!.username)).length === 0 || undefined, 20_000, 'user dropped at expiry');
      // ...but with no event to say so, the lease is not marked revoked: it stays due and is retried.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await leaseRow())!.revokedAt).toBeNull();
      expect(await revokedEvents()).toEqual([]);
    } finally {
      for (const fn of appendFunctions) await owner.query(`GRANT EXECUTE ON FUNCTION ${fn} TO dbaccess_app`);
    }
    try {
      await waitUntil(async () => (await leaseRow())?.revokedAt, 45_000, 'revocation once the audit log takes events again');
      expect(await revokedEvents()).toHaveLength(1);
      expect(await asSystem('test', () => h.app.audit.verify(lease!.tenantId))).toMatchObject({ ok: true });
      const request = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
      expect(request!.state).toBe('revoked');
    } finally {
      await owner.end();
    }
  });

  it('reconciles: drops users of ours that no lease owns, and nothing else', async () => {
    // A user our provider created that no lease owns: what a crash or a lost row would leave behind.
    const orphan = `${h.prefix}orphan01`;
    const provider = createPostgresProvider({ installId: h.app.installId });
    const target = { entry: h.app.catalogs().ofDatabase('orders')!.database('orders')!, adminUrl: h.target.adminUrl };
    await provider.provision(target, { username: orphan, password: 'Orphan-password-1234', expiresAt: new Date(Date.now() + 3600_000), level: 'read', scope: [] });
    // An access group whose last member's revocation could not drop it: in no one's use, lending nothing.
    const leftAlone = `${h.prefix}orphan02`;
    await provider.provision(target, { username: leftAlone, password: 'Orphan-password-5678', expiresAt: new Date(Date.now() + 3600_000), level: 'write', scope: [], prefix: h.prefix });
    const emptyGroup = await onTarget(async (client) => {
      const { rows } = await client.query<{ rolname: string }>(
        'SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = $1::regrole',
        [`"${leftAlone}"`],
      );
      return rows[0]?.rolname;
    });
    expect(emptyGroup).toMatch(new RegExp(`grp_${h.app.installId}_[0-9a-f]{16}$`));
    await onTarget((client) => client.query(`REVOKE "${emptyGroup}" FROM "${leftAlone}"; DROP ROLE "${leftAlone}"`));
    await provider.close();
    // A role with the prefix that we did not create is somebody's: it must survive.
    const foreign = `${h.prefix}not_ours`;
    await onTarget((client) => client.query(`CREATE ROLE "${foreign}" NOLOGIN`));
    // And a lease written (the first step of provisioning) for an approved request whose job was lost.
    const { requestId } = await approveNew({ duration: '3s' });
    const lease = await waitUntil(() => asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })), 10_000, 'lease row');

    const { dropped } = await h.app.leases.reconcile();
    expect(dropped).toContain(`orders/${orphan}`);
    expect(dropped).toContain(`orders/${emptyGroup}`);
    expect(await targetGroups(emptyGroup!)).toEqual([]);
    expect(dropped.some((name) => name.endsWith(lease.username))).toBe(false);
    expect(await targetRoles(orphan)).toEqual([]);
    expect(await targetRoles(foreign)).toEqual([foreign]);
    await onTarget((client) => client.query(`DROP ROLE "${foreign}"`));

    // The lease's own user lives until its expiry, then goes too: nothing with our prefix remains.
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.id, lease.id) })))?.revokedAt, 20_000, 'revocation');
    const live = await asSystem('test', () => h.app.db.query.leases.findMany({ where: (l, { isNull }) => isNull(l.revokedAt) }));
    const remaining = (await targetRoles(h.prefix)).filter((role) => !live.some((l) => l.username === role));
    expect(remaining).toEqual([]);
    expect(await targetSessionsOf(lease.username)).toBe(0);
  });

  it('keeps the request and tells everyone when the target is down', async () => {
    const { card, requestId } = await approveNew({ databaseId: 'offline', duration: '1h' });
    const thread = await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.threadTs === card.ts && /Could not create the database user/.test(m.text ?? ''));
    expect(thread.text).toContain('Cannot reach offline');
    expect(thread.text).not.toContain('secret-offline-pw');
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => m.text?.includes(requestId) === true && /Could not create the database user/.test(m.text ?? ''));
    const request = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
    expect(request!.state).toBe('provisioning');
    const jobs = await h.app.queue.counts();
    expect((jobs.delayed ?? 0) + (jobs.waiting ?? 0) + (jobs.active ?? 0)).toBeGreaterThan(0);
  });
});

describe('a crash between writing the lease and creating the user', () => {
  let h: Harness;
  beforeAll(async () => {
    // Only the web part runs at first: approvals are queued, nothing provisions them.
    h = await startHarness({ queue: 'postgres', env: { RUN_MODE: 'web' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('finishes the provisioning on restart, then revokes, leaving nothing behind', async () => {
    // Long enough for the worker to start and make the user before the approved time is over (one that
    // ends while the user is being made is not handed out: see 'an approved time that runs out...').
    await h.submitRequest(PEOPLE.requester, { duration: '12s' });
    const requestId = await waitUntil(async () => (await asSystem('test', () => h.app.db.query.accessRequests.findFirst()))?.id, 10_000, 'request');
    const tenantId = (await h.app.db.query.tenants.findFirst())!.id;
    const actor = await h.app.tenants.actor('slack', 'T0ACME', PEOPLE.alice);
    expect((await asSystem('test', () => h.app.requests.decide(actor, requestId, 'approve'))).ok).toBe(true);

    // The first step of provisioning happened (the row, with the user name), then the process died.
    const row = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
    const { createLeaseRepo } = await import('../../src/modules/credentials/lease-repo.js');
    const lease = await withTenant(tenantId, () => createLeaseRepo({ db: h.app.db }).insertOnce({
      tenantId, requestId, databaseId: 'orders', username: `${h.prefix}crashed01`,
      expiresAt: new Date(row!.decidedAt!.getTime() + row!.durationSeconds * 1000),
    }));
    expect(await targetRoles(lease.username)).toEqual([]);

    // A worker starts: the queued provision job completes with the recorded name, then expiry revokes it.
    await h.startWorker();
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(lease.username), 15_000);
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.id, lease.id) })))?.revokedAt, 30_000, 'revocation');
    expect(await targetRoles(h.prefix)).toEqual([]);
  });
});

describe('a revocation that keeps failing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('warns the thread and the channel after 3 failures, keeps retrying, and finishes once it can', async () => {
    await h.submitRequest(PEOPLE.requester, { duration: '3s' });
    const card = await h.waitForCard();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const lease = await waitUntil(async () => {
      const row = await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));
      return row?.provisionedAt ? row : undefined;
    }, 10_000, 'provisioning');
    // Someone changed the user behind our back: it no longer carries our marker, so we refuse to drop it.
    await onTarget((client) => client.query(`COMMENT ON ROLE "${lease.username}" IS 'changed by hand'`));

    const warning = await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.threadTs === card.ts && /has failed 3 times/.test(m.text ?? ''), 30_000);
    expect(warning.text).toContain(lease.username);
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => !m.threadTs && /has failed 3 times/.test(m.text ?? ''));
    await h.waitForCard((m) => m.ts === card.ts && /revocation failing/.test(shown(m)));
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/dbaccess_revocation_failures_total [3-9]/);

    // Approvers see the stuck revocation in /dbaccess status; others are told it is not for them.
    await h.command(PEOPLE.alice, 'status');
    const status = await h.slack.waitFor('response_url', (c) => /dbaccess status/.test(String(c.args.text ?? '')));
    expect(String(status.args.text)).toMatch(new RegExp(`Revocations failing and retrying: 1[\\s\\S]*${lease.username}[\\s\\S]*${requestId}`));
    await h.command(PEOPLE.requester, 'status');
    await h.slack.waitFor('response_url', (c) => /Only admins can see the system status/.test(String(c.args.text ?? '')));

    // Fixed: the next retry drops the user and the card says so.
    const { ROLE_MARKER } = await import('../../src/modules/credentials/engines/postgres/provider.js');
    await onTarget((client) => client.query(`COMMENT ON ROLE "${lease.username}" IS '${ROLE_MARKER}'`));
    await h.waitForCard((m) => m.ts === card.ts && /access ended/.test(shown(m)), 30_000);
    expect(await targetRoles(lease.username)).toEqual([]);
  });
});

describe('a target that is unreachable at expiry', () => {
  let h: Harness;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  beforeAll(async () => {
    ({ h, proxy } = await harnessBehindProxy('flaky', 'FLAKY_ADMIN_URL'));
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
  });

  it('keeps retrying through the outage and revokes soon after the target is back', async () => {
    await h.submitRequest(PEOPLE.requester, { databaseId: 'flaky', duration: '3s' });
    const card = await h.waitForCard();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? ''));
    const session = new pg.Client({ connectionString: /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0] });
    await session.connect();
    session.on('error', () => {});
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];

    await proxy.cut();
    const lease = await waitUntil(async () => {
      const row = await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));
      return row && row.revokeAttempts >= 3 ? row : undefined;
    }, 30_000, 'failed attempts during the outage');
    expect(lease.revokedAt).toBeNull();
    expect(lease.lastError).toMatch(/Cannot reach flaky/);
    expect((await session.query('SELECT 1 AS up')).rows[0].up).toBe(1); // still there: nothing could reach the target

    await proxy.restore();
    const restoredAt = Date.now();
    const revoked = await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.id, lease.id) })))?.revokedAt, 45_000, 'revocation after the outage');
    // The retry delay is capped at 30 s, so a target back from any outage is revoked within a minute.
    expect(revoked!.getTime() - restoredAt).toBeLessThan(40_000);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await targetRoles(lease.username)).toEqual([]);
  });
});

describe('a burst of requests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('posts every card when many requests arrive at once (no pool starvation)', async () => {
    const { validateDraft } = await import('../../src/modules/access-requests/access-request-schemas.js');
    const { withTenant } = await import('../../src/db/tenant-scope.js');
    const tenantId = await h.app.tenants.ensureTenant('slack', 'T0ACME');
    const draft = validateDraft({ databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '1h', reason: 'Investigate the failed payouts of last night for OPS-1234', ticket: '' }, await h.app.catalogOf(tenantId));
    if (!draft.ok) throw new Error('draft');
    await withTenant(tenantId, async () => {
      const actor = await h.app.tenants.actor('slack', 'T0ACME', PEOPLE.requester);
      await Promise.all(Array.from({ length: 40 }, () => asSystem('test', () => h.app.requests.submit(actor, draft.value))));
    });
    await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs).length >= 40, 45_000, '40 cards');
  });
});

describe('a request whose check job was lost before it ran', () => {
  let h: Harness;
  beforeAll(async () => {
    // Only the web part runs at first: the submission queues the check, nothing runs it.
    h = await startHarness({ queue: 'redis', env: { RUN_MODE: 'web' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('still gets its approval card: the sweep runs the check again once the card is overdue', async () => {
    await h.submitRequest(PEOPLE.requester, { duration: '1h' });
    const requestId = await waitUntil(async () => (await asSystem('test', () => h.app.db.query.accessRequests.findFirst()))?.id, 10_000, 'request');
    // Redis loses the check job (a flush, a restart without persistence) before any worker took it.
    expect(await deleteRedisPrefix(h.redisPrefix)).toBeGreaterThan(0);

    // A worker starts; the card comes once it is overdue (30 s after submission), and only one.
    await h.startWorker();
    const card = await h.waitForCard((m) => shown(m).includes(requestId), 60_000);
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs && shown(m).includes(requestId))).toHaveLength(1);
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(m.text ?? ''), 20_000);
  }, 90_000);
});

describe('an approval whose time ran out while the target did not answer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres', env: { RUN_MODE: 'web' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fails the request and drops the user an earlier attempt made after all (its statements held up on the way)', async () => {
    await h.submitRequest(PEOPLE.requester, { duration: '3s' });
    const requestId = await waitUntil(async () => (await asSystem('test', () => h.app.db.query.accessRequests.findFirst()))?.id, 10_000, 'request');
    const tenantId = (await h.app.db.query.tenants.findFirst())!.id;
    const actor = await h.app.tenants.actor('slack', 'T0ACME', PEOPLE.alice);
    expect((await asSystem('test', () => h.app.requests.decide(actor, requestId, 'approve'))).ok).toBe(true);

    // An attempt wrote the lease and sent CREATE ROLE to a frozen target, gave up, and the target ran the
    // statements when it came back; by the next attempt the approved time is over.
    const { createLeaseRepo } = await import('../../src/modules/credentials/lease-repo.js');
    const lease = await withTenant(tenantId, () => createLeaseRepo({ db: h.app.db }).insertOnce({
      tenantId, requestId, databaseId: 'orders', username: `${h.prefix}late01`, expiresAt: new Date(Date.now() - 1000),
    }));
    const provider = createPostgresProvider({ installId: h.app.installId });
    const target = { entry: h.app.catalogs().ofDatabase('orders')!.database('orders')!, adminUrl: h.target.adminUrl };
    await provider.provision(target, { username: lease.username, password: 'Late-password-1234', expiresAt: lease.expiresAt, level: 'read', scope: [] });
    await provider.close();
    expect(await targetRoles(lease.username)).toEqual([lease.username]);

    await h.startWorker();
    const request = await waitUntil(async () => {
      const row = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
      return row?.state === 'failed' ? row : undefined;
    }, 20_000, 'the request failed');
    expect(request.failure).toMatch(/approved time ran out/);
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.id, lease.id) })))?.revokedAt, 20_000, 'the lease closed');
    expect(await targetRoles(lease.username)).toEqual([]);
  });
});

describe('a click whose delivery cannot be recorded (the state database restarting)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is still handled: acknowledged, then the approval made, not silence', async () => {
    await h.submitRequest(PEOPLE.requester, { duration: '1h' });
    const card = await h.waitForCard();
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    // Recording the delivery (the insert that stops Slack's retried copies) fails, as it does for the
    // seconds the state database is down; what the decision itself needs still works.
    const state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
    await state.query(`CREATE FUNCTION refuse_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the database system is shutting down'; END $$;
      CREATE TRIGGER refuse_deliveries BEFORE INSERT ON slack_deliveries FOR EACH ROW EXECUTE FUNCTION refuse_deliveries()`);
    await state.end();

    expect((await h.click(PEOPLE.alice, 'dbaccess.approve', card)).status).toBe(200);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(m.text ?? ''), 20_000);
  });
});

describe('an approved time that runs out while the user is being made', () => {
  let h: Harness;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  beforeAll(async () => {
    ({ h, proxy } = await harnessBehindProxy('slow', 'SLOW_ADMIN_URL'));
  });
  afterAll(async () => {
    proxy?.release();
    await h?.close();
    await proxy?.close();
  });

  const leaseOfRequest = (requestId: string) => asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));
  const actionsOn = (subject: string) =>
    asSystem('test', () => h.app.db.query.auditEvents.findMany({ where: (a, { eq }) => eq(a.subject, subject) })).then((rows) => rows.map((row) => row.action));

  // Chaos run 17:42: the sweep revoked the lease at its expiry while the provisioning, slowed down, was
  // still making the user; the user came after the revocation, and the provisioning's guard dropped it
  // (two lease.revoked events, a lease.provisioned after the first). The provisioning owns that lease.
  it('fails the request with the reason, hands nothing out and drops the user: one revocation', async () => {
    // A first access on the target leaves a connection open in the app's pool, in which the next
    // provisioning's statements wait while the target is held.
    await h.submitRequest(PEOPLE.requester, { databaseId: 'slow', duration: '1h' });
    const first = await h.waitForCard();
    await h.click(PEOPLE.alice, 'dbaccess.approve', first);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? ''));

    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    await h.submitRequest(PEOPLE.requester, { databaseId: 'slow', duration: '2s' });
    const card = await h.waitForCard((m) => !before.has(m.ts));
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    proxy.hold();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const lease = await waitUntil(() => leaseOfRequest(requestId), 20_000, 'the lease row, written before the user');
    // Past the expiry, with sweeps (every second here) in between; a revocation recorded meanwhile ends the wait.
    await waitUntil(async () => Date.now() > lease.expiresAt.getTime() + 3000 || (await actionsOn(`lease:${lease.id}`)).some((a) => a.startsWith('lease.revoke')), 20_000, 'the expiry and a few sweeps');
    proxy.release();

    const request = await waitUntil(async () => {
      const row = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
      const leaseNow = await leaseOfRequest(requestId);
      return row && ['failed', 'revoked'].includes(row.state) && leaseNow?.revokedAt ? row : undefined;
    }, 60_000, 'the request over and its lease closed');
    expect(request.state).toBe('failed');
    expect(request.failure).toMatch(/approved time ran out/);
    const actions = await actionsOn(`lease:${lease.id}`);
    expect(actions.filter((a) => a === 'lease.revoked'), actions.join(' ')).toHaveLength(1);
    expect(actions).not.toContain('lease.provisioned');
    expect(await targetRoles(lease.username)).toEqual([]);
    expect(h.slack.messagesIn(h.slack.dmChannelFor(PEOPLE.requester)).filter((m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId))).toEqual([]);
  }, 120_000);
});
