import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { blockAction, plainTextInput, viewSubmission } from '../support/slack-requests.js';

describe('extending access', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const leaseOf = (requestId: string) => asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));

  /** Clicks Extend in the credentials DM and submits the form. */
  async function extend(dm: Parameters<Harness['click']>[2], duration: string, reason = '') {
    const opened = h.slack.callsTo('views.open').length;
    await h.post(blockAction({ teamId: TEAM, userId: PEOPLE.requester, actionId: 'dbaccess.extend', message: dm, channelId: dm.channel, responseUrl: h.slack.responseUrl(`ext-${opened}`, { user: PEOPLE.requester }) }));
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'extend form');
    const view = (call.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    return h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.requester, view, values: { duration: { value: plainTextInput(duration) }, reason: { value: plainTextInput(reason || null) } } }));
  }

  it('extends within the maximum at once, keeping the user, the password and the open session', async () => {
    await h.submitRequest(PEOPLE.requester, { duration: '1h' });
    const card = await h.waitForCard();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId));
    expect(hasButton(dm, 'dbaccess.extend')).toBe(true);
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const session = new pg.Client({ connectionString: uri });
    await session.connect();
    const before = (await leaseOf(requestId))!;

    const bad = await extend(dm, 'forever');
    expect((bad.json as { errors: Record<string, string> }).errors.duration).toMatch(/Write a duration/);
    expect((await extend(dm, '30m')).status).toBe(200);

    const after = await waitUntil(async () => {
      const lease = await leaseOf(requestId);
      return lease && lease.expiresAt > before.expiresAt ? lease : undefined;
    }, 10_000, 'extension');
    expect(after.expiresAt.getTime() - before.expiresAt.getTime()).toBe(30 * 60 * 1000);
    expect(after.username).toBe(before.username);
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.threadTs === card.ts && /extended: it now ends at/.test(m.text ?? ''));
    await h.waitForMessage(dm.channel, (m) => /extended: it now ends at/.test(m.text ?? ''));
    // The same session keeps working, and the same password still logs in.
    expect((await session.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    const again = new pg.Client({ connectionString: uri });
    await again.connect();
    await again.end();
    // The database itself knows the new expiry.
    const { rows } = await session.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = current_user');
    expect(new Date(rows[0].rolvaliduntil).getTime()).toBe(after.expiresAt.getTime());
    await session.end();

    // Beyond the 4h maximum: approvers decide, on a card of its own.
    await extend(dm, '4h', 'The migration takes longer than planned');
    const extensionCard = await h.waitForCard((m) => /Extension \+4h of/.test(shown(m)));
    expect(shown(extensionCard)).toContain('The migration takes longer than planned');
    await h.waitForMessage(dm.channel, (m) => /approvers decide: extension request/.test(m.text ?? ''));
    expect((await leaseOf(requestId))!.expiresAt.getTime()).toBe(after.expiresAt.getTime());

    await h.click(PEOPLE.bob, 'dbaccess.approve', extensionCard);
    await waitUntil(async () => (await leaseOf(requestId))!.expiresAt.getTime() === after.expiresAt.getTime() + 4 * 3600_000, 10_000, 'approved extension');
    await h.waitForCard((m) => m.ts === extensionCard.ts && /extension applied/.test(shown(m)));
  });

  it('refuses to extend somebody else’s access', async () => {
    const rows = await asSystem('test', () => h.app.db.query.accessRequests.findMany({ where: (r, { eq }) => eq(r.state, 'active') }));
    const actor = await h.app.tenants.actor('slack', TEAM, PEOPLE.mallory);
    await expect(asSystem('test', () => h.app.requests.requestExtension(actor, rows[0]!.id, 600, 'x', async () => {}))).rejects.toThrow(/Only the requester/);
  });
});
