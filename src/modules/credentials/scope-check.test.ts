import { describe, expect, it } from 'vitest';
import { parseScope } from './scope.js';
import { nearMatches, scopeProblems, type TargetObjects } from './scope-check.js';

const objects: TargetObjects = {
  schemas: ['public', 'sales', 'Reporting'],
  tables: [
    { schema: 'sales', table: 'orders' },
    { schema: 'sales', table: 'order_items' },
    { schema: 'public', table: 'customers' },
    { schema: 'Reporting', table: 'Monthly' },
  ],
  columns: { 'sales.orders': ['id', 'total', 'customer'] },
};

describe('scope check', () => {
  it('accepts names that exist', () => {
    expect(scopeProblems(parseScope('sales, sales.orders(id, total), "Reporting"."Monthly"'), objects, 'orders')).toEqual([]);
  });

  it('names what does not exist and suggests near matches', () => {
    expect(scopeProblems(parseScope('sales.ordrs'), objects, 'orders')).toEqual(['`sales.ordrs` does not exist on orders. Did you mean `sales.orders`?']);
    expect(scopeProblems(parseScope('reporting'), objects, 'orders')).toEqual(['`reporting` does not exist on orders. Did you mean `Reporting`?']);
    expect(scopeProblems(parseScope('sales.customers'), objects, 'orders')).toEqual(['`sales.customers` does not exist on orders. Did you mean `public.customers`?']);
    expect(scopeProblems(parseScope('sales.orders(totl)'), objects, 'orders')).toEqual(['Column `totl` does not exist in `sales.orders`. Did you mean `total`?']);
    expect(scopeProblems(parseScope('nothing_like_it'), objects, 'orders')).toEqual(['`nothing_like_it` does not exist on orders.']);
  });

  it('ranks exact-but-for-case first, then typos, then prefixes', () => {
    expect(nearMatches('ORDERS', ['orders', 'order', 'ordersx'])).toEqual(['orders', 'order', 'ordersx']);
  });
});
