import { describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import type { RequestRow } from '../access-requests/access-request-repo.js';
import { nextState, type RequestEvent, type RequestState } from '../access-requests/access-request-state.js';
import type { AuditEvent } from '../audit/audit-types.js';
import type { CredentialProvider, Target } from './credential-types.js';
import type { LeaseRow } from './lease-repo.js';
import { createLeaseRevocation } from './lease-revocation.js';

/**
 * One expired lease of an active request, its state kept in memory: what the revocation reads, the
 * events it records, the look-ups it asks for, and marks the state database refuses (`refuseMarks`).
 */
function world(state: RequestState = 'active') {
  const at = new Date(Date.now() - 60_000);
  const lease = { id: 'l1', tenantId: 't1', requestId: 'R000000001', databaseId: 'orders', username: 'u1', expiresAt: at, provisionedAt: at, revokedAt: null, endReason: null, firstLoginBy: null, firstLoginAt: null } as unknown as LeaseRow;
  const request = { id: 'R000000001', tenantId: 't1', state } as RequestRow;
  const events: AuditEvent[] = [];
  const lookups: string[][] = [];
  const dropped: string[] = [];
  const fault = { refuseMarks: 0 };
  const move = (event: RequestEvent) => {
    const to = nextState(request.state as RequestState, event);
    if (to) request.state = to;
    return to ? { ...request } : undefined;
  };
  const mark = () => {
    if (fault.refuseMarks > 0) {
      fault.refuseMarks -= 1;
      throw new Error('Connection terminated unexpectedly');
    }
    if (lease.revokedAt) return false;
    lease.revokedAt = new Date();
    move('finishRevoking');
    return true;
  };
  const found = () => ({ lease: { ...lease }, request: { ...request } });
  const provider = { revoke: async (_target: Target, username: string) => (dropped.push(username), { sessionsKilled: 1 }) } as unknown as CredentialProvider;
  const revocation = createLeaseRevocation({
    db: { transaction: (work: (tx: undefined) => Promise<unknown>) => work(undefined) } as unknown as Db,
    requests: { transition: async (_tenant, _id, event) => move(event) as never },
    leases: {
      getById: async () => ({ ...lease }),
      byRequest: async () => ({ ...lease }),
      update: async (_tenant, _id, patch) => Object.assign(lease, patch),
      getWithRequest: async () => found(),
      getManyWithRequest: async () => [found()],
      startRevokingMany: async () => void move('startRevoking'),
      finishRevocation: async () => mark(),
      finishRevocations: async () => new Set(mark() ? [lease.id] : []),
      countFailedAttempt: async () => 1,
    },
    audit: {
      record: async (event) => void events.push(event),
      recordedAmong: async (action, key, subjects) => {
        lookups.push(subjects.map((s) => s.subject));
        return new Set(events.filter((e) => e.action === action && e.details && key in e.details).map((e) => `${e.tenantId}:${e.subject}`));
      },
    },
    enqueue: async () => undefined,
    enqueueMany: async () => undefined,
    locks: { tryLock: async () => true, unlock: async () => undefined, tryLockMany: async (_space, ids) => new Set(ids), unlockMany: async () => undefined },
    providerFor: async () => ({ target: { entry: {} } as Target, provider }),
    externalLease: () => undefined,
    now: () => new Date(),
  });
  const revocations = () => events.filter((e) => e.action === 'lease.revoked' && e.details && 'sessionsKilled' in e.details);
  return { lease, request, events, lookups, dropped, fault, revocation, revocations };
}

describe('lease revocation: one lease.revoked per lease', () => {
  it('a first revocation records its event once and looks nothing up', async () => {
    const w = world();
    expect(await w.revocation.revoke(w.lease.id)).toEqual({ revoked: true, sessionsKilled: 1 });
    expect(w.events.map((e) => e.action)).toEqual(['lease.revoked']);
    expect(w.lookups).toEqual([]);
    expect(w.request.state).toBe('revoked');
  });

  it('an attempt after one whose mark was lost finds the event, records none and marks the lease', async () => {
    const w = world();
    w.fault.refuseMarks = 1;
    await expect(w.revocation.revoke(w.lease.id)).rejects.toThrow(/terminated/);
    expect(w.lease.revokedAt).toBeNull();
    expect(await w.revocation.revoke(w.lease.id)).toEqual({ revoked: true, sessionsKilled: 1 });
    expect(w.revocations()).toHaveLength(1);
    expect(w.lookups).toEqual([['lease:l1']]);
    // Dropped again all the same (the target finds it gone): an event never stands in for the drop.
    expect(w.dropped).toEqual(['u1', 'u1']);
    expect(w.request.state).toBe('revoked');
  });

  it('a lease opened again for a user made after its revocation (a request cancelled while provisioning): that user is dropped, the revocation recorded once', async () => {
    const w = world('cancelled');
    expect(await w.revocation.revoke(w.lease.id)).toEqual({ revoked: true, sessionsKilled: 1 });
    // The provisioning's guard (provision-guard.ts) finds the request over and opens the lease again.
    w.lease.revokedAt = null;
    expect(await w.revocation.revoke(w.lease.id)).toEqual({ revoked: true, sessionsKilled: 1 });
    expect(w.dropped).toEqual(['u1', 'u1']);
    expect(w.revocations()).toHaveLength(1);
  });

  it('the same through an operator\'s revoke-all after the workers\' attempt (revokeHeld)', async () => {
    const w = world();
    w.fault.refuseMarks = 1;
    await expect(w.revocation.revoke(w.lease.id)).rejects.toThrow(/terminated/);
    expect(await w.revocation.endNow(w.lease.id, 'ops')).toEqual({ revoked: true, sessionsKilled: 1 });
    expect(w.revocations()).toHaveLength(1);
    expect(w.events.filter((e) => e.details?.command === 'revoke-all')).toHaveLength(1);
    expect(w.lookups).toEqual([['lease:l1']]);
  });
});
