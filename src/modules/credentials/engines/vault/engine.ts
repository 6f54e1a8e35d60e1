import { CUSTOM_PRIVILEGES, type DatabaseEntry } from '../../../../config/catalog.js';
import { configError } from '../../../../lib/errors.js';
import { randomCode } from '../../../../lib/ids.js';
import type { IssuingEngine } from '../engine.js';
import { createVaultProvider } from './provider.js';

/** Placeholder user name of a Vault lease until Vault has issued the real one. */
const PENDING = 'vault-pending-';

function section(entry: DatabaseEntry): NonNullable<DatabaseEntry['vault']> {
  if (!entry.vault) throw configError(`${entry.id} is served by Vault but its catalog entry has no vault section (role, engine).`);
  return entry.vault;
}

/**
 * `engine: vault`: Vault's database secrets engine issues the users (its role's creation statements
 * decide the grants) on a server of the engine its `vault.engine` names, whose provider ends the
 * sessions Vault leaves open.
 */
export const vaultEngine: IssuingEngine = {
  kind: 'issuer',
  name: 'vault',
  displayName: 'Vault',
  servedBy: (entry) => section(entry).engine,
  needsVault: true,
  createProvider: ({ vault, providerOf }) => createVaultProvider({ vault, sessions: providerOf }),
  grantPreview: (entry) => [`-- issued by Vault: the creation statements of role ${section(entry).role} (mount ${section(entry).mount})`],
  userName: () => `${PENDING}${randomCode(12).toLowerCase()}`,
  neverMade: (username) => username.startsWith(PENDING),
  tablePrivileges: CUSTOM_PRIVILEGES.filter((privilege) => privilege !== 'TRUNCATE'),
  // Vault creates the users; capture is not supported there yet.
  captureMethods: ['none'],
  restrictsSourceHosts: false,
  refusesScope: (entry) => `Vault's role ${section(entry).role} decides what ${entry.id} grants: leave the scope empty.`,
  checkEntry: (entry) => (entry.vault ? [] : [{ at: ['engine'], path: [], message: 'engine vault needs a vault section (role, engine)' }]),
  issuerFindings: (entry) => [{ severity: 'ok', message: `Vault role ${section(entry).role} issues the users (not checked: reading its creds would create one)` }],
};
