import type { Period } from './report-period.js';

/** What a report is narrowed to; nothing set means the whole tenant. */
export interface ReportFilters {
  databaseId?: string | undefined;
  /** The requester's chat id (Slack `U…`). */
  person?: string | undefined;
  environment?: 'production' | 'staging' | 'development' | undefined;
}

/** One decision on a request, with whether the approver passed an MFA step-up for it. */
export interface DecisionFact {
  who: string;
  decision: 'approve' | 'deny';
  at: Date;
  reason: string | null;
  mfa: boolean;
}

/** One request of the period as the repo loads it (plain facts; the builder derives the rest). */
export interface RequestFact {
  id: string;
  kind: 'access' | 'extension';
  extendsRequestId: string | null;
  databaseId: string;
  /** From the catalog at report time; null when the database is no longer in it. */
  environment: string | null;
  level: string;
  scope: string[];
  reason: string;
  ticket: string | null;
  state: string;
  risk: string;
  createdAt: Date;
  decidedAt: Date | null;
  pendingUntil: Date;
  failure: string | null;
  policyName: string | null;
  quorum: number;
  mfaRequired: boolean;
  breakGlass: boolean;
  autoApprovedBy: string | null;
  reviewedAt: Date | null;
  reviewedBy: string | null;
  requester: string;
  requesterName: string | null;
  decisions: DecisionFact[];
  lease: LeaseFact | null;
}

export interface LeaseFact {
  id: string;
  username: string;
  provisionedAt: Date | null;
  expiresAt: Date;
  revokedAt: Date | null;
  /** expired | ended | revoked, or null while active. */
  endReason: string | null;
  endedBy: string | null;
  revokeAttempts: number;
  lastError: string | null;
  capturedCount: number;
  extensions: number;
  /** The session analysis: null when none was made (yet). */
  sessionReview: boolean | null;
  flags: Array<{ severity: string; message: string }>;
}

/** The audit log over the period: counts per action and outcome. */
export interface AuditFacts {
  eventsInPeriod: number;
  byAction: Array<{ action: string; outcome: string; count: number }>;
  /** The whole chain's state, when it was verified for this report. */
  chain?: { ok: true; events: number } | { ok: false; seq: number; problem: string } | undefined;
}

export interface InsightsResult {
  anomalies: Array<{ subject: string; text: string; score: number }>;
  recommendations: Array<{ text: string; evidence: string }>;
}

/** The insights module's hook: optional; the report says "not computed" without it. */
export type InsightsProvider = (tenantId: string, period: Period) => Promise<InsightsResult>;

export type EndedHow = 'expired' | 'ended early by the requester' | 'revoked by an approver' | 'ended: its ticket was closed' | 'still active' | 'revocation failing' | 'not provisioned';

/** One access that existed in the period: who, what, who approved, when, how long, how it ended. */
export interface AccessGrant {
  requestId: string;
  requester: string;
  requesterName: string | null;
  databaseId: string;
  environment: string | null;
  level: string;
  scope: string[];
  reason: string;
  ticket: string | null;
  risk: string;
  requestedAt: Date;
  approvedAt: Date | null;
  /** `@U0ALICE`, `rule staging-reads`, or `break-glass`. */
  approvedBy: string[];
  policyName: string | null;
  mfaRequired: boolean;
  /** Every approval was given after an MFA step-up. */
  mfaUsed: boolean;
  breakGlass: boolean;
  reviewedBy: string | null;
  reviewedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  /** Seconds the user existed (start to end, or to the report's time while still active). */
  durationSeconds: number;
  /** Seconds within the period. */
  secondsInPeriod: number;
  endedHow: EndedHow;
  endedBy: string | null;
  extensions: number;
  revokeAttempts: number;
  statementsRecorded: number;
  flagged: boolean;
  flags: string[];
}

export interface RefusedRequest {
  requestId: string;
  requester: string;
  databaseId: string;
  environment: string | null;
  level: string;
  at: Date;
  outcome: 'denied' | 'refused by policy' | 'expired unanswered' | 'cancelled' | 'failed';
  by: string | null;
  why: string;
}

export interface ControlEvidence {
  framework: 'SOC 2' | 'ISO/IEC 27001:2022';
  control: string;
  title: string;
  evidence: string[];
  /** `met` when the evidence shows the control working; `attention` names what an auditor should look at. */
  status: 'met' | 'attention';
  attention: string[];
}

export interface Report {
  tenantId: string;
  period: { from: string; to: string; label: string };
  filters: ReportFilters;
  generatedAt: string;
  totals: {
    requests: number;
    accessRequests: number;
    extensionRequests: number;
    grants: number;
    autoApproved: number;
    refused: number;
    denied: number;
    expiredUnanswered: number;
    people: number;
    databases: number;
    accessHours: number;
    medianDurationSeconds: number;
    longestDurationSeconds: number;
    mfaRequired: number;
    mfaUsed: number;
    breakGlass: number;
    breakGlassUnreviewed: number;
    flaggedSessions: number;
    revocationFailures: number;
    revocationFailuresOpen: number;
    selfApprovals: number;
    privilegedGrants: number;
  };
  grants: AccessGrant[];
  refused: RefusedRequest[];
  breakGlass: AccessGrant[];
  flagged: AccessGrant[];
  revocationFailures: Array<{ requestId: string; databaseId: string; username: string; attempts: number; lastError: string | null; resolved: boolean; endedAt: Date | null }>;
  charts: {
    /** Buckets of a day (a week past 92 days, a month past two years). */
    overTime: { unit: 'day' | 'week' | 'month'; buckets: Array<{ start: string; requests: number; grants: number; refused: number }> };
    byDatabase: Array<{ databaseId: string; environment: string | null; grants: number; hours: number; refused: number }>;
    byRisk: Array<{ risk: string; requests: number; grants: number }>;
  };
  audit: AuditFacts;
  controls: ControlEvidence[];
  anomalies: { computed: false } | { computed: true; items: InsightsResult['anomalies'] };
  recommendations: { computed: false } | { computed: true; items: InsightsResult['recommendations'] };
}
