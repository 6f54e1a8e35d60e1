import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { targetGroups, targetRoles, targetSessionsOf } from '../support/databases.js';

/**
 * The whole life of one request through Slack, on both queue backends, and over both ways Slack
 * reaches the app (signed HTTP posts; Socket Mode, through the WebSocket double): /dbaccess -> form ->
 * card -> approve -> DM -> connect -> expiry -> refused and disconnected -> summary.
 */
describe.each([
  ['redis', 'http'],
  ['postgres', 'http'],
  ['postgres', 'socket'],
] as const)('Slack lifecycle on %s, over %s', (queue, slack) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue, slack: slack === 'socket' ? { socketMode: {} } : 'http' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('walks a request from /dbaccess to revoked, and the password stops working', async () => {
    // The form opens with the catalog's databases.
    const submitted = await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', duration: '6s', ticket: 'OPS-1234' });
    expect(submitted.status).toBe(200);
    const modal = h.slack.callsTo('views.open')[0]!.args.view as { blocks: Array<{ block_id: string; label: { text: string } }> };
    expect(modal.blocks.filter((block) => block.label).map((block) => block.label.text)).toEqual(['Database', 'Access level', 'Scope', 'Duration', 'Reason', 'Ticket', 'Start (UTC)', 'Emergency']);
    expect(JSON.stringify(modal.blocks)).toContain('"action_id":"dbaccess.analyze"');
    expect(JSON.stringify(modal)).toContain('orders (production)');

    // The approvers' card: who, what, risk, exact grants, and the two buttons.
    const card = await h.waitForCard();
    const text = shown(card);
    expect(text).toContain(`<@${PEOPLE.requester}>`);
    expect(text).toMatch(/orders \(production, pii\)/);
    expect(text).toContain('sales.orders');
    expect(text).toMatch(/Risk: (Low|Medium|High|Critical)/);
    expect(text).toContain('GRANT SELECT ON TABLE "sales"."orders"');
    expect(text).toContain('OPS-1234');
    expect(hasButton(card, 'dbaccess.approve') && hasButton(card, 'dbaccess.deny')).toBe(true);
    const receipt = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /waiting for/.test(m.text ?? ''));
    expect(receipt.text).toContain(`<@${PEOPLE.alice}>`);

    // The requester cannot approve their own request; someone who is not an approver cannot either.
    // Every click is acknowledged (over HTTP with 200, over the socket with its envelope id).
    expect((await h.click(PEOPLE.requester, 'dbaccess.approve', card)).status).toBe(200);
    expect((await h.click(PEOPLE.mallory, 'dbaccess.approve', card)).status).toBe(200);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.mallory).length > 0, 5000, 'ephemeral to mallory');
    expect(h.slack.ephemeralsFor(PEOPLE.requester).map((e) => e.text)).toContain('You cannot approve your own request, even as one of its approvers.');
    expect(h.slack.ephemeralsFor(PEOPLE.mallory)[0]!.text).toMatch(/^Only <@U0ALICE> or <@U0BOB> can approve read on orders \(policy "tests"\)\.$/);
    expect(hasButton(h.slack.message(card.channel, card.ts)!, 'dbaccess.approve')).toBe(true);

    // Alice approves: the buttons go, the requester gets credentials by DM, the thread says it is active.
    expect((await h.click(PEOPLE.alice, 'dbaccess.approve', card)).status).toBe(200);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? ''));
    const updated = h.slack.message(card.channel, card.ts)!;
    expect(hasButton(updated, 'dbaccess.approve')).toBe(false);
    expect(shown(updated)).toContain(`Approved by <@${PEOPLE.alice}>`);
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const thread = await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.threadTs === card.ts && /Access active until/.test(m.text ?? ''));
    expect(thread.text).not.toContain(new URL(uri).password);

    // The DMed URI works, for exactly what was granted.
    const session = new pg.Client({ connectionString: uri });
    await session.connect();
    const { rows } = await session.query('SELECT customer FROM sales.orders ORDER BY id');
    expect(rows.map((row) => row.customer)).toEqual(['acme', 'globex']);
    await expect(session.query('SELECT * FROM sales.customers')).rejects.toThrow(/permission denied/);
    await expect(session.query("INSERT INTO sales.orders (customer, total) VALUES ('x', 1)")).rejects.toThrow(/permission denied/);
    const username = decodeURIComponent(new URL(uri).username);
    expect(username.startsWith(h.prefix)).toBe(true);
    session.on('error', () => {});

    // At expiry: the open session is killed, the password is refused, the role is gone.
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.threadTs === card.ts && /Session summary/.test(m.text ?? ''), 20_000);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expect(new pg.Client({ connectionString: uri }).connect()).rejects.toThrow(/password authentication failed|does not exist/);
    expect(await targetRoles(username)).toEqual([]);
    expect(await targetSessionsOf(username)).toBe(0);
    // Its access group (the privileges it held) went with its last member.
    expect(await targetGroups(h.prefix)).toEqual([]);

    // Everyone sees the end: the card, the DM (edited, no password left), the thread summary.
    expect(shown(h.slack.message(card.channel, card.ts)!)).toMatch(/access ended at .* \(expired\)/);
    const revokedDm = h.slack.message(dm.channel, dm.ts)!;
    expect(shown(revokedDm)).toContain('no longer exists');
    expect(shown(revokedDm)).not.toContain(new URL(uri).password);
    const summary = h.slack.messagesIn(APPROVERS_CHANNEL).find((m) => m.threadTs === card.ts && /Session summary/.test(m.text ?? ''))!;
    expect(shown(summary)).toMatch(/Approved by: <@U0ALICE>/);
    expect(shown(summary)).toMatch(/Ended: expired/);

    // Every step is audited, the chain holds, and no secret is in the audit log or any job.
    const tenantId = (await h.app.db.query.tenants.findFirst())!.id;
    const events = await withTenant(tenantId, () => h.app.audit.list(tenantId));
    expect(events.map((e) => e.action).reverse()).toEqual(
      expect.arrayContaining(['request.submitted', 'request.approve', 'request.approved', 'lease.provisioned', 'lease.delivered', 'lease.revoked']),
    );
    expect(await withTenant(tenantId, () => h.app.audit.verify(tenantId))).toEqual({ ok: true, events: events.length });
    const password = new URL(uri).password;
    expect(JSON.stringify(events)).not.toContain(password);
    expect(JSON.stringify(h.slack.messagesIn(APPROVERS_CHANNEL))).not.toContain(password);
    if (slack === 'socket') {
      // The command, the submission and three clicks: five envelopes, each acknowledged once, in Slack's 3 s.
      const { acks, strayMessages, connections } = h.slack.socket!;
      expect(acks.map((ack) => ack.type)).toEqual(['slash_commands', 'interactive', 'interactive', 'interactive', 'interactive']);
      expect(acks.every((ack) => ack.ms < 3000)).toBe(true);
      expect(strayMessages).toEqual([]);
      expect(connections).toHaveLength(1);
    }
    await session.end().catch(() => {});
  });
});
