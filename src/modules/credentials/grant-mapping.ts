import { CUSTOM_PRIVILEGES, type AccessLevel, type BuiltInLevel } from '../../config/catalog.js';
import { badInput } from '../../lib/errors.js';
import { formatScopeItem, type ScopeItem } from './scope.js';

export { MAX_SCOPE_ITEMS, formatScopeItem, parseScope, type ScopeItem } from './scope.js';

/** Level x scope -> privileges, in one place, for every engine. */

const TABLE_PRIVILEGES: Record<BuiltInLevel, string> = {
  read: 'SELECT',
  write: 'SELECT, INSERT, UPDATE, DELETE',
  admin: 'ALL PRIVILEGES',
};

export const isBuiltIn = (level: AccessLevel) => Object.hasOwn(TABLE_PRIVILEGES, level);

/** The table privileges of a level: a built-in one's, or the list of a custom one (`privileges`). */
export function tablePrivileges(level: AccessLevel, privileges: string[] = []): string {
  const builtIn = (TABLE_PRIVILEGES as Record<string, string>)[level];
  if (builtIn) return builtIn;
  if (privileges.length === 0 || !privileges.every((p) => (CUSTOM_PRIVILEGES as readonly string[]).includes(p))) {
    throw badInput(`The level ${level} has no valid privilege list.`);
  }
  return privileges.join(', ');
}

/** What a level grants, in words for people who do not read SQL. */
export function describeGrants(level: AccessLevel, scope: ScopeItem[], database: string, privileges: string[] = []): string {
  const where = scope.length === 0 ? `every schema of ${database}` : scope.map(formatScopeItem).join(', ');
  switch (level) {
    case 'read':
      return `Read-only (SELECT) on ${where}.`;
    case 'write':
      return `Read and change rows (SELECT, INSERT, UPDATE, DELETE) on ${where}; no schema changes.`;
    case 'admin':
      return `All privileges on the tables, sequences and functions of ${where}, and CREATE in those schemas; never superuser, CREATEROLE or CREATEDB.`;
    default:
      return `Custom level ${level}: ${tablePrivileges(level, privileges)} on ${where}; no schema changes.`;
  }
}
