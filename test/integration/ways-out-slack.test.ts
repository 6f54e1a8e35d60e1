import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createTargetDatabase, targetRoles, targetSessionsOf } from '../support/databases.js';
import { postSigned } from '../support/slack-requests.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { auditOf, leaseRow, requestIdIn, requestRow, waitForState, waitNothingLeft } from '../support/ways-out.js';
import type { SlackMessage } from '../support/fake-slack.js';

/**
 * Every waiting state has a way out in Slack: Cancel on the card and on the requester's receipt while
 * a request is pending or being provisioned (the user made meanwhile is dropped), Revoke on the card
 * for approvers while it is active; a stranger's click is refused and changes nothing. And the kill
 * switch: a deactivated Slack account loses its access at once. The target is reached through a
 * proxy that can hold its traffic, so that a cancel can land while the user is being created.
 */
describe('ways out in Slack', () => {
  let h: Harness;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  beforeAll(async () => {
    const target = await createTargetDatabase();
    proxy = await startTcpProxy(5433);
    const viaProxy = new URL(target.adminUrl);
    viaProxy.port = String(proxy.port);
    h = await startHarness({ queue: 'redis', target, env: { ORDERS_ADMIN_URL: viaProxy.toString() } });
  });
  afterAll(async () => {
    proxy?.release();
    await h?.close();
    await proxy?.close();
  });

  const dm = () => h.slack.dmChannelFor(PEOPLE.requester);
  async function newRequest(reason: string): Promise<{ id: string; card: SlackMessage; receipt: SlackMessage }> {
    expect((await h.submitRequest(PEOPLE.requester, { reason, scope: 'sales.orders' })).status).toBe(200);
    const card = await h.waitForCard((m) => shown(m).includes(reason));
    const id = requestIdIn(shown(card))!;
    const receipt = await h.waitForMessage(dm(), (m) => (m.text ?? '').includes(id) && /waiting for/.test(m.text ?? ''));
    return { id, card, receipt };
  }
  const cardOf = (card: SlackMessage) => h.slack.message(card.channel!, card.ts)!;
  const answerTo = (user: string, pattern: RegExp) => waitUntil(() => h.slack.ephemeralsFor(user).find((e) => pattern.test(e.text ?? '')), 10_000, `an answer to ${user} matching ${pattern}`);

  it('the requester cancels a pending request from the receipt; a stranger is refused and nothing changes', async () => {
    const { id, card, receipt } = await newRequest('Cancel me: count the failed payouts of last night');
    expect(hasButton(card, 'dbaccess.cancel') && hasButton(receipt, 'dbaccess.cancel')).toBe(true);
    const stale = structuredClone(card);

    await h.click(PEOPLE.mallory, 'dbaccess.cancel', card);
    await answerTo(PEOPLE.mallory, new RegExp(`^Only the requester or an approver of orders \\(or an admin\\) can cancel request ${id}\\. Nothing changed\\.$`));
    expect((await requestRow(h.app, id))!.state).toBe('pending');
    expect(hasButton(cardOf(card), 'dbaccess.approve')).toBe(true);

    await h.click(PEOPLE.requester, 'dbaccess.cancel', receipt);
    await waitForState(h.app, id, 'cancelled');
    // The receipt is replaced at once, without its button; the card follows.
    const replaced = await waitUntil(() => { const m = h.slack.message(receipt.channel!, receipt.ts); return m && !hasButton(m, 'dbaccess.cancel') && m; }, 10_000, 'the receipt replaced');
    expect(replaced.text).toBe(`Request ${id} is cancelled.`);
    const updated = await waitUntil(() => { const m = cardOf(card); return /Cancelled/.test(shown(m)) && m; }, 10_000, 'the card redrawn');
    expect(hasButton(updated, 'dbaccess.approve') || hasButton(updated, 'dbaccess.cancel') || hasButton(updated, 'dbaccess.deny')).toBe(false);

    const trail = await auditOf(h.app, `request:${id}`);
    expect(trail).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'request.cancel', outcome: 'refused' }),
      expect.objectContaining({ action: 'request.cancelled', outcome: 'success', details: expect.objectContaining({ from: 'pending', by: 'requester' }) }),
    ]));
    // A click on the card as it was before is answered, and changes nothing.
    await h.click(PEOPLE.alice, 'dbaccess.cancel', stale);
    await answerTo(PEOPLE.alice, new RegExp(`^Request ${id} is already cancelled\\. Nothing changed\\.$`));
  });

  it('an approver cancels a pending request on the card, and the requester is told', async () => {
    const { id, card } = await newRequest('Approver cancels: check last night payouts batch');
    await h.click(PEOPLE.alice, 'dbaccess.cancel', card);
    await answerTo(PEOPLE.alice, new RegExp(`^Request ${id} is cancelled\\.$`));
    await waitForState(h.app, id, 'cancelled');
    await h.waitForMessage(dm(), (m) => (m.text ?? '') === `Your request *${id}* for orders was cancelled; nothing was left on the database.`);
  });

  it.each([['an approver', PEOPLE.alice], ['the requester', PEOPLE.requester]])('%s cancels while the user is being created: nothing is left on the target', async (_who, who) => {
    const { id, card, receipt } = await newRequest(`Cancel while provisioning by ${who}: payouts check`);
    // The target's traffic is held: the provisioning starts (lease written, state provisioning) and waits.
    proxy.hold();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await waitForState(h.app, id, 'provisioning');
    const provisioning = await waitUntil(() => { const m = cardOf(card); return /creating the database user/.test(shown(m)) && m; }, 10_000, 'the card in provisioning');
    expect(hasButton(provisioning, 'dbaccess.cancel')).toBe(true);

    await h.click(who, 'dbaccess.cancel', who === PEOPLE.requester ? receipt : provisioning);
    await waitForState(h.app, id, 'cancelled');
    // The user's creation and its revocation now reach the server in whatever order.
    proxy.release();
    await waitNothingLeft(h.app, h.redisPrefix, h.prefix, id);
    expect((await leaseRow(h.app, id))?.end_reason ?? 'cancelled').toBe('cancelled');
    expect(await targetRoles(h.prefix)).toEqual([]);
    expect((await requestRow(h.app, id))!.state).toBe('cancelled');
    await waitUntil(() => !hasButton(cardOf(card), 'dbaccess.cancel'), 10_000, 'Cancel gone from the card');
  });

  it('an approver revokes active access on the card: the session is killed; a stranger is refused', async () => {
    const { id, card } = await newRequest('Revoke me: look at the payouts of last night');
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const credentials = await h.waitForMessage(dm(), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(id));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(credentials))![0];
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    const active = await waitUntil(() => { const m = cardOf(card); return hasButton(m, 'dbaccess.end') && m; }, 10_000, 'Revoke on the card');

    await h.click(PEOPLE.mallory, 'dbaccess.end', active);
    await answerTo(PEOPLE.mallory, new RegExp(`^Only the requester or an approver of orders \\(or an admin\\) can revoke request ${id}\\. Nothing changed\\.$`));
    expect((await requestRow(h.app, id))!.state).toBe('active');

    await h.click(PEOPLE.bob, 'dbaccess.end', active);
    await waitUntil(async () => (await targetSessionsOf(new URL(uri).username)) === 0, 10_000, 'the session killed');
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await h.waitForCard((m) => m.ts === card.ts && /access ended at .*revoked by <@U0BOB>/.test(shown(m)) && !hasButton(m, 'dbaccess.end'));
  });

  it('a deactivated Slack account: its sessions end within 5 s, its pending request is cancelled, the approvers are told', async () => {
    const { id: activeId, card } = await newRequest('Offboard me: look at the payouts of last night');
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const credentials = await h.waitForMessage(dm(), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(activeId));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(credentials))![0];
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    const { id: pendingId } = await newRequest('Offboard me too: check the refunds of last week');

    const event = {
      token: 'unused', team_id: TEAM, api_app_id: 'A0DBACCESS', type: 'event_callback', event_id: 'Ev0OFFBOARD', event_time: Math.floor(Date.now() / 1000),
      event: { type: 'user_change', user: { id: PEOPLE.requester, team_id: TEAM, name: 'requester', deleted: true }, event_ts: `${Date.now() / 1000}` },
    };
    const started = Date.now();
    const answer = await postSigned(h.url, '/slack/events', JSON.stringify(event), { secret: 'test-signing-secret', contentType: 'application/json' });
    expect(answer.status).toBe(200);
    await waitUntil(async () => (await targetSessionsOf(new URL(uri).username)) === 0, 5000, 'the session killed within 5 s');
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await waitForState(h.app, pendingId, 'cancelled', 5000);
    await waitForState(h.app, activeId, 'revoked', 5000);

    const told = await h.waitForMessage(APPROVERS_CHANNEL, (m) => /left \(their Slack account was deactivated\)/.test(m.text ?? ''));
    expect(told.text).toContain(`<@${PEOPLE.requester}>`);
    expect(told.text).toContain(`Access revoked, sessions killed: ${activeId}.`);
    expect(told.text).toContain(`Requests cancelled: ${pendingId}.`);
    expect(await auditOf(h.app, `lease:${(await leaseRow(h.app, activeId))!.id}`)).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'lease.offboarded', actor: 'system:offboarding:slack' })]));
    expect(await targetRoles(h.prefix)).toEqual([]);
  });
});
