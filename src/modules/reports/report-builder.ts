import { formatDuration } from '../../lib/time.js';
import type { Period } from './report-period.js';
import type {
  AccessGrant, AuditFacts, ControlEvidence, EndedHow, InsightsResult, RefusedRequest, Report, ReportFilters, RequestFact,
} from './report-types.js';

export interface BuildInput {
  tenantId: string;
  period: Period;
  filters: ReportFilters;
  requests: RequestFact[];
  audit: AuditFacts;
  insights?: InsightsResult | undefined;
  now: Date;
  /** Whether a level is privileged (anything beyond reading); by default every level but `read`. */
  privileged?: (level: string) => boolean;
}

const RISKS = ['low', 'medium', 'high', 'critical'] as const;
const DAY = 86_400_000;

const END_WORDS: Record<string, EndedHow> = { expired: 'expired', ended: 'ended early by the requester', revoked: 'revoked by an approver', 'ticket-closed': 'ended: its ticket was closed' };

const REFUSED: Partial<Record<string, RefusedRequest['outcome']>> = {
  denied: 'denied', expired: 'expired unanswered', cancelled: 'refused by policy', failed: 'failed',
};

const median = (values: number[]) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * The report, from the facts of a period: pure, so that every number can be checked against a
 * seeded history. Rows come from report-repo.ts; renderers only lay them out.
 */
