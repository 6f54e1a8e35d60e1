import { DIRECTORY_LABELS, type DirectoryProvider } from '../../config/integrations/directory-common.js';
import { fetchJson, type JsonAnswer } from '../../lib/http-json.js';
import { registerSecretValue } from '../../lib/secret.js';

/**
 * What the three identity-provider clients share: JSON calls (lib/http-json.ts), page links followed
 * only on the API's own origin (a token is never sent to a host a response names), and token caching.
 */

/** An identity provider that did not answer as it should: roles and approvals through it are withheld. */
export class DirectoryUnavailable extends Error {
  constructor(
    readonly provider: DirectoryProvider,
    readonly reason: string,
  ) {
    super(`${DIRECTORY_LABELS[provider]} ${reason}`);
    this.name = 'DirectoryUnavailable';
  }
}

/** Who a provider's lookups talk to, and how long one call may take. */
export interface HttpOptions {
  timeoutMs: number;
}

export function requestJson<T>(provider: DirectoryProvider, url: string, init: RequestInit, { timeoutMs }: HttpOptions, okStatuses: readonly number[] = []): Promise<JsonAnswer<T>> {
  return fetchJson<T>(url, init, { timeoutMs, alsoOk: okStatuses, fail: (reason) => new DirectoryUnavailable(provider, reason) });
}

/** A page link from a response, kept only when it points at the API it came from. */
export function sameOrigin(provider: DirectoryProvider, base: string, next: string | undefined): string | undefined {
  if (!next) return undefined;
  const url = new URL(next, base);
  if (url.origin !== new URL(base).origin) throw new DirectoryUnavailable(provider, `sent a page link to another host (${url.host})`);
  return url.toString();
}

/** Pages of a listing are bounded: a loop of links, or a huge group, ends with an error rather than forever. */
export const MAX_PAGES = 500;

/** An access token kept until a minute before it expires. */
export function tokenCache(fetchToken: () => Promise<{ token: string; expiresInSeconds: number }>, now: () => number) {
  let current: { token: string; until: number } | undefined;
  let pending: Promise<string> | undefined;
  return {
    async get(): Promise<string> {
      if (current && now() < current.until) return current.token;
      pending ??= fetchToken()
        .then(({ token, expiresInSeconds }) => {
          // An access token is a secret like the one it was bought with: no log line shows it.
          registerSecretValue(token);
          current = { token, until: now() + Math.max(0, expiresInSeconds - 60) * 1000 };
          return token;
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
  };
}

/** What a provider client answers: the emails of a group's members (nested included), and a person's manager. */
export interface DirectoryClient {
  /** Lower-cased emails; throws DirectoryUnavailable when the provider cannot answer. */
  members(groupId: string): Promise<Set<string>>;
  /** The manager's email, or undefined when the person has none (or is unknown to the provider). */
  managerOf(email: string): Promise<string | undefined>;
}

export const lower = (value: unknown): string | undefined => (typeof value === 'string' && value.includes('@') ? value.toLowerCase() : undefined);
