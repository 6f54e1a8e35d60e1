import type { CatalogSet, CatalogView } from '../../config/catalog.js';
import { isAppError } from '../../lib/errors.js';
import { formatDuration } from '../../lib/time.js';
import { catalogFileName, referenceProblem, unavailable, vaultReference, type Unavailable } from './targets.js';

export type { Unavailable } from './targets.js';

/**
 * Which catalog databases cannot be served because their admin reference gives no admin connection,
 * and why: the one place the form, `status`, the approvers' notices and submissions ask. `check()`
 * is cheap (environment variables, the last word of Vault) and runs at start and on every catalog
 * reload; `refresh()` also reads each Vault reference (a network call), so it runs off any chat
 * acknowledgement, at start and every `recheckMs`. Until Vault has answered, a Vault reference counts
 * as fine; a Vault that cannot be reached changes nothing (it says nothing about the reference).
 */
export function createAdminAvailability({ catalogs, readEnvReference, readVault, recheckMs }: {
  catalogs: () => CatalogSet;
  readEnvReference: (name: string) => string | undefined;
  readVault?: ((path: string, field: string) => Promise<string>) | undefined;
  /** How often refresh() runs: said in the fix of a Vault problem ("checked again every 1m"). */
  recheckMs: number;
}) {
  /** Vault's last word on each reference: the problem it named, or null when it gave a value. */
  const vaultSaid = new Map<string, string | null>();
  let byDatabase = new Map<string, Unavailable>();

  function check(): void {
    const set = catalogs();
    const catalogFile = catalogFileName(set.source);
    const next = new Map<string, Unavailable>();
    for (const entry of set.databases()) {
      const said = vaultSaid.get(entry.admin);
      const found = referenceProblem(entry.admin, entry.id, { readEnvReference, vaultConfigured: Boolean(readVault), catalogFile })
        ?? (said ? unavailable(entry.id, 'its Vault secret cannot be read', said, `Fix it in Vault (dbaccess reads it again every ${formatDuration(Math.round(recheckMs / 1000))}), or remove ${entry.id} from ${catalogFile}.`) : undefined);
      if (found) next.set(entry.id, found);
    }
    byDatabase = next;
  }

  async function refresh(): Promise<void> {
    const references = new Set(catalogs().databases().map((entry) => entry.admin).filter((reference) => vaultReference(reference)));
    for (const known of vaultSaid.keys()) if (!references.has(known)) vaultSaid.delete(known);
    if (readVault) {
      await Promise.all([...references].map(async (reference) => {
        const { path, field } = vaultReference(reference)!;
        try {
          // The value is a secret: it is only looked at, never kept.
          await readVault(path, field);
          vaultSaid.set(reference, null);
        } catch (error) {
          // A definite answer (no such secret or field, the token may not read it) marks the database;
          // Vault unreachable, sealed or failing is transient and says nothing about the reference.
          if (isAppError(error) && error.code === 'CONFIG') vaultSaid.set(reference, error.message);
        }
      }));
    }
    check();
  }

  check();
  return {
    check,
    refresh,
    /** Why this database cannot be served now; undefined when it can (or is not in the catalog). */
    of: (databaseId: string): Unavailable | undefined => byDatabase.get(databaseId),
    /** The unavailable databases of one tenant's catalog, in catalog order. */
    in: (catalog: CatalogView): Unavailable[] => catalog.catalog.databases.flatMap((entry) => byDatabase.get(entry.id) ?? []),
    /** Every unavailable database of the file. */
    all: (): Unavailable[] => [...byDatabase.values()],
  };
}

export type AdminAvailability = ReturnType<typeof createAdminAvailability>;
