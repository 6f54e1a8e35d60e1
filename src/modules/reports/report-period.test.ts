import { describe, expect, it } from 'vitest';
import { describePeriod, parsePeriod } from './report-period.js';

const NOW = new Date('2026-11-29T10:00:00Z');
const iso = (text: string) => {
  const period = parsePeriod(text, NOW);
  return [period.from.toISOString(), period.to.toISOString(), period.label];
};

describe('parsePeriod', () => {
  it.each([
    ['2026-11', '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', '2026-11'],
    ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2026-12'],
    ['2026-2', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-02'],
    ['2026-Q4', '2026-10-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2026-Q4'],
    ['2026-q1', '2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', '2026-Q1'],
    ['2026', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2026'],
    ['last 30d', '2026-10-30T10:00:00.000Z', '2026-11-29T10:00:00.000Z', 'last 30d'],
    ['  last   12h ', '2026-11-28T22:00:00.000Z', '2026-11-29T10:00:00.000Z', 'last 12h'],
    ['2026-11-01..2026-11-15', '2026-11-01T00:00:00.000Z', '2026-11-16T00:00:00.000Z', '2026-11-01..2026-11-15'],
    ['2026-11-01 .. 2026-11-01', '2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z', '2026-11-01..2026-11-01'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z', '2024-02-29'],
  ])('reads %j', (text, from, to, label) => {
    expect(iso(text)).toEqual([from, to, label]);
  });

  it.each([
    ['', /Which period\?/],
    ['2026-13', /no month 13/],
    ['2026-Q5', /no quarter Q5/],
    ['last week', /"week" is not a duration/],
    ['2026-11-15..2026-11-01', /ends \(2026-11-01\) before it starts/],
    ['2026-02-30..2026-03-01', /"2026-02-30" is not a date/],
    ['2025-02-29', /not a date in the calendar/],
    ['november', /I do not understand the period "november"/],
    ['1999-01', /between 2000 and 2200/],
  ])('explains %j', (text, message) => {
    expect(() => parsePeriod(text, NOW)).toThrow(message);
  });

  it('describes the last day as included', () => {
    expect(describePeriod(parsePeriod('2026-11', NOW))).toBe('2026-11 (2026-11-01 00:00 to 2026-11-30 23:59 UTC)');
  });
});
