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

  // The soak's 6 duplicate cards (a 429 backlog of 30 minutes): the post's answer lost, then the look into
  // the history itself rate limited (or cut off) past the client's own retries. An unread history is not
  // an empty one: the job tries again later instead of posting a second card.
  for (const [what, fault] of [
    ['rate limited (429 past the client\'s retries)', { status: 429 as const, retryAfter: 1 }],
    ['cut off (no answer, past the client\'s retries)', { lost: true }],
  ] as const) {
    it(`when the retry's look into the history is ${what}, it looks again later: still one card`, async () => {
      h = await startHarness({ queue: 'redis' });
      h.slack.failNext('chat.postMessage', { lost: true, match: (args) => args.channel === APPROVERS_CHANNEL && !args.thread_ts });
      // The Slack client tries a call 3 times (retries: 2): every one of the first lookup's tries fails.
      h.slack.failNext('conversations.history', { ...fault, count: 3 });
      await h.submitRequest(PEOPLE.requester, { reason: 'Count the failed payouts of last night for finance' });
      const card = await h.waitForCard((message) => /Approve/.test(JSON.stringify(message.blocks)));
      expect((await h.click(PEOPLE.alice, 'dbaccess.approve', card)).status).toBe(200);
      // The card job's own update once it knows the card (the click answers on its response_url meanwhile).
      await waitUntil(() => h!.slack.callsTo('chat.update').some((call) => call.status === 200 && call.args.channel === APPROVERS_CHANNEL && /approved|active/i.test(String(call.args.text))), 60_000, 'the card job updating a card');
      const cardPosts = h.slack.calls.filter((call) => isCard(APPROVERS_CHANNEL)(call) && (call.args.metadata as { event_type?: string } | undefined)?.event_type === 'dbaccess_approval_card');
      expect(cardPosts, 'posts of the card').toHaveLength(1);
      const cards = h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs && message.metadata?.event_type === 'dbaccess_approval_card');
      expect(cards).toHaveLength(1);
      expect(h.slack.callsTo('chat.update').filter((call) => call.args.channel === APPROVERS_CHANNEL).map((call) => call.args.ts)).toContain(cards[0]!.ts);
    }, 120_000);
  }

  it('an install without the history scopes still gets its card (then possibly twice), never none', async () => {
    h = await startHarness({ queue: 'redis', slackDirectory: { scopes: ['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email', 'usergroups:read'] } });
    h.slack.failNext('chat.postMessage', { lost: true, match: (args) => args.channel === APPROVERS_CHANNEL && !args.thread_ts });
    await h.submitRequest(PEOPLE.requester, { reason: 'Count the failed payouts of last night for finance' });
    await waitUntil(() => h!.slack.calls.filter(isCard(APPROVERS_CHANNEL)).length === 2, 30_000, 'the card posted again');
    const history = h.slack.callsTo('conversations.history');
    expect(history.map((call) => call.response)).toEqual([expect.objectContaining({ ok: false, error: 'missing_scope' })]);
  }, 90_000);
});
