import { formatDuration } from '../../lib/time.js';
import { parseStoredScope, type ScopeItem } from '../credentials/scope.js';
import { localTime } from '../../lib/time-window.js';
import { SCOPE_WIDTHS, type Anomaly, type PastRequest, type Scored, type ScopeWidth, type SessionPoint } from './insights-types.js';

/**
 * Anomaly scoring against the tenant's own history. Pure: history in, scored lines out.
 *
 * Baselines are per person (their requests or sessions on this database) and per database
 * (everyone's), from the last 180 days before the thing scored. Every score is on one scale, where
 * 3.5 or more is an anomaly:
 *
 * - Durations, statements per session, rows per session (where captured) and request frequency:
 *   the modified z-score (Iglewicz and Hoaglin), (x - median) / (1.4826 x MAD), which ignores the
 *   outliers the baseline already holds. Durations, statements and rows are compared as log2, so
 *   "twice as long" is one step whatever the size; frequency is the person's requests in the last
 *   7 days against their weekly counts (zero weeks included) since their first request, 4 weeks at
 *   least. When the MAD is 0 (most values equal), 1.2533 x the mean absolute deviation stands in;
 *   the scale never falls below a floor (half a doubling; one request a week), so a history of
 *   identical values does not make every change infinite. Only the high side counts: shorter and
 *   quieter are not flagged.
 * - Hours: the usual window is the shortest arc of the 24-hour clock (in the catalog's timezone)
 *   that holds 80% of the baseline's requests, so night shifts across midnight work; the score is
 *   the hours between the request and that window (3.5 hours or more outside it).
 * - Levels, scope width, tables touched, writing in a session ("first X in N days"): the surprisal
 *   of something seen k times in n, -log2((k + 0.5) / (n + 1)), in bits. A thing never seen scores
 *   3.58 after 5 observations and more as the baseline grows; once seen, it takes 16 observations
 *   for a single occurrence to still count.
 *
 * A baseline needs 5 requests (or recorded sessions); below that nothing is scored and the note says
 * so: a missing baseline is never invented. The person's baseline is used when it is big enough,
 * else everyone's on the database.
 */

export const ANOMALY_THRESHOLD = 3.5;
export const MIN_BASELINE = 5;
export const MIN_WEEKS = 4;
/** Share of the baseline's requests the usual window holds. */
const USUAL_SHARE = 0.8;
/** log2 floor for durations, statements and rows: half a doubling. */
const LOG_FLOOR = 0.5;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const MINUTES_PER_DAY = 1440;
const SYSTEM_SCHEMAS = /^"?(pg_catalog|information_schema|pg_toast|mysql|performance_schema|sys)"?\./i;

// ---- statistics ---------------------------------------------------------------------------------

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The modified z-score of `value` against `baseline`, with the scale's fallbacks and floor. */
export function robustZ(value: number, baseline: number[], floor: number): { z: number; median: number; scale: number } {
  const center = median(baseline);
  const deviations = baseline.map((x) => Math.abs(x - center));
  const mad = median(deviations);
  const meanDeviation = deviations.reduce((sum, x) => sum + x, 0) / Math.max(deviations.length, 1);
  // The mean deviation only stands in when most values are equal: it is not robust to the outliers a MAD ignores.
  const scale = Math.max(mad > 0 ? 1.4826 * mad : 1.2533 * meanDeviation, floor);
  return { z: (value - center) / scale, median: center, scale };
}

/** Bits of surprise at something seen `count` times in `total` observations (add-half smoothing). */
export const surprisal = (count: number, total: number): number => -Math.log2((count + 0.5) / (total + 1));

export interface HourWindow {
  /** Minutes after local midnight; the arc runs from start for `length` minutes (it may cross midnight). */
  start: number;
  end: number;
  length: number;
}

