/**
 * The request lifecycle as a pure transition table. Every state change in the repo is a conditional
 * update from one of the `from` states, so concurrent events have exactly one winner.
 */
export const REQUEST_STATES = [
  'pending', 'approved', 'denied', 'expired', 'cancelled',
  'provisioning', 'active', 'failed', 'revoking', 'revoke_failed', 'revoked', 'extended',
  // Scheduled access (request-timing.ts): approved, waiting for its start; an approval not started in time lapses.
  'scheduled', 'lapsed',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const TRANSITIONS = {
  approve: { from: ['pending'], to: 'approved' },
  /** Approval of a request that asked for a later start: it waits, and is provisioned at the start. */
  schedule: { from: ['pending'], to: 'scheduled' },
  /** The start time came: the request goes on as any approved one (the provision job, or the sweep). */
  start: { from: ['scheduled'], to: 'approved' },
  /** Approved (or scheduled) and not started within the policy's approval lifetime: it ends unused. */
  lapse: { from: ['approved', 'scheduled'], to: 'lapsed' },
  deny: { from: ['pending'], to: 'denied' },
  expire: { from: ['pending'], to: 'expired' },
  cancel: { from: ['pending'], to: 'cancelled' },
  /**
   * A person's Cancel (the requester, an approver, an admin, or offboarding): while it waits for a
   * decision or for its user. A lease already written is revoked; a provisioning that finishes after
   * this finds the request cancelled and drops what it made.
   */
  withdraw: { from: ['pending', 'scheduled', 'approved', 'provisioning'], to: 'cancelled' },
  startProvisioning: { from: ['approved', 'provisioning'], to: 'provisioning' },
  activate: { from: ['provisioning'], to: 'active' },
  fail: { from: ['approved', 'provisioning'], to: 'failed' },
  /** An admin files a failed request again, as approved (its lease clock starts when it is provisioned). */
  retry: { from: ['failed'], to: 'approved' },
  startRevoking: { from: ['scheduled', 'approved', 'provisioning', 'active'], to: 'revoking' },
  // Entered once, at the third failed attempt; retries go on from there until finishRevoking.
  revokeFailed: { from: ['revoking'], to: 'revoke_failed' },
  finishRevoking: { from: ['revoking', 'revoke_failed'], to: 'revoked' },
  /** An extension request, once approved, is applied to the lease it extends. */
  applyExtension: { from: ['approved'], to: 'extended' },
} as const satisfies Record<string, { from: readonly RequestState[]; to: RequestState }>;

export type RequestEvent = keyof typeof TRANSITIONS;

export function canTransition(state: RequestState, event: RequestEvent): boolean {
  return (TRANSITIONS[event].from as readonly RequestState[]).includes(state);
}

/** The next state, or undefined when the event does not apply in this state. */
export function nextState(state: RequestState, event: RequestEvent): RequestState | undefined {
  return canTransition(state, event) ? TRANSITIONS[event].to : undefined;
}

export const TERMINAL_STATES: readonly RequestState[] = ['denied', 'expired', 'cancelled', 'failed', 'revoked', 'extended', 'lapsed'];
/** States in which a database user may exist on the target. */
export const LIVE_STATES: readonly RequestState[] = ['provisioning', 'active', 'revoking', 'revoke_failed'];

export const isTerminal = (state: RequestState) => TERMINAL_STATES.includes(state);