export function buildReport({ tenantId, period, filters, requests, audit, insights, now, privileged = (level) => level !== 'read' }: BuildInput): Report {
  const from = period.from.getTime();
  const to = period.to.getTime();
  const until = Math.min(to, now.getTime());
  const inPeriod = (date: Date) => date.getTime() >= from && date.getTime() < to;

  const grants: AccessGrant[] = [];
  const refused: RefusedRequest[] = [];
  for (const request of requests) {
    const lease = request.lease;
    const started = lease?.provisionedAt ?? null;
    if (lease && started) {
      const endedAt = lease.revokedAt;
      const end = endedAt ? endedAt.getTime() : now.getTime();
      if (started.getTime() < to && end > from) grants.push(grantOf(request, lease, started, endedAt, end));
      continue;
    }
    const outcome = REFUSED[request.state];
    if (outcome && inPeriod(request.createdAt)) refused.push(refusalOf(request, outcome));
  }

  function grantOf(request: RequestFact, lease: NonNullable<RequestFact['lease']>, started: Date, endedAt: Date | null, end: number): AccessGrant {
    const approvals = request.decisions.filter((decision) => decision.decision === 'approve');
    const approvedBy = [
      ...approvals.map((decision) => `@${decision.who}`),
      ...(request.breakGlass ? ['break-glass'] : request.autoApprovedBy && approvals.length === 0 ? [`rule ${request.autoApprovedBy}`] : []),
    ];
    const endedHow: EndedHow = endedAt
      ? END_WORDS[lease.endReason ?? 'expired'] ?? 'expired'
      : lease.revokeAttempts > 0 && lease.expiresAt.getTime() <= now.getTime()
        ? 'revocation failing'
        : 'still active';
    return {
      requestId: request.id, requester: request.requester, requesterName: request.requesterName, databaseId: request.databaseId, environment: request.environment,
      level: request.level, scope: request.scope, reason: request.reason, ticket: request.ticket, risk: request.risk, requestedAt: request.createdAt,
      approvedAt: request.decidedAt, approvedBy, policyName: request.policyName, mfaRequired: request.mfaRequired,
      mfaUsed: approvals.length > 0 && approvals.every((decision) => decision.mfa), breakGlass: request.breakGlass,
      reviewedBy: request.reviewedBy, reviewedAt: request.reviewedAt, startedAt: started, endedAt,
      durationSeconds: Math.max(0, Math.round((end - started.getTime()) / 1000)),
      secondsInPeriod: Math.max(0, Math.round((Math.min(end, until) - Math.max(started.getTime(), from)) / 1000)),
      endedHow, endedBy: lease.endedBy, extensions: lease.extensions, revokeAttempts: lease.revokeAttempts, statementsRecorded: lease.capturedCount,
      flagged: lease.sessionReview === true, flags: lease.flags.filter((flag) => flag.severity !== 'info').map((flag) => flag.message),
    };
  }

  function refusalOf(request: RequestFact, outcome: RefusedRequest['outcome']): RefusedRequest {
    const denial = request.decisions.find((decision) => decision.decision === 'deny');
    const why =
      outcome === 'denied'
        ? denial?.reason ?? 'No reason given.'
        : outcome === 'expired unanswered'
          ? `No approver answered before ${request.pendingUntil.toISOString().slice(0, 16).replace('T', ' ')} UTC.`
          : request.failure ?? 'No reason recorded.';
    return {
      requestId: request.id, requester: request.requester, databaseId: request.databaseId, environment: request.environment, level: request.level,
      at: request.decidedAt ?? request.createdAt, outcome: request.state === 'cancelled' && !request.failure ? 'cancelled' : outcome, by: denial ? denial.who : null, why,
    };
  }

  const submitted = requests.filter((request) => inPeriod(request.createdAt));
  const durations = grants.map((grant) => grant.durationSeconds);
  const breakGlass = grants.filter((grant) => grant.breakGlass);
  const flagged = grants.filter((grant) => grant.flagged);
  const byId = new Map(requests.map((request) => [request.id, request]));
  const revocationFailures = grants
    .filter((grant) => grant.revokeAttempts > 0)
    .map((grant) => {
      const lease = byId.get(grant.requestId)!.lease!;
      return { requestId: grant.requestId, databaseId: grant.databaseId, username: lease.username, attempts: lease.revokeAttempts, lastError: lease.lastError, resolved: lease.revokedAt !== null, endedAt: lease.revokedAt };
    });
  const selfApprovals = requests.filter((request) => request.decisions.some((decision) => decision.decision === 'approve' && decision.who === request.requester)).length;

  const totals: Report['totals'] = {
    requests: submitted.length,
    accessRequests: submitted.filter((request) => request.kind === 'access').length,
    extensionRequests: submitted.filter((request) => request.kind === 'extension').length,
    grants: grants.length,
    autoApproved: grants.filter((grant) => grant.approvedBy.some((by) => by.startsWith('rule '))).length,
    refused: refused.length,
    denied: refused.filter((item) => item.outcome === 'denied').length,
    expiredUnanswered: refused.filter((item) => item.outcome === 'expired unanswered').length,
    people: new Set([...grants.map((grant) => grant.requester), ...submitted.map((request) => request.requester)]).size,
    databases: new Set(grants.map((grant) => grant.databaseId)).size,
    accessHours: Math.round((grants.reduce((sum, grant) => sum + grant.secondsInPeriod, 0) / 3600) * 10) / 10,
    medianDurationSeconds: Math.round(median(durations)),
    longestDurationSeconds: durations.length ? Math.max(...durations) : 0,
    mfaRequired: grants.filter((grant) => grant.mfaRequired).length,
    mfaUsed: grants.filter((grant) => grant.mfaUsed).length,
    breakGlass: breakGlass.length,
    breakGlassUnreviewed: breakGlass.filter((grant) => !grant.reviewedAt).length,
    flaggedSessions: flagged.length,
    revocationFailures: revocationFailures.length,
    revocationFailuresOpen: revocationFailures.filter((failure) => !failure.resolved).length,
    selfApprovals,
    privilegedGrants: grants.filter((grant) => privileged(grant.level)).length,
  };

  return {
    tenantId,
    period: { from: period.from.toISOString(), to: period.to.toISOString(), label: period.label },
    filters,
    generatedAt: now.toISOString(),
    totals,
    grants,
    refused,
    breakGlass,
    flagged,
    revocationFailures,
    charts: {
      overTime: overTime(period, submitted, grants, refused),
      byDatabase: byDatabase(grants, refused),
      byRisk: RISKS.map((risk) => ({ risk, requests: submitted.filter((request) => request.risk === risk).length, grants: grants.filter((grant) => grant.risk === risk).length })),
    },
    audit,
    controls: controls(totals, grants, audit),
    anomalies: insights ? { computed: true, items: insights.anomalies } : { computed: false },
    recommendations: insights ? { computed: true, items: insights.recommendations } : { computed: false },
  };
}

