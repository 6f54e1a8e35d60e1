import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessRequests } from '../../src/db/schema/access-requests.js';
import { auditEvents } from '../../src/db/schema/audit.js';
import { leases } from '../../src/db/schema/leases.js';
import { chatUsers } from '../../src/db/schema/tenants.js';
import { asSystem, withTenant } from '../../src/db/tenant-scope.js';
import { PEOPLE, TEAM, failUnscopedQueries, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createStateDatabase } from '../support/databases.js';
import { createStateDb } from '../../src/db/client.js';
import { createTenantService } from '../../src/modules/tenants/tenant-service.js';
import { blockAction } from '../support/slack-requests.js';

/**
 * Tenant A's rows are out of reach from tenant B: through Slack with a crafted payload, and in the
 * database itself (row-level security), even for a query that forgets the tenant.
 */
describe('tenant isolation', () => {
  let h: Harness;
  let requestId: string;
  let tenantA: string;
  let tenantB: string;
  beforeAll(async () => {
    // Production's row-level security: a query without a scope gets nothing (the default harness raises instead).
    h = await startHarness({ queue: 'redis', unscopedQueries: 'empty' });
    await h.submitRequest(PEOPLE.requester, {});
    const card = await h.waitForCard();
    requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    // A request of a second workspace: two tenants' rows in every table below.
    await h.submitRequest(PEOPLE.bob, {}, 'T0OTHER');
    await h.waitForCard((m) => !shown(m).includes(requestId));
    tenantA = await h.app.tenants.ensureTenant('slack', TEAM);
    tenantB = await h.app.tenants.ensureTenant('slack', 'T0OTHER');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a tenant-B approver who crafts a click on a tenant-A card', async () => {
    const card = h.slack.messagesIn('C0APPROVALS').find((m) => shown(m).includes(requestId))!;
    await h.post(blockAction({ teamId: 'T0OTHER', userId: PEOPLE.alice, actionId: 'dbaccess.approve', message: card, responseUrl: h.slack.responseUrl('crafted', { user: PEOPLE.alice }) }));
    const answer = await h.slack.waitFor('response_url', (c) => c.responseUrlId === 'crafted');
    expect(String(answer.args.text)).toBe(`Request ${requestId} was not found.`);
    const row = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq: is }) => is(r.id, requestId) }));
    expect(row!.state).toBe('pending');
  });

  it('hides and protects tenant A rows from tenant B in the database itself', async () => {
    const db = h.app.db;
    await withTenant(tenantB, async () => {
      // No tenant filter in these queries: only row-level security stands in the way.
      expect(await db.select().from(accessRequests).where(eq(accessRequests.id, requestId))).toEqual([]);
      // Alice exists in tenant B too (her crafted click above), beside Bob; only B's identities are visible.
      expect(new Set((await db.select().from(chatUsers)).map((u) => u.tenantId))).toEqual(new Set([tenantB]));
      const events = await db.select().from(auditEvents);
      expect(events.length).toBeGreaterThan(0);
      expect(events.filter((e) => e.tenantId !== tenantB)).toEqual([]);
      const updated = await db.update(accessRequests).set({ state: 'approved' }).where(eq(accessRequests.id, requestId)).returning();
      expect(updated).toEqual([]);
      expect(await db.delete(leases).returning()).toEqual([]);
      // Writing a row into tenant A from tenant B's scope is refused outright.
      const a = await asSystem('test', () => db.query.chatUsers.findFirst({ where: (u, { eq: is }) => is(u.tenantId, tenantA) }));
      const sneak = await withTenant(tenantB, () => db.insert(chatUsers).values({ tenantId: tenantA, platform: 'slack', externalId: 'U0SNEAK' })).catch((error: Error) => error);
      expect(((sneak as Error & { cause?: Error }).cause ?? (sneak as Error)).message).toMatch(/violates row-level security policy/);
      expect(a).toBeDefined();
    });
    await withTenant(tenantA, async () => {
      expect(await db.select().from(accessRequests).where(eq(accessRequests.id, requestId))).toHaveLength(1);
    });
    const row = await asSystem('test', () => db.query.accessRequests.findFirst({ where: (r, { eq: is }) => is(r.id, requestId) }));
    expect(row!.state).toBe('pending');
  });

  it('runs the app as a role without ownership, BYPASSRLS or UPDATE on the audit log', async () => {
    const { rows } = await h.app.pool.query<{ who: string; bypass: boolean; audit_update: boolean }>(
      "SELECT current_user AS who, rolbypassrls AS bypass, has_table_privilege('audit_events', 'UPDATE') AS audit_update FROM pg_roles WHERE rolname = current_user",
    );
    expect(rows).toEqual([{ who: 'dbaccess_app', bypass: false, audit_update: false }]);
  });

  it('shows nothing to a connection that never set a tenant', async () => {
    const url = new URL(h.app.stateUrl);
    const raw = new pg.Client({ connectionString: url.toString() });
    await raw.connect();
    try {
      await raw.query('SET ROLE dbaccess_app');
      expect((await raw.query('SELECT count(*)::int AS n FROM access_requests')).rows[0].n).toBe(0);
      await raw.query(`SELECT set_config('dbaccess.tenant_id', $1, false)`, [tenantA]);
      expect((await raw.query('SELECT count(*)::int AS n FROM access_requests')).rows[0].n).toBeGreaterThan(0);
    } finally {
      await raw.end();
    }
  });

  it('shows none of two tenants\' rows to a query on the app\'s own pool that forgot its scope, and refuses its writes', async () => {
    const everyone = await asSystem('test', () => h.app.db.select({ tenantId: accessRequests.tenantId }).from(accessRequests));
    expect(new Set(everyone.map((row) => row.tenantId))).toEqual(new Set([tenantA, tenantB]));
    // Outside withTenant and asSystem: the pool's connections tell the server "no tenant".
    for (const table of ['access_requests', 'chat_users', 'audit_events', 'analyses']) {
      expect((await h.app.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, table).toBe(0);
    }
    expect(await h.app.db.select().from(accessRequests)).toEqual([]);
    expect(await h.app.db.update(accessRequests).set({ state: 'denied' }).returning()).toEqual([]);
    const sneak = await Promise.resolve(h.app.db.insert(chatUsers).values({ tenantId: tenantA, platform: 'slack', externalId: 'U0NOSCOPE' })).catch((error: Error) => error);
    expect(((sneak as Error & { cause?: Error }).cause ?? (sneak as Error)).message).toMatch(/violates row-level security policy/);
    // The same connections, back in a scope, see that tenant's rows again.
    expect(await withTenant(tenantB, () => h.app.db.select().from(accessRequests))).toHaveLength(1);
    expect((await h.app.pool.query('SELECT count(*)::int AS n FROM access_requests')).rows[0].n).toBe(0);
  });

  it('leaves SQL injected on a request\'s connection two ways past the wall, as the README says: set_config and RESET ROLE', async () => {
    const client = await h.app.pool.connect();
    try {
      await withTenant(tenantB, async () => {
        const visible = async () => (await client.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM access_requests')).rows.map((row) => row.tenant_id).sort();
        expect(await visible()).toEqual([tenantB]);
        // The scope is a setting any role may change: injected SQL can name the system's.
        await client.query("SELECT set_config('dbaccess.tenant_id', '*', false)");
        expect(await visible()).toEqual([tenantA, tenantB].sort());
        await client.query("SELECT set_config('dbaccess.tenant_id', $1, false)", [tenantB]);
        // The app logs in as the tables' owner and SET ROLEs: RESET ROLE takes the owner back, whom
        // row-level security does not bind.
        await client.query('RESET ROLE');
        const { rows } = await client.query<{ me: string; owner: string }>("SELECT current_user AS me, tableowner AS owner FROM pg_tables WHERE tablename = 'access_requests'");
        expect(rows[0]!.me).toBe(rows[0]!.owner);
        expect(await visible()).toEqual([tenantA, tenantB].sort());
      });
    } finally {
      client.release(true); // this connection's state is not the app's any more: closed, not pooled
    }
  });

  it('counts every tenant in the metrics, which read as the system by name', async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const pending = /^dbaccess_requests\{state="pending"\} (\d+)$/m.exec(text);
    expect(Number(pending?.[1])).toBe(2);
  });

  it('keeps the whole flow working inside each tenant scope', async () => {
    const card = h.slack.messagesIn('C0APPROVALS').find((m) => shown(m).includes(requestId))!;
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? ''));
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst()))?.deliveredAt, 10_000, 'delivery');
  });
});

/** The tests' own state databases: a query that forgot its scope fails where it runs. */
describe('the test suite\'s state database', () => {
  it('raises on a query that touches a tenant\'s row without a scope, and serves scoped ones as production does', async () => {
    const state = await createStateDatabase();
    await failUnscopedQueries(state.url);
    const { db, pool } = createStateDb(state.url, 2);
    try {
      const tenantId = await createTenantService({ db }).ensureTenant('slack', 'T0STRICT');
      await createTenantService({ db }).ensureUser(tenantId, 'slack', 'U0STRICT');
      const unscoped = await Promise.resolve(db.select().from(chatUsers)).catch((error: Error) => error);
      expect(((unscoped as Error & { cause?: Error }).cause ?? (unscoped as Error)).message).toMatch(/a query without a tenant scope touched a row of tenant/);
      expect(await withTenant(tenantId, () => db.select().from(chatUsers))).toHaveLength(1);
      expect(await withTenant(randomUUID(), () => db.select().from(chatUsers))).toEqual([]);
      expect(await asSystem('test', () => db.select().from(chatUsers))).toHaveLength(1);
    } finally {
      await pool.end();
      await state.drop();
    }
  });
});
