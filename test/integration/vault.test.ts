import { randomBytes } from 'node:crypto';
import { TEST_INSTALL_ID } from '../support/databases.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import pg, { escapeIdentifier } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../src/config/catalog.js';
import { AppError, isAppError } from '../../src/lib/errors.js';
import type { CredentialProvider, ProvisionSpec, Target } from '../../src/modules/credentials/credential-types.js';
import { createPostgresProvider, withDatabase } from '../../src/modules/credentials/engines/postgres/provider.js';
import { createVaultClient, MAX_ANSWER_BYTES } from '../../src/modules/credentials/vault-client.js';
import { createVaultProvider, REVOCATION_HEAD_START_SECONDS } from '../../src/modules/credentials/engines/vault/provider.js';
import { type FakeVault, type FakeVaultRole, startFakeVault } from '../support/fake-vault.js';
import { SERVICES } from '../support/services.js';

// Vault itself talks to a real PostgreSQL (the scram cluster, where passwords and VALID UNTIL count);
// dbaccess talks to Vault only through node-vault, and to the database only to end sessions.
const suffix = randomBytes(4).toString('hex');
const databaseName = `dbaccess_vault_${suffix}`;
const adminUrl = SERVICES.targetPg;
const databaseUrl = withDatabase(adminUrl, databaseName);
const host = new URL(adminUrl).hostname;
const port = Number(new URL(adminUrl).port || 5432);
const token = `hvs.test-${randomBytes(12).toString('hex')}`;
const kvSecret = { url: `postgresql://orders_admin:kv-secret-${suffix}@db.internal:5432/orders`, note: 'admin for orders' };

const grants = [
  `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
  `GRANT CONNECT ON DATABASE "${databaseName}" TO "{{name}}";`,
  `GRANT USAGE ON SCHEMA sales TO "{{name}}"; GRANT SELECT ON ALL TABLES IN SCHEMA sales TO "{{name}}";`,
];
const role = (name: string, ttlSeconds: number, maxTtlSeconds: number, custom = true): FakeVaultRole => ({
  name,
  ttlSeconds,
  maxTtlSeconds,
  connectionUrl: databaseUrl,
  creationStatements: grants,
  // The usual hand-written revocation of Vault's docs; `custom: false` leaves Vault's default.
  revocationStatements: custom
    ? [
        `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA sales FROM "{{name}}";`,
        `REVOKE USAGE ON SCHEMA sales FROM "{{name}}";`,
        `REVOKE CONNECT ON DATABASE "${databaseName}" FROM "{{name}}";`,
        `DROP ROLE IF EXISTS "{{name}}";`,
      ]
    : [],
});

const entry = (vaultRole: string): DatabaseEntry => ({
  id: 'orders',
  engine: 'vault' as DatabaseEntry['engine'],
  host,
  port,
  database: databaseName,
  environment: 'development',
  admin: 'env:ORDERS_ADMIN_URL',
  maxDuration: 8 * 3600,
  levels: ['read'],
  connectionLimit: 5,
  poolSize: 4,
  allowedHosts: ['%'],
  legacyUserNames: false,
  capture: 'none',
  tableTags: {},
  tags: [],
  vault: { role: vaultRole, mount: 'database', engine: 'postgres' },
});
const targetFor = (vaultRole: string): Target => ({ entry: entry(vaultRole), adminUrl });

const notOnThisMachine: Pick<CredentialProvider, 'killSessions'> = {
  killSessions: () => Promise.reject(new Error('not used in this test')),
};

let fake: FakeVault;
let vault: ReturnType<typeof createVaultClient>;
let provider: CredentialProvider;
const postgres = createPostgresProvider({ installId: TEST_INSTALL_ID });
let admin: pg.Client;
const openClients: pg.Client[] = [];

const spec = (expiresAt: Date): ProvisionSpec => ({
  username: 'ignored_by_vault',
  password: 'ignored-by-vault',
  expiresAt,
  level: 'read',
  scope: [],
});
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);

async function login(user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host, port, user, password, database: databaseName, connectionTimeoutMillis: 5000 });
  // A terminated session emits 'error' on an idle client; unhandled, it would crash the run.
  client.on('error', () => {});
  openClients.push(client);
  await client.connect();
  return client;
}

async function expectLoginRefused(user: string, password: string): Promise<void> {
  // 28P01: password authentication failed (no such role, wrong password or expired); 28000: NOLOGIN.
  await expect(login(user, password)).rejects.toMatchObject({ code: expect.stringMatching(/^28/) });
}

async function roleRow(username: string) {
  const { rows } = await admin.query<{ rolname: string; rolvaliduntil: Date | null }>(
    'SELECT rolname, rolvaliduntil FROM pg_roles WHERE rolname = $1',
    [username],
  );
  return rows[0];
}

async function caught(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  const setup = new pg.Client({ connectionString: adminUrl });
  await setup.connect();
  await setup.query(`CREATE DATABASE ${escapeIdentifier(databaseName)}`);
  await setup.end();
  admin = new pg.Client({ connectionString: databaseUrl });
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`
    CREATE SCHEMA sales;
    CREATE TABLE sales.orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL);
    INSERT INTO sales.orders (customer, total) VALUES ('acme', 120.50), ('globex', 99.00);
    CREATE TABLE public.notes (id serial PRIMARY KEY, body text NOT NULL);
    INSERT INTO public.notes (body) VALUES ('not for the read role');
  `);

  fake = await startFakeVault({
    token,
    kv: { 'secret/data/orders': kvSecret },
    databases: [role('orders-read', 3600, 8 * 3600), role('short', 60, 2 * 3600, false), role('capped', 60, 120)],
  });
  vault = createVaultClient({ addr: fake.addr, token });
  provider = createVaultProvider({ vault, sessions: (engine) => (engine === 'postgres' ? postgres : notOnThisMachine) });
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.end().catch(() => {})));
});

afterAll(async () => {
  await fake?.close();
  await postgres.close();
  await admin?.end().catch(() => {});
  const cleanup = new pg.Client({ connectionString: adminUrl });
  await cleanup.connect();
  try {
    await cleanup.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(databaseName)} WITH (FORCE)`);
    // Roles are cluster-wide: whatever Vault created and did not drop goes now.
    for (const username of fake?.createdUsers() ?? []) {
      await cleanup.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [username]);
      await cleanup.query(`DROP ROLE IF EXISTS ${escapeIdentifier(username)}`);
    }
    const { rows } = await cleanup.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [fake?.createdUsers() ?? []]);
    expect(rows).toEqual([]);
  } finally {
    await cleanup.end();
  }
});

