import { describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../../../config/catalog.js';
import { targetUnavailable } from '../../../../lib/errors.js';
import type { ProvisionSpec, Target } from '../../credential-types.js';
import type { IssuedCredentials } from '../../vault-client.js';
import { createVaultProvider, EXPIRY_SLACK_SECONDS, leaseCovers, REVOCATION_HEAD_START_SECONDS, secondsUntil } from './provider.js';

const NOW = new Date('2026-11-20T10:00:00.000Z');
const HEAD = REVOCATION_HEAD_START_SECONDS;

const entry = (vault?: DatabaseEntry['vault']): DatabaseEntry => ({
  id: 'orders',
  engine: 'vault' as DatabaseEntry['engine'],
  host: 'db.internal',
  port: 5432,
  database: 'orders',
  environment: 'production',
  admin: 'env:ORDERS_ADMIN_URL',
  maxDuration: 4 * 3600,
  levels: ['read'],
  connectionLimit: 5,
  poolSize: 4,
  allowedHosts: ['%'],
  legacyUserNames: false,
  capture: 'none',
  tableTags: {},
  tags: [],
  vault,
});
const target: Target = { entry: entry({ role: 'orders-read', mount: 'database', engine: 'postgres' }), adminUrl: 'postgresql://admin:pw@db.internal/orders' };
const spec = (seconds: number): ProvisionSpec => ({ username: 'ignored', password: 'ignored', expiresAt: new Date(NOW.getTime() + seconds * 1000), level: 'read', scope: [] });

/** A Vault and session killers that record what was asked of them, in order. */
function world(options: { ttl?: number; maxTtl?: number; renewFails?: Error; revokeFails?: Error[]; killFails?: Error[]; sessions?: number[] } = {}) {
  const calls: string[] = [];
  const { ttl = 3600, maxTtl = 24 * 3600 } = options;
  const revokeFailures = [...(options.revokeFails ?? [])];
  const killFailures = [...(options.killFails ?? [])];
  const sessionCounts = [...(options.sessions ?? [])];
  const vault = {
    async issue(mount: string, role: string): Promise<IssuedCredentials> {
      calls.push(`issue ${mount}/${role}`);
      return { username: 'v-token-orders-r-abc-1', password: 'A1a-secret', leaseId: `${mount}/creds/${role}/L1`, leaseSeconds: ttl };
    },
    async renew(leaseId: string, seconds: number) {
      calls.push(`renew ${leaseId} ${seconds}`);
      if (options.renewFails) throw options.renewFails;
      return Math.min(seconds, maxTtl);
    },
    async revoke(leaseId: string) {
      calls.push(`revoke ${leaseId}`);
      const failure = revokeFailures.shift();
      if (failure) throw failure;
    },
    async health() {
      calls.push('health');
    },
  };
  const killer = (engine: string) => ({
    async killSessions(_target: Target, username: string) {
      calls.push(`kill ${engine} ${username}`);
      const failure = killFailures.shift();
      if (failure) throw failure;
      return sessionCounts.shift() ?? 0;
    },
  });
  const provider = createVaultProvider({ vault, sessions: killer, now: () => NOW });
  return { provider, calls };
}

describe('lease arithmetic', () => {
  it('rounds the time left up to whole seconds', () => {
    expect(secondsUntil(new Date(NOW.getTime() + 1800_000), NOW)).toBe(1800);
    expect(secondsUntil(new Date(NOW.getTime() + 1800_001), NOW)).toBe(1801);
  });

  it('accepts a lease a few seconds short of the expiry, and no more', () => {
    expect(leaseCovers(1800, 1800)).toBe(true);
    expect(leaseCovers(1800 - EXPIRY_SLACK_SECONDS, 1800)).toBe(true);
    expect(leaseCovers(1800 - EXPIRY_SLACK_SECONDS - 1, 1800)).toBe(false);
  });
});

describe('provision', () => {
  it('hands out what Vault issued, without renewing when the role TTL already covers the access', async () => {
    const { provider, calls } = world({ ttl: 3600 });
    const result = await provider.provision(target, spec(1800));
    expect(result).toEqual({
      statements: ['<issued by Vault role orders-read>'],
      issued: { username: 'v-token-orders-r-abc-1', password: 'A1a-secret', externalLeaseId: 'database/creds/orders-read/L1', leaseSeconds: 3600 },
    });
    expect(calls).toEqual(['issue database/orders-read']);
  });

  it('renews a short lease up to the expiry plus the head start', async () => {
    const { provider, calls } = world({ ttl: 300 });
    const result = await provider.provision(target, spec(1800));
    expect(calls).toEqual(['issue database/orders-read', `renew database/creds/orders-read/L1 ${1800 + HEAD}`]);
    expect(result.issued!.leaseSeconds).toBe(1800 + HEAD);
  });

  it('is content with less head start when the max TTL allows the expiry itself', async () => {
    const { provider } = world({ ttl: 300, maxTtl: 1810 });
    await expect(provider.provision(target, spec(1800))).resolves.toMatchObject({ issued: { leaseSeconds: 1810 } });
  });

  it('refuses, and revokes what it was issued, when the max TTL cannot reach the expiry', async () => {
    const { provider, calls } = world({ ttl: 300, maxTtl: 3600 });
    await expect(provider.provision(target, spec(4 * 3600))).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('The Vault role database/roles/orders-read cannot keep a user for the approved 4h on orders: its max TTL allows 1h.'),
    });
    expect(calls.at(-1)).toBe('revoke database/creds/orders-read/L1');
  });

  it('revokes the issued lease when the renewal fails, and reports the failure', async () => {
    const { provider, calls } = world({ ttl: 300, renewFails: targetUnavailable('Vault is down') });
    await expect(provider.provision(target, spec(1800))).rejects.toThrow('Vault is down');
    expect(calls.at(-1)).toBe('revoke database/creds/orders-read/L1');
  });

  it('asks Vault for nothing when the expiry has passed or the catalog entry has no vault section', async () => {
    const { provider, calls } = world();
    await expect(provider.provision(target, spec(-10))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(provider.provision({ ...target, entry: entry(undefined) }, spec(1800))).rejects.toMatchObject({ code: 'CONFIG' });
    expect(calls).toEqual([]);
  });
});

