import { describe, expect, it } from 'vitest';
import { createShortLivedFiles } from './short-lived-files.js';

describe('short-lived files', () => {
  it('gives each file an unguessable name, forgets it after its time, and keeps at most max', () => {
    let now = 1_000_000;
    const files = createShortLivedFiles({ ttlMs: 60_000, max: 2, clock: { now: () => now } });
    const first = files.put(Buffer.from('one'));
    expect(first).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(files.get(first)?.toString()).toBe('one');
    expect(files.get('a-name-nobody-was-given')).toBeUndefined();

    now += 59_000;
    expect(files.get(first)?.toString()).toBe('one');
    now += 2_000;
    expect(files.get(first)).toBeUndefined();

    const [a, b, c] = ['a', 'b', 'c'].map((text) => files.put(Buffer.from(text)));
    expect(new Set([a, b, c]).size).toBe(3);
    expect(files.get(a!)).toBeUndefined();
    expect([files.get(b!)?.toString(), files.get(c!)?.toString()]).toEqual(['b', 'c']);
  });
});
