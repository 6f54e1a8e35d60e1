import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg, { escapeIdentifier } from 'pg';

/**
 * A HashiCorp Vault on loopback that speaks the HTTP API the way Vault does for what dbaccess uses:
 * KV v2 reads and writes, the database secrets engine (creds, lease renew, lease revoke) acting on a
 * real PostgreSQL with the role's statements, and sys/health. Behaviour follows Vault's source:
 * - creds: user name from the default template `v-{{.DisplayName}}-{{.RoleName}}-{{random 20}}-{{unix_time}}`
 *   (display name and role truncated to 8, whole name to 63), a 20-character password, the creation
 *   statements in one transaction with {{name}}, {{username}}, {{password}}, {{expiration}} replaced,
 *   `{{expiration}}` = now + TTL + 5 s; lease id `<mount>/creds/<role>/<24 random base62>`.
 * - renew: framework.CalculateTTL (increment, else the role's TTL; capped at issue time + max TTL, with
 *   Vault's warning); then the renew statements (default `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'`)
 *   with now + TTL + 5 s. Unknown lease: 400 "lease not found".
 * - revoke: the revocation statements (or Vault's default REVOKE ... / DROP ROLE), 204; unknown lease: 204.
 *   Like Vault it never terminates open sessions.
 * - leases expire on their own: at the end of the lease the fake revokes it, as Vault does.
 */

export interface FakeVaultRole {
  name: string;
  /** The database secrets engine mount; Vault's default is `database`. */
  mount?: string;
  ttlSeconds: number;
  maxTtlSeconds: number;
  /** Admin connection string of the real database the role manages (Vault's connection_url). */
  connectionUrl: string;
  creationStatements: string[];
  /** Empty: Vault's default PostgreSQL revocation (revoke privileges, DROP ROLE). */
  revocationStatements?: string[];
  /** Empty: `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';` */
  renewStatements?: string[];
}

export interface FakeVaultOptions {
  token: string;
  databases?: FakeVaultRole[];
  /** Initial KV v2 secrets by API path, e.g. `{ 'secret/data/orders': { url: '...' } }`. */
  kv?: Record<string, Record<string, unknown>>;
  /** KV v2 mounts; `secret` by default. */
  kvMounts?: string[];
  /** The token's display name, which Vault puts in generated user names (`token` for token auth). */
  displayName?: string;
}

export interface RecordedRequest {
  method: string;
  /** Without the query string, e.g. `/v1/sys/leases/renew`. */
  path: string;
  query: string;
  token: string | undefined;
  namespace: string | undefined;
  body: unknown;
  status: number;
}

export interface FakeLease {
  leaseId: string;
  mount: string;
  role: string;
  username: string;
  issuedAt: Date;
  expiresAt: Date;
  renewals: Array<{ increment: number; granted: number }>;
  revoked: boolean;
}

export interface FakeVault {
  /** `http://127.0.0.1:<port>`, for VAULT_ADDR. */
  addr: string;
  requests: RecordedRequest[];
  /** Recorded requests whose path starts with the prefix (`/v1/...`), optionally of one method. */
  requestsTo(pathPrefix: string, method?: string): RecordedRequest[];
  lease(leaseId: string): FakeLease | undefined;
  leases(): FakeLease[];
  /** Every user name the fake created, revoked or not (for cleanup). */
  createdUsers(): string[];
  writeKv(path: string, data: Record<string, unknown>): void;
  /** The next request whose path starts with the prefix gets this status (and body), before any other check. */
  failNext(pathPrefix: string, status: number, body?: unknown): void;
  /** The next `times` revocations answer 500 `{"errors":["internal error"]}` without touching the database. */
  failRevocations(times: number): void;
  /** Holds the next matching request this long before answering. */
  delayNext(pathPrefix: string, ms: number): void;
  setSealed(sealed: boolean): void;
  close(): Promise<void>;
}

