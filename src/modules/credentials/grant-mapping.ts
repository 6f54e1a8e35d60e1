import { escapeIdentifier } from 'pg';
import type { AccessLevel } from '../../config/catalog.js';
import { badInput } from '../../lib/errors.js';

/**
 * Level x scope -> privileges, in one place. A scope item is a schema (`sales`) or a table
 * (`sales.orders`); an empty scope means every schema of the database.
 */
export interface ScopeItem {
  schema: string;
  table?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
export const MAX_SCOPE_ITEMS = 50;

/** `"sales, public.orders"` -> scope items; names must be plain identifiers. */
export function parseScope(text: string): ScopeItem[] {
  const parts = text.split(/[\s,]+/).map((part) => part.trim()).filter(Boolean);
  if (parts.length > MAX_SCOPE_ITEMS) throw badInput(`A scope lists at most ${MAX_SCOPE_ITEMS} schemas or tables.`);
  const items = parts.map((part) => {
    const names = part.split('.');
    if (names.length > 2 || !names.every((name) => IDENTIFIER.test(name))) {
      throw badInput(`"${part.slice(0, 80)}" is not a schema or schema.table name (letters, digits, _ and $, starting with a letter).`);
    }
    return names.length === 2 ? { schema: names[0]!, table: names[1]! } : { schema: names[0]! };
  });
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = formatScopeItem(item);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

export const formatScopeItem = (item: ScopeItem) => (item.table ? `${item.schema}.${item.table}` : item.schema);

const TABLE_PRIVILEGES: Record<AccessLevel, string> = {
  read: 'SELECT',
  write: 'SELECT, INSERT, UPDATE, DELETE',
  admin: 'ALL PRIVILEGES',
};

/** What a level grants, in words for people who do not read SQL. */
export function describeGrants(level: AccessLevel, scope: ScopeItem[], database: string): string {
  const where = scope.length === 0 ? `every schema of ${database}` : scope.map(formatScopeItem).join(', ');
  switch (level) {
    case 'read':
      return `Read-only (SELECT) on ${where}.`;
    case 'write':
      return `Read and change rows (SELECT, INSERT, UPDATE, DELETE) on ${where}; no schema changes.`;
    case 'admin':
      return `All privileges on the tables, sequences and functions of ${where}, and CREATE in those schemas; never superuser, CREATEROLE or CREATEDB.`;
  }
}

/**
 * The exact PostgreSQL statements that grant `level` on `scope` to `username`. `schemas` lists the
 * database's schemas and is used when the scope is empty.
 */
export function postgresGrantStatements(input: {
  level: AccessLevel;
  scope: ScopeItem[];
  database: string;
  username: string;
  schemas: string[];
}): string[] {
  const user = escapeIdentifier(input.username);
  const scope: ScopeItem[] = input.scope.length > 0 ? input.scope : input.schemas.map((schema) => ({ schema }));
  const privileges = TABLE_PRIVILEGES[input.level];
  const statements = [
    `GRANT CONNECT${input.level === 'admin' ? ', TEMPORARY' : ''} ON DATABASE ${escapeIdentifier(input.database)} TO ${user}`,
  ];
  const schemas = [...new Set(scope.map((item) => item.schema))];
  for (const schema of schemas) {
    const quoted = escapeIdentifier(schema);
    statements.push(`GRANT USAGE${input.level === 'admin' ? ', CREATE' : ''} ON SCHEMA ${quoted} TO ${user}`);
    const tables = scope.filter((item) => item.schema === schema);
    if (tables.some((item) => !item.table)) {
      statements.push(`GRANT ${privileges} ON ALL TABLES IN SCHEMA ${quoted} TO ${user}`);
    } else {
      const list = tables.map((item) => `${quoted}.${escapeIdentifier(item.table!)}`).join(', ');
      statements.push(`GRANT ${privileges} ON TABLE ${list} TO ${user}`);
    }
    if (input.level === 'write') statements.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${quoted} TO ${user}`);
    if (input.level === 'admin') {
      statements.push(`GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA ${quoted} TO ${user}`);
      statements.push(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${quoted} TO ${user}`);
    }
  }
  return statements;
}
