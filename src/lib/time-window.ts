/**
 * Weekly time windows in an IANA time zone: "Mon-Fri 09:00-18:00 Europe/Berlin", "22:00-06:00".
 * Local time comes from Intl (the platform's time zone data), so DST days need no special code: a
 * window is about wall-clock time in its zone, whatever the UTC offset is that day.
 */

/** Index = JavaScript's getDay(): 0 is Sunday. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const DAY_LABELS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
/** Monday first, the way people read a week. */
const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0] as const;
const DAY_SHORTHANDS: Record<string, number[]> = {
  daily: [0, 1, 2, 3, 4, 5, 6],
  weekdays: [1, 2, 3, 4, 5],
  weekends: [0, 6],
};
const MINUTES_PER_DAY = 24 * 60;

export interface HourRange {
  /** Minutes after local midnight. */
  start: number;
  /** Minutes after local midnight, up to 1440; below start for an overnight range. */
  end: number;
}

export interface TimeWindow {
  /** Weekdays as getDay() numbers; an overnight range belongs to the day it starts on. */
  days: number[];
  hours: HourRange[];
  /** Undefined: the catalog's time zone. */
  timezone?: string | undefined;
}

/** The built-in `business-hours` window, unless a catalog redefines it: Mon-Fri 09:00-18:00. */
export const BUSINESS_HOURS: TimeWindow = { days: [1, 2, 3, 4, 5], hours: [{ start: 9 * 60, end: 18 * 60 }] };

export interface LocalTime {
  weekday: number;
  minutes: number;
  /** `Tue 03:00`. */
  text: string;
}

/** Parses `mon`, `mon-fri`, `fri-mon` (wraps), `weekdays`, `weekends`, `daily`; undefined when not a day set. */
export function parseDayToken(token: string): number[] | undefined {
  const text = token.trim().toLowerCase();
  if (Object.hasOwn(DAY_SHORTHANDS, text)) return DAY_SHORTHANDS[text];
  const [from, to, ...rest] = text.split('-').map((part) => WEEKDAYS.indexOf(part.trim() as Weekday));
  if (rest.length > 0 || from === undefined || from < 0) return undefined;
  if (to === undefined) return [from];
  if (to < 0) return undefined;
  const days: number[] = [];
  for (let day = from; ; day = (day + 1) % 7) {
    days.push(day);
    if (day === to) return days;
  }
}

/** Parses `09:00-18:00` or `22:00-06:00` (overnight); `24:00` may end a range. */
export function parseHourRange(text: string): HourRange | undefined {
  const match = /^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$/.exec(text);
  if (!match) return undefined;
  const [startHour, startMinute, endHour, endMinute] = match.slice(1).map(Number) as [number, number, number, number];
  const start = startHour * 60 + startMinute;
  const end = endHour * 60 + endMinute;
  if (startHour > 23 || startMinute > 59 || endMinute > 59 || end > MINUTES_PER_DAY || start === end) return undefined;
  return { start, end };
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and wall-clock minutes at `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): LocalTime {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(at).map((part) => [part.type, part.value]));
  const weekday = DAY_LABELS.indexOf(parts.weekday as (typeof DAY_LABELS)[number]);
  const hour = Number(parts.hour) % 24;
  const minute = Number(parts.minute);
  return { weekday, minutes: hour * 60 + minute, text: `${DAY_LABELS[weekday]} ${clock(hour * 60 + minute)}` };
}

export function isWithinWindow(window: TimeWindow, at: Date, defaultTimeZone: string): boolean {
  const { weekday, minutes } = localTime(at, window.timezone ?? defaultTimeZone);
  const yesterday = (weekday + 6) % 7;
  return window.hours.some((range) =>
    range.start < range.end
      ? window.days.includes(weekday) && minutes >= range.start && minutes < range.end
      : (window.days.includes(weekday) && minutes >= range.start) || (window.days.includes(yesterday) && minutes < range.end),
  );
}

/**
 * When the window next opens after `from` (local text such as `Mon 09:00`), or undefined when it does
 * not within a week. Candidates are the range starts in local time; each is placed on the UTC line
 * with the offset at that moment, so a DST change between now and then moves it by the hour it must.
 */
export function nextOpening(window: TimeWindow, from: Date, defaultTimeZone: string): LocalTime | undefined {
  const timeZone = window.timezone ?? defaultTimeZone;
  const base = Math.floor(from.getTime() / 60_000) * 60_000;
  const now = localTime(new Date(base), timeZone);
  const deltas: number[] = [];
  for (let offset = 0; offset <= 7; offset++) {
    if (!window.days.includes((now.weekday + offset) % 7)) continue;
    for (const range of window.hours) {
      const delta = offset * MINUTES_PER_DAY + range.start - now.minutes;
      if (delta > 0) deltas.push(delta);
    }
  }
  for (const delta of deltas.sort((a, b) => a - b)) {
    const guess = new Date(base + delta * 60_000);
    const expected = (now.minutes + delta) % MINUTES_PER_DAY;
    const drift = ((((localTime(guess, timeZone).minutes - expected + 720) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY) - 720;
    for (const at of [new Date(guess.getTime() - drift * 60_000), guess]) {
      if (isWithinWindow(window, at, timeZone)) return localTime(at, timeZone);
    }
  }
  return undefined;
}

/** `Mon-Fri 09:00-18:00 (Europe/Berlin)`; `Mon-Fri 22:00-06:00 (overnight, Europe/Berlin)`. */
export function describeWindow(window: TimeWindow, defaultTimeZone: string): string {
  const hours = window.hours.map((range) => (range.start === 0 && range.end === MINUTES_PER_DAY ? 'all day' : `${clock(range.start)}-${clock(range.end)}`)).join(', ');
  const overnight = window.hours.some((range) => range.end < range.start) ? 'overnight, ' : '';
  return `${describeDays(window.days)} ${hours} (${overnight}${window.timezone ?? defaultTimeZone})`;
}

export function describeDays(days: number[]): string {
  const set = new Set(days);
  if (set.size === 7) return 'every day';
  const runs: number[][] = [];
  for (const day of WEEK_ORDER) {
    if (!set.has(day)) continue;
    const last = runs.at(-1);
    const previous = last?.at(-1);
    if (last && previous !== undefined && WEEK_ORDER.indexOf(previous as (typeof WEEK_ORDER)[number]) === WEEK_ORDER.indexOf(day) - 1) last.push(day);
    else runs.push([day]);
  }
  return runs
    .map((run) => (run.length >= 3 ? `${DAY_LABELS[run[0]!]}-${DAY_LABELS[run.at(-1)!]}` : run.map((day) => DAY_LABELS[day]).join(', ')))
    .join(', ');
}

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
