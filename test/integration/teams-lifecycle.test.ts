import { createRequire } from 'node:module';
import { generate } from 'otplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsTeam, type TeamsUser } from '../support/fake-bot-framework.js';
import { shownIn } from '../support/teams-text.js';

/**
 * The Slack end-to-end scenario's Teams twin, against a faithful Bot Framework on loopback with
 * authentication on both ways: the form in a personal chat, the approval card in the approvers'
 * channel with Universal Actions, credentials by a proactive 1:1 message that work, and at the end the
 * card, the credentials message and the thread updated, the session summary in the card's thread.
 */

/** Microsoft's Adaptive Cards SDK (the renderer Teams uses), its browser bundle, to parse our cards. */
const AdaptiveCards = createRequire(import.meta.url)('adaptivecards/dist/adaptivecards.js') as {
  AdaptiveCard: new () => { parse(json: unknown, context: unknown): void };
  SerializationContext: new () => { eventCount: number; getEventAt(index: number): { message: string } };
};


describe('the whole lifecycle in Microsoft Teams', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let teams: TeamsDriver;
  let team: TeamsTeam;
  let requester: TeamsUser;
  let alice: TeamsUser;
  let mallory: TeamsUser;

  beforeAll(async () => {
    fake = await startFakeBotFramework();
    requester = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    mallory = await fake.addUser({ name: 'Mallory', email: 'mallory@acme.example' });
    team = await fake.addTeam({ name: 'DBAs', members: [requester, alice, mallory] });
    h = await startHarness({
      queue: 'redis',
      env: { ...fake.env(), CONSOLE: 'off' },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
      policy: `policies:\n  - { name: tests, approvers: [${alice.email}], mfa: never }\n`,
    });
    teams = fake.bot(`${h.url}/api/messages`);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('refuses activities without a valid Bot Framework token', async () => {
    const unsigned = await teams.personalMessage({ from: requester, text: 'dbaccess' }, { token: null });
    expect(unsigned.status).toBe(401);
    const foreign = await teams.personalMessage({ from: requester, text: 'dbaccess' }, { token: await fake.signChannelToken({ audience: '00000000-0000-0000-0000-000000000000' }) });
    expect(foreign.status).toBe(401);
  });

  it('requests, approves with a Universal Action, delivers working credentials, ends and summarizes', async () => {
    // The app is added to the approvers' team: the bot learns where to post.
    expect((await teams.installationUpdate({ from: alice, action: 'add', team })).status).toBe(200);

    // "dbaccess" in a personal chat answers with the form; inline errors come back on the same card.
    expect((await teams.personalMessage({ from: requester, text: 'dbaccess' })).status).toBe(200);
    const personal = await fake.personalConversationId(requester);
    const form = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => shownIn(m).includes('Request database access')), 10_000, 'the request form');
    const inputs = { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '9h', reason: 'Investigate the failed payouts of last night for OPS-1234', ticket: 'OPS-1234', breakGlass: 'false' };
    const refused = await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs });
    expect(refused.status).toBe(200);
    expect(shownIn({ attachments: [{ content: (refused.body as { value: unknown }).value }] })).toContain('At most 4h for orders.');

    const submitted = await teams.cardAction({ from: requester, message: (await fake.message(form.id))!, verb: 'submit', inputs: { ...inputs, duration: '1h' } });
    expect(submitted.status).toBe(200);
    const received = shownIn({ attachments: [{ content: (submitted.body as { value: unknown }).value }] });
    const requestId = /R[0-9A-Z]{9}/.exec(received)![0];

    // The approvers' channel gets the card, with the analysis once it has run.
    const card = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId) && shownIn(m).includes('Approve')), 30_000, 'the approval card');
    expect(shownIn(card)).toContain('sales.orders');
    expect(shownIn(card)).toContain('GRANT SELECT ON TABLE "sales"."orders"');

    // Nobody approves their own request; someone who is not an approver cannot either.
    const own = await teams.cardAction({ from: requester, message: card, verb: 'approve' });
    expect(shownIn({ attachments: [{ content: (own.body as { value: unknown }).value }] })).toMatch(/cannot approve your own request/);
    const stranger = await teams.cardAction({ from: mallory, message: (await fake.message(card.id))!, verb: 'approve' });
    expect(shownIn({ attachments: [{ content: (stranger.body as { value: unknown }).value }] })).toMatch(/Only .*alice@acme\.example.* can approve/);

    const approved = await teams.cardAction({ from: alice, message: (await fake.message(card.id))!, verb: 'approve' });
    expect(approved.status).toBe(200);
    expect(shownIn({ attachments: [{ content: (approved.body as { value: unknown }).value }] })).toMatch(/Approved by .*alice@acme\.example/);

    // Credentials by a proactive 1:1 message; they work for what was granted.
    const credentials = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => /postgresql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0];
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    expect((await session.query('SELECT customer FROM sales.orders ORDER BY id')).rows.map((row) => row.customer)).toEqual(['acme', 'globex']);
    await expect(session.query('SELECT * FROM sales.customers')).rejects.toThrow(/permission denied/);

    // The card in the channel says it is active (updated in place by the workers).
    await waitUntil(async () => /active until/.test(shownIn(await fake.message(card.id))), 30_000, 'the card updated to active');

    // End access from the credentials message: the session dies, the password goes from the chat.
    const ended = await teams.cardAction({ from: requester, message: (await fake.message(credentials.id))!, verb: 'end' });
    expect(ended.status).toBe(200);
    const thread = `${team.general.id};messageid=${card.id}`;
    const summary = await waitUntil(async () => (await fake.botMessagesIn(thread)).find((m) => shownIn(m).includes('Session summary')), 30_000, 'the session summary in the thread');
    expect(shownIn(summary)).toContain(requestId);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expect(new pg.Client({ connectionString: uri }).connect()).rejects.toThrow(/password authentication failed|does not exist/);
    // The click is answered with a short message, so nothing hides the job's edit of the message.
    expect(ended.body).toMatchObject({ type: 'application/vnd.microsoft.activity.message' });
    await waitUntil(async () => /no longer exists/.test(shownIn(await fake.message(credentials.id))), 30_000, 'the credentials message edited');
    expect(shownIn(await fake.message(credentials.id))).not.toContain(new URL(uri).password);
    expect(JSON.stringify(await fake.botMessagesIn(team.general.id))).not.toContain(new URL(uri).password);
  });

  it('waits out Teams throttling (429 with Retry-After) instead of losing a card', async () => {
    const personal = await fake.personalConversationId(requester);
    await teams.personalMessage({ from: requester, text: 'dbaccess' });
    const form = await waitUntil(async () => [...(await fake.botMessagesIn(personal))].reverse().find((m) => shownIn(m).includes('Request database access')), 10_000, 'the request form');
    // Continuing a conversation posts with continueConversationAsync (replyToActivity) or sendToConversation.
    await fake.failNext('replyToActivity', { status: 429, retryAfter: 1, count: 4 });
    await fake.failNext('sendToConversation', { status: 429, retryAfter: 1, count: 4 });
    const before = Date.now();
    const submitted = await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs: { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '30m', reason: 'Count the failed payouts of yesterday for finance', ticket: '', breakGlass: 'false' } });
    const requestId = /R[0-9A-Z]{9}/.exec(shownIn({ attachments: [{ content: (submitted.body as { value: unknown }).value }] }))![0];
    await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId)), 45_000, 'the throttled card');
    expect(Date.now() - before).toBeGreaterThanOrEqual(1000);
  });

  it('refuses a Teams user of another tenant on this tenant\'s card', async () => {
    const personal = await fake.personalConversationId(requester);
    await teams.personalMessage({ from: requester, text: 'dbaccess' });
    const form = await waitUntil(async () => [...(await fake.botMessagesIn(personal))].reverse().find((m) => shownIn(m).includes('Request database access')), 10_000, 'the request form');
    const submitted = await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs: { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '30m', reason: 'Count the refunds of yesterday for the finance team', ticket: '', breakGlass: 'false' } });
    const requestId = /R[0-9A-Z]{9}/.exec(shownIn({ attachments: [{ content: (submitted.body as { value: unknown }).value }] }))![0];
    const card = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId) && JSON.stringify(m.attachments ?? []).includes('"verb":"approve"')), 30_000, 'the card');

    // The same click, as it would arrive from a user of another Azure AD tenant.
    const otherTenant = '99999999-8888-7777-6666-555555555555';
    const activity = {
      type: 'invoke', name: 'adaptiveCard/action', channelId: 'msteams', serviceUrl: fake.serviceUrl, replyToId: card.id,
      from: { id: alice.id, name: alice.name, aadObjectId: alice.aadObjectId }, recipient: { id: fake.botId, name: fake.botName },
      conversation: { id: team.general.id, conversationType: 'channel', tenantId: otherTenant, isGroup: true },
      channelData: { tenant: { id: otherTenant }, team: { id: team.id }, channel: { id: team.general.id } },
      value: { action: { type: 'Action.Execute', verb: 'approve', data: { requestId } }, trigger: 'manual' },
    };
    const foreign = await teams.post(activity as never);
    const answer = foreign.status === 200 ? shownIn({ attachments: [{ content: (foreign.body as { value?: unknown }).value }] }) : '';
    expect(foreign.status !== 200 || /was not found/.test(answer)).toBe(true);
    const { asSystem } = await import('../../src/db/tenant-scope.js');
    expect((await asSystem('test', () => h.app.requests.viewById(requestId)))?.state).toBe('pending');
  });

  it('sent only cards that the Adaptive Cards SDK parses without a warning, each under 28 KB', async () => {
    const cards = (await fake.calls()).flatMap((call) => {
      const body = (call as { body?: { attachments?: Array<{ contentType: string; content: unknown }> } }).body;
      return (body?.attachments ?? []).filter((attachment) => attachment.contentType === 'application/vnd.microsoft.card.adaptive').map((attachment) => attachment.content);
    });
    expect(cards.length).toBeGreaterThan(5);
    for (const content of cards) {
      const context = new AdaptiveCards.SerializationContext();
      new AdaptiveCards.AdaptiveCard().parse(content, context);
      const problems = Array.from({ length: context.eventCount }, (_, index) => context.getEventAt(index).message);
      expect(problems).toEqual([]);
      expect(Buffer.byteLength(JSON.stringify(content))).toBeLessThan(28 * 1024);
    }
  });

  it('answers text commands as Slack does: list, approve by text with its checks, and MFA set-up', async () => {
    const personal = await fake.personalConversationId(requester);
    const reply = async (user: TeamsUser, text: string) => {
      const conversation = await fake.personalConversationId(user);
      const before = (await fake.botMessagesIn(conversation)).length;
      expect((await teams.personalMessage({ from: user, text })).status).toBe(200);
      return waitUntil(async () => (await fake.botMessagesIn(conversation))[before], 10_000, `the answer to ${text}`);
    };
    expect(shownIn(await reply(requester, 'dbaccess list'))).toMatch(/Your recent requests[\s\S]*R[0-9A-Z]{9} read on orders: /);
    const pending = /(R[0-9A-Z]{9}) read on orders: pending/.exec(shownIn((await fake.botMessagesIn(personal)).at(-1)))?.[1];
    expect(pending).toBeDefined();
    expect(shownIn(await reply(requester, `dbaccess approve ${pending}`))).toContain('You cannot approve your own request');
    expect(shownIn(await reply(mallory, `dbaccess approve ${pending}`))).toMatch(/Only .*alice@acme\.example.* can approve/);
    expect(shownIn(await reply(alice, `dbaccess deny ${pending} not today`))).toBe(`Denied ${pending}.`);

    // Auditors' commands: refused to others, the report's summary and the chain's verdict to admins.
    const month = new Date().toISOString().slice(0, 7);
    expect(shownIn(await reply(mallory, `dbaccess report ${month}`))).toMatch(/^Only auditors and admins/);
    expect(shownIn(await reply(alice, `dbaccess report ${month}`))).toMatch(/Access report[\s\S]*access(es)? for \d+/);
    expect(shownIn(await reply(alice, 'dbaccess audit verify'))).toMatch(/^The audit log is intact: \d+ events/);

    // Admins' commands.
    expect(shownIn(await reply(mallory, 'dbaccess status'))).toMatch(/^Only admins/);
    expect(shownIn(await reply(alice, 'dbaccess status'))).toMatch(/dbaccess status[\s\S]*Active temporary users: \d+[\s\S]*Revocations/);
    expect(shownIn(await reply(alice, 'dbaccess insights'))).toMatch(/Insights: the last 30 days[\s\S]*Anomalies[\s\S]*Recommendations/);

    // MFA enrollment in the 1:1 chat: the secret, then a first code confirms it and shows recovery codes.
    const setup = await reply(alice, 'dbaccess mfa');
    const secret = /^[A-Z2-7]{16,}$/m.exec(shownIn(setup))![0];
    const wrong = await teams.cardAction({ from: alice, message: setup, verb: 'mfaConfirm', inputs: { code: '000000' } });
    // A wrong code is said in a message; the set-up card and its button stay.
    expect(wrong.body).toMatchObject({ type: 'application/vnd.microsoft.activity.message' });
    expect(String((wrong.body as { value: unknown }).value)).toMatch(/code/i);
    const confirmed = await teams.cardAction({ from: alice, message: (await fake.message(setup.id))!, verb: 'mfaConfirm', inputs: { code: await generate({ secret }) } });
    expect(shownIn({ attachments: [{ content: (confirmed.body as { value: unknown }).value }] })).toMatch(/MFA is set up[\s\S]*recovery codes/);
    expect(shownIn(await reply(mallory, `dbaccess mfa reset ${alice.email}`))).toBe('Only admins can reset MFA. Ask an admin.');
    expect(shownIn(await reply(alice, `dbaccess mfa reset ${mallory.email}`))).toBe(`MFA of ${mallory.email} is reset; they can set it up again with dbaccess mfa.`);
    // The approvers hear of a reset, as on every platform.
    await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(`MFA of ${mallory.email} was reset by ${alice.email}`)), 10_000, 'the approvers\' alert about the reset');
  });
});
