import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createTargetDatabase, targetRoles, targetSessionsOf } from '../support/databases.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsMessage, type TeamsTeam, type TeamsUser } from '../support/fake-bot-framework.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { auditOf, requestRow, waitForState, waitNothingLeft } from '../support/ways-out.js';
import { shownIn } from '../support/teams-text.js';

const answered = (result: { body?: unknown }) => {
  const value = (result.body as { value?: unknown } | undefined)?.value;
  return typeof value === 'string' ? value : shownIn({ attachments: [{ content: value }] });
};
const verbsOf = (message: TeamsMessage | undefined) => [...JSON.stringify(message?.attachments ?? []).matchAll(/"verb":"(\w+)"/g)].map((m) => m[1]);

/** The Teams twin of ways-out-slack: Cancel, Revoke, refusals and the kill switch on member removal. */
describe('ways out in Teams', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let teams: TeamsDriver;
  let team: TeamsTeam;
  let requester: TeamsUser;
  let alice: TeamsUser;
  let mallory: TeamsUser;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;

  beforeAll(async () => {
    fake = await startFakeBotFramework();
    requester = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    mallory = await fake.addUser({ name: 'Mallory', email: 'mallory@acme.example' });
    team = await fake.addTeam({ name: 'DBAs', members: [requester, alice, mallory] });
    const target = await createTargetDatabase();
    proxy = await startTcpProxy(5433);
    const viaProxy = new URL(target.adminUrl);
    viaProxy.port = String(proxy.port);
    h = await startHarness({
      queue: 'redis', target,
      env: { ...fake.env(), CONSOLE: 'off', ORDERS_ADMIN_URL: viaProxy.toString() },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
      policy: `policies:\n  - { name: tests, approvers: [${alice.email}], mfa: never }\n`,
    });
    teams = fake.bot(`${h.url}/api/messages`);
    expect((await teams.installationUpdate({ from: alice, action: 'add', team })).status).toBe(200);
  });
  afterAll(async () => {
    proxy?.release();
    await h?.close();
    await fake?.close();
    await proxy?.close();
  });

  /** Submits a request from the personal chat; the receipt replaces the form (it is the invoke's answer). */
  async function newRequest(reason: string): Promise<{ id: string; receipt: TeamsMessage; card: TeamsMessage }> {
    const personal = await fake.personalConversationId(requester);
    const before = (await fake.botMessagesIn(personal)).length;
    await teams.personalMessage({ from: requester, text: 'dbaccess' });
    const form = await waitUntil(async () => (await fake.botMessagesIn(personal)).slice(before).find((m) => shownIn(m).includes('Request database access')), 10_000, 'the form');
    const submitted = await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs: { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '1h', reason, ticket: '', breakGlass: 'false' } });
    const id = /R[0-9A-Z]{9}/.exec(answered(submitted))![0];
    const card = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(id) && verbsOf(m).includes('approve')), 30_000, 'the card');
    return { id, receipt: (await fake.message(form.id))!, card };
  }

  it('the requester cancels from the receipt; a stranger is refused on the card and nothing changes', async () => {
    const { id, receipt, card } = await newRequest('Cancel me: count the failed payouts of last night');
    expect(verbsOf(receipt)).toEqual(['cancel']);
    expect(verbsOf(card)).toEqual(['approve', 'approveWithChanges', 'deny', 'cancel']);

    const refused = await teams.cardAction({ from: mallory, message: card, verb: 'cancel' });
    expect(answered(refused)).toContain(`Only the requester or an approver of orders (or an admin) can cancel request ${id}. Nothing changed.`);
    expect((await requestRow(h.app, id))!.state).toBe('pending');

    const cancelled = await teams.cardAction({ from: requester, message: receipt, verb: 'cancel' });
    expect(answered(cancelled)).toBe(`Request ${id} is cancelled.`);
    expect(verbsOf((await fake.message(receipt.id)))).toEqual([]);
    await waitUntil(async () => /Cancelled/.test(shownIn((await fake.message(card.id)))) && verbsOf((await fake.message(card.id))).length === 0, 10_000, 'the card without buttons');
    expect(await auditOf(h.app, `request:${id}`)).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'request.cancel', outcome: 'refused' }),
      expect.objectContaining({ action: 'request.cancelled', details: expect.objectContaining({ by: 'requester', from: 'pending' }) }),
    ]));
  });

  it('an approver cancels on the card while the user is being created: nothing is left on the target', async () => {
    const { id, card } = await newRequest('Cancel while provisioning: check the payouts batch');
    proxy.hold();
    await teams.cardAction({ from: alice, message: card, verb: 'approve' });
    await waitForState(h.app, id, 'provisioning');
    await waitUntil(async () => verbsOf((await fake.message(card.id))).join() === 'cancel', 10_000, 'Cancel alone on the card');
    const cancelled = await teams.cardAction({ from: alice, message: (await fake.message(card.id))!, verb: 'cancel' });
    expect(answered(cancelled)).toContain(`Request ${id} is cancelled; the database user being created is dropped.`);
    expect(verbsOf((await fake.message(card.id)))).toEqual([]);
    proxy.release();
    await waitNothingLeft(h.app, h.redisPrefix, h.prefix, id);
    expect((await requestRow(h.app, id))!.state).toBe('cancelled');
  });

  it('an approver revokes active access on the card; the session is killed', async () => {
    const { id, card } = await newRequest('Revoke me: look at the payouts of last night');
    await teams.cardAction({ from: alice, message: card, verb: 'approve' });
    const personal = await fake.personalConversationId(requester);
    const credentials = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => shownIn(m).includes(id) && /postgresql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0];
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    await waitUntil(async () => verbsOf((await fake.message(card.id))).includes('end'), 10_000, 'Revoke on the card');

    const refused = await teams.cardAction({ from: mallory, message: (await fake.message(card.id))!, verb: 'end' });
    expect(answered(refused)).toBe(`Only the requester or an approver of orders (or an admin) can revoke request ${id}. Nothing changed.`);
    const revoked = await teams.cardAction({ from: alice, message: (await fake.message(card.id))!, verb: 'end' });
    expect(answered(revoked)).toMatch(/^Ending access for R[0-9A-Z]{9} now/);
    await waitUntil(async () => (await targetSessionsOf(new URL(uri).username)) === 0, 10_000, 'the session killed');
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await waitUntil(async () => /access ended/.test(shownIn((await fake.message(card.id)))) && !verbsOf((await fake.message(card.id))).includes('end'), 10_000, 'the card ended');
  });

  it('a member removed from the team: sessions end within 5 s, the pending request is cancelled, the approvers are told', async () => {
    const { id: activeId, card } = await newRequest('Offboard me: look at the payouts of last night');
    await teams.cardAction({ from: alice, message: card, verb: 'approve' });
    const personal = await fake.personalConversationId(requester);
    const credentials = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => shownIn(m).includes(activeId) && /postgresql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0];
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    const { id: pendingId } = await newRequest('Offboard me too: check the refunds of last week');

    const started = Date.now();
    expect((await teams.conversationUpdate({ from: alice, team, membersRemoved: [requester] })).status).toBe(200);
    await waitUntil(async () => (await targetSessionsOf(new URL(uri).username)) === 0, 5000, 'the session killed within 5 s');
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await waitForState(h.app, pendingId, 'cancelled', 5000);
    const told = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => /left \(they were removed from the organisation's team\)/.test(shownIn(m))), 10_000, 'the approvers told');
    expect(shownIn(told)).toContain('rita@acme.example');
    expect(shownIn(told)).toContain(activeId);
    expect(shownIn(told)).toContain(pendingId);
    expect(await targetRoles(h.prefix)).toEqual([]);
  });
});
