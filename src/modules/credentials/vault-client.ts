import nodeVault from 'node-vault';
import { type AppError, configError, conflict, isAppError, targetUnavailable } from '../../lib/errors.js';
import { scrubSecrets } from '../../lib/logger.js';
import { createVaultTransport } from './vault-transport.js';

export { MAX_ANSWER_BYTES, redirectTarget } from './vault-transport.js';

/**
 * HashiCorp Vault through node-vault (over createVaultTransport, not its axios): KV reads for
 * `vault:<path>#<field>` references, and leases of the database secrets engine. Nothing here logs;
 * errors name paths, roles and lease ids, never the token or a secret value.
 */
export interface VaultClientConfig {
  /** VAULT_ADDR, e.g. https://vault.example.com:8200 */
  addr: string;
  token: string;
  /** Vault Enterprise / HCP namespace, sent as X-Vault-Namespace. */
  namespace?: string | undefined;
  /** How long a KV secret is kept in memory; 0 reads Vault every time. */
  cacheSeconds?: number;
  timeoutMs?: number;
  now?: () => number;
}

export interface IssuedCredentials {
  username: string;
  password: string;
  leaseId: string;
  /** What Vault granted, from the moment it answered. */
  leaseSeconds: number;
}

export interface VaultClient {
  /** One field of a secret (`vault:secret/data/orders#url` -> `readKv('secret/data/orders', 'url')`); KV v2 or v1. */
  readKv(path: string, field: string): Promise<string>;
  /** New credentials from the database secrets engine: `GET <mount>/creds/<role>`. */
  issue(mount: string, role: string): Promise<IssuedCredentials>;
  /** Asks for `seconds` more from now; returns what Vault granted (capped by the role's max TTL). */
  renew(leaseId: string, seconds: number): Promise<number>;
  /** Revokes the lease; Vault runs the role's revocation statements. Throws when Vault could not. */
  revoke(leaseId: string): Promise<void>;
  health(): Promise<void>;
  /** What Vault knows of the token itself (`auth/token/lookup-self`), never the token. */
  lookupSelf(): Promise<TokenInfo>;
}

export interface TokenInfo {
  displayName: string;
  policies: string[];
  /** Seconds the token has left; 0 for a token that does not expire. */
  ttlSeconds: number;
  renewable: boolean;
}

const VAULT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const VAULT_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_MESSAGE = 300;

type KvData = Record<string, unknown>;

