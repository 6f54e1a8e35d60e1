import type { BuiltInLevel } from '../../config/catalog.js';
import type { RiskLevel } from '../../config/policy-schema.js';
import type { TimeWindow } from '../../lib/time-window.js';

/** Risk levels are catalog words (policies name them), so config defines them. */
export { RISK_LEVELS, type RiskLevel } from '../../config/policy-schema.js';

export interface RiskInput {
  environment: 'production' | 'staging' | 'development';
  /** How the level counts: a custom level counts as the built-in level it resembles. */
  level: BuiltInLevel;
  /** Number of scope items; 0 means the whole database. */
  scopeSize: number;
  /** The scope items as the form writes them (`schema`, `schema.table`, `schema.table(cols)`), when known. */
  scope?: string[] | undefined;
  tableScoped: boolean;
  durationSeconds: number;
  reason: string;
  ticket?: string | undefined;
  tags: string[];
  /** Tags of the database's tables, `schema.table` -> tags, when the catalog has them. */
  tableTags?: Record<string, string[]> | undefined;
  requestedAt: Date;
  /** The team's usual hours: the catalog's business-hours window and time zone (Mon-Fri 09-18 UTC when absent). */
  usualHours?: UsualHours | undefined;
}

export interface UsualHours {
  /** The window's name in the catalog, for the explanation: `business-hours`. */
  name: string;
  window: TimeWindow;
  /** The catalog's time zone, used when the window names none. */
  timeZone: string;
}

export interface RiskAssessment {
  level: RiskLevel;
  /** Most important first: what the reason says it is for (with its words), then what aggravates, then the shape. */
  reasons: string[];
  analyzer: string;
  /** When it was asked against the team's usual hours, and whether that counted. */
  time?: RequestTime | undefined;
}

/** The seam the AI analysis implements; the heuristic is always there as the floor. */
export interface RiskAnalyzer {
  readonly name: string;
  assess(input: RiskInput): Promise<RiskAssessment>;
}

/**
 * When a request was made, against the team's usual hours (risk/usual-hours.ts). Kept with the rating
 * so the form and the card can say it in words.
 */
export interface RequestTime {
  /** `Tue 03:12` in the catalog's time zone. */
  local: string;
  timeZone: string;
  /** `03:12` UTC. */
  utc: string;
  outside: boolean;
  /** The window's name and what it is: `business-hours`, `Mon-Fri 09:00-18:00`. */
  windowName: string;
  window: string;
  /** Whether the hour moved the rating, and why not when it did not. */
  counted: boolean;
  notCounted?: string | undefined;
}
