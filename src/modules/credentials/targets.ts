import { basename } from 'node:path';
import type { CatalogSet } from '../../config/catalog.js';
import { configError, notFound } from '../../lib/errors.js';
import { registerConnectionSecrets } from '../../lib/secret.js';
import type { Target } from './credential-types.js';

/** Turns a catalog reference (`env:NAME`, `vault:<path>#<field>`) into the secret it names. */
export type ReferenceResolver = (reference: string, databaseId: string) => Promise<string>;

/**
 * A catalog database that cannot be served: its admin reference gives no admin connection. Said the
 * same way by the form, `status`, the approvers' channel, a refused submission, provisioning and doctor.
 */
export interface Unavailable {
  databaseId: string;
  /** A few words for a form's list of databases: `ORDERS_ADMIN_URL is not set`. */
  problem: string;
  /** The whole sentence, with what to do: `orders is unavailable: ORDERS_ADMIN_URL is not set. Set it …`. */
  message: string;
}

/** `vault:<path>#<field>` as its path and field; undefined for any other reference. */
export function vaultReference(reference: string): { path: string; field: string } | undefined {
  const match = /^vault:(.+)#(.+)$/.exec(reference);
  return match ? { path: match[1]!, field: match[2]! } : undefined;
}

/** The catalog file's name as an operator knows it (`dbaccess.yaml`), for "remove orders from …". */
export const catalogFileName = (source: string | undefined) => (source ? basename(source) : 'the catalog');

/** How a sentence about an unavailable database reads, whatever the cause. */
export function unavailable(databaseId: string, problem: string, why: string, fix: string): Unavailable {
  return { databaseId, problem, message: `${databaseId} is unavailable: ${why} ${fix}` };
}

/**
 * What can be told of a reference without a network call: an `env:` variable that is not set (or
 * empty), a `vault:` one while Vault is not configured. Undefined when nothing is wrong that way
 * (a Vault reference still has to be read to know).
 */
export function referenceProblem(
  reference: string,
  databaseId: string,
  { readEnvReference, vaultConfigured, catalogFile }: { readEnvReference: (name: string) => string | undefined; vaultConfigured: boolean; catalogFile: string },
): Unavailable | undefined {
  const orRemove = `or remove ${databaseId} from ${catalogFile}.`;
  if (reference.startsWith('env:')) {
    const name = reference.slice('env:'.length);
    const value = readEnvReference(name);
    if (value) return undefined;
    const problem = `${name} is ${value === '' ? 'empty' : 'not set'}`;
    return unavailable(databaseId, problem, `${problem}.`, `Set it to the admin connection URL and restart, ${orRemove}`);
  }
  if (vaultReference(reference)) {
    return vaultConfigured
      ? undefined
      : unavailable(databaseId, 'Vault is not configured', `its admin connection is read from Vault (${reference}), but Vault is not configured.`, `Set VAULT_ADDR and VAULT_TOKEN and restart, ${orRemove}`);
  }
  return unavailable(databaseId, 'its admin reference is not understood', `its admin reference is not understood.`, `Write it as env:NAME or vault:<path>#<field>, ${orRemove}`);
}

/** `env:` references from the environment snapshot; `vault:` ones through the given reader, if any. */
export function createReferenceResolver({
  readEnvReference,
  readVault,
  catalogFile = () => 'the catalog',
}: {
  readEnvReference: (name: string) => string | undefined;
  readVault?: ((path: string, field: string) => Promise<string>) | undefined;
  /** The catalog file's name, for the fix of a reference that does not resolve. */
  catalogFile?: () => string;
}): ReferenceResolver {
  // Whatever a reference resolves to (an admin connection string) is a secret the log must never show.
  const resolve: ReferenceResolver = async (reference, databaseId) => {
    const problem = referenceProblem(reference, databaseId, { readEnvReference, vaultConfigured: Boolean(readVault), catalogFile: catalogFile() });
    if (problem) throw configError(problem.message);
    const vault = vaultReference(reference);
    return vault ? readVault!(vault.path, vault.field) : readEnvReference(reference.slice('env:'.length))!;
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
