import type { CatalogOf, CatalogView } from '../../config/catalog.js';
import { DIRECTORY_LABELS, type DirectoryProvider } from '../../config/integrations/directory-common.js';
import type { Integrations } from '../../config/integrations-schema.js';
import type { Principal } from '../../config/policy-schema.js';
import type { Logger } from '../../lib/logger.js';
import { registerSecretValue } from '../../lib/secret.js';
import { vaultReference } from '../credentials/targets.js';
import type { Person } from '../policy/policy-types.js';
import { DirectoryUnavailable, type DirectoryClient, type HttpOptions } from './directory-http.js';
import { createEntraClient } from './entra-client.js';
import { createGoogleClient } from './google-client.js';
import { createOktaClient } from './okta-client.js';

/** Turns an `env:`/`vault:` reference into its secret (the container's, as for admin URLs). */
export type SecretResolver = (reference: string) => Promise<string>;

/** An integration's `env:NAME` or `vault:<path>#<field>` reference, read the way admin URLs are. */
export async function resolveIntegrationSecret(
  reference: string,
  { readEnvReference, readVault }: { readEnvReference: (name: string) => string | undefined; readVault?: ((path: string, field: string) => Promise<string>) | undefined },
): Promise<string> {
  const vault = vaultReference(reference);
  if (vault) {
    if (!readVault) throw new Error(`its secret is read from Vault (${reference}), but Vault is not configured (VAULT_ADDR, VAULT_TOKEN)`);
    return readVault(vault.path, vault.field);
  }
  const name = reference.startsWith('env:') ? reference.slice('env:'.length) : undefined;
  const value = name ? readEnvReference(name) : undefined;
  if (!value) throw new Error(name ? `${name} is ${value === '' ? 'empty' : 'not set'}` : 'its secret reference is not understood');
  return value;
}

interface Deps {
  catalogOf: CatalogOf;
  resolveSecret: SecretResolver;
  logger: Logger;
  now?: () => number;
  http?: HttpOptions;
}

interface Named {
  groups: Array<{ provider: DirectoryProvider; id: string }>;
  managers: DirectoryProvider[];
}

/** The identity-provider groups and managers a catalog's roles, policies and rules name. */
export function directoryNames(view: Pick<CatalogView, 'policy'>): Named {
  const groups = new Map<string, { provider: DirectoryProvider; id: string }>();
  const managers = new Set<DirectoryProvider>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    const principal = value as Principal;
    if (principal.kind === 'directoryGroup') groups.set(`${principal.provider}:${principal.id}`, { provider: principal.provider, id: principal.id });
    else if (principal.kind === 'manager') managers.add(principal.provider);
    else Object.values(value).forEach(walk);
  };
  walk([view.policy.roles, view.policy.policies, view.policy.rules]);
  return { groups: [...groups.values()], managers: [...managers] };
}

interface Entry<T> {
  value: T;
  at: number;
}

/**
 * Who a person is in the identity providers a tenant's catalog configures (integrations: okta, google,
 * entra): the groups among those the catalog names that hold their email, and their manager's email.
 * Asked live and kept for the provider's cacheFor (2 minutes by default); within that time an answer is
 * used even if the provider has gone down since. Past it, a provider that does not answer grants
 * nothing (fail closed): the person gets no group and no manager from it, and a sentence saying why.
 */
