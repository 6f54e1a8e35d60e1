import { describe, expect, it } from 'vitest';
import { loadLater, onceEach, urgentFirst } from './async.js';

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

describe('onceEach', () => {
  it('loads a key once however many ask at the same moment, and keeps it', async () => {
    const cached = onceEach<number>();
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return 42;
    };
    const values = await Promise.all(Array.from({ length: 50 }, () => cached('a', load)));
    expect(values).toEqual(Array(50).fill(42));
    expect(await cached('a', load)).toBe(42);
    expect(loads).toBe(1);
    await cached('b', load);
    expect(loads).toBe(2);
  });

  it('keeps neither a failure nor a value it is told not to keep: the next caller loads again', async () => {
    const cached = onceEach<number | undefined>((value) => value !== undefined);
    let loads = 0;
    await expect(cached('a', async () => {
      loads += 1;
      throw new Error('down');
    })).rejects.toThrow('down');
    expect(await cached('a', async () => (loads += 1, undefined))).toBeUndefined();
    expect(await cached('a', async () => (loads += 1, 7))).toBe(7);
    expect(await cached('a', async () => (loads += 1, 8))).toBe(7);
    expect(loads).toBe(3);
  });
});

describe('urgentFirst', () => {
  it('holds what can wait until no urgent work is under way, in the order it asked', async () => {
    const gate = urgentFirst(60_000);
    const order: string[] = [];
    const endA = gate.begin();
    const endB = gate.begin();
    const later = gate.idle().then(() => order.push('later'));
    endA();
    endA(); // an end counts once
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    expect(gate.running).toBe(1);
    order.push('urgent done');
    endB();
    await later;
    expect(order).toEqual(['urgent done', 'later']);
    expect(gate.running).toBe(0);
    await gate.idle(); // nothing urgent: no wait
  });

  it('holds what can wait while urgent work keeps arriving, even when each ends in the turn it began', async () => {
    // quietMs far longer than the turns below take: the arrivals keep the gate shut, whatever the machine's speed.
    const gate = urgentFirst(60_000, 1000);
    const order: string[] = [];
    gate.begin()();
    const later = gate.idle().then(() => order.push('later'));
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      gate.begin()();
      order.push(`arrival ${turn}`);
    }
    expect(gate.running).toBe(0);
    await later;
    expect(order).toEqual(['arrival 0', 'arrival 1', 'arrival 2', 'arrival 3', 'arrival 4', 'later']);
  });

  it('lets each waiter set its own limit: a short one goes first, a long one stays held', async () => {
    const gate = urgentFirst(60_000);
    gate.begin(); // never ends
    const order: string[] = [];
    const long = gate.idle(60_000).then(() => order.push('long'));
    await gate.idle(20);
    order.push('short');
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['short']);
    void long;
  });

  it('lets waiting work go after maxWaitMs when urgent work never ends', async () => {
    const gate = urgentFirst(20);
    gate.begin();
    const started = Date.now();
    await gate.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(gate.running).toBe(1);
  });
});
