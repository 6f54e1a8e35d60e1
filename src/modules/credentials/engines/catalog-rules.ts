import type { CatalogEngines, DatabaseEntry, LevelDefinition } from '../../../config/catalog.js';
import type { EntryProblem } from './engine.js';
import { ENGINES, engineNames, issuedByVault, serverEngineOf } from './registry.js';

/**
 * What the catalog checks of each entry's engine (config/catalog.ts takes it from whoever loads the
 * catalog): a known engine, a server engine behind an issuer, capture methods, privileges of custom
 * levels, and which entries may list databases.
 */
function check(entry: DatabaseEntry, level: (name: string) => LevelDefinition | undefined): EntryProblem[] {
  const engine = ENGINES.find((candidate) => candidate.name === entry.engine);
  if (!engine) return [{ at: ['engine'], message: `must be one of ${engineNames().join(', ')}` }];
  const problems: EntryProblem[] = [...(engine.checkEntry?.(entry) ?? [])];
  const servers = ENGINES.filter((candidate) => candidate.kind === 'server');
  if (engine.kind === 'issuer' && entry.vault && !servers.some((server) => server.name === engine.servedBy(entry))) {
    problems.push({ at: ['vault', 'engine'], message: `must be one of ${servers.map((server) => server.name).join(', ')}` });
  }
  if (engine.kind !== 'issuer' && entry.vault) problems.push({ at: ['engine'], path: [], message: 'a vault section needs engine: vault' });
  if (entry.capture !== 'none' && !engine.captureMethods.includes(entry.capture)) {
    const why = engine.kind === 'issuer' ? ` (${engine.displayName} creates the users; capture is not supported there yet)` : '';
    problems.push({ at: ['capture'], message: `${entry.engine} supports ${engine.captureMethods.join(', ')}${why}` });
  }
  for (const [index, name] of entry.levels.entries()) {
    const missing = level(name)?.privileges.filter((privilege) => !engine.tablePrivileges.includes(privilege)) ?? [];
    if (missing.length > 0) problems.push({ at: ['levels', String(index)], path: ['levels'], message: `"${name}" lists ${missing.join(', ')}, which ${entry.engine} does not have as a privilege` });
  }
  if (entry.databases) problems.push(...checkDatabases(entry, entry.databases));
  return problems;
}

/** `databases:` lists what a scope may name where accounts are server-wide; it includes the entry's own. */
function checkDatabases(entry: DatabaseEntry, databases: string[]): EntryProblem[] {
  let server: ReturnType<typeof serverEngineOf> | undefined;
  try {
    server = serverEngineOf(entry);
  } catch {
    // An unknown engine behind an issuer: reported on its own.
  }
  if (!server?.scopeDatabases) {
    const listing = ENGINES.flatMap((engine) => (engine.kind === 'server' && engine.scopeDatabases ? [engine.displayName] : []));
    return [{ at: ['databases'], message: `only ${listing.join(' and ')} entries list databases; a ${server?.name ?? entry.vault?.engine ?? entry.engine} entry grants within its database` }];
  }
  if (!databases.includes(entry.database)) return [{ at: ['databases'], message: `must include the entry's own database "${entry.database}" (an empty scope means it)` }];
  return [];
}

export const catalogEngines: CatalogEngines = {
  names: engineNames(),
  check,
  adminUrl: (entry) => {
    const server = serverEngineOf(entry);
    return { engine: server.name, ...server.adminUrl };
  },
  issuedByVault,
};
