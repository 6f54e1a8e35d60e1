import type { DatabaseEntry } from '../../config/catalog.js';
import type { ServerEngine } from '../credentials/engines/engine.js';
import { ENGINES, engineNamed, serverEngineOf } from '../credentials/engines/registry.js';
import type { SqlDialect } from './sql-dialect.js';

const servers = (): ServerEngine[] => ENGINES.filter((engine): engine is ServerEngine => engine.kind === 'server');

/** The dialect of a server engine by its name (`engine:` in the catalog). */
export function dialectNamed(name: string): SqlDialect {
  const engine = engineNamed(name);
  if (engine.kind !== 'server') throw new Error(`${engine.displayName} has no SQL of its own.`);
  return engine.dialect;
}

/**
 * The dialect a lease's session is read in: its database's server engine (the one behind Vault for a
 * Vault entry); for an entry gone from the catalog, the engine whose capture method recorded it.
 */
export function sessionDialect(entry: DatabaseEntry | undefined, captureMethod: string): SqlDialect {
  if (entry) return serverEngineOf(entry).dialect;
  const recordedBy = servers().find((engine) => captureMethod !== 'none' && engine.captureMethods.includes(captureMethod));
  // Nothing was recorded without a method: any dialect reads no statements the same.
  return (recordedBy ?? servers()[0]!).dialect;
}
