import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { createTeamsSendQueue, withRetryAfter } from './teams-send-queue.js';

const logger = createLogger('silent');

/** An error as botframework-connector throws it for a throttled call. */
const throttled = (retryAfter?: string) =>
  Object.assign(new Error('Too Many Requests'), { statusCode: 429, response: { headers: { get: (name: string) => (name === 'retry-after' ? retryAfter : undefined) } } });

describe('Teams send queue', () => {
  it('runs one operation at a time per conversation, spaced, and other conversations alongside', async () => {
    const queue = createTeamsSendQueue({ spacingMs: 100, logger });
    const events: Array<{ conversation: string; at: number; end: number }> = [];
    const operation = (conversation: string) => async () => {
      const at = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 10));
      events.push({ conversation, at, end: Date.now() });
    };
    const before = Date.now();
    await Promise.all([queue.inTurn('a', operation('a')), queue.inTurn('a', operation('a')), queue.inTurn('a', operation('a')), queue.inTurn('b', operation('b'))]);
    const inA = events.filter((event) => event.conversation === 'a');
    expect(inA).toHaveLength(3);
    for (let index = 1; index < inA.length; index++) {
      expect(inA[index]!.at).toBeGreaterThanOrEqual(inA[index - 1]!.end);
      // Spaced by the limiter, 100 ms between starts, not merely chained (10 ms apart). Measured from before
      // the first was queued: a busy event loop may start any of them late, never early.
      expect(inA[index]!.at).toBeGreaterThanOrEqual(before + index * 100 - 5);
    }
    // b did not wait for a's queue.
    expect(events.find((event) => event.conversation === 'b')!.at).toBeLessThan(inA[1]!.at);
  });

  it("waits the Retry-After of a 429 and tries again, holding the conversation's next operation", async () => {
    const queue = createTeamsSendQueue({ spacingMs: 0, logger });
    let calls = 0;
    const started = Date.now();
    const first = queue.inTurn('a', async () => {
      calls++;
      if (calls === 1) throw throttled('1');
      return 'sent';
    });
    const next = queue.inTurn('a', async () => Date.now());
    expect(await first).toBe('sent');
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(await next).toBeGreaterThanOrEqual(started + 950);
  });

  it('throws any other error at once, and a 429 after six attempts', async () => {
    let calls = 0;
    const refused = Object.assign(new Error('Forbidden'), { statusCode: 403 });
    await expect(withRetryAfter(async () => { calls++; throw refused; }, logger)).rejects.toBe(refused);
    expect(calls).toBe(1);

    calls = 0;
    const always = throttled('0.01');
    await expect(withRetryAfter(async () => { calls++; throw always; }, logger)).rejects.toBe(always);
    expect(calls).toBe(6);
  }, 20_000);
});
