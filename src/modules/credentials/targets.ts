import type { CatalogSet } from '../../config/catalog.js';
import { configError, notFound } from '../../lib/errors.js';
import { registerConnectionSecrets } from '../../lib/secret.js';
import type { Target } from './credential-types.js';

/** Turns a catalog reference (`env:NAME`, `vault:<path>#<field>`) into the secret it names. */
export type ReferenceResolver = (reference: string, databaseId: string) => Promise<string>;

/** `env:` references from the environment snapshot; `vault:` ones through the given reader, if any. */
export function createReferenceResolver({
  readEnvReference,
  readVault,
}: {
  readEnvReference: (name: string) => string | undefined;
  readVault?: (path: string, field: string) => Promise<string>;
}): ReferenceResolver {
  // Whatever a reference resolves to (an admin connection string) is a secret the log must never show.
  const resolve: ReferenceResolver = async (reference, databaseId) => {
    if (reference.startsWith('env:')) {
      const name = reference.slice('env:'.length);
      const value = readEnvReference(name);
      if (!value) throw configError(`The admin connection for ${databaseId} is missing: set the environment variable ${name}.`);
      return value;
    }
    const match = /^vault:(.+)#(.+)$/.exec(reference);
    if (match) {
      if (!readVault) throw configError(`${databaseId} names a Vault secret, but Vault is not configured: set VAULT_ADDR and VAULT_TOKEN.`);
      return readVault(match[1]!, match[2]!);
    }
    throw configError(`The admin reference of ${databaseId} is not understood.`);
  };
  return async (reference, databaseId) => {
    const value = await resolve(reference, databaseId);
    registerConnectionSecrets(value);
    return value;
  };
}

/** Resolves a catalog database to a target with its admin connection string. */
export function createTargetResolver({ catalogs, resolveReference }: { catalogs: () => CatalogSet; resolveReference: ReferenceResolver }) {
  return async (databaseId: string): Promise<Target> => {
    const entry = catalogs().ofDatabase(databaseId)?.database(databaseId);
    if (!entry) throw notFound(`Database ${databaseId}`);
    return { entry, adminUrl: await resolveReference(entry.admin, entry.id) };
  };
}

export type TargetResolver = ReturnType<typeof createTargetResolver>;
