import { afterEach, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';

/**
 * One approval card per request, even when posting it may have worked unseen: Slack made the post but
 * its answer never arrived (the connection dropped; a process killed at that moment is the same case).
 * The next attempt finds the card by its metadata in the channel's history and updates it in place.
 */
const isCard = (channel: string) => (call: { method: string; args: Record<string, unknown> }) => call.method === 'chat.postMessage' && call.args.channel === channel && !call.args.thread_ts;

describe('the approval card is posted once', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('when Slack posted the card but its answer was lost, the retry finds that card and updates it: one card, current', async () => {
    h = await startHarness({ queue: 'redis' });
    h.slack.failNext('chat.postMessage', { lost: true, match: (args) => args.channel === APPROVERS_CHANNEL && !args.thread_ts });
    await h.submitRequest(PEOPLE.requester, { reason: 'Count the failed payouts of last night for finance' });
    // The lost post, then the retry's look into the channel's history.
    await waitUntil(() => h!.slack.callsTo('conversations.history').length > 0, 30_000, 'the retry reading the history');
    const card = await h.waitForCard((message) => /Approve/.test(JSON.stringify(message.blocks)));
    expect(h.slack.calls.filter(isCard(APPROVERS_CHANNEL))).toHaveLength(1);
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs)).toHaveLength(1);

    // The card found again is the one that follows the request.
    expect((await h.click(PEOPLE.alice, 'dbaccess.approve', card)).status).toBe(200);
    await waitUntil(() => /approved|active/i.test(shown(h!.slack.message(card.channel, card.ts)!)), 30_000, 'the same card updated').catch((error: unknown) => {
      throw new Error(`${String(error)}: ${shown(h!.slack.message(card.channel, card.ts)!)} / ${JSON.stringify(h!.slack.calls.slice(-8).map((c) => [c.method, c.status, JSON.stringify(c.response).slice(0, 200)]))}`);
    });
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs)).toHaveLength(1);
  }, 90_000);

  it('an install without the history scopes still gets its card (then possibly twice), never none', async () => {
    h = await startHarness({ queue: 'redis', slackDirectory: { scopes: ['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email', 'usergroups:read'] } });
    h.slack.failNext('chat.postMessage', { lost: true, match: (args) => args.channel === APPROVERS_CHANNEL && !args.thread_ts });
    await h.submitRequest(PEOPLE.requester, { reason: 'Count the failed payouts of last night for finance' });
    await waitUntil(() => h!.slack.calls.filter(isCard(APPROVERS_CHANNEL)).length === 2, 30_000, 'the card posted again');
    const history = h.slack.callsTo('conversations.history');
    expect(history.map((call) => call.response)).toEqual([expect.objectContaining({ ok: false, error: 'missing_scope' })]);
  }, 90_000);
});
