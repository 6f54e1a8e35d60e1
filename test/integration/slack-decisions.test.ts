import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { targetRoles } from '../support/databases.js';
import { blockAction, slashCommand } from '../support/slack-requests.js';

describe('Slack decisions and commands', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const requestCount = async () => (await asSystem('test', () => h.app.db.query.accessRequests.findMany())).length;
  const newCard = async (values: Parameters<Harness['submitRequest']>[1] = {}) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    expect((await h.submitRequest(PEOPLE.requester, values)).status).toBe(200);
    return h.waitForCard((m) => !before.has(m.ts));
  };

  describe('deciding by text command', () => {
    /** The command's answer: in the acknowledgement, or posted to its response_url right after. */
    const say = async (user: string, text: string) => {
      const before = h.slack.callsTo('response_url').length;
      const answer = await h.command(user, text);
      expect(answer.status).toBe(200);
      if (answer.body) return (JSON.parse(answer.body) as { text: string }).text;
      const call = await waitUntil(() => h.slack.callsTo('response_url').slice(before).find((c) => c.responseUrlId !== undefined), 10_000, `the answer to ${text}`);
      return String(call.args.text);
    };

    it('applies the card\'s rules: never the requester, only approvers, then approve or deny with a reason', async () => {
      const card = await newCard({ reason: 'Text path: count the failed payouts of last night' });
      const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
      expect(await say(PEOPLE.requester, `approve ${requestId}`)).toBe('You cannot approve your own request, even as one of its approvers.');
      expect(await say(PEOPLE.mallory, `approve ${requestId}`)).toMatch(/^Only <@U0ALICE> or <@U0BOB> can approve/);
      expect(await say(PEOPLE.alice, 'approve nothing')).toMatch(/^Usage: `\/dbaccess approve &lt;request id&gt;`/);
      expect(await say(PEOPLE.alice, `approve ${requestId}`)).toBe(`Approved ${requestId}.`);
      await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId));

      const other = await newCard({ reason: 'Text path: look at the refunds of last night' });
      const otherId = /R[0-9A-Z]{9}/.exec(shown(other))![0];
      expect(await say(PEOPLE.bob, `deny ${otherId} not during the freeze`)).toBe(`Denied ${otherId}.`);
      const closed = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => (m.text ?? '').includes(otherId) && /denied/.test(m.text ?? ''));
      expect(closed.text).toContain('not during the freeze');
      expect(await say(PEOPLE.alice, `approve ${otherId}`)).toMatch(/already|denied/i);
    });
  });

  describe('request authentication', () => {
    const body = () => slashCommand({ teamId: TEAM, userId: PEOPLE.requester, text: '', responseUrl: h.slack.responseUrl('auth') });

    it('refuses a forged signature, a stale and a future timestamp, and changes nothing', async () => {
      const now = Math.floor(Date.now() / 1000);
      const opened = h.slack.callsTo('views.open').length;
      expect((await h.post(body(), { signature: 'v0=' + 'ab'.repeat(32) })).status).toBe(401);
      expect((await h.post(body(), { timestamp: now - 6 * 60 })).status).toBe(401);
      expect((await h.post(body(), { timestamp: now + 6 * 60 })).status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(h.slack.callsTo('views.open').length).toBe(opened);
    });

    it('accepts a correctly signed request within the window', async () => {
      expect((await h.post(body(), { timestamp: Math.floor(Date.now() / 1000) - 60 })).status).toBe(200);
    });
  });

  describe('the request form', () => {
    it('shows inline errors for bad input and stores nothing', async () => {
      const before = await requestCount();
      const answer = await h.submitRequest(PEOPLE.requester, { duration: '9h', reason: 'asdf', scope: 'sales.orders; drop table x' });
      expect(answer.status).toBe(200);
      const errors = (answer.json as { response_action: string; errors: Record<string, string> });
      expect(errors.response_action).toBe('errors');
      expect(errors.errors.duration).toBe('At most 4h for orders.');
      expect(errors.errors.reason).toMatch(/at least 10 letters/);
      expect(errors.errors.scope).toBe('Scope: expected , between items (at character 13).');
      expect(await requestCount()).toBe(before);
    });

    it('checks the names against the target before approvers see anything, and suggests near matches', async () => {
      const cards = h.slack.messagesIn(APPROVERS_CHANNEL).length;
      await h.submitRequest(PEOPLE.requester, { scope: 'sales.ordrs, sales.orders(totl)' });
      const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /was not sent to approvers/.test(m.text ?? ''));
      expect(dm.text).toContain('`sales.ordrs` does not exist on orders. Did you mean `sales.orders`?');
      expect(dm.text).toContain('Column `totl` does not exist in `sales.orders`. Did you mean `total`?');
      expect(h.slack.messagesIn(APPROVERS_CHANNEL).length).toBe(cards);
    });

    it('refuses an unknown database and a too-short duration', async () => {
      const answer = await h.submitRequest(PEOPLE.requester, { databaseId: 'nope', duration: '1s' });
      const errors = (answer.json as { errors: Record<string, string> }).errors;
      expect(errors.databaseId).toBe('Choose a database from the list.');
      expect(errors.duration).toBe('At least 2s.');
    });
  });

  it('turns 20 concurrent approvals into exactly one decision and one database user', async () => {
    const card = await newCard({ duration: '1h' });
    const clicks = Array.from({ length: 20 }, (_, i) => h.click(i % 2 ? PEOPLE.alice : PEOPLE.bob, 'dbaccess.approve', card));
    expect((await Promise.all(clicks)).every((answer) => answer.status === 200)).toBe(true);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))?.deliveredAt, 15_000, 'delivery');
    const decisions = await asSystem('test', () => h.app.db.query.decisions.findMany({ where: (d, { eq }) => eq(d.requestId, requestId) }));
    expect(decisions).toHaveLength(1);
    const lease = (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))!;
    expect(await targetRoles(lease.username)).toEqual([lease.username]);
    const dms = h.slack.messagesIn(h.slack.dmChannelFor(PEOPLE.requester)).filter((m) => m.text?.includes('is ready until') && shown(m).includes(requestId));
    expect(dms).toHaveLength(1);
    // Everyone whose click lost was told who won, and nothing changed for them.
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.alice).length + h.slack.ephemeralsFor(PEOPLE.bob).length >= 19, 10_000, 'explanations');
    const explanations = [...h.slack.ephemeralsFor(PEOPLE.alice), ...h.slack.ephemeralsFor(PEOPLE.bob)].map((e) => e.text ?? '');
    expect(explanations.filter((text) => /already approved/.test(text))).toHaveLength(19);

    // The approver can end it from the card; the requester's DM and the card update.
    const active = await h.waitForCard((m) => m.ts === card.ts && hasButton(m, 'dbaccess.end'));
    await h.click(PEOPLE.bob, 'dbaccess.end', active);
    await h.waitForCard((m) => m.ts === card.ts && /access ended at .*revoked by <@U0BOB>/.test(shown(m)));
    expect(await targetRoles(lease.username)).toEqual([]);
  });

  it('denies with a reason, tells the requester, and closes the card', async () => {
    const card = await newCard();
    const stale = structuredClone(card); // what a slow client still shows after the decision
    await h.click(PEOPLE.alice, 'dbaccess.deny', card);
    const call = await h.slack.waitFor('views.open', (c) => (c.args.view as { callback_id?: string }).callback_id === 'dbaccess.deny');
    const view = (call.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    const { viewSubmission, plainTextInput } = await import('../support/slack-requests.js');
    await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.alice, view, values: { reason: { value: plainTextInput('Use the read replica instead') } } }));
    const closed = await h.waitForCard((m) => m.ts === card.ts && /Denied by <@U0ALICE>/.test(shown(m)));
    expect(hasButton(closed, 'dbaccess.approve')).toBe(false);
    expect(shown(closed)).toContain('Use the read replica instead');
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /was denied by <@U0ALICE>: Use the read replica instead/.test(m.text ?? ''));
    // A late approval changes nothing.
    await h.click(PEOPLE.bob, 'dbaccess.approve', stale);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.bob).some((e) => /already denied/.test(e.text ?? '')), 5000, 'late click explained');
  });

  it('refuses a non-approver who tries to deny, before opening any form', async () => {
    const card = await newCard();
    const opened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.mallory, 'dbaccess.deny', card);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.mallory).some((e) => /Only <@U0ALICE> or <@U0BOB> can approve/.test(e.text ?? '')), 5000, 'refusal');
    expect(h.slack.callsTo('views.open').length).toBe(opened);
  });

  it('answers help, list and revoke as text', async () => {
    const help = await h.command(PEOPLE.requester, 'help');
    expect((help.json as { text: string }).text).toContain('/dbaccess list');

    const card = await newCard({ duration: '1h' });
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(m.text ?? ''));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];

    await h.command(PEOPLE.requester, 'list');
    const list = await h.slack.waitFor('response_url', (c) => String(c.args.text ?? '').includes(requestId));
    expect(String(list.args.text)).toMatch(new RegExp(`${requestId}\` read on orders: active, until`));

    // Someone else cannot revoke it; the requester can, and the session ends.
    await h.command(PEOPLE.mallory, `revoke ${requestId}`);
    await h.slack.waitFor('response_url', (c) => /Only the requester or an approver/.test(String(c.args.text ?? '')));
    const session = new pg.Client({ connectionString: uri });
    await session.connect();
    session.on('error', () => {});
    await h.command(PEOPLE.requester, `revoke ${requestId.toLowerCase()}`);
    await h.waitForMessage(dm.channel, (m) => m.ts === dm.ts && /ended .*ended early by <@U0REQUESTER>/.test(shown(m)));
    await expect(session.query('SELECT 1')).rejects.toThrow();
    const usage = await h.command(PEOPLE.requester, 'revoke');
    expect((usage.json as { text: string }).text).toMatch(/^Usage: `\/dbaccess revoke &lt;request id&gt;`/);
  });

  it('ignores a button click for a request of another workspace', async () => {
    const card = await newCard();
    const foreign = blockAction({
      teamId: 'T0OTHER', userId: PEOPLE.alice, actionId: 'dbaccess.approve', message: card, channelId: card.channel,
      responseUrl: h.slack.responseUrl('foreign', { user: PEOPLE.alice, channel: card.channel }),
    });
    await h.post(foreign);
    await h.slack.waitFor('response_url', (c) => c.responseUrlId === 'foreign');
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const request = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
    expect(request!.state).toBe('pending');
    expect(String(h.slack.callsTo('response_url').find((c) => c.responseUrlId === 'foreign')!.args.text)).toBe(`Request ${requestId} was not found.`);
  });
});

