import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registerSecretValue } from '../../lib/secret.js';
import { createLinearClient } from './linear-client.js';
import { ticketKey } from './ticket-keys.js';
import { TrackerUnreachable } from './ticket-types.js';
import { signatureValid, webhookTicket } from './ticket-signatures.js';

const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

describe('ticket keys', () => {
  it('reads each tracker\'s ways of writing a ticket', () => {
    expect(ticketKey('jira', 'ops-12')).toBe('OPS-12');
    expect(ticketKey('jira', 'https://acme.atlassian.net/browse/OPS-12')).toBe('OPS-12');
    expect(ticketKey('linear', 'https://linear.app/acme/issue/ENG-7/fix-it')).toBe('ENG-7');
    expect(ticketKey('github', 'acme/ops#7')).toBe('acme/ops#7');
    expect(ticketKey('github', 'https://github.com/acme/ops/issues/7')).toBe('acme/ops#7');
    expect(ticketKey('github', '7', { repository: 'acme/ops' })).toBe('acme/ops#7');
    expect(ticketKey('github', '7')).toBeUndefined();
    expect(ticketKey('jira', 'OPS-12; DROP')).toBeUndefined();
  });

  it('never yields a key that could leave its path segment (any input)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('jira', 'linear', 'github') as fc.Arbitrary<'jira' | 'linear' | 'github'>, (text, tracker) => {
      const key = ticketKey(tracker, text, { repository: 'acme/ops' });
      if (key === undefined) return;
      expect(key).toMatch(tracker === 'github' ? /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+#\d+$/ : /^[A-Z][A-Z0-9_]*-\d+$/);
      expect(key).not.toMatch(/\.\.\//);
    }));
  });
});

describe('webhook signatures, as each tracker documents them', () => {
  const body = Buffer.from(JSON.stringify({ issue: { key: 'OPS-1' } }));
  it('Jira: X-Hub-Signature sha256=<hex>; GitHub: X-Hub-Signature-256', () => {
    expect(signatureValid('jira', 's3cret', { 'x-hub-signature': `sha256=${sign('s3cret', body.toString())}` }, body)).toBe(true);
    expect(signatureValid('jira', 's3cret', { 'x-hub-signature': `sha256=${sign('other', body.toString())}` }, body)).toBe(false);
    expect(signatureValid('github', 's3cret', { 'x-hub-signature-256': `sha256=${sign('s3cret', body.toString())}` }, body)).toBe(true);
    expect(signatureValid('github', 's3cret', { 'x-hub-signature': `sha256=${sign('s3cret', body.toString())}` }, body)).toBe(false);
    expect(signatureValid('github', 's3cret', {}, body)).toBe(false);
  });

  it('Linear: Linear-Signature <hex> and a webhookTimestamp within a minute', () => {
    const now = Date.now();
    const fresh = Buffer.from(JSON.stringify({ type: 'Issue', data: { id: 'x' }, webhookTimestamp: now - 5_000 }));
    const stale = Buffer.from(JSON.stringify({ type: 'Issue', data: { id: 'x' }, webhookTimestamp: now - 120_000 }));
    expect(signatureValid('linear', 'k', { 'linear-signature': sign('k', fresh.toString()) }, fresh, now)).toBe(true);
    expect(signatureValid('linear', 'k', { 'linear-signature': sign('k', stale.toString()) }, stale, now)).toBe(false);
    expect(signatureValid('linear', 'k', { 'linear-signature': sign('k', fresh.toString()) }, Buffer.concat([fresh, Buffer.from(' ')]), now)).toBe(false);
  });

  it('a changed byte of the body breaks any signature (any body)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (bytes, at) => {
      const original = Buffer.from(bytes);
      const signature = `sha256=${createHmac('sha256', 'k').update(original).digest('hex')}`;
      const changed = Buffer.from(original);
      changed[at % changed.length] = changed[at % changed.length]! ^ 1;
      expect(signatureValid('github', 'k', { 'x-hub-signature-256': signature }, original)).toBe(true);
      expect(signatureValid('github', 'k', { 'x-hub-signature-256': signature }, changed)).toBe(false);
    }));
  });

  it('finds the ticket a delivery is about', () => {
    expect(webhookTicket('jira', { webhookEvent: 'jira:issue_updated', issue: { key: 'OPS-1' } })).toBe('OPS-1');
    expect(webhookTicket('github', { action: 'closed', issue: { number: 7 }, repository: { full_name: 'acme/ops' } })).toBe('acme/ops#7');
    expect(webhookTicket('linear', { type: 'Issue', data: { identifier: 'ENG-5', id: 'u' } })).toBe('ENG-5');
    expect(webhookTicket('linear', { type: 'Comment', data: { id: 'u' } })).toBeUndefined();
  });
});

describe('a tracker\'s own words', () => {
  it('reach the requester without the key, even when Linear quotes it', async () => {
    const apiKey = 'lin_api_Q7k2vN9xR4mT1bW8zY3cEchoed';
    registerSecretValue(apiKey);
    const server = http.createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: null, errors: [{ message: `Rate limit for key ${request.headers.authorization} exceeded` }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = createLinearClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, apiKey);
      const failure = await client.get('ENG-1').then(() => undefined, (error: Error) => error);
      expect(failure).toBeInstanceOf(TrackerUnreachable);
      expect(failure!.message).toMatch(/answered: Rate limit for key \[redacted\] exceeded$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
