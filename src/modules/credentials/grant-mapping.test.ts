import { describe, expect, it } from 'vitest';
import { parseScope } from './grant-mapping.js';

describe('scope parsing', () => {
  it('reads schemas and tables separated by commas or spaces, without duplicates', () => {
    expect(parseScope('sales, public.orders  sales')).toEqual([{ schema: 'sales' }, { schema: 'public', table: 'orders' }]);
    expect(parseScope('  ')).toEqual([]);
  });

  it.each(['a.b.c', 'x;drop', '"unclosed', '1abc', 'sales.', 'a'.repeat(64), 'sales(id)', '""'])('refuses %s', (text) => {
    expect(() => parseScope(text)).toThrow(/^Scope: /);
  });
});
