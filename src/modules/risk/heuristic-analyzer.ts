import { reasonProblem } from '../access-requests/reason-quality.js';
import type { RiskAnalyzer, RiskAssessment, RiskInput, RiskLevel } from './risk-types.js';

/** What a level can break depends on where: admin on a development database is not admin on production. */
const LEVEL_POINTS = {
  production: { read: 0, write: 2, admin: 4 },
  staging: { read: 0, write: 1, admin: 2 },
  development: { read: 0, write: 0, admin: 1 },
} as const;
const ENVIRONMENT_POINTS = { production: 2, staging: 1, development: 0 } as const;
const BUSINESS_HOURS_UTC = { from: 7, to: 20 } as const;
/** Instructions to an automated reviewer in a reason: a warning sign, never a reason to rate lower. */
const STEERING_POINTS = 3;

/**
 * Built-in rating: points from environment, level (weighed by environment), scope breadth, duration,
 * time of day, reason quality, personal data, and reasons that try to steer an automated reviewer,
 * with a reason for every point so approvers see why.
 */
export function assessRisk(input: RiskInput): RiskAssessment {
  let points = ENVIRONMENT_POINTS[input.environment] + LEVEL_POINTS[input.environment][input.level];
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
  if (input.tags.includes('pii') && input.environment === 'production') {
    points += 1;
    reasons.push('Personal data (pii) in production.');
  }
  if (input.tags.includes('pii') && input.scopeSize === 0) {
    points += 1;
    reasons.push('The database holds personal data (pii) and the whole of it is requested.');
  }
  if (addressesAnAutomatedReviewer(input.reason)) {
    points += STEERING_POINTS;
    reasons.push('The reason contains instructions aimed at an automated reviewer; that is a warning sign, never a reason to rate lower.');
  }
  return { level: levelFor(points), reasons, analyzer: 'heuristic' };
}

/**
 * Text that tries to steer an AI reviewer rather than explain a need: "ignore previous instructions",
 * role markers (`SYSTEM:`, `<instructions>`), notes addressed to an AI, dictated ratings ("risk=low",
 * "respond with level: low"), claims of being pre-approved. Used on reasons and on captured SQL;
 * it only ever raises a rating or adds a flag.
 */
export function addressesAnAutomatedReviewer(text: string): boolean {
  return STEERING_PATTERNS.some((pattern) => pattern.test(text));
}

const AI = String.raw`(?:ai|llm|claude|gpt|chatgpt|chatbot|language model|assistant|model|bot)`;
const STEERING_PATTERNS: RegExp[] = [
  /\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|system)\b[^.\n]{0,20}\b(?:instructions?|prompts?|rules|guidelines|directions|context)\b/i,
  /\byou(?: are|'re)\s+now\b/i,
  /\b(?:you are|you're|act as|acting as|as)\s+(?:an?\s+|the\s+)?(?:ai|llm|claude|gpt|chatgpt|chatbot|language model)\b/i,
  new RegExp(String.raw`\b(?:note|message|instructions?|hint|reminder|memo)\s+(?:to|for)\s+(?:the\s+|any\s+|an?\s+)?(?:automated\s+|ai\s+)?${AI}\b`, 'i'),
  /(?:^|\n)\s*(?:--|#|\/\*+|\*)?\s*(?:system|assistant|developer)\s*:/i,
  /\[\s*\/?\s*(?:system|inst|instructions?)\s*\]/i,
  /<\s*\/?\s*(?:system|instructions?|prompt|assistant|user|reason|context|developer)\b[^>]{0,40}>/i,
  /\b(?:risk|rating|level|severity|band)\s*(?:=|:|should be|must be)\s*["'`]?(?:low|none|minimal|safe|0)\b/i,
  /\b(?:respond|reply|answer|output|return)\s+(?:only\s+)?(?:with|a|an|the)\b[^.\n]{0,30}\b(?:low|safe|approved?|benign)\b/i,
  /\b(?:rate|classify|score|grade)\s+(?:this|the|my|it)\b[^.\n]{0,20}\b(?:as\s+)?(?:low|safe|benign|minimal|harmless)\b/i,
  /\b(?:pre-?approved|auto-?approved?|already been approved|approved in advance)\b/i,
  /\bsay\s+(?:that\s+)?(?:it|this)\s+is\s+(?:safe|fine|low|harmless|benign)\b/i,
  /\bdo\s+not\s+(?:mention|flag|report|reveal|include|raise)\b/i,
];

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
