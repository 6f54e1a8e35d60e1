import type { DatabaseEntry } from '../../../../config/catalog.js';

/**
 * The databases a scope may name on a MySQL or MariaDB entry: its own, or the list it gives. Accounts
 * are server-wide there, so a scope naming any other database of the server would reach into another
 * entry's (or tenant's) data.
 */
export const scopeDatabases = (entry: Pick<DatabaseEntry, 'database' | 'databases'>): string[] => entry.databases ?? [entry.database];