describe('extend', () => {
  it('renews the lease to the new expiry plus the head start', async () => {
    const { provider, calls } = world();
    await provider.extend(target, 'v-token-orders-r-abc-1', new Date(NOW.getTime() + 7200_000), 'database/creds/orders-read/L1');
    expect(calls).toEqual([`renew database/creds/orders-read/L1 ${7200 + HEAD}`]);
  });

  it('says when the max TTL ends the lease before the new expiry', async () => {
    const { provider } = world({ maxTtl: 3600 });
    await expect(provider.extend(target, 'u', new Date(NOW.getTime() + 7200_000), 'database/creds/orders-read/L1')).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('its max TTL ends the lease at 2026-11-20T11:00:00.000Z'),
    });
  });

  it('needs the lease id', async () => {
    const { provider, calls } = world();
    await expect(provider.extend(target, 'u', new Date(NOW.getTime() + 60_000))).rejects.toMatchObject({ code: 'CONFIG' });
    expect(calls).toEqual([]);
  });
});

describe('revoke', () => {
  const lease = 'database/creds/orders-read/L1';

  it('revokes the lease, then ends every session still open, in one look-up, on the engine Vault manages', async () => {
    const { provider, calls } = world({ sessions: [3] });
    await expect(provider.revoke(target, 'v-u', lease)).resolves.toEqual({ existed: true, sessionsKilled: 3 });
    expect(calls).toEqual([`revoke ${lease}`, 'kill postgres v-u']);
  });

  it('ends the sessions even when Vault cannot revoke, then throws so that the caller retries', async () => {
    const { provider, calls } = world({ revokeFails: [targetUnavailable('internal error')], sessions: [1] });
    await expect(provider.revoke(target, 'v-u', lease)).rejects.toThrow('internal error');
    expect(calls).toEqual([`revoke ${lease}`, 'kill postgres v-u']);
  });

  it('reports a failure to end the sessions, after Vault has blocked logins', async () => {
    const { provider, calls } = world({ killFails: [targetUnavailable('admin connection refused')] });
    await expect(provider.revoke(target, 'v-u', lease)).rejects.toThrow('admin connection refused');
    expect(calls).toEqual([`revoke ${lease}`, 'kill postgres v-u']);
  });

  it('reports Vault`s failure first when both fail', async () => {
    const { provider } = world({ revokeFails: [targetUnavailable('internal error')], killFails: [targetUnavailable('admin connection refused')] });
    await expect(provider.revoke(target, 'v-u', lease)).rejects.toThrow('internal error');
  });

  it('uses the session killer of the engine behind Vault', async () => {
    const { provider, calls } = world();
    const mariadb: Target = { ...target, entry: entry({ role: 'orders-read', mount: 'db-prod', engine: 'mariadb' }) };
    await provider.revoke(mariadb, 'v-u', 'db-prod/creds/orders-read/L1');
    expect(calls).toEqual(['revoke db-prod/creds/orders-read/L1', 'kill mariadb v-u']);
  });

  it('does nothing without a lease id and says how to clean up by hand', async () => {
    const { provider, calls } = world();
    await expect(provider.revoke(target, 'v-u')).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('vault lease revoke -prefix database/creds/orders-read'),
    });
    expect(calls).toEqual([]);
  });
});

describe('what Vault owns', () => {
  it('lists no users for the reconciler and takes no table scope', async () => {
    const { provider } = world();
    await expect(provider.listUsers(target, ['dba_'])).resolves.toEqual({ ours: [], legacy: [] });
    await expect(provider.listSchemas(target)).resolves.toEqual([]);
    await expect(provider.listObjects(target, [])).resolves.toEqual({ schemas: [], tables: [], columns: {} });
    await expect(provider.listObjects(target, [{ schema: 'sales' }])).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('pings Vault', async () => {
    const { provider, calls } = world();
    await provider.ping(target);
    expect(calls).toEqual(['health']);
  });
});
