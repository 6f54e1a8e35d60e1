import type { RequestTime, RiskInput, RiskLevel } from '../risk/risk-types.js';
import type { Anomaly } from '../insights/insights-types.js';
import type { StatementKind } from './sql-statements.js';
import type { SessionFlag } from './session-rules.js';

/**
 * The analyses dbaccess makes at three moments: a draft before submission, a request for its
 * approvers, a finished session. The built-in heuristics always run; the model, when configured,
 * explains and may sharpen them, never lower a Critical rating nor drop a flag (see analysis-service).
 */

/** A narrower request to use instead, applied to the form by "Use suggestion". */
export interface Suggestion {
  level: string;
  /** Scope in the form's grammar (`schema`, `schema.table`, `schema.table(col, ...)`); empty = unchanged. */
  scope: string[];
  durationSeconds: number;
  /** One sentence: what and why, e.g. "read on sales.orders instead of write on the whole database". */
  text: string;
}

/** How this request compares with the tenant's own history, computed from our database, never by the model. */
export interface History {
  /** This person's past requests for this database. */
  person: HistoryStats;
  /** Everyone's past requests for this database in this tenant (the team). */
  team: HistoryStats;
  /** Facts that stand out against those baselines; empty when nothing does or there is no baseline. */
  unusual: string[];
  /** The scored anomalies behind `unusual` (absent in analyses stored before scoring existed). */
  anomalies?: Anomaly[] | undefined;
  /** What could not be scored for want of history (cold start), in words. */
  baseline?: string[] | undefined;
}

export interface HistoryStats {
  requests: number;
  /** Counts per level name. */
  levels: Record<string, number>;
  medianDurationSeconds: number | null;
  approved: number;
  denied: number;
  /** Hours (UTC, 0-23) between which the middle 80% of requests were made, or null without history. */
  usualHours: { from: number; to: number } | null;
  lastAt: string | null;
}

export interface RequestFacts {
  risk: RiskInput;
  databaseId: string;
  /** The level's name as requested (may be custom); risk.level is the built-in level it counts as. */
  levelName: string;
  scope: string[];
  maxDurationSeconds: number;
  /** Levels this database allows, so a suggestion never names one it does not. */
  allowedLevels: string[];
  tableTags: Record<string, string[]>;
  /** Policy conflicts found by the policy evaluator and the catalog's limits. */
  conflicts: string[];
  history?: History | undefined;
  /** How the session would be recorded, in words. */
  recording: string;
}

export interface RequestAnalysis {
  /** The rating shown: the rules', or the model's within one band below it (never below a Critical). */
  level: RiskLevel;
  /** The built-in rules' reasons, with their evidence; always shown, whatever the model says. */
  reasons: string[];
  conflicts: string[];
  suggestion?: Suggestion | undefined;
  unusual: string[];
  alternatives: string[];
  /** One line comparing with the history ("No history yet" when there is none). */
  comparison?: string | undefined;
  /** Who produced the text: the model's name or `heuristic`. */
  analyzer: string;
  /** Why the heuristics were used although a model is configured (timeout, error, refusal, invalid output). */
  fallback?: string | undefined;
  /** The heuristic rating, kept beside the model's for the card and the floor. */
  heuristicLevel: RiskLevel;
  /** What the model said, when the floor overruled it. */
  modelLevel?: RiskLevel | undefined;
  /** The model's own reading, shown beside the rules' (absent without a model, and on analyses stored before it was kept). */
  model?: ModelReading | undefined;
  /** When it was asked against the team's usual hours. */
  time?: RequestTime | undefined;
}

export interface ModelReading {
  /** The model's name. */
  analyzer: string;
  level: RiskLevel;
  reasons: string[];
}

export interface SessionContext {
  requestId: string;
  databaseId: string;
  levelName: string;
  level: RiskInput['level'];
  scope: string[];
  reason: string;
  environment: RiskInput['environment'];
  tags: string[];
  tableTags: Record<string, string[]>;
  recording: string;
  statements: Array<{ at: Date; statement: string; error?: string | undefined }>;
  truncated: boolean;
  activeFrom: Date;
  activeUntil: Date;
}

export interface SessionAnalysis {
  /** For engineers: what was run, on what, in a few sentences. */
  technical: string;
  /** For a non-technical manager: what this person did and whether it matched the reason. */
  plain: string;
  flags: SessionFlag[];
  /** Whether anyone should look at this session. */
  review: boolean;
  counts: { statements: number; denied: number; objects: string[]; byKind?: Partial<Record<StatementKind, number>> | undefined };
  /** What stands out against this person's and the database's past sessions, each line with its score. */
  unusual?: string[] | undefined;
  /** What could not be compared (no baseline yet, rows not captured), in words. */
  baseline?: string[] | undefined;
  analyzer: string;
  fallback?: string | undefined;
}

/** What one model call cost. */
export interface ModelUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costMicroUsd: number;
  latencyMs: number;
}

export interface Analyzed<T> {
  result: T;
  usage?: ModelUsage | undefined;
}
