import type { CatalogView, DatabaseEntry, Engine } from '../../config/catalog.js';
import { configError, notFound } from '../../lib/errors.js';
import type { CredentialProvider, Target } from './credential-types.js';

/** Resolves a catalog database to a target with its admin connection string (from `env:NAME`). */
export function createTargetResolver({ catalog, readEnvReference }: { catalog: () => CatalogView; readEnvReference: (name: string) => string | undefined }) {
  return (databaseId: string): Target => {
    const entry = catalog().database(databaseId);
    if (!entry) throw notFound(`Database ${databaseId}`);
    return { entry, adminUrl: resolveAdmin(entry, readEnvReference) };
  };
}

function resolveAdmin(entry: DatabaseEntry, readEnvReference: (name: string) => string | undefined): string {
  const name = entry.admin.slice('env:'.length);
  const value = readEnvReference(name);
  if (!value) throw configError(`The admin connection for ${entry.id} is missing: set the environment variable ${name}.`);
  return value;
}

export type TargetResolver = ReturnType<typeof createTargetResolver>;
export type ProviderRegistry = Record<Engine, CredentialProvider>;
