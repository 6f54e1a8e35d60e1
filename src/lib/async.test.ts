import { describe, expect, it } from 'vitest';
import { loadLater } from './async.js';

describe('loadLater', () => {
  it('loads once, and after a failure tries again at the next ready()', async () => {
    let calls = 0;
    const lazy = loadLater(async () => {
      calls += 1;
      if (calls === 1) throw new Error('not yet');
      return { name: 'parser' };
    });
    expect(lazy.loaded()).toBeUndefined();
    expect(await lazy.ready()).toBe(false);
    expect(lazy.loaded()).toBeUndefined();
    expect(await Promise.all([lazy.ready(), lazy.ready()])).toEqual([true, true]);
    expect(lazy.loaded()).toEqual({ name: 'parser' });
    expect(await lazy.ready()).toBe(true);
    expect(calls).toBe(2);
  });
});