export function createVaultClient({ addr, token, namespace, cacheSeconds = 60, timeoutMs = 5000, now = Date.now }: VaultClientConfig): VaultClient {
  const where = `Vault at ${displayAddress(addr)}`;
  if (!token) throw configError('VAULT_TOKEN is empty: Vault cannot be used without a token.');
  const options: nodeVault.VaultOptions & { rpDefaults: { strictSSL: boolean } } = {
    apiVersion: 'v1',
    endpoint: addr,
    token,
    namespace,
    requestOptions: { timeout: timeoutMs },
    // node-vault's default debug logger prints request bodies when DEBUG=node-vault is set.
    debug: () => {},
    // node-vault turns certificate checks off when VAULT_SKIP_VERIFY is in the environment; settings come from env.ts only.
    // (Read by node-vault's own transport; createVaultTransport always verifies.)
    rpDefaults: { strictSSL: true },
    'request-promise': createVaultTransport(timeoutMs),
  };
  const client = nodeVault(options);
  // node-vault falls back to VAULT_NAMESPACE and VAULT_PREFIX from the environment for these.
  Object.assign(client, { namespace: namespace || undefined, pathPrefix: '' });

  const cache = new Map<string, { data: KvData; until: number }>();
  const inFlight = new Map<string, Promise<KvData | null>>();

  const fail = (error: unknown, action: string, on4xx?: (status: number, said: string) => AppError | undefined) =>
    describeVaultFailure(error, { where, action, timeoutMs, secrets: [token], on4xx });

  /** The secret's fields, or null when Vault has no such secret. Concurrent reads of one path share a request. */
  async function readSecret(path: string): Promise<KvData | null> {
    const cached = cache.get(path);
    if (cached && cached.until > now()) return cached.data;
    let pending = inFlight.get(path);
    if (!pending) {
      pending = (async () => {
        try {
          const data = kvData((await client.read(path)) as unknown);
          if (!data) return null;
          if (cacheSeconds > 0) cache.set(path, { data, until: now() + cacheSeconds * 1000 });
          return data;
        } catch (error) {
          if (statusOf(error) === 404) return null;
          throw fail(error, `reading ${path}`);
        } finally {
          inFlight.delete(path);
        }
      })();
      inFlight.set(path, pending);
    }
    return pending;
  }

  return {
    async readKv(path, name) {
      if (!VAULT_PATH.test(path) || path.split('/').some((part) => part === '.' || part === '..')) {
        throw configError(`"${path.slice(0, 100)}" is not a Vault path (expected something like secret/data/orders).`);
      }
      const reference = `vault:${path}#${name.slice(0, 100)}`;
      const data = await readSecret(path);
      if (!data) {
        // On a KV version 2 mount, secret/orders is not readable: the API path is secret/data/orders.
        const hint = path.split('/').includes('data') ? '' : ' On a KV version 2 mount the path includes data/, e.g. secret/data/orders.';
        throw configError(`The Vault secret ${path} does not exist (reference ${reference}).${hint}`);
      }
      if (!Object.hasOwn(data, name)) {
        throw configError(`The Vault secret ${path} has no field "${name.slice(0, 100)}" (reference ${reference}).`);
      }
      const value = data[name];
      if (typeof value !== 'string' || value.length === 0) {
        throw configError(`The field "${name}" of the Vault secret ${path} is ${value === '' ? 'empty' : 'not text'} (reference ${reference}).`);
      }
      return value;
    },

    async issue(mount, role) {
      checkName(mount, 'mount', true);
      checkName(role, 'role', false);
      const path = `${mount}/creds/${role}`;
      let body: unknown;
      try {
        body = await client.read(path);
      } catch (error) {
        throw fail(error, `issuing credentials from ${path}`);
      }
      const issued = issuedCredentials(body);
      if (!issued) throw targetUnavailable(`${where} answered ${path} without a lease id, user name and password.`);
      return issued;
    },

    async renew(leaseId, seconds) {
      checkLeaseId(leaseId);
      if (!Number.isSafeInteger(seconds) || seconds < 1) throw configError(`A lease renewal needs a whole number of seconds, not ${seconds}.`);
      let body: unknown;
      try {
        body = await client.renew({ lease_id: leaseId, increment: seconds });
      } catch (error) {
        throw fail(error, `renewing lease ${leaseId}`, (status, said) =>
          status === 400 ? conflict(`Vault would not renew lease ${leaseId}: ${said}.`) : undefined,
        );
      }
      const granted = (body as { lease_duration?: unknown } | null)?.lease_duration;
      if (typeof granted !== 'number' || !Number.isFinite(granted) || granted < 0) {
        throw targetUnavailable(`${where} answered the renewal of lease ${leaseId} without a lease duration.`);
      }
      return granted;
    },

    async revoke(leaseId) {
      checkLeaseId(leaseId);
      try {
        await client.revoke({ lease_id: leaseId });
      } catch (error) {
        throw fail(error, `revoking lease ${leaseId}`);
      }
    },

    async health() {
      let body: unknown;
      try {
        // node-vault resolves sys/health with the body whatever the status (429 standby, 503 sealed, ...).
        body = await client.health();
      } catch (error) {
        throw fail(error, 'checking its health');
      }
      const state = (body ?? {}) as { initialized?: unknown; sealed?: unknown; errors?: unknown };
      if (state.initialized === true && state.sealed === false) return;
      if (state.sealed === true) throw targetUnavailable(`${where} is sealed.`);
      if (state.initialized === false) throw targetUnavailable(`${where} is not initialized.`);
      const said = Array.isArray(state.errors) && typeof state.errors[0] === 'string' ? clean(state.errors[0], [token]) : 'unexpected answer';
      throw targetUnavailable(`${where} is not healthy (${said}).`);
    },

    async lookupSelf() {
      let body: unknown;
      try {
        body = await client.tokenLookupSelf();
      } catch (error) {
        throw fail(error, 'looking up its own token');
      }
      const data = (body as { data?: Record<string, unknown> } | null)?.data ?? {};
      const ttl = data.ttl;
      return {
        displayName: typeof data.display_name === 'string' ? clean(data.display_name, [token]) : '',
        policies: Array.isArray(data.policies) ? data.policies.filter((policy): policy is string => typeof policy === 'string') : [],
        ttlSeconds: typeof ttl === 'number' && Number.isFinite(ttl) ? ttl : 0,
        renewable: data.renewable === true,
      };
    },
  };
}


export interface FailureContext {
  /** "Vault at https://vault:8200" */
  where: string;
  /** What was being done, as a gerund phrase: "reading secret/data/orders". */
  action: string;
  timeoutMs: number;
  /** Strings that must never appear in a message (the token). */
  secrets: string[];
  /** A more precise error for a 4xx status, when the caller knows what it means there. */
  on4xx?: ((status: number, said: string) => AppError | undefined) | undefined;
}

