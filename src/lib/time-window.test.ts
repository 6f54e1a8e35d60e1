import { describe, expect, it } from 'vitest';
import { describeDays, describeWindow, isWithinWindow, localTime, nextOpening, parseDayToken, parseHourRange, type TimeWindow } from './time-window.js';

const BERLIN = 'Europe/Berlin';
const businessHours: TimeWindow = { days: [1, 2, 3, 4, 5], hours: [{ start: 9 * 60, end: 18 * 60 }] };
const nights: TimeWindow = { days: [1, 2, 3, 4, 5], hours: [{ start: 22 * 60, end: 6 * 60 }] };

describe('time windows', () => {
  it.each([
    ['mon', [1]],
    ['mon-fri', [1, 2, 3, 4, 5]],
    ['fri-mon', [5, 6, 0, 1]],
    ['Sat', [6]],
    ['weekends', [0, 6]],
    ['daily', [0, 1, 2, 3, 4, 5, 6]],
    ['monday', undefined],
    ['mon-fri-sun', undefined],
  ])('reads the days %j', (token, days) => {
    expect(parseDayToken(token)).toEqual(days);
  });

  it.each([
    ['09:00-18:00', { start: 540, end: 1080 }],
    ['22:00-06:00', { start: 1320, end: 360 }],
    ['00:00-24:00', { start: 0, end: 1440 }],
    ['24:00-06:00', undefined],
    ['09:00-09:00', undefined],
    ['9:00-18:00', undefined],
    ['09:60-18:00', undefined],
    ['18:00-24:30', undefined],
  ])('reads the hours %j', (text, range) => {
    expect(parseHourRange(text)).toEqual(range);
  });

  it.each([
    ['Mon 23 March 08:30 CET', '2026-03-23T07:30:00Z', businessHours, false],
    ['Mon 30 March 09:30 CEST: the same UTC time, a week later, is inside', '2026-03-30T07:30:00Z', businessHours, true],
    ['Fri 17:59 CET', '2026-03-27T16:59:00Z', businessHours, true],
    ['Fri 18:00 CET, the end is exclusive', '2026-03-27T17:00:00Z', businessHours, false],
    ['Fri 22:00 CET, an overnight range starts', '2026-03-27T21:00:00Z', nights, true],
    ['Sat 05:00 CET, still Friday night', '2026-03-28T04:00:00Z', nights, true],
    ['Sat 22:00 CET, Saturday is not in the days', '2026-03-28T21:00:00Z', nights, false],
    ['Sun 23:00 CEST, Sunday is not in the days', '2026-03-29T21:00:00Z', nights, false],
    ['Mon 01:00 CEST, Sunday night is not in the days', '2026-03-29T23:00:00Z', nights, false],
  ])('%s', (_, iso, window, inside) => {
    expect(isWithinWindow(window, new Date(iso), BERLIN)).toBe(inside);
  });

  it("uses the window's own time zone over the default", () => {
    const newYork: TimeWindow = { ...businessHours, timezone: 'America/New_York' };
    // 15:00 UTC on Wed 25 March 2026: 16:00 in Berlin, 11:00 in New York (already on summer time).
    expect(localTime(new Date('2026-03-25T15:00:00Z'), 'America/New_York').text).toBe('Wed 11:00');
    expect(isWithinWindow(newYork, new Date('2026-03-25T22:30:00Z'), BERLIN)).toBe(false);
    expect(isWithinWindow(newYork, new Date('2026-03-25T21:30:00Z'), BERLIN)).toBe(true);
  });

  it('finds the next opening across a DST change and over a weekend', () => {
    // Saturday 28 March 12:00 CET -> Monday 09:00 CEST.
    expect(nextOpening(businessHours, new Date('2026-03-28T11:00:00Z'), BERLIN)?.text).toBe('Mon 09:00');
    expect(nextOpening(nights, new Date('2026-03-25T19:00:00Z'), BERLIN)?.text).toBe('Wed 22:00');
    expect(nextOpening({ days: [], hours: [{ start: 0, end: 60 }] }, new Date(), BERLIN)).toBeUndefined();
  });

  it('describes windows the way people write them', () => {
    expect(describeWindow(businessHours, BERLIN)).toBe('Mon-Fri 09:00-18:00 (Europe/Berlin)');
    expect(describeWindow({ ...nights, timezone: 'UTC' }, BERLIN)).toBe('Mon-Fri 22:00-06:00 (overnight, UTC)');
    expect(describeWindow({ days: [0, 1, 2, 3, 4, 5, 6], hours: [{ start: 0, end: 1440 }] }, 'UTC')).toBe('every day all day (UTC)');
    expect(describeDays([0, 6])).toBe('Sat, Sun');
    expect(describeDays([1, 3, 4, 5, 0])).toBe('Mon, Wed-Fri, Sun');
  });
});
