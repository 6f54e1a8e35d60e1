import type { DatabaseEntry, Engine } from '../../config/catalog.js';
import { sessionEngine } from '../../config/config-check.js';
import { CAPTURE_METHODS } from '../capture/capture-types.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { postgresDialect } from '../credentials/engines/postgres/dialect.js';
import type { SqlDialect } from './sql-dialect.js';

/** The SQL dialect of each engine a session runs on. To be folded into the engine registry (credentials/engines/registry.ts). */
export const SQL_DIALECTS: Record<Exclude<Engine, 'vault'>, SqlDialect> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
  mariadb: mysqlDialect,
};

/**
 * The dialect a lease's session is read in: its database's engine (the one behind Vault for a Vault
 * entry); for an entry gone from the catalog, the engine whose capture method recorded it.
 */
export function sessionDialect(entry: DatabaseEntry | undefined, captureMethod: string): SqlDialect {
  if (entry) return SQL_DIALECTS[sessionEngine(entry)];
  const engines = Object.keys(SQL_DIALECTS) as Array<keyof typeof SQL_DIALECTS>;
  const recordedBy = engines.find((engine) => captureMethod !== 'none' && (CAPTURE_METHODS[engine] as readonly string[]).includes(captureMethod));
  // Nothing was recorded without a method: any dialect reads no statements the same.
  return SQL_DIALECTS[recordedBy ?? engines[0]!];
}
