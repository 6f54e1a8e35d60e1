import { formatDuration } from '../../lib/time.js';
import { readPurpose, type Finding, type IntentFamily } from './intent.js';
import { RISK_LEVELS, type RequestTime, type RiskAnalyzer, type RiskAssessment, type RiskInput, type RiskLevel } from './risk-types.js';
import { steeringWords } from './steering.js';
import { describeRequestTime, requestTime } from './usual-hours.js';

export { addressesAnAutomatedReviewer } from './steering.js';

/**
 * The built-in rating, as eval/RUBRIC.md bands a request: the shape of the grant (environment, level,
 * scope, personal data), facts that aggravate it (a vague purpose, a long duration, an unusual hour,
 * pressure), a floor for what the reason says it is for (exfiltration, destruction, evasion,
 * credentials, bulk personal data), and text aimed at an automated reviewer. Every step that moves the
 * rating gives a reason, quoting the requester's words where they are the evidence.
 */

type Environment = RiskInput['environment'];
const PERSONAL_TAGS = new Set(['pii', 'phi', 'pci', 'personal']);
const LONG_SECONDS = 8 * 3600;
/** Aggravating facts raise the shape by two bands at most. */
const MAX_AGGRAVATION = 2;

/** What each intent makes the rating at least, by environment (eval/RUBRIC.md, step 3). */
const INTENT_FLOORS: Record<Exclude<IntentFamily, 'pressure'>, Record<Environment, RiskLevel | undefined>> = {
  exfiltration: { development: 'medium', staging: 'high', production: 'critical' },
  bulkPersonalData: { development: 'medium', staging: 'medium', production: 'high' },
  destruction: { development: undefined, staging: 'medium', production: 'critical' },
  evasion: { development: 'medium', staging: 'high', production: 'critical' },
  credentials: { development: 'medium', staging: 'high', production: 'critical' },
};

const INTENT_WORDS: Record<IntentFamily, string> = {
  exfiltration: 'data leaving the company',
  bulkPersonalData: 'the personal data of everyone in a set',
  destruction: 'an irreversible change',
  evasion: 'hiding the work or switching off the record',
  credentials: 'reading stored credentials',
  pressure: 'pressure to skip the review',
};

const band = (level: RiskLevel) => RISK_LEVELS.indexOf(level);
const level = (index: number): RiskLevel => RISK_LEVELS[Math.max(0, Math.min(RISK_LEVELS.length - 1, index))]!;
const higher = (a: RiskLevel, b: RiskLevel | undefined) => (b && band(b) > band(a) ? b : a);
const label = (risk: RiskLevel) => risk.charAt(0).toUpperCase() + risk.slice(1);

