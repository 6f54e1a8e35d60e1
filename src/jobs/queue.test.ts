import { describe, expect, it } from 'vitest';
import { RetryLater } from '../lib/retry-later.js';
import { backoffDelay, retryDelay } from './queue.js';
import { FOREVER, JOBS } from './job-catalog.js';

describe('retries', () => {
  it('back off exponentially from 1 s and never wait more than 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(backoffDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffDelay(100_000)).toBe(30_000);
  });

  it('wait as long as a job that knows when it can go on says, whatever its attempt', () => {
    expect(retryDelay(1, new RetryLater('a claim is live', 19_500))).toBe(19_500);
    expect(retryDelay(6, new RetryLater('a claim is live', 2_000))).toBe(2_000);
    expect(retryDelay(3, new Error('Slack is down'))).toBe(4_000);
  });

  it('never give up on revocation or provisioning', () => {
    expect(JOBS.revoke.attempts).toBe(FOREVER);
    expect(JOBS.provision.attempts).toBe(FOREVER);
  });
});
