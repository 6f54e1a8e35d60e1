import Bottleneck from 'bottleneck';
import pRetry from 'p-retry';
import type { Logger } from '../../lib/logger.js';

/**
 * Teams allows about 7 operations per second per conversation and answers more with 429 and a
 * Retry-After. Operations on one conversation run one at a time, started at least `spacingMs` apart
 * (a bottleneck limiter per conversation, dropped after 5 idle minutes); a throttled one is retried
 * inside its slot, so the next one waits for it. Other conversations are not held up.
 */
export function createTeamsSendQueue({ spacingMs, logger }: { spacingMs: number; logger: Logger }) {
  const conversations = new Bottleneck.Group({ maxConcurrent: 1, minTime: spacingMs });
  return {
    /** Runs `work` in the conversation's turn, retried while Teams throttles it. */
    inTurn<T>(conversationId: string, work: () => Promise<T>): Promise<T> {
      return conversations.key(conversationId).schedule(() => withRetryAfter(work, logger));
    },
  };
}

const MAX_ATTEMPTS = 6;
const MAX_WAIT_SECONDS = 30;

/**
 * Retries an operation the service throttled (429), after the delay its Retry-After asks for (1 s when
 * it names none, at most 30 s), 6 attempts in all; any other error is thrown at once.
 */
export function withRetryAfter<T>(work: () => Promise<T>, logger: Logger): Promise<T> {
  return pRetry(work, {
    retries: MAX_ATTEMPTS - 1,
    // p-retry's own backoff is off: the wait is the one the service asked for, taken before retrying.
    minTimeout: 0,
    maxTimeout: 0,
    async shouldRetry({ error, attemptNumber }) {
      if ((error as { statusCode?: number }).statusCode !== 429) return false;
      const headers = (error as { response?: { headers?: { get?(name: string): string | null | undefined } } }).response?.headers;
      const seconds = Number(headers?.get?.('retry-after') ?? 1);
      logger.warn({ attempt: attemptNumber, seconds }, 'Teams throttled a message; retrying');
      await sleep(Math.min(MAX_WAIT_SECONDS, Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000);
      return true;
    },
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
