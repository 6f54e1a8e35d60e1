import { describe, expect, it } from 'vitest';
import { conflict } from '../../lib/errors.js';
import { describeVaultFailure, displayAddress, type FailureContext, issuedCredentials, kvData, redirectTarget } from './vault-client.js';

const token = 'hvs.CAESIexampletoken';
const context = (rest: Partial<FailureContext> = {}): FailureContext => ({
  where: 'Vault at https://vault.example.com:8200',
  action: 'reading secret/data/orders',
  timeoutMs: 5000,
  secrets: [token],
  ...rest,
});
/** What node-vault rejects with for a non-2xx answer: the first of Vault's errors, and the status. */
const apiError = (statusCode: number, message: string) => Object.assign(new Error(message), { response: { statusCode, body: { errors: [message] } } });
const networkError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('describeVaultFailure', () => {
  it('turns a 403 into a configuration error about the token, without the token', () => {
    const error = describeVaultFailure(apiError(403, 'permission denied'), context());
    expect(error.code).toBe('CONFIG');
    expect(error.message).toBe(
      'Vault refused the token (permission denied) when reading secret/data/orders. Check VAULT_TOKEN and the policies attached to it.',
    );
  });

  it('lets the caller say what a 4xx means, and falls back to Vault\'s words', () => {
    const on4xx = (status: number, said: string) => (status === 400 ? conflict(`Vault would not renew: ${said}.`) : undefined);
    expect(describeVaultFailure(apiError(400, 'lease not found'), context({ on4xx }))).toMatchObject({ code: 'CONFLICT', message: 'Vault would not renew: lease not found.' });
    expect(describeVaultFailure(apiError(400, 'unknown role: nope'), context({ action: 'issuing credentials from database/creds/nope' }))).toMatchObject({
      code: 'CONFIG',
      message: 'Vault at https://vault.example.com:8200 refused issuing credentials from database/creds/nope: unknown role: nope (HTTP 400).',
    });
    // node-vault says "Status 404" when Vault's errors list is empty.
    expect(describeVaultFailure(apiError(404, 'Status 404'), context()).message).toContain(': HTTP 404 (HTTP 404).');
  });

  it('treats 5xx, 429 and a sealed Vault as unavailable, so jobs retry', () => {
    expect(describeVaultFailure(apiError(500, 'internal error'), context({ action: 'revoking lease database/creds/r/abc' }))).toMatchObject({
      code: 'TARGET_UNAVAILABLE',
      message: 'Vault at https://vault.example.com:8200 failed when revoking lease database/creds/r/abc: internal error (HTTP 500).',
    });
    expect(describeVaultFailure(apiError(429, 'rate limit quota exceeded'), context()).code).toBe('TARGET_UNAVAILABLE');
    expect(describeVaultFailure(apiError(503, 'Vault is sealed'), context())).toMatchObject({
      code: 'TARGET_UNAVAILABLE',
      message: 'Vault at https://vault.example.com:8200 is sealed; reading secret/data/orders failed.',
    });
  });

  it('names why Vault could not be reached', () => {
    expect(describeVaultFailure(networkError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:8200'), context()).message).toBe(
      'Vault at https://vault.example.com:8200 is unreachable (connection refused) when reading secret/data/orders.',
    );
    expect(describeVaultFailure(networkError('ECONNABORTED', 'timeout of 5000ms exceeded'), context()).message).toContain('(no answer within 5 s)');
    expect(describeVaultFailure(networkError('ENOTFOUND', 'getaddrinfo ENOTFOUND vault'), context()).message).toContain('(host name not found)');
    // A certificate problem will not go away by retrying.
    expect(describeVaultFailure(networkError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), context())).toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('its TLS certificate is not trusted'),
    });
  });

  it('never repeats the token or a connection password from an unexpected message', () => {
    const error = describeVaultFailure(new Error(`bad header X-Vault-Token: ${token} for postgresql://admin:pw-123@db/x`), context());
    expect(error.code).toBe('TARGET_UNAVAILABLE');
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain('pw-123');
    const fromVault = describeVaultFailure(apiError(500, `failed to execute query: ${token}`), context());
    expect(fromVault.message).not.toContain(token);
  });
});

describe('kvData', () => {
  it('reads KV v2 (data.data with metadata) and KV v1 (data)', () => {
    const v2 = { request_id: 'r', data: { data: { url: 'x' }, metadata: { version: 3, destroyed: false, deletion_time: '' } } };
    expect(kvData(v2)).toEqual({ url: 'x' });
    expect(kvData({ request_id: 'r', lease_duration: 2764800, data: { url: 'y' } })).toEqual({ url: 'y' });
  });

  it('has nothing for a deleted version or an empty answer', () => {
    expect(kvData({ data: { data: null, metadata: { deletion_time: '2026-11-20T10:00:00Z' } } })).toBeUndefined();
    expect(kvData({ data: null })).toBeUndefined();
    expect(kvData(undefined)).toBeUndefined();
  });
});

describe('issuedCredentials', () => {
  const answer = {
    request_id: 'r',
    lease_id: 'database/creds/orders-read/AbC',
    renewable: true,
    lease_duration: 3600,
    data: { username: 'v-token-orders-r-x-1', password: 'A1a-pw' },
  };

  it('takes the user, password and lease from a creds answer', () => {
    expect(issuedCredentials(answer)).toEqual({ username: 'v-token-orders-r-x-1', password: 'A1a-pw', leaseId: 'database/creds/orders-read/AbC', leaseSeconds: 3600 });
  });

  it('rejects answers that could not be revoked or used', () => {
    expect(issuedCredentials({ ...answer, lease_id: '' })).toBeUndefined();
    expect(issuedCredentials({ ...answer, lease_duration: 0 })).toBeUndefined();
    expect(issuedCredentials({ ...answer, data: { username: 'u' } })).toBeUndefined();
    expect(issuedCredentials({ ...answer, data: null })).toBeUndefined();
  });
});

describe('displayAddress', () => {
  it('keeps scheme, host and port only', () => {
    expect(displayAddress('https://user:secret@vault.example.com:8200/ui/?x=1')).toBe('https://vault.example.com:8200');
    expect(displayAddress('http://127.0.0.1:8200/')).toBe('http://127.0.0.1:8200');
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => displayAddress('vault.example.com:8200')).toThrow(/VAULT_ADDR/);
    expect(() => displayAddress('not a url')).toThrow(/VAULT_ADDR is not a URL/);
  });
});

describe('redirectTarget', () => {
  const from = (url: string) => new URL(url);

  it('follows a standby to the active node, relative or absolute, over http(s)', () => {
    expect(redirectTarget(from('https://vault-2.internal:8200/v1/sys/leases/revoke'), 'https://vault-1.internal:8200/v1/sys/leases/revoke').href).toBe(
      'https://vault-1.internal:8200/v1/sys/leases/revoke',
    );
    expect(redirectTarget(from('http://127.0.0.1:8200/v1/database/creds/r'), '/v1/database/creds/r').href).toBe('http://127.0.0.1:8200/v1/database/creds/r');
    expect(redirectTarget(from('http://vault:8200/v1/x'), 'https://vault:8200/v1/x').protocol).toBe('https:');
  });

  it('never takes the token from https to http or to another scheme', () => {
    expect(() => redirectTarget(from('https://vault:8200/v1/x'), 'http://vault:8200/v1/x')).toThrow('it redirected from https:// to http://, which is not followed');
    expect(() => redirectTarget(from('http://vault:8200/v1/x'), 'file:///etc/passwd')).toThrow('not followed');
  });
});
