import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Bytes kept in memory under a random, unguessable name for a few minutes (an MFA QR code for the
 * page that shows it), and at most `max` of them: the oldest go first, so memory stays bounded
 * whatever the rate of enrolments.
 */
export function createShortLivedFiles({ ttlMs, max = 1000, clock }: { ttlMs: number; max?: number; clock?: { now(): number } }) {
  const files = new LRUCache<string, Buffer>({ max, ttl: ttlMs, ...(clock ? { perf: clock, ttlResolution: 0 } : {}) });
  return {
    put(data: Buffer): string {
      const name = randomBytes(24).toString('base64url');
      files.set(name, data);
      return name;
    },
    get: (name: string): Buffer | undefined => files.get(name),
  };
}

export type ShortLivedFiles = ReturnType<typeof createShortLivedFiles>;
