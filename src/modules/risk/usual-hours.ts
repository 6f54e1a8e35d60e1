import { BUSINESS_HOURS, describeWindow, isWithinWindow, localTime } from '../../lib/time-window.js';
import type { RequestTime, RiskInput } from './risk-types.js';

/**
 * When a request was made, against the team's usual hours: the catalog's `business-hours` window in
 * the catalog's time zone, not a fixed UTC range.
 */
export function requestTime(input: Pick<RiskInput, 'requestedAt' | 'usualHours'>): Omit<RequestTime, 'counted' | 'notCounted'> {
  const hours = input.usualHours ?? { name: 'business-hours', window: BUSINESS_HOURS, timeZone: 'UTC' };
  const timeZone = hours.window.timezone ?? hours.timeZone;
  const window = describeWindow(hours.window, timeZone).replace(` (${timeZone})`, '');
  return {
    local: localTime(input.requestedAt, timeZone).text,
    timeZone,
    utc: input.requestedAt.toISOString().slice(11, 16),
    outside: !isWithinWindow(hours.window, input.requestedAt, timeZone),
    windowName: hours.name,
    window,
  };
}

/**
 * "Requested Tue 03:12 UTC, outside this team's usual hours (business-hours: Mon-Fri 09:00-18:00 UTC);
 * not counted: an incident is named." In another zone the UTC time follows in brackets.
 */
export function describeRequestTime(time: RequestTime): string {
  const when = time.timeZone === 'UTC' ? `${time.local} UTC` : `${time.local} ${time.timeZone} (${time.utc} UTC)`;
  const usual = `this team's usual hours (${time.windowName}: ${time.window} ${time.timeZone})`;
  if (!time.outside) return `Requested ${when}, within ${usual}.`;
  const effect = time.counted ? 'one factor in the rating' : `not counted: ${time.notCounted ?? 'it does not apply here'}`;
  return `Requested ${when}, outside ${usual}; ${effect}.`;
}
