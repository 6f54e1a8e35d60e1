import { formatName, type ScopeItem } from './scope.js';

/**
 * Why the scope reaches outside the databases an entry's scope may name (with what may be asked), or
 * undefined. `allowed` is the engine's bound (engines/registry.ts, scopeDatabases); undefined where a
 * scope stays inside the entry's database anyway.
 */
export function databasesOutside(entryId: string, allowed: string[] | undefined, scope: ScopeItem[]): string | undefined {
  if (!allowed) return undefined;
  const outside = [...new Set(scope.map((item) => item.schema).filter((schema) => !allowed.includes(schema)))];
  if (outside.length === 0) return undefined;
  return `${outside.map(formatName).join(', ')} ${outside.length === 1 ? 'is not a database' : 'are not databases'} of ${entryId}. A scope on ${entryId} may name only ${allowed.map(formatName).join(', ')} (or their tables).`;
}
