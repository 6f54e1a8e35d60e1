import { describe, expect, it } from 'vitest';
import { REQUEST_STATES, TRANSITIONS, canTransition, isTerminal, nextState, type RequestEvent } from './access-request-state.js';

describe('request state machine', () => {
  it('decides a pending request exactly once', () => {
    expect(nextState('pending', 'approve')).toBe('approved');
    expect(nextState('pending', 'deny')).toBe('denied');
    for (const decided of ['approved', 'denied', 'expired', 'cancelled'] as const) {
      expect(nextState(decided, 'approve')).toBeUndefined();
      expect(nextState(decided, 'deny')).toBeUndefined();
    }
  });

  it('walks the happy path from pending to revoked', () => {
    const path: RequestEvent[] = ['approve', 'startProvisioning', 'activate', 'startRevoking', 'finishRevoking'];
    let state = 'pending' as (typeof REQUEST_STATES)[number];
    for (const event of path) state = nextState(state, event)!;
    expect(state).toBe('revoked');
  });

  it('keeps retrying a failed revocation until it succeeds', () => {
    expect(nextState('revoking', 'revokeFailed')).toBe('revoke_failed');
    // It stays visibly failing while the retries go on, and only success ends it.
    expect(nextState('revoke_failed', 'startRevoking')).toBeUndefined();
    expect(nextState('revoke_failed', 'revokeFailed')).toBeUndefined();
    expect(nextState('revoke_failed', 'finishRevoking')).toBe('revoked');
  });

  it('lets nothing leave a terminal state but an admin retry of a failed one', () => {
    for (const state of REQUEST_STATES.filter(isTerminal)) {
      for (const event of Object.keys(TRANSITIONS) as RequestEvent[]) {
        expect(canTransition(state, event), `${state} --${event}`).toBe(state === 'failed' && event === 'retry');
      }
    }
    expect(nextState('failed', 'retry')).toBe('approved');
  });

  it('applies an approved extension once, and only an approved one', () => {
    expect(nextState('approved', 'applyExtension')).toBe('extended');
    expect(nextState('pending', 'applyExtension')).toBeUndefined();
    expect(nextState('extended', 'applyExtension')).toBeUndefined();
  });

  it('never activates or expires a request that was not approved', () => {
    expect(nextState('pending', 'activate')).toBeUndefined();
    expect(nextState('pending', 'startProvisioning')).toBeUndefined();
    expect(nextState('active', 'expire')).toBeUndefined();
    expect(nextState('denied', 'startRevoking')).toBeUndefined();
  });

  it('lets a person withdraw a request while it waits, never once it is active or over', () => {
    for (const waiting of ['pending', 'approved', 'provisioning'] as const) expect(nextState(waiting, 'withdraw')).toBe('cancelled');
    for (const later of ['active', 'revoking', 'revoke_failed', 'revoked', 'denied', 'failed'] as const) expect(nextState(later, 'withdraw')).toBeUndefined();
  });
});
