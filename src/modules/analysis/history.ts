import { formatDuration } from '../../lib/time.js';
import { count, scoreRequest, withScore } from '../insights/insights-scoring.js';
import type { PastRequest, ScopeWidth } from '../insights/insights-types.js';
import type { History, HistoryStats } from './analysis-types.js';

/**
 * How a request compares with the tenant's own history for the same database: the person's and
 * everyone's usual levels, durations, hours and decisions, and what stands out. What stands out is
 * scored by the insights engine (see insights-scoring.ts for the method), highest score first, each
 * line with its score; a missing baseline is said (`baseline`), never invented. Pure.
 */
export function compareWithHistory(
  current: { requesterId: string; level: string; durationSeconds: number; at: Date; databaseId: string; scopeWidth?: ScopeWidth | undefined },
  past: PastRequest[],
  options: { timeZone?: string | undefined } = {},
): History {
  const mine = past.filter((request) => request.requesterId === current.requesterId);
  const person = stats(mine);
  const team = stats(past);
  const scored = scoreRequest(current, past, options);
  const unusual: string[] = [];

  if (past.length > 0 && mine.length === 0) unusual.push(`First request by this person for ${current.databaseId}.`);
  unusual.push(...scored.anomalies.map((anomaly) => `${withScore(anomaly)}.`));
  if (person.denied > 0) unusual.push(`${person.denied} of this person's ${person.requests} past requests here were denied.`);
  return { person, team, unusual, anomalies: scored.anomalies, baseline: scored.notes };
}

/** One line for the card, saying so when there is no baseline yet. */
export function historyText(history: History, databaseId: string): string {
  if (history.team.requests === 0) return `No history for ${databaseId} yet: nothing to compare with.`;
  const person = history.person.requests === 0
    ? 'No past requests by this person here'
    : `This person: ${history.person.requests} past (${levelsText(history.person.levels)}), usually ${formatDuration(history.person.medianDurationSeconds ?? 0)}, ${history.person.approved} approved, ${history.person.denied} denied`;
  const hours = history.team.usualHours ? `, usually ${String(history.team.usualHours.from).padStart(2, '0')}-${String(history.team.usualHours.to + 1).padStart(2, '0')} UTC` : '';
  const baseline = history.baseline?.length ? ` ${history.baseline.join(' ')}` : '';
  return `${person}. Team: ${count(history.team.requests, 'request')} for ${databaseId} (${levelsText(history.team.levels)})${hours}.${baseline}`;
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
const levelsText = (levels: Record<string, number>) => Object.entries(levels).sort((a, b) => b[1] - a[1]).map(([level, n]) => `${n} ${level}`).join(', ');