/** A loopback HTTP server for the transport tests; closed after the test. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ addr: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    addr: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('Vault client (node-vault against the fake)', () => {
  it('reads a KV v2 field with the token, and serves a second read from its cache', async () => {
    let clock = Date.now();
    const client = createVaultClient({ addr: fake.addr, token, cacheSeconds: 60, now: () => clock });
    const reads = () => fake.requestsTo('/v1/secret/data/orders', 'GET').length;
    const before = reads();

    await expect(client.readKv('secret/data/orders', 'url')).resolves.toBe(kvSecret.url);
    expect(reads()).toBe(before + 1);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/secret/data/orders', token, status: 200 });

    await expect(client.readKv('secret/data/orders', 'note')).resolves.toBe(kvSecret.note);
    expect(reads()).toBe(before + 1);

    // After the cache time a changed secret is read again.
    fake.writeKv('secret/data/orders', { ...kvSecret, note: 'rotated' });
    clock += 61_000;
    await expect(client.readKv('secret/data/orders', 'note')).resolves.toBe('rotated');
    expect(reads()).toBe(before + 2);
    fake.writeKv('secret/data/orders', kvSecret);
  });

  it('looks its own token up (policies, expiry) without returning the token, and names a refused one', async () => {
    const info = await vault.lookupSelf();
    expect(info).toEqual({ displayName: 'token', policies: ['default', 'dbaccess'], ttlSeconds: 0, renewable: true });
    expect(JSON.stringify(info)).not.toContain(token);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/auth/token/lookup-self', status: 200 });
    const error = await caught(createVaultClient({ addr: fake.addr, token: 'hvs.not-this-one' }).lookupSelf());
    expect(error.message).toContain('Vault refused the token (permission denied) when looking up its own token');
  });

  it('says clearly that Vault refused a bad token, without the token', async () => {
    const badToken = `hvs.wrong-${randomBytes(8).toString('hex')}`;
    const client = createVaultClient({ addr: fake.addr, token: badToken });
    const error = await caught(client.readKv('secret/data/orders', 'url'));

    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain('Vault refused the token (permission denied)');
    expect(error.message).toContain('secret/data/orders');
    expect(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`).not.toContain(badToken);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/secret/data/orders', token: badToken, status: 403 });
    // Nothing about a refused read is cached: the right token still works through a new client.
    await expect(createVaultClient({ addr: fake.addr, token }).readKv('secret/data/orders', 'url')).resolves.toBe(kvSecret.url);
  });

  it('names the missing secret or field, never a value', async () => {
    const client = createVaultClient({ addr: fake.addr, token });
    const missingPath = await caught(client.readKv('secret/data/nothing-here', 'url'));
    expect(missingPath.code).toBe('CONFIG');
    expect(missingPath.message).toContain('secret/data/nothing-here');
    expect(missingPath.message).toContain('vault:secret/data/nothing-here#url');
    expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/secret/data/nothing-here', status: 404 });

    const missingField = await caught(client.readKv('secret/data/orders', 'password'));
    expect(missingField.code).toBe('CONFIG');
    expect(missingField.message).toContain('"password"');
    expect(missingField.message).toContain('secret/data/orders');
    expect(missingField.message).not.toContain(kvSecret.url);
    expect(missingField.message).not.toContain(`kv-secret-${suffix}`);

    // The KV v2 path without data/ is Vault's most common mistake: the error says so.
    const v1Style = await caught(client.readKv('secret/orders', 'url'));
    expect(v1Style.message).toContain('secret/data/orders');
  });

  it('reports an unreachable or slow Vault as unavailable, by address', async () => {
    const gone = await startFakeVault({ token });
    const addr = gone.addr;
    await gone.close();
    const refused = await caught(createVaultClient({ addr, token }).readKv('secret/data/orders', 'url'));
    expect(refused.code).toBe('TARGET_UNAVAILABLE');
    expect(refused.message).toBe(`Vault at ${addr} is unreachable (connection refused) when reading secret/data/orders.`);

    fake.delayNext('/v1/secret/data/orders', 1500);
    const slow = await caught(createVaultClient({ addr: fake.addr, token, timeoutMs: 200 }).readKv('secret/data/orders', 'url'));
    expect(slow.code).toBe('TARGET_UNAVAILABLE');
    expect(slow.message).toContain('no answer within 0.2 s');
  });

  it('sends the namespace it is given, and none from the environment', async () => {
    const previous = process.env.VAULT_NAMESPACE;
    process.env.VAULT_NAMESPACE = 'from-the-environment';
    try {
      await createVaultClient({ addr: fake.addr, token, namespace: 'team-a' }).health();
      expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/sys/health', namespace: 'team-a' });
      await createVaultClient({ addr: fake.addr, token }).health();
      expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/sys/health', namespace: undefined });
    } finally {
      if (previous === undefined) delete process.env.VAULT_NAMESPACE;
      else process.env.VAULT_NAMESPACE = previous;
    }
  });

  it('pings through sys/health and tells a sealed Vault apart', async () => {
    await expect(provider.ping(targetFor('orders-read'))).resolves.toBeUndefined();
    fake.setSealed(true);
    try {
      const sealed = await caught(provider.ping(targetFor('orders-read')));
      expect(sealed.code).toBe('TARGET_UNAVAILABLE');
      expect(sealed.message).toBe(`Vault at ${fake.addr} is sealed.`);
      const issue = await caught(vault.issue('database', 'orders-read'));
      expect(issue.message).toContain('is sealed');
    } finally {
      fake.setSealed(false);
    }
  });

  it('explains an unknown role', async () => {
    const error = await caught(vault.issue('database', 'no-such-role'));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain('unknown role: no-such-role');
  });
});

describe('Vault provider: credentials that really work, and then really stop', () => {
  it('hands out the user Vault created, which logs in with exactly the grants of the creation statements', async () => {
    const target = targetFor('orders-read');
    const result = await provider.provision(target, spec(inSeconds(1800)));

    expect(result.statements).toEqual(['<issued by Vault role orders-read>']);
    const issued = result.issued!;
    expect(issued.username).toMatch(/^v-token-orders-r-[A-Za-z0-9]{20}-\d{10}$/);
    expect(issued.username).not.toBe('ignored_by_vault');
    expect(issued.externalLeaseId).toMatch(/^database\/creds\/orders-read\/[A-Za-z0-9]{24}$/);
    expect(issued.leaseSeconds).toBe(3600);
    expect(fake.requestsTo('/v1/database/creds/orders-read', 'GET').at(-1)).toMatchObject({ token, status: 200 });
    // The role's TTL already covers the 30 minutes: no renewal.
    expect(fake.lease(issued.externalLeaseId)!.renewals).toEqual([]);

    const session = await login(issued.username, issued.password);
    const { rows } = await session.query('SELECT customer FROM sales.orders ORDER BY id');
    expect(rows.map((row) => row.customer)).toEqual(['acme', 'globex']);
    await expect(session.query("INSERT INTO sales.orders (customer, total) VALUES ('x', 1)")).rejects.toMatchObject({ code: '42501' });
    await expect(session.query('SELECT * FROM public.notes')).rejects.toMatchObject({ code: '42501' });
    await expectLoginRefused(issued.username, 'not-the-password');

    await provider.revoke(target, issued.username, issued.externalLeaseId);
  });

  it('renews a lease whose role TTL is shorter than the approved time, in Vault and in the database', async () => {
    const target = targetFor('short');
    const expiresAt = inSeconds(1800);
    const { issued } = await provider.provision(target, spec(expiresAt));

    const renewals = fake.requestsTo('/v1/sys/leases/renew', 'PUT').filter((r) => (r.body as { lease_id: string }).lease_id === issued!.externalLeaseId);
    expect(renewals).toHaveLength(1);
    // Up to the expiry, plus a head start so that dbaccess, not Vault's own expiry, revokes first.
    const wanted = 1800 + REVOCATION_HEAD_START_SECONDS;
    expect((renewals[0]!.body as { increment: number }).increment).toBeGreaterThanOrEqual(wanted - 1);
    expect((renewals[0]!.body as { increment: number }).increment).toBeLessThanOrEqual(wanted + 1);
    expect(renewals[0]!.token).toBe(token);
    expect(issued!.leaseSeconds).toBeGreaterThanOrEqual(wanted - 2);
    // Vault's renew statement moved VALID UNTIL to the lease's end plus Vault's 5 s buffer.
    const validUntil = (await roleRow(issued!.username))!.rolvaliduntil!.getTime();
    expect(Math.abs(validUntil - (expiresAt.getTime() + (REVOCATION_HEAD_START_SECONDS + 5) * 1000))).toBeLessThan(3000);

    await (await login(issued!.username, issued!.password)).query('SELECT 1');
    const { sessionsKilled } = await provider.revoke(target, issued!.username, issued!.externalLeaseId);
    expect(sessionsKilled).toBe(1);
    // Vault's default revocation (no statements configured) dropped the role as well.
    expect(await roleRow(issued!.username)).toBeUndefined();
  });

  it('refuses, and leaves nothing behind, when the role cannot last until the approved expiry', async () => {
    const before = new Set(fake.createdUsers());
    const error = await caught(provider.provision(targetFor('capped'), spec(inSeconds(3600))));

    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain('database/roles/capped');
    expect(error.message).toContain('max TTL');
    const [username] = fake.createdUsers().filter((name) => !before.has(name));
    expect(username).toBeDefined();
    const lease = fake.requestsTo('/v1/sys/leases/revoke', 'PUT').at(-1)!;
    expect((lease.body as { lease_id: string }).lease_id).toMatch(/^database\/creds\/capped\//);
    expect(lease.status).toBe(204);
    expect(fake.leases().some((l) => l.username === username)).toBe(false);
    expect(await roleRow(username!)).toBeUndefined();
  });

  it('extends through a lease renewal: same user, same password, the open session untouched', async () => {
    const target = targetFor('orders-read');
    const { issued } = await provider.provision(target, spec(inSeconds(1800)));
    const session = await login(issued!.username, issued!.password);
    const { rows: [before] } = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');

    const newExpiry = inSeconds(2 * 3600);
    await provider.extend(target, issued!.username, newExpiry, issued!.externalLeaseId);

    const renewal = fake.requestsTo('/v1/sys/leases/renew', 'PUT').at(-1)!;
    expect(renewal.body).toMatchObject({ lease_id: issued!.externalLeaseId });
    expect((renewal.body as { increment: number }).increment).toBeGreaterThanOrEqual(7199 + REVOCATION_HEAD_START_SECONDS);
    expect(renewal.status).toBe(200);
    expect(fake.lease(issued!.externalLeaseId)!.renewals.at(-1)!.granted).toBeGreaterThanOrEqual(7199 + REVOCATION_HEAD_START_SECONDS);

    const { rows: [after] } = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(after!.pid).toBe(before!.pid);
    await expect(session.query('SELECT count(*)::int AS n FROM sales.orders')).resolves.toMatchObject({ rows: [{ n: 2 }] });
    const again = await login(issued!.username, issued!.password);
    await again.query('SELECT 1');
    const validUntil = (await roleRow(issued!.username))!.rolvaliduntil!.getTime();
    expect(Math.abs(validUntil - (newExpiry.getTime() + (REVOCATION_HEAD_START_SECONDS + 5) * 1000))).toBeLessThan(3000);

    await provider.revoke(target, issued!.username, issued!.externalLeaseId);
    // A revoked lease cannot be extended any more, and the message says why.
    const late = await caught(provider.extend(target, issued!.username, inSeconds(3 * 3600), issued!.externalLeaseId));
    expect(late.code).toBe('CONFLICT');
    expect(late.message).toContain('lease not found');
  });

  it('revokes the lease and then ends the session Vault leaves running; the user can no longer log in', async () => {
    const target = targetFor('orders-read');
    const { issued } = await provider.provision(target, spec(inSeconds(1800)));
    const session = await login(issued!.username, issued!.password);
    await session.query('SELECT 1');

    const result = await provider.revoke(target, issued!.username, issued!.externalLeaseId);

    expect(result).toEqual({ existed: true, sessionsKilled: 1 });
    const revocation = fake.requestsTo('/v1/sys/leases/revoke', 'PUT').at(-1)!;
    expect(revocation).toMatchObject({ token, status: 204, body: { lease_id: issued!.externalLeaseId } });
    expect(fake.lease(issued!.externalLeaseId)).toBeUndefined();
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expectLoginRefused(issued!.username, issued!.password);
    expect(await roleRow(issued!.username)).toBeUndefined();

    // Revoking again is harmless: Vault answers 204 for a lease it no longer has.
    await expect(provider.revoke(target, issued!.username, issued!.externalLeaseId)).resolves.toEqual({ existed: true, sessionsKilled: 0 });
  });

  it('shows the gap it closes: Vault alone drops the user but not its open session', async () => {
    const credentials = await vault.issue('database', 'orders-read');
    const session = await login(credentials.username, credentials.password);
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

    await vault.revoke(credentials.leaseId);

    expect(await roleRow(credentials.username)).toBeUndefined();
    await expectLoginRefused(credentials.username, credentials.password);
    await expect(session.query('SELECT 1 AS still_here')).resolves.toMatchObject({ rows: [{ still_here: 1 }] });
    // PostgreSQL forgets the name of a dropped role: its session is only known by the role's old oid.
    const { rows } = await admin.query('SELECT usename FROM pg_stat_activity WHERE pid = $1', [pid]);
    expect(rows).toEqual([{ usename: null }]);
    await admin.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
  });

  // PostgreSQL clears a dropped role's name from its sessions (see above); killSessions still finds them.
  it('ends the sessions of a user Vault has already dropped (PostgreSQL provider)', async () => {
    const credentials = await vault.issue('database', 'orders-read');
    const session = await login(credentials.username, credentials.password);
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await vault.revoke(credentials.leaseId);
    try {
      expect(await provider.killSessions(targetFor('orders-read'), credentials.username)).toBe(1);
    } finally {
      await admin.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
    }
  });

  it('throws when Vault fails to revoke, so the job retries, and does not pretend the user is gone', async () => {
    const target = targetFor('orders-read');
    const { issued } = await provider.provision(target, spec(inSeconds(1800)));
    const session = await login(issued!.username, issued!.password);
    await session.query('SELECT 1');
    fake.failRevocations(1);

    const error = await caught(provider.revoke(target, issued!.username, issued!.externalLeaseId));

    expect(error.code).toBe('TARGET_UNAVAILABLE');
    expect(error.message).toBe(`Vault at ${fake.addr} failed when revoking lease ${issued!.externalLeaseId}: internal error (HTTP 500).`);
    expect(fake.requestsTo('/v1/sys/leases/revoke', 'PUT').at(-1)!.status).toBe(500);
    // Vault still holds the lease and the user still exists: nothing reports it as revoked.
    expect(fake.lease(issued!.externalLeaseId)).toMatchObject({ revoked: false });
    expect(await roleRow(issued!.username)).toBeDefined();
    // The access is over, so the open session was ended anyway; the user can still log in until the retry.
    await expect(session.query('SELECT 1')).rejects.toThrow();
    const reconnected = await login(issued!.username, issued!.password);
    await reconnected.query('SELECT 1');

    // The retry finishes the job, the session opened in the meantime included.
    await expect(provider.revoke(target, issued!.username, issued!.externalLeaseId)).resolves.toEqual({ existed: true, sessionsKilled: 1 });
    expect(fake.requestsTo('/v1/sys/leases/revoke', 'PUT').at(-1)!.status).toBe(204);
    await expect(reconnected.query('SELECT 1')).rejects.toThrow();
    await expectLoginRefused(issued!.username, issued!.password);
    expect(await roleRow(issued!.username)).toBeUndefined();
  });

  it('needs the lease id to renew or revoke, and says so', async () => {
    const target = targetFor('orders-read');
    const error = await caught(provider.revoke(target, 'v-token-orders-r-x', undefined));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain('No Vault lease id is recorded for v-token-orders-r-x');
    expect(error.message).toContain('database/creds/orders-read');
    await expect(provider.listUsers(target, ['v-'])).resolves.toEqual({ ours: [], legacy: [] });
  });
});

describe('Vault client transport (node:http under node-vault)', () => {
  it('keeps one connection to Vault for consecutive requests', async () => {
    // Counts the TCP connections that reach the fake through a pass-through proxy.
    const sockets = new Set<Socket>();
    const proxy: Server = createTcpServer((client) => {
      const upstream = connect(Number(new URL(fake.addr).port), '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    let connections = 0;
    proxy.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const client = createVaultClient({ addr: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token, cacheSeconds: 0 });
      for (let i = 0; i < 5; i += 1) {
        await client.health();
        await expect(client.readKv('secret/data/orders', 'url')).resolves.toBe(kvSecret.url);
        await client.revoke('database/creds/orders-read/no-such-lease');
      }
      expect(connections).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('follows one redirect to the active node with method, token and body, as Vault\'s own client does', async () => {
    const standbyRequests: string[] = [];
    const standby = await serve((req, res) => {
      standbyRequests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(307, { Location: `${fake.addr}${req.url}` }).end();
    });
    try {
      const client = createVaultClient({ addr: standby.addr, token });
      const credentials = await client.issue('database', 'orders-read');
      await client.revoke(credentials.leaseId);

      expect(standbyRequests).toEqual(['GET /v1/database/creds/orders-read', 'PUT /v1/sys/leases/revoke']);
      expect(fake.requestsTo('/v1/sys/leases/revoke', 'PUT').at(-1)).toMatchObject({ token, status: 204, body: { lease_id: credentials.leaseId } });
      expect(fake.lease(credentials.leaseId)).toBeUndefined();
      expect(await roleRow(credentials.username)).toBeUndefined();
    } finally {
      await standby.close();
    }
  });

  it('does not follow a second redirect, and says what Vault answered', async () => {
    let requests = 0;
    const loop = await serve((req, res) => {
      requests += 1;
      req.resume();
      res.writeHead(307, { Location: req.url ?? '/' }).end();
    });
    try {
      const error = await caught(createVaultClient({ addr: loop.addr, token }).revoke('database/creds/orders-read/abc'));
      expect(error.message).toBe(`Vault at ${loop.addr} refused revoking lease database/creds/orders-read/abc: HTTP 307 (HTTP 307).`);
      expect(requests).toBe(2);
    } finally {
      await loop.close();
    }
  });

  it('refuses an answer far bigger than any Vault sends, without keeping it', async () => {
    const flood = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const push = () => {
        while (sent <= MAX_ANSWER_BYTES) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', push);
        }
        res.end();
      };
      res.on('error', () => {});
      push();
    });
    try {
      const error = await caught(createVaultClient({ addr: flood.addr, token }).lookupSelf());
      expect(error.code).toBe('TARGET_UNAVAILABLE');
      expect(error.message).toBe(`Vault at ${flood.addr} failed when looking up its own token: its answer is larger than 16 MB.`);
    } finally {
      await flood.close();
    }
  });
});
