/**
 * Insights: anomalies scored against the tenant's own history, and policy recommendations drawn from
 * the same history. Computed from dbaccess's own tables, never by a model.
 */

/** How wide a request's scope is, narrowest first: named tables, whole schemas, the whole database. */
export const SCOPE_WIDTHS = ['tables', 'schemas', 'whole'] as const;
export type ScopeWidth = (typeof SCOPE_WIDTHS)[number];

/** One past request, as the baselines need it. */
export interface PastRequest {
  requesterId: string;
  level: string;
  durationSeconds: number;
  createdAt: Date;
  /** approved | denied | other (expired unanswered, cancelled, pending). */
  outcome: 'approved' | 'denied' | 'other';
  /** How wide the scope was; undefined when not known. */
  scopeWidth?: ScopeWidth | undefined;
}

export type AnomalyFeature = 'level' | 'duration' | 'hour' | 'frequency' | 'scope' | 'statements' | 'rows' | 'tables' | 'writes';

/** One deviation from a baseline, on the common scale where ANOMALY_THRESHOLD (3.5) marks an anomaly. */
export interface Anomaly {
  feature: AnomalyFeature;
  /** Whose baseline it deviates from: the person's on this database, or everyone's on it. */
  baseline: 'person' | 'database';
  score: number;
  /** One line, without the score; `withScore` adds it. */
  text: string;
}

export interface Scored {
  /** Highest score first. */
  anomalies: Anomaly[];
  /** What could not be scored for want of history (cold start), in words; empty when everything could. */
  notes: string[];
}

/** A finished session as the analysis hands it over for comparison with past sessions. */
export interface SessionObservation {
  requestId: string;
  requesterId: string;
  databaseId: string;
  at: Date;
  statements: number;
  objects: string[];
  /** Statements per kind (`select`, `insert`, `ddl`...), as the session rules counted them. */
  byKind: Partial<Record<string, number>>;
}

/** One recorded session, as the baselines need it. */
export interface SessionPoint {
  requesterId: string;
  at: Date;
  statements: number;
  /** Objects touched, `schema.name` as the session rules label them. */
  objects: string[];
  /** INSERT/UPDATE/DELETE/MERGE/TRUNCATE statements; undefined when not known. */
  dml?: number | undefined;
  /** DDL and privilege statements (CREATE, ALTER, DROP, GRANT...); undefined when not known. */
  ddl?: number | undefined;
}

export interface Recommendation {
  kind: 'auto-approve' | 'narrower-level' | 'rubber-stamp';
  text: string;
  /** The numbers behind it. */
  evidence: string;
}

export interface InsightsPeriod {
  from: Date;
  to: Date;
}

/** What the report builder takes (`insights?` of the report service): exactly this shape. */
export interface Insights {
  anomalies: Array<{ subject: string; text: string; score: number }>;
  recommendations: Array<{ text: string; evidence: string }>;
}

export type InsightsFn = (tenantId: string, period: InsightsPeriod) => Promise<Insights>;

/** An anomaly found in a period, with what it is about. */
export interface PeriodAnomaly {
  kind: 'request' | 'session';
  requestId: string;
  personExternalId: string;
  databaseId: string;
  at: Date;
  feature: AnomalyFeature;
  score: number;
  text: string;
}

/** Everything `/dbaccess insights` shows. */
export interface InsightsOverview {
  period: InsightsPeriod;
  anomalies: PeriodAnomaly[];
  recommendations: Recommendation[];
  /** Databases without a baseline yet, and other things not scored. */
  notes: string[];
  /** How much history the period was scored against. */
  requestsScored: number;
  sessionsScored: number;
}
