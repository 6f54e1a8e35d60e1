import type { DatabaseEntry } from '../../config/catalog.js';
import { formatName, type ScopeItem } from './scope.js';

type Bounded = Pick<DatabaseEntry, 'engine' | 'database' | 'databases'> & { vault?: { engine: string } | undefined };

const isMysqlFamily = (entry: Bounded) => {
  const engine = entry.engine === 'vault' ? entry.vault?.engine : entry.engine;
  return engine === 'mysql' || engine === 'mariadb';
};

/**
 * The databases a scope may name on a MySQL or MariaDB entry: its own, or the list it gives. Accounts
 * are server-wide there, so a scope naming any other database of the server would reach into another
 * entry's (or tenant's) data. Undefined for engines where a scope stays inside the entry's database.
 */
export function scopeDatabases(entry: Bounded): string[] | undefined {
  return isMysqlFamily(entry) ? (entry.databases ?? [entry.database]) : undefined;
}

/** Why the scope reaches outside the entry's databases (with what may be asked), or undefined. */
export function outsideDatabases(entry: Bounded & { id: string }, scope: ScopeItem[]): string | undefined {
  const allowed = scopeDatabases(entry);
  if (!allowed) return undefined;
  const outside = [...new Set(scope.map((item) => item.schema).filter((schema) => !allowed.includes(schema)))];
  if (outside.length === 0) return undefined;
  return `${outside.map(formatName).join(', ')} ${outside.length === 1 ? 'is not a database' : 'are not databases'} of ${entry.id}. A scope on ${entry.id} may name only ${allowed.map(formatName).join(', ')} (or their tables).`;
}