/** node-vault and axios failures as AppErrors whose messages never carry the token or a secret. */
export function describeVaultFailure(error: unknown, context: FailureContext): AppError {
  if (isAppError(error)) return error;
  const { where, action, secrets } = context;
  const status = statusOf(error);
  if (status !== undefined) {
    // node-vault's message is Vault's first error, or "Status <code>".
    const raw = (error as { message?: unknown }).message;
    const said = typeof raw === 'string' && raw && !/^Status \d+$/.test(raw) ? clean(raw, secrets) : `HTTP ${status}`;
    if (status === 403) return configError(`Vault refused the token (permission denied) when ${action}. Check VAULT_TOKEN and the policies attached to it.`);
    if (status >= 400 && status < 500 && status !== 429) {
      const precise = context.on4xx?.(status, said);
      if (precise) return precise;
    }
    if (status === 503 && /sealed/i.test(said)) return targetUnavailable(`${where} is sealed; ${action} failed.`);
    if (status === 429 || status >= 500) return targetUnavailable(`${where} failed when ${action}: ${said} (HTTP ${status}).`);
    return configError(`${where} refused ${action}: ${said} (HTTP ${status}).`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  const reason = unreachableReason(typeof code === 'string' ? code : undefined, context.timeoutMs);
  if (reason?.tls) return configError(`${where} is unreachable (${reason.text}) when ${action}.`);
  if (reason) return targetUnavailable(`${where} is unreachable (${reason.text}) when ${action}.`);
  const raw = (error as { message?: unknown } | null)?.message;
  return targetUnavailable(`${where} failed when ${action}: ${typeof raw === 'string' && raw ? clean(raw, secrets) : 'unknown error'}.`);
}

/** The HTTP status of a node-vault ApiResponseError, if that is what this is. */
function statusOf(error: unknown): number | undefined {
  const status = (error as { response?: { statusCode?: unknown } } | null)?.response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function unreachableReason(code: string | undefined, timeoutMs: number): { text: string; tls?: boolean } | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return { text: 'connection refused' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { text: 'host name not found' };
    case 'ECONNABORTED': // axios: the request timed out
    case 'ETIMEDOUT':
      return { text: `no answer within ${timeoutMs / 1000} s` };
    case 'ECONNRESET':
    case 'EPIPE':
      return { text: 'connection reset' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { text: 'host unreachable' };
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return { text: 'its TLS certificate is not trusted', tls: true };
  }
  return undefined;
}

/** KV v2 answers `{data: {data, metadata}}`, KV v1 `{data}`. */
export function kvData(body: unknown): KvData | undefined {
  const outer = (body as { data?: unknown } | null)?.data;
  if (!isRecord(outer)) return undefined;
  if (isRecord(outer.data) && isRecord(outer.metadata)) return outer.data;
  // A KV v2 version that was deleted comes back with data: null.
  if ('metadata' in outer && outer.data === null) return undefined;
  return outer;
}

export function issuedCredentials(body: unknown): IssuedCredentials | undefined {
  const answer = (body ?? {}) as { lease_id?: unknown; lease_duration?: unknown; data?: { username?: unknown; password?: unknown } | null };
  const { lease_id: leaseId, lease_duration: leaseSeconds } = answer;
  const username = answer.data?.username;
  const password = answer.data?.password;
  if (typeof leaseId !== 'string' || !leaseId || typeof leaseSeconds !== 'number' || !Number.isFinite(leaseSeconds) || leaseSeconds <= 0) return undefined;
  if (typeof username !== 'string' || !username || typeof password !== 'string' || !password) return undefined;
  return { username, password, leaseId, leaseSeconds };
}

/** The address without credentials, path or query, for messages. */
export function displayAddress(addr: string): string {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw configError('VAULT_ADDR is not a URL (expected something like https://vault.example.com:8200).');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError('VAULT_ADDR must start with http:// or https://.');
  return url.origin;
}

function checkName(name: string, what: 'mount' | 'role', slashes: boolean): void {
  const ok = slashes ? VAULT_PATH.test(name) && !name.split('/').some((part) => part === '.' || part === '..') : VAULT_NAME.test(name);
  if (!ok) throw configError(`"${name.slice(0, 100)}" is not a Vault ${what} name.`);
}

function checkLeaseId(leaseId: string): void {
  // Lease ids are <path>/<random>, with a .<namespace id> suffix inside namespaces.
  if (!/^[A-Za-z0-9_./-]{1,1000}$/.test(leaseId)) throw configError('The Vault lease id is empty or malformed.');
}

function clean(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  out = scrubSecrets(out).replace(/\s+/g, ' ').trim();
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}...` : out;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
