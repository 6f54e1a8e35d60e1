import { describe, expect, it } from 'vitest';
import { formatScopeItem, parseScope, parseStoredScope, formatScope } from './scope.js';

describe('scope', () => {
  it('reads schemas, tables, columns and quoted names', () => {
    expect(parseScope('sales, public.orders(id,total) "Order Items"."Line ""x"""')).toEqual([
      { schema: 'sales' },
      { schema: 'public', table: 'orders', columns: ['id', 'total'] },
      { schema: 'Order Items', table: 'Line "x"' },
    ]);
    expect(parseScope('`weird``name`.t')).toEqual([{ schema: 'weird`name', table: 't' }]);
  });

  it('round-trips through its canonical text, whatever the names', () => {
    const names = ['plain', 'Mixed Case', 'semi;colon', "quo'te", 'dq"uote', 'back`tick', 'back\\slash', '--comment', '/*c*/', 'ünï', '；', ' lead'];
    for (const name of names) {
      const scope = [{ schema: name, table: name, columns: [name] }];
      expect(parseStoredScope(formatScope(scope))).toEqual(scope);
    }
    expect(formatScopeItem({ schema: 'sales', table: 'orders' })).toBe('sales.orders');
  });

  it('explains where the text goes wrong', () => {
    expect(() => parseScope('sales.orders(id')).toThrow(/Scope: expected , or \) in the column list/);
    expect(() => parseScope('"abc')).toThrow(/is not closed/);
    expect(() => parseScope('a'.repeat(64))).toThrow(/longer than 63 bytes/);
    expect(() => parseScope(Array.from({ length: 51 }, (_, i) => `s${i}`).join(','))).toThrow(/at most 50/);
  });
});
