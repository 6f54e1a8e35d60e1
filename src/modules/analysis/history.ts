import { formatDuration } from '../../lib/time.js';
import type { History, HistoryStats } from './analysis-types.js';

/** One past request, as the history needs it. */
export interface PastRequest {
  requesterId: string;
  level: string;
  durationSeconds: number;
  createdAt: Date;
  /** approved | denied | other (expired unanswered, cancelled, pending). */
  outcome: 'approved' | 'denied' | 'other';
}

/** Baselines need this many past requests before anything is called unusual. */
const MIN_BASELINE = 3;
const MIN_HOURS_BASELINE = 5;

/**
 * How a request compares with the tenant's own history for the same database: the person's and
 * everyone's usual levels, durations, hours and decisions, and what stands out. Pure; a missing
 * baseline is said, never invented.
 */
export function compareWithHistory(
  current: { requesterId: string; level: string; durationSeconds: number; at: Date; databaseId: string },
  past: PastRequest[],
): History {
  const mine = past.filter((request) => request.requesterId === current.requesterId);
  const person = stats(mine);
  const team = stats(past);
  const unusual: string[] = [];
  const hour = current.at.getUTCHours();
  const clock = `${String(hour).padStart(2, '0')}:${String(current.at.getUTCMinutes()).padStart(2, '0')} UTC`;

  if (past.length > 0 && mine.length === 0) unusual.push(`First request by this person for ${current.databaseId}.`);
  if (mine.length >= MIN_BASELINE && !person.levels[current.level]) {
    unusual.push(`First ${current.level} request by this person on ${current.databaseId} in ${mine.length} requests (${levelsText(person.levels)}).`);
  }
  const levelShare = (team.levels[current.level] ?? 0) / Math.max(team.requests, 1);
  if (team.requests >= 10 && levelShare < 0.1) {
    const count = team.levels[current.level] ?? 0;
    unusual.push(count === 0 ? `No ${current.level} request for ${current.databaseId} in the last ${team.requests}.` : `Only ${count} of ${team.requests} requests for ${current.databaseId} were ${current.level}.`);
  }
  const baseline = mine.length >= MIN_BASELINE ? person : team.requests >= MIN_BASELINE ? team : undefined;
  if (baseline?.medianDurationSeconds && current.durationSeconds >= 2 * baseline.medianDurationSeconds) {
    unusual.push(`Longer than usual: ${formatDuration(current.durationSeconds)}, ${baseline === person ? 'their' : 'the team\'s'} median is ${formatDuration(baseline.medianDurationSeconds)}.`);
  }
  const hours = (mine.length >= MIN_HOURS_BASELINE ? person : team).usualHours;
  if (hours && (mine.length >= MIN_HOURS_BASELINE || team.requests >= MIN_HOURS_BASELINE) && !withinHours(hour, hours)) {
    unusual.push(`Requested at ${clock}; usual ${String(hours.from).padStart(2, '0')}-${String(hours.to + 1).padStart(2, '0')} UTC.`);
  }
  if (person.denied > 0) unusual.push(`${person.denied} of this person's ${person.requests} past requests here were denied.`);
  return { person, team, unusual };
}

/** One line for the card, saying so when there is no baseline yet. */
export function historyText(history: History, databaseId: string): string {
  if (history.team.requests === 0) return `No history for ${databaseId} yet: nothing to compare with.`;
  const person = history.person.requests === 0
    ? 'No past requests by this person here'
    : `This person: ${history.person.requests} past (${levelsText(history.person.levels)}), usually ${formatDuration(history.person.medianDurationSeconds ?? 0)}, ${history.person.approved} approved, ${history.person.denied} denied`;
  const hours = history.team.usualHours ? `, usually ${String(history.team.usualHours.from).padStart(2, '0')}-${String(history.team.usualHours.to + 1).padStart(2, '0')} UTC` : '';
  return `${person}. Team: ${history.team.requests} requests for ${databaseId} (${levelsText(history.team.levels)})${hours}.`;
}

function stats(requests: PastRequest[]): HistoryStats {
  const levels: Record<string, number> = {};
  for (const request of requests) levels[request.level] = (levels[request.level] ?? 0) + 1;
  const durations = requests.map((request) => request.durationSeconds).sort((a, b) => a - b);
  const hours = requests.map((request) => request.createdAt.getUTCHours()).sort((a, b) => a - b);
  const last = requests.reduce<Date | null>((latest, request) => (!latest || request.createdAt > latest ? request.createdAt : latest), null);
  return {
    requests: requests.length,
    levels,
    medianDurationSeconds: durations.length ? durations[Math.floor((durations.length - 1) / 2)]! : null,
    approved: requests.filter((request) => request.outcome === 'approved').length,
    denied: requests.filter((request) => request.outcome === 'denied').length,
    usualHours: hours.length ? { from: percentile(hours, 0.1), to: percentile(hours, 0.9) } : null,
    lastAt: last ? last.toISOString() : null,
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const withinHours = (hour: number, hours: { from: number; to: number }) => hour >= hours.from && hour <= hours.to;
const levelsText = (levels: Record<string, number>) => Object.entries(levels).sort((a, b) => b[1] - a[1]).map(([level, n]) => `${n} ${level}`).join(', ');
