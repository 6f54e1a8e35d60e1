import { describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../../../config/catalog.js';
import { describeGrants } from '../../grant-mapping.js';
import { parseScope } from '../../scope.js';
import { grantPreview } from '../registry.js';
import { postgresAccessGroup, postgresGrantStatements } from './grants.js';

const base = { database: 'orders', username: 'dba_x1', schemas: ['public', 'sales'] };

describe('postgres access groups', () => {
  const group = (rest: Partial<Parameters<typeof postgresAccessGroup>[0]> = {}) =>
    postgresAccessGroup({ prefix: 'dba_', install: 'k3x7q2ab', database: 'orders', level: 'read', scope: parseScope('sales.orders(id, total), public'), ...rest });

  it('one group per install, database, level, privileges and scope, named with the prefix and the install id; none for admin', () => {
    expect(group()).toMatch(/^dba_grp_k3x7q2ab_[0-9a-f]{16}$/);
    // Two installs with one prefix never share a group; the longest prefix still fits PostgreSQL's 63 bytes.
    expect(group({ install: 'bbbbbbbb' })).toMatch(/^dba_grp_bbbbbbbb_[0-9a-f]{16}$/);
    expect(group({ install: 'bbbbbbbb' })!.slice(-16)).toBe(group()!.slice(-16));
    expect(Buffer.byteLength(group({ prefix: 'p'.repeat(16) })!)).toBeLessThanOrEqual(63);
    // Order does not matter: the same grant is the same group.
    expect(group({ scope: parseScope('public, sales.orders(total, id)') })).toBe(group());
    for (const other of [{ database: 'orders2' }, { level: 'write' }, { scope: parseScope('sales.orders(id)') }, { scope: [] }, { prefix: 'ops_' }]) {
      expect(group(other as Partial<Parameters<typeof postgresAccessGroup>[0]>)).not.toBe(group());
    }
    expect(group({ level: 'support', privileges: ['SELECT'], scope: [] })).not.toBe(group({ level: 'support', privileges: ['SELECT', 'UPDATE'], scope: [] }));
    expect(group({ level: 'admin' })).toBeUndefined();
  });

  it('the card shows the grants to the group and the membership', () => {
    const entry = { engine: 'postgres', database: 'orders' } as DatabaseEntry;
    const preview = grantPreview(entry, 'read', [], parseScope('sales.orders'), 'dba_', undefined, 'k3x7q2ab');
    const name = group({ scope: parseScope('sales.orders') })!;
    expect(preview).toContain(`GRANT SELECT ON TABLE "sales"."orders" TO "${name}"`);
    expect(preview.at(-1)).toBe(`GRANT "${name}" TO "<temporary user>"`);
    expect(grantPreview(entry, 'admin', [], parseScope('sales'), 'dba_').join('\n')).toContain('TO "<temporary user>"');
  });
});

describe('postgres grants', () => {
  it('read on the whole database covers every schema and never writes', () => {
    const sql = postgresGrantStatements({ ...base, level: 'read', scope: [] });
    expect(sql).toEqual([
      'GRANT CONNECT ON DATABASE "orders" TO "dba_x1"',
      'GRANT USAGE ON SCHEMA "public" TO "dba_x1"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "dba_x1"',
      'GRANT USAGE ON SCHEMA "sales" TO "dba_x1"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "sales" TO "dba_x1"',
    ]);
  });

  it('read on one table grants that table only', () => {
    const sql = postgresGrantStatements({ ...base, level: 'read', scope: parseScope('sales.orders') });
    expect(sql).toContain('GRANT SELECT ON TABLE "sales"."orders" TO "dba_x1"');
    expect(sql.join('\n')).not.toMatch(/ALL TABLES|public/);
  });

  it('write adds row changes and sequences, nothing structural', () => {
    const sql = postgresGrantStatements({ ...base, level: 'write', scope: parseScope('sales') }).join('\n');
    expect(sql).toContain('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "sales"');
    expect(sql).toContain('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "sales"');
    expect(sql).not.toMatch(/CREATE|ALL PRIVILEGES|TEMPORARY/);
  });

  it('admin is broad on the scope but never a role attribute', () => {
    const sql = postgresGrantStatements({ ...base, level: 'admin', scope: parseScope('sales') }).join('\n');
    expect(sql).toContain('GRANT USAGE, CREATE ON SCHEMA "sales"');
    expect(sql).toContain('GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA "sales"');
    expect(sql).not.toMatch(/SUPERUSER|CREATEROLE|CREATEDB/);
  });

  it('quotes identifiers so mixed case survives', () => {
    const sql = postgresGrantStatements({ ...base, level: 'read', scope: parseScope('Sales.Orders') });
    expect(sql).toContain('GRANT SELECT ON TABLE "Sales"."Orders" TO "dba_x1"');
  });

  it('grants only the named columns for read', () => {
    const sql = postgresGrantStatements({ ...base, level: 'read', scope: parseScope('sales.orders(id, total), sales.customers') });
    expect(sql).toContain('GRANT SELECT ON TABLE "sales"."customers" TO "dba_x1"');
    expect(sql).toContain('GRANT SELECT ("id", "total") ON TABLE "sales"."orders" TO "dba_x1"');
    expect(() => postgresGrantStatements({ ...base, level: 'write', scope: parseScope('sales.orders(id)') })).toThrow(/only for read/);
  });

  it('grants a custom level exactly its privileges, with sequences only when it inserts', () => {
    const support = postgresGrantStatements({ ...base, level: 'support', privileges: ['SELECT', 'UPDATE'], scope: parseScope('sales.orders') });
    expect(support).toContain('GRANT SELECT, UPDATE ON TABLE "sales"."orders" TO "dba_x1"');
    expect(support.join('\n')).not.toMatch(/SEQUENCES|CREATE|INSERT/);
    const loader = postgresGrantStatements({ ...base, level: 'loader', privileges: ['INSERT'], scope: parseScope('sales') });
    expect(loader).toContain('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "sales" TO "dba_x1"');
    expect(() => postgresGrantStatements({ ...base, level: 'broken', privileges: ['SELECT; DROP'], scope: [] })).toThrow(/no valid privilege list/);
    expect(describeGrants('support', parseScope('sales.orders'), 'orders', ['SELECT', 'UPDATE'])).toBe('Custom level support: SELECT, UPDATE on sales.orders; no schema changes.');
  });

  it('describes every level in words', () => {
    expect(describeGrants('read', [], 'orders')).toBe('Read-only (SELECT) on every schema of orders.');
    expect(describeGrants('write', parseScope('sales.orders'), 'orders')).toMatch(/^Read and change rows .* on sales.orders/);
    expect(describeGrants('admin', [], 'orders')).toMatch(/never superuser/);
  });
});
