/**
 * A job that cannot do its work yet and knows when it can: the queue runs it again after `delayMs`
 * instead of its usual backoff (queue.ts).
 */
export class RetryLater extends Error {
  constructor(message: string, readonly delayMs: number) {
    super(message);
    this.name = 'RetryLater';
  }
}