function overTime(period: Period, submitted: RequestFact[], grants: AccessGrant[], refused: RefusedRequest[]): Report['charts']['overTime'] {
  const span = period.to.getTime() - period.from.getTime();
  const unit = span > 2 * 366 * DAY ? 'month' : span > 92 * DAY ? 'week' : 'day';
  const starts: number[] = [];
  for (let at = period.from.getTime(); at < period.to.getTime(); ) {
    starts.push(at);
    if (unit === 'month') {
      const date = new Date(at);
      at = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    } else {
      at += unit === 'week' ? 7 * DAY : DAY;
    }
  }
  const index = (time: number) => {
    // The last start at or before `time` (binary search: thousands of buckets, 100,000 rows).
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= time) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const buckets = starts.map((start) => ({ start: new Date(start).toISOString().slice(0, 10), requests: 0, grants: 0, refused: 0 }));
  const inside = (time: number) => time >= period.from.getTime() && time < period.to.getTime();
  for (const request of submitted) buckets[index(request.createdAt.getTime())]!.requests += 1;
  for (const grant of grants) {
    const time = Math.max(grant.startedAt!.getTime(), period.from.getTime());
    if (inside(time)) buckets[index(time)]!.grants += 1;
  }
  for (const item of refused) if (inside(item.at.getTime())) buckets[index(item.at.getTime())]!.refused += 1;
  return { unit, buckets };
}

function byDatabase(grants: AccessGrant[], refused: RefusedRequest[]): Report['charts']['byDatabase'] {
  const rows = new Map<string, { databaseId: string; environment: string | null; grants: number; hours: number; refused: number }>();
  const row = (databaseId: string, environment: string | null) => {
    let found = rows.get(databaseId);
    if (!found) rows.set(databaseId, (found = { databaseId, environment, grants: 0, hours: 0, refused: 0 }));
    return found;
  };
  for (const grant of grants) {
    const entry = row(grant.databaseId, grant.environment);
    entry.grants += 1;
    entry.hours += grant.secondsInPeriod / 3600;
  }
  for (const item of refused) row(item.databaseId, item.environment).refused += 1;
  return [...rows.values()].map((entry) => ({ ...entry, hours: Math.round(entry.hours * 10) / 10 })).sort((a, b) => b.grants - a.grants || a.databaseId.localeCompare(b.databaseId));
}

