import type { AccessLevel, DatabaseEntry, LevelDefinition } from '../../../config/catalog.js';
import { configError } from '../../../lib/errors.js';
import type { AdminFinding } from '../admin-check.js';
import type { CredentialProvider, Target } from '../credential-types.js';
import { databasesOutside } from '../scope-bounds.js';
import type { ScopeItem } from '../scope.js';
import type { VaultClient } from '../vault-client.js';
import type { DatabaseEngine, EngineClient, ProviderContext, ServerEngine } from './engine.js';
import { mariadbEngine, mysqlEngine } from './mysql/engine.js';
import { postgresEngine } from './postgres/engine.js';
import { vaultEngine } from './vault/engine.js';

/**
 * Every database engine dbaccess knows, one line each: an engine is its folder (engines/<engine>/)
 * and its line here. The catalog's `engine:` takes these names.
 */
export const ENGINES: readonly DatabaseEngine[] = [
  postgresEngine,
  mysqlEngine,
  mariadbEngine,
  vaultEngine,
];

const byName = new Map(ENGINES.map((engine) => [engine.name, engine]));

export const engineNames = (): string[] => ENGINES.map((engine) => engine.name);

export function engineNamed(name: string): DatabaseEngine {
  const engine = byName.get(name);
  if (!engine) throw configError(`"${name}" is not a database engine dbaccess knows (${engineNames().join(', ')}).`);
  return engine;
}

/** The engine of a catalog entry (Vault's for `engine: vault`). */
export const engineOf = (entry: Pick<DatabaseEntry, 'engine'>): DatabaseEngine => engineNamed(entry.engine);

/**
 * The engine of the server that holds an entry's users: the entry's own, or, where another system
 * issues the users (Vault), the engine of the database server behind it. The one place this rule is
 * written.
 */
export function serverEngineOf(entry: DatabaseEntry): ServerEngine {
  const engine = engineOf(entry);
  const server = engine.kind === 'issuer' ? engineNamed(engine.servedBy(entry)) : engine;
  if (server.kind !== 'server') throw configError(`${entry.id}: ${engine.displayName} must name the engine of a database server, not ${server.name}.`);
  return server;
}

/** The client people connect with to a server of the named engine (`Credentials.protocol`). */
export function clientOf(serverEngine: string): EngineClient {
  const engine = engineNamed(serverEngine);
  if (engine.kind !== 'server') throw configError(`${engine.displayName} has no client of its own.`);
  return engine.client;
}

/** Whether a source-host rule narrows where the entry's users may connect from. */
export const restrictsSourceHosts = (entry: Pick<DatabaseEntry, 'engine'>): boolean => engineOf(entry).restrictsSourceHosts;

/** Whether the entry's users come from Vault (then VAULT_ADDR and VAULT_TOKEN must be set). */
export function issuedByVault(entry: DatabaseEntry): boolean {
  const engine = engineOf(entry);
  return engine.kind === 'issuer' && engine.needsVault;
}

/** The databases a scope may name on the entry, or undefined where a scope stays inside its database. */
export const scopeDatabases = (entry: DatabaseEntry): string[] | undefined => serverEngineOf(entry).scopeDatabases?.(entry);

/** Why the scope reaches outside the entry's databases (with what may be asked), or undefined. */
export const outsideDatabases = (entry: DatabaseEntry, scope: ScopeItem[]): string | undefined => databasesOutside(entry.id, scopeDatabases(entry), scope);

/** Why the entry takes no scope at all (its grants are not dbaccess's to narrow), or undefined. */
export const scopeRefusal = (entry: DatabaseEntry): string | undefined => engineOf(entry).refusesScope?.(entry);

/**
 * The statements a request will run, as approvers see them on the card: exact for the engines that
 * hold their users (with the user name once it exists; the access group's install id as `<install>`
 * unless given); for Vault, the role whose statements Vault runs.
 */
export function grantPreview(entry: DatabaseEntry, level: AccessLevel, privileges: string[], scope: ScopeItem[], prefix: string, username = '<temporary user>', install = '<install>'): string[] {
  return engineOf(entry).grantPreview(entry, { level, privileges, scope, prefix, username, install });
}

/** What `dbaccess doctor` finds of the admin account of a target (through the server's engine). */
export async function checkAdmin(target: Target, levels: LevelDefinition[]): Promise<AdminFinding[]> {
  const engine = engineOf(target.entry);
  const findings = await serverEngineOf(target.entry).adminCheck(target, { sessionsOnly: engine.kind === 'issuer', levels });
  return engine.kind === 'issuer' ? [...findings, ...engine.issuerFindings(target.entry)] : findings;
}

/** The providers of every engine, made once for the install. */
export interface ProviderRegistry {
  /** The provider of the entry's engine (Vault's for a Vault entry). */
  of(entry: DatabaseEntry): CredentialProvider;
  /** The provider of the server that holds the entry's users (pings and sessions over the admin connection). */
  ofServer(entry: DatabaseEntry): CredentialProvider;
  close(): Promise<void>;
}

const vaultNotConfigured: ProviderContext['vault'] = new Proxy({} as ProviderContext['vault'], {
  get: () => () => Promise.reject(configError('Vault is not configured: set VAULT_ADDR and VAULT_TOKEN.')),
});

export function createProviders(options: { installId: string; poolSize?: number; idleMillis?: number; vault?: Pick<VaultClient, 'issue' | 'renew' | 'revoke' | 'health'> | undefined }): ProviderRegistry {
  const providers = new Map<string, CredentialProvider>();
  const providerOf = (name: string): CredentialProvider => {
    const provider = providers.get(name);
    if (!provider) throw configError(`"${name}" is not a database engine dbaccess knows (${engineNames().join(', ')}).`);
    return provider;
  };
  const context: ProviderContext = { installId: options.installId, poolSize: options.poolSize, idleMillis: options.idleMillis, vault: options.vault ?? vaultNotConfigured, providerOf };
  for (const engine of ENGINES) providers.set(engine.name, engine.createProvider(context));
  return {
    of: (entry) => providerOf(engineOf(entry).name),
    ofServer: (entry) => providerOf(serverEngineOf(entry).name),
    close: async () => {
      await Promise.all([...providers.values()].map((provider) => provider.close()));
    },
  };
}
