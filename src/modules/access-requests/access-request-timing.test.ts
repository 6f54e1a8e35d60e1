import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REQUEST_STATES, TRANSITIONS, isTerminal, nextState, type RequestEvent, type RequestState } from './access-request-state.js';
import { approvalEvent, clockBase, lapsesAt, leaseClock, startsInWords } from './request-timing.js';
import { parseStart } from './start-time.js';

const EVENTS = Object.keys(TRANSITIONS) as RequestEvent[];
const at = (iso: string) => new Date(iso);

describe('request states: scheduled and lapsed', () => {
  it('schedules, starts, lapses and cancels only from where they should', () => {
    expect(nextState('pending', 'schedule')).toBe('scheduled');
    expect(nextState('scheduled', 'start')).toBe('approved');
    expect(nextState('scheduled', 'lapse')).toBe('lapsed');
    expect(nextState('approved', 'lapse')).toBe('lapsed');
    expect(nextState('scheduled', 'withdraw')).toBe('cancelled');
    // A scheduled request is never provisioned without starting first, and never started twice.
    expect(nextState('scheduled', 'startProvisioning')).toBeUndefined();
    expect(nextState('approved', 'start')).toBeUndefined();
    expect(nextState('provisioning', 'lapse')).toBeUndefined();
    expect(isTerminal('lapsed')).toBe(true);
  });

  it('property: no event path leaves a terminal state (but an admin Retry of a failed one), and a lapsed or cancelled request is never provisioned', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUEST_STATES), fc.array(fc.constantFrom(...EVENTS), { maxLength: 30 }), (start, events) => {
        let state: RequestState = start;
        for (const event of events) {
          const next = nextState(state, event);
          if (next === undefined) continue;
          if (isTerminal(state)) {
            expect(state === 'failed' && event === 'retry').toBe(true);
          }
          if (state === 'lapsed' || state === 'cancelled') throw new Error(`${state} --${event}--> ${next}`);
          // Provisioning is reached only from approved (or itself): never straight from scheduled or pending.
          if (next === 'provisioning') expect(['approved', 'provisioning']).toContain(state);
          state = next;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('property: no state a scheduled request can reach is a dead end (every non-terminal one has an event out)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...EVENTS), { maxLength: 20 }), (events) => {
        let state: RequestState = 'scheduled';
        for (const event of events) state = nextState(state, event) ?? state;
        if (!isTerminal(state)) expect(EVENTS.some((event) => nextState(state, event) !== undefined && nextState(state, event) !== state)).toBe(true);
      }),
    );
  });
});

describe('request timing', () => {
  const now = at('2026-12-07T14:00:00Z');

  it('reads starts as people write them, in UTC', () => {
    expect(parseStart('', now)).toEqual({});
    expect(parseStart('22:00', now)).toEqual({ startsAt: at('2026-12-07T22:00:00Z') });
    expect(parseStart('09:30', now)).toEqual({ startsAt: at('2026-12-08T09:30:00Z') });
    expect(parseStart('2026-12-24 06:00', now)).toEqual({ startsAt: at('2026-12-24T06:00:00Z') });
    expect(parseStart('in 3h', now)).toEqual({ startsAt: at('2026-12-07T17:00:00Z') });
    expect(parseStart('+90m', now)).toEqual({ startsAt: at('2026-12-07T15:30:00Z') });
    expect(parseStart('2026-02-30 06:00', now)).toHaveProperty('error');
    expect(parseStart('2026-12-01 06:00', now)).toEqual({ error: expect.stringMatching(/has passed/) });
    expect(parseStart('in 40d', now)).toEqual({ error: expect.stringMatching(/30 days/) });
  });

  it('property: any text either parses to a start within 30 days ahead or says how to write one', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const parsed = parseStart(text, now);
        if ('error' in parsed) expect(parsed.error.length).toBeGreaterThan(10);
        else if (parsed.startsAt) {
          expect(parsed.startsAt.getTime()).toBeGreaterThanOrEqual(now.getTime() - 60_000);
          expect(parsed.startsAt.getTime()).toBeLessThanOrEqual(now.getTime() + 30 * 86400_000);
        }
      }),
    );
  });

  it('schedules an approval before the start, starts the clock at the later of approval and start, lapses from the approval', () => {
    const startsAt = at('2026-12-07T22:00:00Z');
    expect(approvalEvent({ startsAt }, now)).toEqual({ event: 'schedule', delayMs: 8 * 3600_000 });
    expect(approvalEvent({ startsAt }, at('2026-12-07T22:05:00Z'))).toEqual({ event: 'approve', delayMs: 0 });
    expect(approvalEvent({ startsAt: null }, now).event).toBe('approve');
    const row = { startsAt, decidedAt: now, retriedAt: null, durationSeconds: 3600, policy: { approvalLifetimeSeconds: 86400 } };
    expect(clockBase(row, at('2026-12-07T22:00:01Z'))).toEqual(startsAt);
    expect(leaseClock(row, startsAt)).toEqual({ expiresAt: at('2026-12-07T23:00:00Z'), firstLoginBy: null });
    expect(lapsesAt(row)).toEqual(at('2026-12-08T14:00:00Z'));
    // The first-login clock: the lease waits for its first connection until the deadline.
    expect(leaseClock({ ...row, policy: { approvalLifetimeSeconds: 86400, firstLoginWaitSeconds: 7200 } }, startsAt)).toEqual({ expiresAt: at('2026-12-08T00:00:00Z'), firstLoginBy: at('2026-12-08T00:00:00Z') });
  });

  it('says when it starts, in words', () => {
    expect(startsInWords(at('2026-12-07T22:00:00Z'), at('2026-12-07T17:00:00Z'), (date) => `${date.toISOString().slice(11, 16)} UTC`)).toBe('starts at 22:00 UTC (in 5 h)');
  });
});
