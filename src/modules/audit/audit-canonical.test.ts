import { describe, expect, it } from 'vitest';
import { canonical, chainHash, contentHash } from './audit-hash.js';
import { createHash } from 'node:crypto';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('canonical form', () => {
  it('sorts keys at every depth, drops undefined and writes arrays in order', () => {
    expect(canonical({ b: 1, a: { d: [3, { z: true, y: null }], c: undefined }, é: 'x' })).toBe('{"a":{"d":[3,{"y":null,"z":true}]},"b":1,"é":"x"}');
    expect(canonical([undefined, 'a'])).toBe('[null,"a"]');
    expect(canonical(undefined)).toBe('null');
  });

  it('hashes an event as the canonical form of the whole event, the same as before the fast path', () => {
    const event = { tenantId: 't', actor: 'user:1', action: 'request.approved', subject: 'request:R1', outcome: 'success', details: { quorum: 1, mfa: true, note: 'a "b"\nc', nested: { z: [1, { b: 2, a: 1 }], a: null } }, createdAt: '2026-11-01T00:00:00.000Z' };
    expect(contentHash(event)).toBe(sha(canonical(event)));
    // Computed with the first implementation: the canonical form must never change, or stored chains break.
    expect(contentHash(event)).toBe('81c7c2cab919d1d8666effa16cd209f4f54dd42a6e842b97eddb20dceae58fc6');
    expect(chainHash('0'.repeat(64), 1, contentHash(event))).toBe(sha(`${'0'.repeat(64)}:1:${contentHash(event)}`));
  });
});
