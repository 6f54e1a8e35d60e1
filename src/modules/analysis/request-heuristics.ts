import { formatDuration } from '../../lib/time.js';
import { assessRisk } from '../risk/heuristic-analyzer.js';
import { RISK_LEVELS, type RiskLevel } from '../risk/risk-types.js';
import type { RequestAnalysis, RequestFacts, Suggestion } from './analysis-types.js';
import { historyText } from './history.js';

/**
 * The built-in analysis of a request: the heuristic rating and its reasons, the policy conflicts, a
 * narrower request when the reason suggests one, what stands out in the history, and alternatives.
 * Pure and fast; the model's analysis builds on it and is floored by it.
 */
export function analyzeRequestHeuristically(facts: RequestFacts): RequestAnalysis {
  const risk = assessRisk(facts.risk);
  return {
    level: risk.level,
    reasons: risk.reasons,
    conflicts: facts.conflicts,
    suggestion: suggestNarrower(facts),
    unusual: facts.history?.unusual ?? [],
    alternatives: alternatives(facts),
    comparison: facts.history ? historyText(facts.history, facts.databaseId) : undefined,
    analyzer: 'heuristic',
    heuristicLevel: risk.level,
    time: risk.time,
  };
}

const READ_ONLY_INTENT = /\b(check|look(?:ing)?|investigat\w*|read|report\w*|debug\w*|verify\w*|inspect\w*|analy[sz]\w*|count\w*|find|audit\w*|review\w*|confirm\w*|understand\w*|diagnos\w*|troubleshoot\w*|compar\w*|explor\w*|query|queries)\b/i;
const CHANGE_INTENT = /\b(fix\w*|updat\w*|delet\w*|insert\w*|migrat\w*|backfill\w*|correct\w*|repair\w*|chang\w*|modif\w*|writ\w*|patch\w*|clean\w*|remov\w*|restor\w*|import\w*|load\w*|purg\w*|set|reset|refund\w*|cancel\w*)\b/i;
const SCHEMA_CHANGE_INTENT = /\b(ddl|schema change|migration|index|alter|create|drop|grant|vacuum|reindex|partition|extension)\b/i;
const LONG_TASK = /\b(migrat\w*|backfill\w*|batch|overnight|long[- ]running|hours|reindex\w*|bulk)\b/i;
/** `schema.table` names written in the reason; a suggestion scopes to them. */
const DOTTED_NAME = /(?<![\w.@/-])([A-Za-z_][A-Za-z0-9_]{0,62})\.([A-Za-z_][A-Za-z0-9_]{0,62})(?![\w.-]*\.?\w)/g;

/** A narrower request, when the reason shows less is needed; undefined when the request is already tight. */
export function suggestNarrower(facts: RequestFacts): Suggestion | undefined {
  const { risk, allowedLevels } = facts;
  const reason = risk.reason;
  let level = facts.levelName;
  const changes = CHANGE_INTENT.test(reason) || SCHEMA_CHANGE_INTENT.test(reason);
  if (risk.level !== 'read' && READ_ONLY_INTENT.test(reason) && !changes && allowedLevels.includes('read')) level = 'read';
  else if (risk.level === 'admin' && !SCHEMA_CHANGE_INTENT.test(reason) && allowedLevels.includes('write')) level = 'write';

  let scope = facts.scope;
  if (scope.length === 0) {
    const named = [...reason.matchAll(DOTTED_NAME)]
      .map((match) => `${match[1]}.${match[2]}`)
      .filter((name) => !/^\d/.test(name) && !/\.(com|org|net|io|md|sql|csv|json|txt|py|ts|js)$/i.test(name));
    const tagged = Object.keys(facts.tableTags).filter((table) => new RegExp(`\\b${escapeRegExp(table.split('.').pop()!)}\\b`, 'i').test(reason));
    scope = [...new Set([...named, ...tagged])].slice(0, 10);
  }

  let durationSeconds = risk.durationSeconds;
  if (durationSeconds > 2 * 3600 && !LONG_TASK.test(reason)) durationSeconds = 3600;

  const narrower: string[] = [];
  if (level !== facts.levelName) narrower.push(`${level} instead of ${facts.levelName}`);
  if (scope !== facts.scope && scope.length > 0) narrower.push(`on ${scope.join(', ')} instead of the whole database`);
  if (durationSeconds !== risk.durationSeconds) narrower.push(`for ${formatDuration(durationSeconds)} instead of ${formatDuration(risk.durationSeconds)}`);
  if (narrower.length === 0) return undefined;
  return { level, scope: scope === facts.scope ? [] : scope, durationSeconds, text: `${capitalize(narrower.join(', '))}: the reason does not seem to need more.` };
}

function alternatives(facts: RequestFacts): string[] {
  const found: string[] = [];
  const reason = facts.risk.reason;
  if (/\b(report\w*|dashboard\w*|metric\w*|numbers|kpi|stats|statistics|how many)\b/i.test(reason)) {
    found.push('An existing report or dashboard may answer this without database access.');
  }
  if (facts.risk.environment === 'production' && facts.risk.level === 'read') {
    found.push('A read replica or a staging copy, if one exists, keeps the load and the risk off production.');
  }
  if (facts.risk.environment === 'production' && facts.risk.level !== 'read') {
    found.push('A reviewed script or migration run by the deploy pipeline leaves a record and needs no standing write access.');
  }
  if (facts.scope.length === 0) found.push('A narrower grant: name the schemas or tables the task needs.');
  return found.slice(0, 3);
}

/** The model may lower the heuristic rating by one band at most, and never lower a Critical one. */
export function floorLevel(model: RiskLevel, heuristic: RiskLevel): RiskLevel {
  const h = RISK_LEVELS.indexOf(heuristic);
  const floor = heuristic === 'critical' ? h : Math.max(0, h - 1);
  return RISK_LEVELS[Math.max(RISK_LEVELS.indexOf(model), floor)]!;
}

/**
 * How far the model's reading is from the rules', in bands, when a model read it; two or more and the
 * card asks the approver to look at both.
 */
export function bandsApart(analysis: Pick<RequestAnalysis, 'model' | 'heuristicLevel'>): number {
  return analysis.model ? Math.abs(RISK_LEVELS.indexOf(analysis.model.level) - RISK_LEVELS.indexOf(analysis.heuristicLevel)) : 0;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
