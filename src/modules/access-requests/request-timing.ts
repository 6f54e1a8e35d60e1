import type { StoredPolicy } from '../../db/schema/access-requests.js';
import type { Timing } from '../policy/policy-timing.js';
import { spanWords } from '../policy/policy-timing.js';
import type { RequestEvent } from './access-request-state.js';

/**
 * When access starts (issue 19, item 3), as pure functions of a request and a clock:
 * - scheduled access: approved before its requested start, a request waits `scheduled` and is
 *   provisioned at the start (a delayed provision job; the sweep, if the job is lost);
 * - approvals expire: approved (or scheduled) and not started within the policy's approval lifetime,
 *   counted from the decision (or an admin's Retry), the request lapses;
 * - the clock from first login: the lease's expiry is its first connection plus the duration, and
 *   until then the deadline for that connection.
 */

type Timed = {
  startsAt: Date | null;
  decidedAt: Date | null;
  retriedAt: Date | null;
  durationSeconds: number;
  policy: Pick<StoredPolicy, 'approvalLifetimeSeconds' | 'firstLoginWaitSeconds'> | null;
};

/** A start within this of now is "now": the form's minute precision and clock skew. */
const NOW_SLACK_MS = 60_000;

/** What is kept of the policy's timing with the request (a catalog change later does not move it). */
export const timingSnapshot = (timing: Timing): Pick<StoredPolicy, 'approvalLifetimeSeconds' | 'firstLoginWaitSeconds'> => ({
  approvalLifetimeSeconds: timing.approvalLifetimeSeconds,
  ...(timing.clock === 'first-login' ? { firstLoginWaitSeconds: timing.firstLoginWaitSeconds } : {}),
});

/** A requested start, checked on the form: undefined when it is fine (a start in the past or now means now). */
export function startProblem(startsAt: Date, now: Date, timing: Pick<Timing, 'approvalLifetimeSeconds'>): string | undefined {
  if (startsAt.getTime() > now.getTime() + timing.approvalLifetimeSeconds * 1000) {
    return `Approvals here last ${spanWords(timing.approvalLifetimeSeconds)}: choose a start before then, or ask nearer the time.`;
  }
  return undefined;
}

/** The stored start: null for "now" (no start, or one within a minute). */
export const storedStart = (startsAt: Date | undefined, now: Date): Date | null =>
  startsAt && startsAt.getTime() > now.getTime() + NOW_SLACK_MS ? startsAt : null;

/** The approval's transition: `schedule` while the start is ahead, with how long until it. */
export function approvalEvent(request: Pick<Timed, 'startsAt'>, at: Date): { event: Extract<RequestEvent, 'approve' | 'schedule'>; delayMs: number } {
  const delayMs = request.startsAt ? request.startsAt.getTime() - at.getTime() : 0;
  return delayMs > 0 ? { event: 'schedule', delayMs } : { event: 'approve', delayMs: 0 };
}

/** When the lease's clock starts: an admin's Retry (its time), else the later of the approval and the requested start. */
export function clockBase(request: Pick<Timed, 'startsAt' | 'decidedAt' | 'retriedAt'>, now: Date): Date {
  if (request.retriedAt) return now;
  const decided = request.decidedAt ?? now;
  return request.startsAt && request.startsAt > decided ? request.startsAt : decided;
}

/** When an approved (or scheduled) request that has not started lapses; undefined for rows from before approval lifetimes. */
export function lapsesAt(request: Pick<Timed, 'decidedAt' | 'retriedAt' | 'policy'>): Date | undefined {
  const from = request.retriedAt ?? request.decidedAt;
  const lifetime = request.policy?.approvalLifetimeSeconds;
  return from && lifetime ? new Date(from.getTime() + lifetime * 1000) : undefined;
}

/**
 * The new lease's expiry: the clock base plus the duration, or, with the first-login clock, the
 * deadline for the first connection (`firstLoginBy`), which the expiry is until that connection.
 */
export function leaseClock(request: Timed, now: Date): { expiresAt: Date; firstLoginBy: Date | null } {
  const base = clockBase(request, now);
  const wait = request.policy?.firstLoginWaitSeconds;
  if (wait) {
    const firstLoginBy = new Date(base.getTime() + wait * 1000);
    return { expiresAt: firstLoginBy, firstLoginBy };
  }
  return { expiresAt: new Date(base.getTime() + request.durationSeconds * 1000), firstLoginBy: null };
}

/** `starts at 22:00 UTC (in 5 h)`: the relative part is as of `now`. */
export function startsInWords(startsAt: Date, now: Date, formatTime: (date: Date, now: Date) => string): string {
  const ahead = startsAt.getTime() - now.getTime();
  return `starts at ${formatTime(startsAt, now)}${ahead > 0 ? ` (in ${spanWords(Math.max(60, Math.round(ahead / 60_000) * 60))})` : ''}`;
}

/** `your hour starts when you first connect (within 2 h)`. */
export function firstLoginWords(durationSeconds: number, waitSeconds: number): string {
  const span = durationSeconds === 3600 ? 'hour' : spanWords(durationSeconds);
  return `your ${span} starts when you first connect (within ${spanWords(waitSeconds)})`;
}
