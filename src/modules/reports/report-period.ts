import { badInput } from '../../lib/errors.js';
import { parseDuration } from '../../lib/time.js';

/** A reporting period, half-open [from, to), in UTC. */
export interface Period {
  from: Date;
  to: Date;
  /** As the person wrote it, normalized: `2026-11`, `2026-Q4`, `last 30d`, `2026-11-01..2026-11-15`. */
  label: string;
}

const USAGE = 'Write a period as `2026-11` (a month), `2026-Q4` (a quarter), `2026` (a year), `last 30d` (also h or d), `2026-11-03` (a day) or `2026-11-01..2026-11-15` (days, both included). Times are UTC.';

const utc = (year: number, month: number, day = 1) => new Date(Date.UTC(year, month, day));

/** A calendar day `YYYY-MM-DD` that exists, or undefined. */
function day(text: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const value = utc(year, month - 1, date);
  return value.getUTCFullYear() === year && value.getUTCMonth() === month - 1 && value.getUTCDate() === date ? value : undefined;
}

const DAY_MS = 86_400_000;

/** Parses the period grammar; a mistake says what was wrong and what to write instead. */
export function parsePeriod(input: string, now = new Date()): Period {
  const text = input.trim().replace(/\s+/g, ' ');
  if (!text) throw badInput(`Which period? ${USAGE}`);
  if (text.length > 40) throw badInput(`That period is too long to be one. ${USAGE}`);

  let match = /^(\d{4})$/.exec(text);
  if (match) {
    const year = Number(match[1]);
    return check({ from: utc(year, 0), to: utc(year + 1, 0), label: text });
  }
  match = /^(\d{4})-(\d{1,2})$/.exec(text);
  if (match) {
    const month = Number(match[2]);
    if (month < 1 || month > 12) throw badInput(`There is no month ${match[2]}: months go from 01 to 12. ${USAGE}`);
    const year = Number(match[1]);
    return check({ from: utc(year, month - 1), to: utc(year, month), label: `${year}-${String(month).padStart(2, '0')}` });
  }
  match = /^(\d{4})-q(\d)$/i.exec(text);
  if (match) {
    const quarter = Number(match[2]);
    if (quarter < 1 || quarter > 4) throw badInput(`There is no quarter Q${quarter}: quarters go from Q1 to Q4. ${USAGE}`);
    const year = Number(match[1]);
    return check({ from: utc(year, (quarter - 1) * 3), to: utc(year, quarter * 3), label: `${year}-Q${quarter}` });
  }
  match = /^last (\S+)$/i.exec(text);
  if (match) {
    const seconds = parseDuration(match[1]!);
    if (!seconds) throw badInput(`"${match[1]}" is not a duration: write e.g. \`last 30d\` or \`last 12h\`. ${USAGE}`);
    if (seconds > 3660 * 86_400) throw badInput('That is more than ten years; pick a shorter period.');
    return { from: new Date(now.getTime() - seconds * 1000), to: now, label: `last ${match[1]!.toLowerCase()}` };
  }
  match = /^(\S+?)\s?\.\.\s?(\S+)$/.exec(text);
  if (match) {
    const first = day(match[1]!);
    const last = day(match[2]!);
    if (!first || !last) throw badInput(`"${!first ? match[1] : match[2]}" is not a date: write days as YYYY-MM-DD, e.g. 2026-11-01..2026-11-15.`);
    if (last < first) throw badInput(`The period ends (${match[2]}) before it starts (${match[1]}).`);
    return check({ from: first, to: new Date(last.getTime() + DAY_MS), label: `${match[1]}..${match[2]}` });
  }
  const single = day(text);
  if (single) return check({ from: single, to: new Date(single.getTime() + DAY_MS), label: text });
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) throw badInput(`${text} is not a date in the calendar.`);
  throw badInput(`I do not understand the period "${text.slice(0, 40)}". ${USAGE}`);
}

function check(period: Period): Period {
  const year = period.from.getUTCFullYear();
  if (year < 2000 || year > 2200) throw badInput(`${period.label}: pick a year between 2000 and 2200.`);
  return period;
}

/** `2026-11-01 00:00 UTC` .. `2026-11-30 23:59 UTC` for people: the last day is shown included. */
export function describePeriod(period: Period): string {
  const at = (date: Date) => date.toISOString().slice(0, 16).replace('T', ' ');
  const end = new Date(period.to.getTime() - 60_000);
  return `${period.label} (${at(period.from)} to ${at(end)} UTC)`;
}
