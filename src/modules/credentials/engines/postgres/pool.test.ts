import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { GatedPool, withDatabase } from './pool.js';

/** A pg.Pool stand-in that hands out clients at once (or fails when told), counting those out. */
function fakePool() {
  const state = { out: 0, most: 0, failNext: false };
  const pool = {
    async connect() {
      if (state.failNext) {
        state.failNext = false;
        throw new Error('connection refused');
      }
      state.out++;
      state.most = Math.max(state.most, state.out);
      let released = false;
      const release = () => {
        if (!released) state.out--;
        released = true;
      };
      return { release, query: async () => ({ rows: [] }) };
    },
  } as unknown as pg.Pool;
  return { pool, state };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the gated pool', () => {
  it('lets as many callers in as it has connections; the rest wait in line, first come first served', async () => {
    const { pool, state } = fakePool();
    const gated = new GatedPool(pool, 2);
    const first = await gated.connect();
    const second = await gated.connect();
    const order: string[] = [];
    const third = gated.connect().then((client) => (order.push('third'), client));
    const fourth = gated.connect().then((client) => (order.push('fourth'), client));
    await tick();
    expect(order).toEqual([]);
    first.release();
    // Releasing twice frees one place, not two.
    first.release();
    await tick();
    expect(order).toEqual(['third']);
    second.release();
    (await third).release();
    (await fourth).release();
    expect(order).toEqual(['third', 'fourth']);
    expect(state.most).toBe(2);
    expect(state.out).toBe(0);
  });

  it('a failed connection gives its place back', async () => {
    const { pool, state } = fakePool();
    const gated = new GatedPool(pool, 1);
    state.failNext = true;
    await expect(gated.connect()).rejects.toThrow('connection refused');
    await expect(gated.query('SELECT 1')).resolves.toEqual({ rows: [] });
    expect(state.out).toBe(0);
  });
});

describe('withDatabase', () => {
  it('points the admin URL at another database, keeping the rest, and refuses names a URL cannot carry', () => {
    expect(withDatabase('postgresql://admin:p%40ss@db:5432/postgres?sslmode=require', 'orders floor')).toBe('postgresql://admin:p%40ss@db:5432/orders%20floor?sslmode=require');
    expect(() => withDatabase('postgresql://admin@db/postgres', 'a/b')).toThrow(/cannot be put in a connection URL/);
  });
});
