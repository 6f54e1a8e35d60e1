import type { RequestRow } from '../access-requests/access-request-repo.js';

/** A failure that keeps being retried, with how many attempts have failed so far. */
export class RetryingFailure extends Error {
  constructor(override readonly cause: unknown, readonly attempts: number, readonly request: RequestRow) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
