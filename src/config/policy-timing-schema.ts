import { z } from 'zod';
import { parseDuration } from '../lib/time.js';

/**
 * When access starts, per policy (issue 19, item 3). Spread into a policy entry:
 *
 *     clock: first-login     # approval (default): the lease's time counts from approval (or its scheduled start)
 *     maxWait: 2h            # first-login: the first connection must come within this, or the access ends unused
 *     approvalLifetime: 24h  # an approval not started within this lapses (default 24h)
 */

export const CLOCKS = ['approval', 'first-login'] as const;
export type Clock = (typeof CLOCKS)[number];

/** Without `approvalLifetime`: an approval is good for a day, and a scheduled start must fall within it. */
export const DEFAULT_APPROVAL_LIFETIME_SECONDS = 24 * 3600;
/** With `clock: first-login` and no `maxWait`. */
export const DEFAULT_FIRST_LOGIN_WAIT_SECONDS = 3600;
/** Bounds that keep a typo (`maxWait: 200d`) from leaving a user on a target for months. */
const MAX_LIFETIME_SECONDS = 30 * 86400;
const MAX_WAIT_SECONDS = 7 * 86400;

const boundedDuration = (max: number, maxText: string) =>
  z
    .string()
    .max(20)
    .refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 30m, 4h or 1h30m')
    .transform((text) => parseDuration(text)!)
    .refine((seconds) => seconds <= max, `must be at most ${maxText}`);

export const policyTimingShape = {
  clock: z.enum(CLOCKS, { message: 'must be approval (the time counts from approval) or first-login (from the first connection)' }).optional(),
  maxWait: boundedDuration(MAX_WAIT_SECONDS, '7d').optional(),
  approvalLifetime: boundedDuration(MAX_LIFETIME_SECONDS, '30d').optional(),
};

export interface PolicyTiming {
  clock?: Clock | undefined;
  maxWait?: number | undefined;
  approvalLifetime?: number | undefined;
}

/** A policy-level check (maxWait means nothing without the first-login clock), with the field's path for the line. */
export function checkPolicyTiming(policy: PolicyTiming, ctx: z.RefinementCtx): void {
  if (policy.maxWait !== undefined && policy.clock !== 'first-login') {
    ctx.addIssue({ code: 'custom', path: ['maxWait'], message: 'maxWait applies only with clock: first-login (how long the first connection may take)' });
  }
}