export function assessRisk(input: RiskInput): RiskAssessment {
  const personal = holdsPersonalData(input);
  const change = input.level !== 'read';
  const production = input.environment === 'production';
  const purpose = readPurpose(input.reason, input.ticket, { change, personalData: personal });
  const intents: string[] = [];
  const factors: string[] = [];

  // 1. The shape.
  const shape = shapeOf(input, personal);
  const shapeReason = `${capitalize(input.environment)}, ${shape.what}: ${label(shape.level)} by itself.`;

  // 2. Aggravating facts.
  let aggravation = 0;
  const aggravate = (reason: string) => {
    aggravation += 1;
    factors.push(reason);
  };
  if (purpose.vague && input.environment !== 'development' && (production || band(shape.level) >= band('medium'))) {
    aggravate(purpose.vague.words ? `The reason says too little to check ("${purpose.vague.words}").` : 'No reason given.');
  }
  if (input.durationSeconds > LONG_SECONDS && input.environment !== 'development') aggravate(`Longer than 8 hours (${formatDuration(input.durationSeconds)}).`);
  const time: RequestTime = { ...requestTime(input), counted: false };
  if (time.outside) {
    time.notCounted = !production ? `${input.environment} only counts hours on production` : purpose.incident ? `an incident is named ("${purpose.incident}")` : purpose.ticket ? `a ticket is named (${purpose.ticket})` : undefined;
    if (!time.notCounted) {
      time.counted = true;
      aggravate(describeRequestTime(time));
    }
  }
  const pressure = purpose.findings.find((finding) => finding.family === 'pressure');
  if (pressure && (production || personal) && !purpose.incident) aggravate(evidence(pressure));
  let rating = level(band(shape.level) + Math.min(aggravation, MAX_AGGRAVATION));

  // Floors: a change on production without a ticket, and what the reason says it is for.
  if (change && production && !purpose.ticket) {
    rating = higher(rating, 'high');
    factors.push('A change on production without a ticket: at least High.');
  }
  for (const finding of purpose.findings) {
    if (finding.family === 'pressure') continue;
    let floor = INTENT_FLOORS[finding.family][input.environment];
    if (finding.family === 'exfiltration' && personal) floor = 'critical';
    if (finding.family === 'destruction' && production && purpose.ticket && (input.tableScoped || purpose.backedUp)) floor = 'high';
    rating = higher(rating, floor);
    intents.push(`${evidence(finding)}${floor ? ` At least ${label(floor)} ${floorWhere(input.environment, finding.family === 'exfiltration' && personal)}.` : ''}`);
  }

  // 4. Text aimed at an automated reviewer.
  const steering = steeringWords(input.reason) ?? (input.ticket ? steeringWords(input.ticket) : undefined);
  if (steering) {
    const floor: RiskLevel = production ? (personal || change ? 'critical' : 'high') : input.environment === 'staging' ? 'high' : 'medium';
    rating = higher(level(band(rating) + 1), floor);
    intents.unshift(`${steeringWords(input.reason) ? 'Reason' : 'Ticket'} says "${steering}": instructions aimed at an automated reviewer, a warning sign and never a reason to rate lower.`);
  }
  return { level: rating, reasons: [...intents, ...factors, shapeReason], analyzer: 'heuristic', time };
}

const evidence = (finding: Finding) => `${finding.source === 'reason' ? 'Reason' : 'Ticket'} says "${finding.words}": ${INTENT_WORDS[finding.family]}.`;
const floorWhere = (environment: Environment, personal: boolean) => (personal ? 'with personal data' : `on ${environment}`);
const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** What the grant could do with an ordinary purpose in office hours (eval/RUBRIC.md, step 1). */
function shapeOf(input: RiskInput, personal: boolean): { level: RiskLevel; what: string } {
  const wide = !input.tableScoped;
  const where = input.scopeSize === 0 ? 'the whole database' : wide ? 'whole schemas' : 'named tables';
  const data = personal ? ' holding personal data' : '';
  const what = `${input.level === 'admin' ? 'admin' : input.level} on ${where}${data}`;
  const table: Record<Environment, RiskLevel> = input.level === 'admin'
    ? { development: 'medium', staging: 'medium', production: 'high' }
    : input.level === 'write'
      ? { development: 'low', staging: wide && personal ? 'medium' : 'low', production: wide ? 'high' : 'medium' }
      : { development: wide && personal ? 'medium' : 'low', staging: wide && personal ? 'medium' : 'low', production: wide ? (personal ? 'high' : 'medium') : personal ? 'medium' : 'low' };
  return { level: table[input.environment], what };
}

/**
 * Personal data is in reach when the database is tagged so, or, where the catalog tags tables, when
 * the scope covers a tagged table (the whole database or its schema covers it too).
 */
export function holdsPersonalData(input: Pick<RiskInput, 'tags' | 'tableTags' | 'scope' | 'scopeSize'>): boolean {
  const tagged = (tags: readonly string[]) => tags.some((tag) => PERSONAL_TAGS.has(tag.toLowerCase()));
  const tableTags = Object.entries(input.tableTags ?? {});
  if (tableTags.length === 0) return tagged(input.tags);
  const personalTables = tableTags.filter(([, tags]) => tagged(tags)).map(([table]) => table.toLowerCase());
  if (personalTables.length === 0) return false;
  if (input.scopeSize === 0 || !input.scope) return true;
  return input.scope.some((item) => {
    const name = item.split('(')[0]!.trim().toLowerCase().replace(/"/g, '');
    return personalTables.some((table) => (name.includes('.') ? table === name : table.startsWith(`${name}.`)));
  });
}

export const heuristicAnalyzer: RiskAnalyzer = {
  name: 'heuristic',
  assess: async (input) => assessRisk(input),
};