/** SOC 2 CC6.1-CC6.3 and ISO/IEC 27001:2022 A.5.15, A.5.18, A.8.2, each with the period's evidence. */
function controls(totals: Report['totals'], grants: AccessGrant[], audit: AuditFacts): ControlEvidence[] {
  const n = (count: number, word: string) => `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
  const timeBound = grants.filter((grant) => grant.endedHow !== 'still active').length;
  const chain = audit.chain
    ? audit.chain.ok
      ? `The audit log's hash chain was verified intact (${audit.chain.events.toLocaleString('en-US')} events) when this report was made.`
      : `The audit log's hash chain is BROKEN at event ${audit.chain.seq}: ${audit.chain.problem}.`
    : 'The audit log is hash-chained and append-only; verify it with /dbaccess audit verify.';
  const chainProblem = audit.chain && !audit.chain.ok ? [`Audit chain broken at event ${audit.chain.seq}.`] : [];
  const open = totals.revocationFailuresOpen > 0 ? [`${n(totals.revocationFailuresOpen, 'revocation')} still failing.`] : [];
  const unreviewed = totals.breakGlassUnreviewed > 0 ? [`${n(totals.breakGlassUnreviewed, 'break-glass access')} not reviewed yet.`] : [];
  const self = totals.selfApprovals > 0 ? [`${n(totals.selfApprovals, 'request')} approved by its own requester.`] : [];
  const flagged = totals.flaggedSessions > 0 ? [`${n(totals.flaggedSessions, 'session')} flagged for review.`] : [];
  const entry = (framework: ControlEvidence['framework'], control: string, title: string, evidence: string[], attention: string[]): ControlEvidence => ({
    framework, control, title, evidence, attention, status: attention.length ? 'attention' : 'met',
  });
  return [
    entry('SOC 2', 'CC6.1', 'Logical access security: access to protected information assets is restricted', [
      'No standing database accounts: every access is a temporary user created for one approved request and dropped at its end.',
      `${n(totals.grants, 'access')} in the period; ${n(timeBound, 'access')} already ended, each with its user dropped; ${n(totals.privilegedGrants, 'privileged access')} (beyond read).`,
      chain,
    ], [...open, ...chainProblem]),
    entry('SOC 2', 'CC6.2', 'Access is authorized before credentials are issued and removed when no longer needed', [
      `${n(totals.requests, 'request')} submitted; ${n(totals.grants - totals.autoApproved - totals.breakGlass, 'access')} approved by named approvers, ${n(totals.autoApproved, 'access')} by an auto-approval rule, ${n(totals.breakGlass, 'break-glass access')}.`,
      `${n(totals.refused, 'request')} not granted (${totals.denied} denied, ${totals.expiredUnanswered} unanswered); reasons are listed under "Requests not granted".`,
      `Credentials end at expiry: median access ${formatDuration(totals.medianDurationSeconds)}, longest ${formatDuration(totals.longestDurationSeconds)}.`,
    ], open),
    entry('SOC 2', 'CC6.3', 'Access is granted by role and least privilege, with segregation of duties', [
      'Each request names a level (read, write, admin or a custom level) and a scope of schemas or tables; the grants are exactly those.',
      `Requesters never approve their own requests: ${n(totals.selfApprovals, 'self-approval')} found.`,
      `MFA step-up: required for ${n(totals.mfaRequired, 'access')}, used by every approver on ${n(totals.mfaUsed, 'access')}.`,
    ], [...self, ...unreviewed]),
    entry('ISO/IEC 27001:2022', 'A.5.15', 'Access control: rules based on business and security requirements', [
      'The rules are the catalog (policy as code): approval policies, quorums, time windows, maximum durations, ticket rules.',
      'Every request records its reason, ticket and the policy decision taken when it was submitted.',
      `${n(totals.refused, 'request')} stopped by the rules or by approvers in the period.`,
    ], []),
    entry('ISO/IEC 27001:2022', 'A.5.18', 'Access rights: provided, reviewed, modified and removed', [
      `${n(totals.grants, 'access right')} provided, each with its approvers, start and end (section "Who had what access").`,
      `Extensions are approved or bounded by the database's maximum: ${n(grants.reduce((sum, grant) => sum + grant.extensions, 0), 'extension')} applied.`,
      `Removal: ${n(grants.filter((grant) => grant.endedHow === 'expired').length, 'access')} expired, ${n(grants.filter((grant) => grant.endedHow === 'ended early by the requester').length, 'access')} ended early, ${n(grants.filter((grant) => grant.endedHow === 'revoked by an approver').length, 'access')} revoked by approvers.`,
    ], open),
    entry('ISO/IEC 27001:2022', 'A.8.2', 'Privileged access rights: restricted and managed', [
      `${n(totals.privilegedGrants, 'privileged access')} (write, admin or custom levels), each approved and time-bound.`,
      `Break-glass: ${n(totals.breakGlass, 'use')}, ${n(totals.breakGlass - totals.breakGlassUnreviewed, 'use')} reviewed by someone other than the requester.`,
      `Session recording and analysis: ${n(totals.flaggedSessions, 'session')} flagged (section "Flagged sessions").`,
    ], [...unreviewed, ...flagged]),
  ];
}
