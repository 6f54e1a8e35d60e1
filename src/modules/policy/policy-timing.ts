import type { PolicyConfig } from '../../config/policy-config.js';
import { DEFAULT_APPROVAL_LIFETIME_SECONDS, DEFAULT_FIRST_LOGIN_WAIT_SECONDS, type Clock } from '../../config/policy-timing-schema.js';
import { rich, type RichText } from '../../lib/rich-text.js';
import { choosePolicy } from './policy-choice.js';
import type { PolicyDatabase } from './policy-types.js';

/** When access starts for a database and level, as the governing policy says (defaults where it is silent). */
export interface Timing {
  clock: Clock;
  /** `first-login`: how long the first connection may take. */
  firstLoginWaitSeconds: number | undefined;
  approvalLifetimeSeconds: number;
  /** The policy names a clock or an approval lifetime (otherwise these are the defaults). */
  configured: boolean;
}

export function timingFor(database: PolicyDatabase, level: string, config: PolicyConfig): Timing {
  const { policy } = choosePolicy(database, level, config);
  const written = policy.isDefault ? undefined : config.policies.find((entry) => entry.name === policy.name);
  const clock = written?.clock ?? 'approval';
  return {
    clock,
    firstLoginWaitSeconds: clock === 'first-login' ? (written?.maxWait ?? DEFAULT_FIRST_LOGIN_WAIT_SECONDS) : undefined,
    approvalLifetimeSeconds: written?.approvalLifetime ?? DEFAULT_APPROVAL_LIFETIME_SECONDS,
    configured: Boolean(written && (written.clock !== undefined || written.approvalLifetime !== undefined)),
  };
}

/** `3600` -> `1 h`, `5400` -> `1 h 30 min`, `172800` -> `2 days`: spans in words for people. */
export function spanWords(seconds: number): string {
  const rounded = Math.max(0, Math.round(seconds));
  if (rounded >= 2 * 86400 && rounded % 86400 === 0) return `${rounded / 86400} days`;
  const hours = Math.floor(rounded / 3600);
  const minutes = Math.floor((rounded % 3600) / 60);
  if (hours === 0 && minutes === 0) return `${rounded} s`;
  return [hours ? `${hours} h` : '', minutes ? `${minutes} min` : ''].filter(Boolean).join(' ');
}

/** The lines `/dbaccess policy <database>` shows about when access starts, for the levels a policy governs. */
export function explainTiming(timing: Timing): RichText[] {
  const clock = timing.clock === 'first-login'
    ? rich`  Clock: the approved time starts at the first connection, which must come within ${spanWords(timing.firstLoginWaitSeconds ?? DEFAULT_FIRST_LOGIN_WAIT_SECONDS)} of the start; no connection by then and the access ends unused.`
    : rich`  Clock: the approved time starts at approval, or at the requested start time for scheduled access.`;
  return [
    clock,
    rich`  Approvals last ${spanWords(timing.approvalLifetimeSeconds)}: a scheduled start must fall within that, and an approved request not started by then lapses (the requester and approvers are told).`,
  ];
}