/** The shortest arc of the clock holding `share` of these minutes-of-day. */
export function usualWindow(minutes: number[], share = USUAL_SHARE): HourWindow | undefined {
  if (minutes.length === 0) return undefined;
  const sorted = [...minutes].sort((a, b) => a - b);
  const n = sorted.length;
  const k = Math.max(1, Math.ceil(share * n));
  let best: HourWindow | undefined;
  for (let i = 0; i < n; i++) {
    const j = i + k - 1;
    const end = j < n ? sorted[j]! : sorted[j - n]! + MINUTES_PER_DAY;
    const length = end - sorted[i]!;
    if (!best || length < best.length) best = { start: sorted[i]!, end: end % MINUTES_PER_DAY, length };
  }
  return best;
}

/** Minutes between a time of day and the window, the short way round the clock; 0 inside it. */
export function minutesOutside(minute: number, window: HourWindow): number {
  const offset = (((minute - window.start) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  if (offset <= window.length) return 0;
  return Math.min(offset - window.length, MINUTES_PER_DAY - offset);
}

export const windowText = (window: HourWindow): string => {
  const startHour = Math.floor(window.start / 60);
  let endHour = window.end % 60 === 0 ? window.end / 60 : Math.floor(window.end / 60) + 1;
  if (endHour === startHour) endHour = (endHour + 1) % 24;
  return `${pad(startHour)}-${pad(endHour === 0 ? 24 : endHour)}`;
};

export function scopeWidthOf(scope: ScopeItem[]): ScopeWidth {
  if (scope.length === 0) return 'whole';
  return scope.every((item) => item.table) ? 'tables' : 'schemas';
}

/** The width of a scope as stored (the form's grammar); undefined when it cannot be read. */
export function storedScopeWidth(scope: string[]): ScopeWidth | undefined {
  try {
    return scopeWidthOf(parseStoredScope(scope));
  } catch {
    return undefined;
  }
}

/** An anomaly as one line with its score, for the card and the summary. */
export const withScore = (anomaly: Pick<Anomaly, 'text' | 'score'>): string => `${anomaly.text} · score ${anomaly.score.toFixed(1)}`;

// ---- requests -----------------------------------------------------------------------------------

export interface CurrentRequest {
  requesterId: string;
  level: string;
  durationSeconds: number;
  at: Date;
  databaseId: string;
  scopeWidth?: ScopeWidth | undefined;
}

/**
 * A request against the history of its database: level, duration, hour, frequency and scope width,
 * against the person's baseline and, where it adds something, everyone's. Only history from before
 * the request counts.
 */
export function scoreRequest(current: CurrentRequest, past: PastRequest[], options: { timeZone?: string | undefined } = {}): Scored {
  const timeZone = options.timeZone ?? 'UTC';
  const db = current.databaseId;
  const before = past.filter((request) => request.createdAt < current.at);
  const mine = before.filter((request) => request.requesterId === current.requesterId);
  const anomalies: Anomaly[] = [];
  const notes: string[] = [];
  if (before.length === 0) return { anomalies, notes: [`No history for ${db} yet: nothing is scored until it has ${MIN_BASELINE} requests.`] };
  const person = mine.length >= MIN_BASELINE;
  const team = before.length >= MIN_BASELINE;
  if (!team) notes.push(`Too little history to score: ${count(before.length, 'past request')} for ${db}, ${MIN_BASELINE} needed.`);
  else if (!person) notes.push(`This person has ${count(mine.length, 'past request')} for ${db}, fewer than ${MIN_BASELINE}: compared with everyone's ${before.length} instead.`);

  const push = (anomaly: Anomaly | undefined) => {
    if (anomaly && anomaly.score >= ANOMALY_THRESHOLD) anomalies.push({ ...anomaly, score: round1(anomaly.score) });
  };
  if (person) push(levelNovelty(current, mine, 'person'));
  // Everyone's baseline says something more only when someone else is in it.
  if (team && before.some((request) => request.requesterId !== current.requesterId)) push(levelNovelty(current, before, 'database'));
  const baseline = person ? mine : team ? before : undefined;
  const whose = person ? 'person' : 'database';
  if (baseline) {
    push(durationDeviation(current, baseline, whose));
    push(hourDeviation(current, baseline, whose, timeZone));
  }
  if (person) {
    push(frequencyDeviation(current, mine));
    push(scopeNovelty(current, mine));
  }
  anomalies.sort((a, b) => b.score - a.score);
  return { anomalies, notes };
}

function levelNovelty(current: CurrentRequest, baseline: PastRequest[], whose: 'person' | 'database'): Anomaly | undefined {
  // A read is never the worrying direction.
  if (current.level === 'read') return undefined;
  const seen = baseline.filter((request) => request.level === current.level).length;
  const days = spanDays(baseline, current.at);
  const people = new Set(baseline.map((request) => request.requesterId)).size;
  const text = whose === 'person'
    ? seen === 0
      ? `First ${current.level} request by this person on ${current.databaseId} in ${days} (${baseline.length} requests: ${levelsText(baseline)})`
      : `${capitalize(current.level)} is rare for this person on ${current.databaseId}: ${seen} of ${baseline.length} requests in ${days}`
    : seen === 0
      ? `First ${current.level} request on ${current.databaseId} in ${days} (${baseline.length} requests by ${count(people, 'person', 'people')})`
      : `${capitalize(current.level)} is rare on ${current.databaseId}: ${seen} of ${baseline.length} requests in ${days}`;
  return { feature: 'level', baseline: whose, score: surprisal(seen, baseline.length), text };
}

function durationDeviation(current: CurrentRequest, baseline: PastRequest[], whose: 'person' | 'database'): Anomaly | undefined {
  const { z, median: center } = robustZ(Math.log2(Math.max(current.durationSeconds, 1)), baseline.map((request) => Math.log2(Math.max(request.durationSeconds, 1))), LOG_FLOOR);
  const usual = 2 ** center;
  const of = whose === 'person' ? "this person's median" : `the median for ${current.databaseId}`;
  return { feature: 'duration', baseline: whose, score: z, text: `Duration ${formatDuration(current.durationSeconds)} is ${ratioText(current.durationSeconds / usual)} ${of} of ${formatDuration(usual)} over ${baseline.length} requests` };
}

function hourDeviation(current: CurrentRequest, baseline: PastRequest[], whose: 'person' | 'database', timeZone: string): Anomaly | undefined {
  const window = usualWindow(baseline.map((request) => localTime(request.createdAt, timeZone).minutes));
  if (!window) return undefined;
  const minute = localTime(current.at, timeZone).minutes;
  const hoursOut = minutesOutside(minute, window) / 60;
  const of = whose === 'person' ? 'this person' : current.databaseId;
  return { feature: 'hour', baseline: whose, score: hoursOut, text: `Requested at ${clock(minute)} (${timeZone}); usual hours ${windowText(window)} for ${of} over ${baseline.length} requests` };
}

function frequencyDeviation(current: CurrentRequest, mine: PastRequest[]): Anomaly | undefined {
  const recentFrom = current.at.getTime() - WEEK_MS;
  const recent = mine.filter((request) => request.createdAt.getTime() >= recentFrom).length + 1;
  const first = Math.min(...mine.map((request) => request.createdAt.getTime()));
  const weeks = Math.floor((recentFrom - first) / WEEK_MS);
  if (weeks < MIN_WEEKS) return undefined;
  const perWeek: number[] = Array.from({ length: weeks }, () => 0);
  for (const request of mine) {
    const index = Math.floor((recentFrom - request.createdAt.getTime()) / WEEK_MS);
    if (request.createdAt.getTime() < recentFrom && index < weeks) perWeek[index]! += 1;
  }
  const { z, median: usual } = robustZ(recent, perWeek, 1);
  const usually = usual === 0 ? 'usually none in a week' : `usually ${Number(usual.toFixed(1))} a week`;
  return { feature: 'frequency', baseline: 'person', score: z, text: `${count(recent, 'request')} by this person for ${current.databaseId} in the last 7 days; ${usually} over ${weeks} weeks` };
}

function scopeNovelty(current: CurrentRequest, mine: PastRequest[]): Anomaly | undefined {
  if (!current.scopeWidth) return undefined;
  const known = mine.filter((request) => request.scopeWidth);
  if (known.length < MIN_BASELINE) return undefined;
  const tally = new Map<ScopeWidth, number>();
  for (const request of known) tally.set(request.scopeWidth!, (tally.get(request.scopeWidth!) ?? 0) + 1);
  const [usual, usualCount] = [...tally.entries()].sort((a, b) => b[1] - a[1])[0]!;
  // Narrower than usual is never the worrying direction.
  if (SCOPE_WIDTHS.indexOf(current.scopeWidth) <= SCOPE_WIDTHS.indexOf(usual)) return undefined;
  const seen = tally.get(current.scopeWidth) ?? 0;
  return {
    feature: 'scope', baseline: 'person', score: surprisal(seen, known.length),
    text: `${capitalize(WIDTH_WORDS[current.scopeWidth])} on ${current.databaseId}, where this person asked for ${WIDTH_WORDS[usual]} in ${usualCount} of ${known.length} requests`,
  };
}

const WIDTH_WORDS: Record<ScopeWidth, string> = { tables: 'named tables', schemas: 'whole schemas', whole: 'the whole database' };

// ---- sessions -----------------------------------------------------------------------------------

export interface CurrentSession extends SessionPoint {
  databaseId: string;
  /** Rows read or changed, where the recording captures them; undefined when it does not. */
  rows?: number | undefined;
}

/**
 * A session against the recorded sessions before it on the same database: statements per session,
 * tables never touched before by this person (or anyone), writing when the person never writes, and
 * rows where captured (no recording method captures them today: the note says so).
 */
export function scoreSession(current: CurrentSession, past: Array<SessionPoint & { rows?: number | undefined }>): Scored {
  const db = current.databaseId;
  const before = past.filter((session) => session.at < current.at);
  const mine = before.filter((session) => session.requesterId === current.requesterId);
  const anomalies: Anomaly[] = [];
  const notes: string[] = [];
  const person = mine.length >= MIN_BASELINE;
  const team = before.length >= MIN_BASELINE;
  if (!team) notes.push(`No baseline yet for sessions on ${db}: ${before.length} recorded before this one, ${MIN_BASELINE} needed.`);
  else if (!person) notes.push(`This person has ${count(mine.length, 'recorded session')} on ${db}, fewer than ${MIN_BASELINE}: compared with everyone's ${before.length} instead.`);
  if (current.rows === undefined) notes.push('Rows read or changed are not captured by this recording, so they are not compared.');
  const push = (anomaly: Anomaly | undefined) => {
    if (anomaly && anomaly.score >= ANOMALY_THRESHOLD) anomalies.push({ ...anomaly, score: round1(anomaly.score) });
  };
  const baseline = person ? mine : team ? before : undefined;
  const whose = person ? 'person' : 'database';
  const of = person ? "this person's median" : `the median for ${db}`;
  if (baseline) {
    const { z, median: center } = robustZ(Math.log2(1 + current.statements), baseline.map((session) => Math.log2(1 + session.statements)), LOG_FLOOR);
    push({ feature: 'statements', baseline: whose, score: z, text: `${count(current.statements, 'statement')} in this session; ${of} is ${Math.round(2 ** center - 1)} over ${baseline.length} recorded sessions` });
    const withRows = baseline.filter((session) => session.rows !== undefined);
    if (current.rows !== undefined && withRows.length >= MIN_BASELINE) {
      const rows = robustZ(Math.log2(1 + current.rows), withRows.map((session) => Math.log2(1 + session.rows!)), LOG_FLOOR);
      push({ feature: 'rows', baseline: whose, score: rows.z, text: `${count(current.rows, 'row')} read or changed; ${of} is ${Math.round(2 ** rows.median - 1)} over ${withRows.length} sessions` });
    }
  }
  push(newTables(current, mine, before, person, team));
  if (person) push(firstWrites(current, mine));
  anomalies.sort((a, b) => b.score - a.score);
  return { anomalies, notes };
}

function newTables(current: CurrentSession, mine: SessionPoint[], before: SessionPoint[], person: boolean, team: boolean): Anomaly | undefined {
  const touched = current.objects.filter((object) => !SYSTEM_SCHEMAS.test(object));
  const anyone = new Set(before.flatMap((session) => session.objects));
  const newToAll = team ? touched.filter((object) => !anyone.has(object)) : [];
  if (person) {
    const theirs = new Set(mine.flatMap((session) => session.objects));
    const fresh = touched.filter((object) => !theirs.has(object));
    if (fresh.length === 0) return undefined;
    const alsoNew = newToAll.length === 0 ? '' : newToAll.length === fresh.length ? `; no one touched ${fresh.length > 1 ? 'them' : 'it'} in ${before.length}` : `; no one touched ${listText(newToAll)} in ${before.length}`;
    return {
      feature: 'tables', baseline: 'person', score: surprisal(0, newToAll.length ? before.length : mine.length),
      text: `First time this person touched ${listText(fresh)} on ${current.databaseId} in ${mine.length} recorded sessions (${spanDaysOf(mine.map((s) => s.at), current.at)})${alsoNew}`,
    };
  }
  if (newToAll.length === 0) return undefined;
  return {
    feature: 'tables', baseline: 'database', score: surprisal(0, before.length),
    text: `First time anyone touched ${listText(newToAll)} on ${current.databaseId} in ${before.length} recorded sessions (${spanDaysOf(before.map((s) => s.at), current.at)})`,
  };
}

function firstWrites(current: CurrentSession, mine: SessionPoint[]): Anomaly | undefined {
  const writes = (current.dml ?? 0) + (current.ddl ?? 0);
  if (writes === 0) return undefined;
  const known = mine.filter((session) => session.dml !== undefined && session.ddl !== undefined);
  if (known.length < MIN_BASELINE) return undefined;
  const wrote = known.filter((session) => session.dml! + session.ddl! > 0).length;
  return {
    feature: 'writes', baseline: 'person', score: surprisal(wrote, known.length),
    text: wrote === 0
      ? `Changed data or schema (${count(writes, 'statement')}) for the first time in this person's ${known.length} recorded sessions on ${current.databaseId}`
      : `Changed data or schema (${count(writes, 'statement')}), which this person did in only ${wrote} of ${known.length} recorded sessions on ${current.databaseId}`,
  };
}

// ---- words --------------------------------------------------------------------------------------

const round1 = (value: number) => Math.round(value * 10) / 10;
const pad = (n: number) => String(n).padStart(2, '0');
const clock = (minute: number) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
export const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const ratioText = (ratio: number) => `${ratio >= 10 ? Math.round(ratio) : Number(ratio.toFixed(1))}x`;
const levelsText = (requests: PastRequest[]) => {
  const tally = new Map<string, number>();
  for (const request of requests) tally.set(request.level, (tally.get(request.level) ?? 0) + 1);
  return [...tally.entries()].sort((a, b) => b[1] - a[1]).map(([level, n]) => `${n} ${level}`).join(', ');
};
const spanDays = (requests: PastRequest[], at: Date) => spanDaysOf(requests.map((request) => request.createdAt), at);
function spanDaysOf(dates: Date[], at: Date): string {
  const oldest = Math.min(...dates.map((date) => date.getTime()));
  return count(Math.max(1, Math.ceil((at.getTime() - oldest) / DAY_MS)), 'day');
}
const listText = (items: string[]) => (items.length <= 5 ? items.join(', ') : `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`);