export function createDirectoryGroups({ catalogOf, resolveSecret, logger, now = Date.now, http = { timeoutMs: 2500 } }: Deps) {
  const log = logger.child({ component: 'directory-groups' });
  const clients = new Map<string, DirectoryClient>();
  const cache = new Map<string, Entry<unknown>>();
  const inflight = new Map<string, Promise<unknown>>();

  /** One client per tenant and configuration: two tenants' Okta orgs never share a token or an answer. */
  function clientFor(tenantId: string, provider: DirectoryProvider, integrations: Integrations): DirectoryClient | undefined {
    const config = integrations[provider];
    if (!config) return undefined;
    const key = `${tenantId}|${provider}|${JSON.stringify(config)}`;
    const known = clients.get(key);
    if (known) return known;
    const secret = (reference: string) => async () => {
      const value = await resolveSecret(reference);
      registerSecretValue(value, { permanent: true });
      return value;
    };
    const made =
      provider === 'okta' && integrations.okta ? createOktaClient(integrations.okta, secret(integrations.okta.token), http)
        : provider === 'entra' && integrations.entra ? createEntraClient(integrations.entra, secret(integrations.entra.clientSecret), http, now)
          : integrations.google ? createGoogleClient(integrations.google, secret(integrations.google.privateKey), http, now)
            : undefined;
    if (made) clients.set(key, made);
    return made;
  }

  /** A fresh cached answer, or the lookup (shared by concurrent askers); failures are not kept. */
  async function cached<T>(key: string, ttlSeconds: number, lookup: () => Promise<T>): Promise<T> {
    const entry = cache.get(key) as Entry<T> | undefined;
    if (entry && now() - entry.at < ttlSeconds * 1000) return entry.value;
    const running = inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const started = lookup()
      .then((value) => {
        cache.set(key, { value, at: now() });
        return value;
      })
      .finally(() => inflight.delete(key));
    inflight.set(key, started);
    return started;
  }

  const why = (provider: DirectoryProvider, error: unknown) => {
    if (error instanceof DirectoryUnavailable) return error.message;
    // A reference that does not resolve (an unset variable, Vault down): the operator's to fix.
    return `${DIRECTORY_LABELS[provider]} cannot be asked: ${(error as Error).message}`;
  };

  return {
    /** The person with the groups and managers the tenant's catalog names; unchanged when it names none. */
    async enrich(tenantId: string, person: Person): Promise<Person> {
      const view = await catalogOf(tenantId);
      const named = directoryNames(view);
      if (named.groups.length === 0 && named.managers.length === 0) return person;
      const integrations = view.catalog.integrations;
      const email = person.email?.toLowerCase();
      if (!email) {
        return { ...person, directoryGroups: [], directoryProblems: ['Your email address is unknown here, so identity-provider groups cannot include you (the Slack app needs users:read.email).'] };
      }
      const problems = new Map<DirectoryProvider, string>();
      const groups: string[] = [];
      const managers: Partial<Record<DirectoryProvider, string>> = {};
      await Promise.all([
        ...named.groups.map(async ({ provider, id }) => {
          const client = clientFor(tenantId, provider, integrations);
          if (!client) return;
          try {
            const members = await cached(`${tenantId}|${provider}|group|${id}`, integrations[provider]!.cacheFor, () => client.members(id));
            if (members.has(email)) groups.push(`${provider}:${id}`);
          } catch (error) {
            problems.set(provider, why(provider, error));
            log.warn({ tenantId, provider, group: id, reason: why(provider, error) }, 'an identity-provider group could not be read; nobody gains rights through it until it can');
          }
        }),
        ...named.managers.map(async (provider) => {
          const client = clientFor(tenantId, provider, integrations);
          if (!client) return;
          try {
            const manager = await cached(`${tenantId}|${provider}|manager|${email}`, integrations[provider]!.cacheFor, () => client.managerOf(email));
            if (manager) managers[provider] = manager;
          } catch (error) {
            problems.set(provider, why(provider, error));
            log.warn({ tenantId, provider, reason: why(provider, error) }, "a requester's manager could not be read; manager approval waits until it can");
          }
        }),
      ]);
      const sentences = [...problems.values()].map((reason) => `${reason}, so its groups and managers count for nobody right now.`);
      return {
        ...person,
        directoryGroups: groups.sort(),
        ...(Object.keys(managers).length > 0 ? { managers } : {}),
        ...(sentences.length > 0 ? { directoryProblems: sentences } : {}),
      };
    },
  };
}

export type DirectoryGroups = ReturnType<typeof createDirectoryGroups>;