const DEFAULT_RENEW = `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_TIMER_MS = 2 ** 31 - 1;

class VaultHttpError extends Error {
  constructor(readonly status: number, readonly errors: string[], readonly warnings?: string[]) {
    super(errors.join('; '));
  }
}

export async function startFakeVault(options: FakeVaultOptions): Promise<FakeVault> {
  const { token, displayName = 'token' } = options;
  const kvMounts = new Set(options.kvMounts ?? ['secret']);
  const roles = new Map<string, FakeVaultRole>();
  for (const role of options.databases ?? []) roles.set(`${role.mount ?? 'database'}/${role.name}`, role);
  const databaseMounts = new Set([...roles.values()].map((role) => role.mount ?? 'database'));

  const kv = new Map<string, Array<{ data: Record<string, unknown>; createdTime: string }>>();
  const leases = new Map<string, FakeLease & { timer?: NodeJS.Timeout }>();
  const createdUsers: string[] = [];
  const requests: RecordedRequest[] = [];
  const failures: Array<{ prefix: string; status: number; body: unknown }> = [];
  const delays: Array<{ prefix: string; ms: number }> = [];
  let revocationFailures = 0;
  const startedAt = Math.floor(Date.now() / 1000);
  let sealed = false;
  const pools = new Map<string, pg.Pool>();

  function poolFor(url: string): pg.Pool {
    let pool = pools.get(url);
    if (!pool) {
      pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5000 });
      pool.on('error', () => {});
      pools.set(url, pool);
    }
    return pool;
  }

  function writeKv(path: string, data: Record<string, unknown>): void {
    const versions = kv.get(path) ?? [];
    versions.push({ data: structuredClone(data), createdTime: new Date().toISOString() });
    kv.set(path, versions);
  }
  for (const [path, data] of Object.entries(options.kv ?? {})) writeKv(path, data);

  // --- the database plugin, as Vault's PostgreSQL plugin runs it -------------------------------

  /** Statements split on ';' unless they hold a multi-statement block (Vault looks for END). */
  function queriesOf(statements: string[], values: Record<string, string>): string[] {
    const queries: string[] = [];
    for (const statement of statements) {
      const parts = /\bEND\b/.test(statement) ? [statement] : statement.split(';');
      for (const part of parts) {
        let query = part.trim();
        if (!query) continue;
        for (const [key, value] of Object.entries(values)) query = query.split(`{{${key}}}`).join(value);
        queries.push(query);
      }
    }
    return queries;
  }

  async function inTransaction(url: string, queries: string[]): Promise<void> {
    const client = await poolFor(url).connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        for (const query of queries) await client.query(query);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  /** Vault's defaultDeleteUser for PostgreSQL: revoke what it can, then DROP ROLE IF EXISTS. */
  async function defaultRevocation(url: string, username: string): Promise<void> {
    const db = poolFor(url);
    const exists = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
    if (exists.rowCount === 0) return;
    const user = escapeIdentifier(username);
    const schemas = await db.query<{ table_schema: string }>(
      'SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee = $1',
      [username],
    );
    const statements: string[] = [];
    for (const { table_schema: schema } of schemas.rows) {
      statements.push(`REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA ${escapeIdentifier(schema)} FROM ${user}`);
      statements.push(`REVOKE USAGE ON SCHEMA ${escapeIdentifier(schema)} FROM ${user}`);
    }
    statements.push(
      `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM ${user}`,
      `REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM ${user}`,
      `REVOKE USAGE ON SCHEMA public FROM ${user}`,
    );
    const current = await db.query<{ current_database: string }>('SELECT current_database()');
    statements.push(`REVOKE CONNECT ON DATABASE ${escapeIdentifier(current.rows[0]!.current_database)} FROM ${user}`);
    // Like Vault: not in a transaction, keep going on errors, and refuse to drop if any failed.
    let last: unknown;
    for (const statement of statements) await db.query(statement).catch((error: unknown) => (last = error));
    if (last) throw new Error(`could not perform all revocation statements: ${(last as Error).message}`);
    await db.query(`DROP ROLE IF EXISTS ${user}`);
  }

  async function revokeLease(lease: FakeLease): Promise<void> {
    const role = roles.get(`${lease.mount}/${lease.role}`)!;
    const statements = role.revocationStatements ?? [];
    if (statements.length === 0) await defaultRevocation(role.connectionUrl, lease.username);
    else await inTransaction(role.connectionUrl, queriesOf(statements, { name: lease.username, username: lease.username }));
    lease.revoked = true;
    clearTimeout(leases.get(lease.leaseId)?.timer);
    leases.delete(lease.leaseId);
  }

  function schedule(lease: FakeLease & { timer?: NodeJS.Timeout }): void {
    clearTimeout(lease.timer);
    const ms = Math.min(Math.max(lease.expiresAt.getTime() - Date.now(), 0), MAX_TIMER_MS);
    lease.timer = setTimeout(() => {
      // Vault's expiration manager revokes the lease when it ends; a failure leaves it for a later retry.
      revokeLease(lease).catch(() => {});
    }, ms);
    lease.timer.unref();
  }

  // --- HTTP -----------------------------------------------------------------------------------

  async function issue(mount: string, roleName: string) {
    const role = roles.get(`${mount}/${roleName}`);
    if (!role) throw new VaultHttpError(400, [`unknown role: ${roleName}`]);
    const nowMs = Date.now();
    const ttl = Math.min(role.ttlSeconds, role.maxTtlSeconds);
    const username = `v-${displayName.slice(0, 8)}-${roleName.slice(0, 8)}-${random(20)}-${Math.floor(nowMs / 1000)}`.slice(0, 63);
    const password = vaultPassword();
    const expiration = vaultTimestamp(new Date(nowMs + (ttl + 5) * 1000));
    try {
      await inTransaction(
        role.connectionUrl,
        queriesOf(role.creationStatements, { name: username, username, password, expiration }),
      );
    } catch (error) {
      throw new VaultHttpError(500, [`1 error occurred:\n\t* failed to execute query: ${(error as Error).message}\n\n`]);
    }
    createdUsers.push(username);
    const leaseId = `${mount}/creds/${roleName}/${random(24)}`;
    const lease: FakeLease = {
      leaseId, mount, role: roleName, username, issuedAt: new Date(nowMs), expiresAt: new Date(nowMs + ttl * 1000), renewals: [], revoked: false,
    };
    leases.set(leaseId, lease);
    schedule(lease);
    return envelope({ lease_id: leaseId, renewable: true, lease_duration: ttl, data: { username, password } });
  }

  async function renew(body: unknown) {
    const { lease_id: leaseId, increment: rawIncrement } = (body ?? {}) as { lease_id?: unknown; increment?: unknown };
    if (typeof leaseId !== 'string' || !leaseId) throw new VaultHttpError(400, ['lease_id must be specified']);
    const lease = leases.get(leaseId);
    if (!lease) throw new VaultHttpError(400, ['lease not found']);
    if (lease.expiresAt.getTime() < Date.now()) throw new VaultHttpError(400, ['lease expired']);
    const increment = typeof rawIncrement === 'number' ? rawIncrement : Number(rawIncrement ?? 0);
    const role = roles.get(`${lease.mount}/${lease.role}`)!;
    // framework.CalculateTTL, to the second.
    const now = Math.floor(Date.now() / 1000);
    const start = Math.floor(lease.issuedAt.getTime() / 1000);
    let ttl = increment > 0 ? increment : role.ttlSeconds;
    const maxValid = start + role.maxTtlSeconds - now;
    if (maxValid < 0) throw new VaultHttpError(400, ['past the max TTL, cannot renew']);
    const warnings: string[] = [];
    if (maxValid - ttl < 0) {
      warnings.push(`TTL of "${goDuration(ttl)}" exceeded the effective max_ttl of "${goDuration(maxValid)}"; TTL value is capped accordingly`);
      ttl = maxValid;
    }
    if (ttl > 0) {
      const expiration = vaultTimestamp(new Date(Date.now() + (ttl + 5) * 1000));
      const statements = role.renewStatements?.length ? role.renewStatements : [DEFAULT_RENEW];
      try {
        await inTransaction(role.connectionUrl, queriesOf(statements, { name: lease.username, username: lease.username, expiration }));
      } catch (error) {
        throw new VaultHttpError(500, [(error as Error).message]);
      }
    }
    lease.renewals.push({ increment, granted: ttl });
    lease.expiresAt = new Date(Date.now() + ttl * 1000);
    schedule(lease);
    return envelope({ lease_id: leaseId, renewable: true, lease_duration: ttl, data: null, warnings: warnings.length ? warnings : null });
  }

  async function revoke(body: unknown): Promise<undefined> {
    const { lease_id: leaseId } = (body ?? {}) as { lease_id?: unknown };
    if (typeof leaseId !== 'string' || !leaseId) throw new VaultHttpError(400, ['lease_id must be specified']);
    if (revocationFailures > 0) {
      revocationFailures -= 1;
      throw new VaultHttpError(500, ['internal error']);
    }
    const lease = leases.get(leaseId);
    // Vault's revokeCommon: "If there is no entry, nothing to revoke".
    if (!lease) return undefined;
    try {
      await revokeLease(lease);
    } catch (error) {
      throw new VaultHttpError(400, [`failed to revoke entry: resp: (*logical.Response)(nil) err: ${(error as Error).message}`]);
    }
    return undefined;
  }

  function readKv(path: string) {
    const versions = kv.get(path);
    const latest = versions?.at(-1);
    if (!versions || !latest) throw new VaultHttpError(404, []);
    return envelope({
      data: {
        data: structuredClone(latest.data),
        metadata: { created_time: latest.createdTime, custom_metadata: null, deletion_time: '', destroyed: false, version: versions.length },
      },
    });
  }

  function writeKvRequest(path: string, body: unknown) {
    const data = (body as { data?: unknown } | null)?.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new VaultHttpError(400, ['no data provided']);
    writeKv(path, data as Record<string, unknown>);
    const versions = kv.get(path)!;
    return envelope({
      data: { created_time: versions.at(-1)!.createdTime, custom_metadata: null, deletion_time: '', destroyed: false, version: versions.length },
    });
  }

  /** Vault's answer for a token created with `vault token create -policy=dbaccess` (no expiry here). */
  function lookupSelf() {
    return {
      request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null,
      data: {
        accessor: 'hmac-accessor-fake', creation_time: startedAt, creation_ttl: 0, display_name: displayName, entity_id: '',
        expire_time: null, explicit_max_ttl: 0, id: token, issue_time: new Date(startedAt * 1000).toISOString(), meta: null,
        num_uses: 0, orphan: false, path: 'auth/token/create', policies: ['default', 'dbaccess'], renewable: true, ttl: 0, type: 'service',
      },
    };
  }

  function health() {
    return {
      initialized: true,
      sealed,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(Date.now() / 1000),
      version: '1.18.0',
      cluster_name: 'vault-cluster-fake',
      cluster_id: 'b7e0d1a3-5c1e-4f57-9d8e-000000000000',
    };
  }

  async function route(method: string, path: string, token: string | undefined, body: unknown): Promise<{ status: number; body?: unknown }> {
    if (path === '/v1/sys/health' && (method === 'GET' || method === 'HEAD')) {
      // Unauthenticated in Vault; 503 when sealed.
      return { status: sealed ? 503 : 200, body: health() };
    }
    if (sealed) throw new VaultHttpError(503, ['Vault is sealed']);
    if (!token || token !== options.token) throw new VaultHttpError(403, ['permission denied']);

    const relative = path.slice('/v1/'.length);
    const write = method === 'PUT' || method === 'POST';
    if (relative === 'auth/token/lookup-self' && (method === 'GET' || method === 'POST')) return { status: 200, body: lookupSelf() };
    if (relative === 'sys/leases/renew' && write) return { status: 200, body: await renew(body) };
    if (relative === 'sys/leases/revoke' && write) return { status: 204, body: await revoke(body) };

    const [mount, kind, ...rest] = relative.split('/');
    if (mount && databaseMounts.has(mount) && kind === 'creds' && rest.length === 1 && method === 'GET') {
      return { status: 200, body: await issue(mount, rest[0]!) };
    }
    if (mount && kvMounts.has(mount)) {
      if (kind === 'data' && rest.length > 0) {
        if (method === 'GET') return { status: 200, body: readKv(relative) };
        if (write) return { status: 200, body: writeKvRequest(relative, body) };
      }
      throw new VaultHttpError(404, [], [
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.",
      ]);
    }
    throw new VaultHttpError(404, [`no handler for route "${relative}". route entry not found.`]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const record: RecordedRequest = {
      method, path: url.pathname, query: url.search, token: header('x-vault-token'), namespace: header('x-vault-namespace'), body: undefined, status: 0,
    };
    requests.push(record);

    let status: number;
    let payload: unknown;
    try {
      if (text) {
        try {
          record.body = JSON.parse(text);
        } catch (error) {
          throw new VaultHttpError(400, [`failed to parse JSON input: ${(error as Error).message}`]);
        }
      }
      const delay = takeMatch(delays, url.pathname);
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay.ms));
      const failure = takeMatch(failures, url.pathname);
      if (failure) {
        status = failure.status;
        payload = failure.body;
      } else {
        ({ status, body: payload } = await route(method, url.pathname, record.token, record.body));
      }
    } catch (error) {
      if (error instanceof VaultHttpError) {
        status = error.status;
        payload = error.warnings ? { errors: error.errors, warnings: error.warnings } : { errors: error.errors };
      } else {
        status = 500;
        payload = { errors: [(error as Error).message] };
      }
    }
    record.status = status;
    if (status === 204 || payload === undefined) {
      res.writeHead(status === 200 ? 204 : status).end();
      return;
    }
    const json = JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(json) });
    res.end(method === 'HEAD' ? undefined : json);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [(error as Error).message] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    addr: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (prefix, method) => requests.filter((r) => r.path.startsWith(prefix) && (!method || r.method === method)),
    lease: (leaseId) => leases.get(leaseId),
    leases: () => [...leases.values()],
    createdUsers: () => [...createdUsers],
    writeKv,
    failNext(prefix, status, body = { errors: status === 403 ? ['permission denied'] : ['internal error'] }) {
      failures.push({ prefix, status, body });
    },
    failRevocations(times) {
      revocationFailures = times;
    },
    delayNext(prefix, ms) {
      delays.push({ prefix, ms });
    },
    setSealed(value) {
      sealed = value;
    },
    async close() {
      for (const lease of leases.values()) clearTimeout(lease.timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => {})));
      pools.clear();
    },
  };
}

function takeMatch<T extends { prefix: string }>(list: T[], path: string): T | undefined {
  const index = list.findIndex((item) => path.startsWith(item.prefix));
  return index === -1 ? undefined : list.splice(index, 1)[0];
}

/** The envelope every Vault logical response has. */
function envelope(fields: { lease_id?: string; renewable?: boolean; lease_duration?: number; data: unknown; warnings?: string[] | null }) {
  return {
    request_id: randomUUID(),
    lease_id: fields.lease_id ?? '',
    renewable: fields.renewable ?? false,
    lease_duration: fields.lease_duration ?? 0,
    data: fields.data,
    wrap_info: null,
    warnings: fields.warnings ?? null,
    auth: null,
  };
}

function random(length: number, alphabet = BASE62): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Vault's default password policy: 20 characters of [a-zA-Z0-9-], at least one of each class. */
function vaultPassword(): string {
  const classes = ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', '-'];
  const chars = classes.map((set) => set[randomInt(set.length)]!);
  while (chars.length < 20) chars.push(random(1, `${BASE62}-`));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** Go layout "2006-01-02 15:04:05-0700", in UTC, as the PostgreSQL plugin formats {{expiration}}. */
function vaultTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}+0000`;
}

/** Go's time.Duration String() for whole seconds: 1h0m0s, 5m0s, 42s. */
export function goDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
