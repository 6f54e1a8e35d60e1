import { reasonProblem } from '../access-requests/reason-quality.js';
import type { RiskAnalyzer, RiskAssessment, RiskInput, RiskLevel } from './risk-types.js';

const LEVEL_POINTS = { read: 0, write: 2, admin: 4 } as const;
const ENVIRONMENT_POINTS = { production: 2, staging: 1, development: 0 } as const;
const BUSINESS_HOURS_UTC = { from: 7, to: 20 } as const;

/**
 * Built-in rating: points from environment, level, scope breadth, duration, time of day and reason
 * quality, with a reason for every point so approvers see why.
 */
export function assessRisk(input: RiskInput): RiskAssessment {
  let points = ENVIRONMENT_POINTS[input.environment] + LEVEL_POINTS[input.level];
  const reasons: string[] = [];
  if (input.environment === 'production') reasons.push('Production database.');
  if (input.level !== 'read') reasons.push(input.level === 'admin' ? 'Admin rights requested.' : 'Write access requested.');

  if (input.scopeSize === 0) {
    points += 1;
    reasons.push('Whole database requested; no schema or table scope.');
  } else if (input.tableScoped) {
    points -= 1;
    reasons.push('Scoped to specific tables.');
  }
  if (input.durationSeconds > 8 * 3600) {
    points += 2;
    reasons.push('Longer than 8 hours.');
  } else if (input.durationSeconds > 4 * 3600) {
    points += 1;
    reasons.push('Longer than 4 hours.');
  }
  const hour = input.requestedAt.getUTCHours();
  if (hour < BUSINESS_HOURS_UTC.from || hour >= BUSINESS_HOURS_UTC.to) {
    points += 1;
    reasons.push(`Requested outside business hours (${String(hour).padStart(2, '0')}:00 UTC).`);
  }
  if (reasonProblem(input.reason) || input.reason.trim().length < 25) {
    points += 1;
    reasons.push('The reason is short or vague.');
  }
  if (input.level !== 'read' && input.environment === 'production' && !input.ticket) {
    points += 1;
    reasons.push('Changes on production without a ticket.');
  }
  if (input.tags.includes('pii') && input.scopeSize === 0) {
    points += 1;
    reasons.push('The database holds personal data (pii) and the whole of it is requested.');
  }
  return { level: levelFor(points), reasons, analyzer: 'heuristic' };
}

function levelFor(points: number): RiskLevel {
  if (points >= 7) return 'critical';
  if (points >= 4) return 'high';
  if (points >= 2) return 'medium';
  return 'low';
}

export const heuristicAnalyzer: RiskAnalyzer = {
  name: 'heuristic',
  assess: async (input) => assessRisk(input),
};
