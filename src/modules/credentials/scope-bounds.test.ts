import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateDraft } from '../access-requests/access-request-schemas.js';
import { parseCatalog, type DatabaseEntry } from '../../config/catalog.js';
import { formatScopeItem, parseScope } from './scope.js';
import { outsideDatabases, scopeDatabases } from './engines/registry.js';

const entry = (fields: Partial<DatabaseEntry>) => ({ id: 'shop', ...fields }) as DatabaseEntry;

const catalog = (databases?: string[]) => parseCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
databases:
  - id: shop
    engine: mariadb
    host: 127.0.0.1
    port: 3306
    database: shop
    environment: production
    admin: env:SHOP_ADMIN_URL
${databases ? `    databases: [${databases.join(', ')}]\n` : ''}  - id: pg
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: pg
    environment: production
    admin: env:PG_ADMIN_URL
`);
const draft = (databaseId: string, scope: string) => ({ databaseId, level: 'read', scope, duration: '1h', reason: 'Check the failed payouts of last night for OPS-1', ticket: '' });

/** Database and table names as people type them: plain, mixed case, with spaces or quotes. */
const name = fc.oneof(fc.constantFrom('shop', 'shop_archive', 'other', 'Shop', 'mysql', 'tenant_b'), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_ "-]{0,20}$/));
const item = fc.record({ schema: name, table: fc.option(name, { nil: undefined }) });

describe('MySQL and MariaDB scopes stay inside the entry', () => {
  it('allows the entry\'s database (or its list) only; other engines are not bounded here', () => {
    expect(scopeDatabases(entry({ engine: 'mariadb', database: 'shop', databases: undefined }))).toEqual(['shop']);
    expect(scopeDatabases(entry({ engine: 'mysql', database: 'shop', databases: ['shop', 'shop_archive'] }))).toEqual(['shop', 'shop_archive']);
    expect(scopeDatabases(entry({ engine: 'vault', database: 'shop', databases: undefined, vault: { engine: 'mysql', role: 'r', mount: 'database' } }))).toEqual(['shop']);
    expect(scopeDatabases(entry({ engine: 'postgres', database: 'pg', databases: undefined }))).toBeUndefined();
  });

  it('refuses at the form any scope naming another database, with the list of what may be asked', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 6 }), fc.option(fc.constant<string[]>(['shop', 'shop_archive']), { nil: undefined }), (items, list) => {
        const text = items.map((i) => formatScopeItem(i.table === undefined ? { schema: i.schema } : { schema: i.schema, table: i.table })).join(', ');
        let scope;
        try {
          scope = parseScope(text);
        } catch {
          return; // not a scope at all: refused by the parser, another test's matter
        }
        const allowed: string[] = list ?? ['shop'];
        const result = validateDraft(draft('shop', text), catalog(list));
        const outside = scope.filter((i) => !allowed.includes(i.schema));
        if (outside.length === 0) {
          expect(result.ok).toBe(true);
        } else {
          expect(result.ok).toBe(false);
          const message = !result.ok ? result.errors.scope ?? '' : '';
          expect(message).toContain(`may name only ${allowed.join(', ')}`);
          expect(message).toBe(outsideDatabases(entry({ engine: 'mariadb', database: 'shop', databases: list }), scope));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('accepts the empty scope (the whole entry database) and leaves PostgreSQL schemas alone', () => {
    expect(validateDraft(draft('shop', ''), catalog()).ok).toBe(true);
    expect(validateDraft(draft('shop', 'shop.orders, shop'), catalog()).ok).toBe(true);
    expect(validateDraft(draft('pg', 'other.orders'), catalog()).ok).toBe(true);
    const refused = validateDraft(draft('shop', 'tenant_b.orders'), catalog());
    expect(refused.ok ? '' : refused.errors.scope).toBe('tenant_b is not a database of shop. A scope on shop may name only shop (or their tables).');
  });
});