describe('pending requests expire', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres', settings: { pendingTimeout: '2s' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('marks the card expired, removes the buttons and tells the requester', async () => {
    await h.submitRequest(PEOPLE.requester, {});
    const card = await h.waitForCard();
    const stale = structuredClone(card);
    const expired = await h.waitForCard((m) => m.ts === card.ts && /Expired unanswered/.test(shown(m)));
    expect(hasButton(expired, 'dbaccess.approve')).toBe(false);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /expired without a decision/.test(m.text ?? ''));
    await h.click(PEOPLE.alice, 'dbaccess.approve', stale);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.alice).some((e) => /already expired unanswered/.test(e.text ?? '')), 5000, 'explanation');
  });
});

describe('malformed Slack payloads', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers garbage with an error status and keeps serving', async () => {
    for (const body of ['payload=%7Bnot-json', 'payload=' + encodeURIComponent(JSON.stringify({ type: 'block_actions' })), 'x'.repeat(2000)]) {
      const answer = await h.post(body);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
    const help = await h.command(PEOPLE.requester, 'help');
    expect(help.status).toBe(200);
  });

  it('answers a button whose value was tampered with, and changes nothing', async () => {
    await h.submitRequest(PEOPLE.requester, {});
    const card = await h.waitForCard();
    const tampered = blockAction({
      teamId: TEAM, userId: PEOPLE.alice, actionId: 'dbaccess.approve', message: card, channelId: card.channel, value: "R000000000'; DROP TABLE x;--|orders|U0X",
      responseUrl: h.slack.responseUrl('tampered', { user: PEOPLE.alice, channel: card.channel }),
    });
    expect((await h.post(tampered)).status).toBe(200);
    const answer = await h.slack.waitFor('response_url', (c) => c.responseUrlId === 'tampered');
    expect(String(answer.args.text)).toBe('This button is no longer valid. Nothing changed.');
    expect((await asSystem('test', () => h.app.db.query.accessRequests.findFirst()))!.state).toBe('pending');
  });
});
