import http from 'node:http';
import https from 'node:https';
import nodeVault from 'node-vault';
import { type AppError, configError, conflict, isAppError, targetUnavailable } from '../../lib/errors.js';
import { scrubSecrets } from '../../lib/logger.js';

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

/** What node-vault hands its `request-promise` transport (its headers and JSON body included), and what it expects back. */
interface TransportRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

interface TransportResponse {
  statusCode: number;
  body: unknown;
  /** node-vault looks at the path to let sys/health answer with any status. */
  request: { path: string };
}

interface Answer {
  status: number;
  location: string | undefined;
  text: string;
}

/** Vault's answers are small (a KV secret is at most about 1 MB by default): a far bigger one is refused, not buffered. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 307, 308]);

/**
 * node-vault's HTTP transport (its `request-promise` option) on node:http(s) with keep-alive agents.
 * node-vault's default, axios with follow-redirects, costs about 0.3 ms of CPU more per request
 * (measured warm on loopback, 0.51 against 0.23 ms for a lease revocation with the fake Vault), and
 * about 1 ms in the engine bench, where it was most of what a Vault revocation added to its SQL.
 *
 * Where it matters it behaves as Vault's own Go client: one redirect at most (a standby without
 * request forwarding answers 307 with the active node's address), same method, headers and body,
 * never from https to http. Certificates are always verified. `timeoutMs` bounds the whole request,
 * redirect included. Proxy variables of the environment are not read (settings come from env.ts).
 */
export function createVaultTransport(timeoutMs: number) {
  // As Node's global agents: connections kept between requests, closed after 5 s unused.
  const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
  const httpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000, rejectUnauthorized: true });

  function exchange(url: URL, method: string, headers: http.OutgoingHttpHeaders, body: string | undefined, deadline: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, answer?: Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(answer!);
      };
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(url, { method, headers, agent: secure ? httpsAgent : httpAgent }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            settle(new Error(`its answer is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MB`));
            request.destroy();
          } else {
            chunks.push(chunk);
          }
        });
        response.on('end', () => {
          settle(undefined, { status: response.statusCode ?? 0, location: response.headers.location, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', (error) => settle(error));
        // After 'end' this changes nothing; before it, the answer was cut off.
        response.on('close', () => settle(Object.assign(new Error('the connection closed during the answer'), { code: 'ECONNRESET' })));
      });
      const timer = setTimeout(() => {
        // ETIMEDOUT is what describeVaultFailure words as "no answer within".
        settle(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
        request.destroy();
      }, Math.max(deadline - Date.now(), 0));
      request.on('error', (error) => settle(error));
      request.end(body);
    });
  }

  async function send(options: TransportRequest): Promise<TransportResponse> {
    const deadline = Date.now() + timeoutMs;
    const body = typeof options.json === 'object' && options.json !== null ? JSON.stringify(options.json) : undefined;
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (body !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    let url = new URL(options.uri);
    let answer = await exchange(url, options.method, headers, body, deadline);
    if (REDIRECT_STATUSES.has(answer.status) && answer.location) {
      url = redirectTarget(url, answer.location);
      answer = await exchange(url, options.method, headers, body, deadline);
    }
    return { statusCode: answer.status, body: parseAnswer(answer.text), request: { path: url.pathname } };
  }

  // node-vault calls defaults(rpDefaults) once and then the function it returns for every request.
  return { defaults: () => send };
}

/** Where a redirect from Vault may lead: http(s) only, and never from https to http (the token travels with it). */
export function redirectTarget(from: URL, location: string): URL {
  const to = new URL(location, from);
  if (to.protocol !== 'https:' && !(to.protocol === 'http:' && from.protocol === 'http:')) {
    throw new Error(`it redirected from ${from.protocol}// to ${to.protocol}//, which is not followed`);
  }
  return to;
}

/** JSON when it is JSON (as axios did), the text otherwise, nothing for an empty body (204). */
function parseAnswer(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
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
