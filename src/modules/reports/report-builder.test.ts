import { describe, expect, it } from 'vitest';
import { buildReport } from './report-builder.js';
import { csvCell, renderCsv } from './report-csv.js';
import { renderHtml } from './report-html.js';
import { parsePeriod } from './report-period.js';
import type { LeaseFact, RequestFact } from './report-types.js';

const NOW = new Date('2026-12-05T12:00:00Z');
const at = (text: string) => new Date(`2026-${text}Z`);
let counter = 0;

function request(overrides: Partial<RequestFact> = {}): RequestFact {
  counter += 1;
  return {
    id: `R${String(counter).padStart(9, '0')}`, kind: 'access', extendsRequestId: null, databaseId: 'orders', environment: 'production', level: 'read', scope: [],
    reason: 'Investigate OPS-1', ticket: null, state: 'revoked', risk: 'low', createdAt: at('11-10T09:00:00'), decidedAt: at('11-10T09:05:00'),
    pendingUntil: at('11-10T10:00:00'), failure: null, policyName: 'default', quorum: 1, mfaRequired: false, breakGlass: false, autoApprovedBy: null,
    reviewedAt: null, reviewedBy: null, requester: 'U0REQ', requesterName: 'req', decisions: [{ who: 'U0ALICE', decision: 'approve', at: at('11-10T09:05:00'), reason: null, mfa: false }],
    lease: lease(),
    ...overrides,
  };
}
function lease(overrides: Partial<LeaseFact> = {}): LeaseFact {
  return {
    id: 'l', username: 'dba_x', provisionedAt: at('11-10T09:06:00'), expiresAt: at('11-10T10:06:00'), revokedAt: at('11-10T10:06:00'), endReason: 'expired', endedBy: null,
    revokeAttempts: 0, lastError: null, capturedCount: 0, extensions: 0, sessionReview: false, flags: [], ...overrides,
  };
}

describe('buildReport', () => {
  const period = parsePeriod('2026-11', NOW);
  const requests: RequestFact[] = [
    request(), // 1h, expired, approved by alice
    request({ requester: 'U0BOB', level: 'write', risk: 'high', mfaRequired: true, decisions: [{ who: 'U0ALICE', decision: 'approve', at: at('11-12T09:00:00'), reason: null, mfa: true }, { who: 'U0CAROL', decision: 'approve', at: at('11-12T09:01:00'), reason: null, mfa: true }], lease: lease({ provisionedAt: at('11-12T09:02:00'), revokedAt: at('11-12T09:32:00'), endReason: 'ended', extensions: 1 }) }),
    request({ breakGlass: true, autoApprovedBy: 'break-glass', decisions: [], risk: 'critical', lease: lease({ provisionedAt: at('11-20T03:00:00'), revokedAt: at('11-20T05:00:00'), endReason: 'revoked', endedBy: 'U0ALICE', sessionReview: true, flags: [{ severity: 'critical', message: 'Read pg_authid.' }, { severity: 'info', message: 'fine' }] }) }),
    request({ autoApprovedBy: 'staging-reads', databaseId: 'stage', environment: 'staging', decisions: [], lease: lease({ provisionedAt: at('11-21T09:00:00'), revokedAt: at('11-21T09:20:00'), revokeAttempts: 3, lastError: 'connection refused' }) }),
    // Started in October, ended in November: 12 of its 48 hours are in the period.
    request({ createdAt: new Date('2026-10-30T12:00:00Z'), lease: lease({ provisionedAt: new Date('2026-10-30T12:00:00Z'), revokedAt: at('11-01T12:00:00') }) }),
    // Still active past the period, with its revocation failing.
    request({ state: 'revoke_failed', createdAt: at('11-30T22:00:00'), lease: lease({ provisionedAt: at('11-30T22:00:00'), expiresAt: at('11-30T23:00:00'), revokedAt: null, endReason: null, revokeAttempts: 5, lastError: 'timeout' }) }),
    request({ state: 'denied', lease: null, decisions: [{ who: 'U0ALICE', decision: 'deny', at: at('11-15T10:00:00'), reason: 'Use the replica.', mfa: false }], createdAt: at('11-15T09:00:00'), decidedAt: at('11-15T10:00:00') }),
    request({ state: 'expired', lease: null, decisions: [], createdAt: at('11-16T09:00:00'), decidedAt: null, pendingUntil: at('11-16T10:00:00') }),
    request({ state: 'cancelled', lease: null, decisions: [], failure: 'Production admin only in business hours.', createdAt: at('11-17T09:00:00') }),
    request({ requester: 'U0SELF', decisions: [{ who: 'U0SELF', decision: 'approve', at: at('11-18T09:00:00'), reason: null, mfa: false }], lease: lease({ provisionedAt: at('11-18T09:00:00'), revokedAt: at('11-18T09:10:00') }) }),
  ];
  const report = buildReport({ tenantId: 't', period, filters: {}, requests, audit: { eventsInPeriod: 42, byAction: [], chain: { ok: true, events: 420 } }, now: NOW });

  it('counts accesses, people, refusals and hours from the facts', () => {
    expect(report.totals).toMatchObject({
      requests: 9, grants: 7, refused: 3, denied: 1, expiredUnanswered: 1, people: 3, databases: 2, autoApproved: 1, breakGlass: 1, breakGlassUnreviewed: 1,
      flaggedSessions: 1, revocationFailures: 2, revocationFailuresOpen: 1, selfApprovals: 1, mfaRequired: 1, mfaUsed: 1, privilegedGrants: 1,
    });
    // 1h + 0.5h + 2h + 20m + 12h + 2h (to the end of the period) + 10m = 18h = 18.0
    expect(report.totals.accessHours).toBe(18);
    // The failing revocation still holds a user: 110 h from Nov 30 22:00 to the report time.
    expect(report.totals.longestDurationSeconds).toBe(110 * 3600);
  });

  it('says who approved, how it ended and how long it lasted', () => {
    const [first, second, glass, auto] = report.grants;
    expect(first).toMatchObject({ approvedBy: ['@U0ALICE'], durationSeconds: 3600, endedHow: 'expired', mfaUsed: false });
    expect(second).toMatchObject({ approvedBy: ['@U0ALICE', '@U0CAROL'], durationSeconds: 1800, endedHow: 'ended early by the requester', mfaUsed: true, extensions: 1 });
    expect(glass).toMatchObject({ approvedBy: ['break-glass'], endedHow: 'revoked by an approver', endedBy: 'U0ALICE', flagged: true, flags: ['Read pg_authid.'] });
    expect(auto).toMatchObject({ approvedBy: ['rule staging-reads'], revokeAttempts: 3 });
    const failing = report.grants.find((grant) => grant.endedHow === 'revocation failing');
    expect(failing).toMatchObject({ secondsInPeriod: 2 * 3600 });
  });

  it('gives each refusal its reason', () => {
    expect(report.refused.map((item) => [item.outcome, item.by, item.why])).toEqual([
      ['denied', 'U0ALICE', 'Use the replica.'],
      ['expired unanswered', null, 'No approver answered before 2026-11-16 10:00 UTC.'],
      ['refused by policy', null, 'Production admin only in business hours.'],
    ]);
  });

  it('draws per day, per database and per risk', () => {
    expect(report.charts.overTime.unit).toBe('day');
    expect(report.charts.overTime.buckets).toHaveLength(30);
    expect(report.charts.overTime.buckets.reduce((sum, bucket) => sum + bucket.grants, 0)).toBe(7);
    expect(report.charts.overTime.buckets[0]).toMatchObject({ start: '2026-11-01', grants: 1 });
    expect(report.charts.byDatabase).toEqual([
      { databaseId: 'orders', environment: 'production', grants: 6, hours: 17.7, refused: 3 },
      { databaseId: 'stage', environment: 'staging', grants: 1, hours: 0.3, refused: 0 },
    ]);
    expect(report.charts.byRisk.find((row) => row.risk === 'critical')).toEqual({ risk: 'critical', requests: 1, grants: 1 });
  });

  it('maps the evidence to the six controls and says what needs attention', () => {
    expect(report.controls.map((control) => `${control.control}:${control.status}`)).toEqual(['CC6.1:attention', 'CC6.2:attention', 'CC6.3:attention', 'A.5.15:met', 'A.5.18:attention', 'A.8.2:attention']);
    expect(report.controls[2]!.attention).toEqual(['1 request approved by its own requester.', '1 break-glass access not reviewed yet.']);
    expect(report.anomalies).toEqual({ computed: false });
  });

  it('renders insights when given, and "not computed" when not', () => {
    const withInsights = buildReport({ tenantId: 't', period, filters: {}, requests: [], audit: { eventsInPeriod: 0, byAction: [] }, now: NOW, insights: { anomalies: [{ subject: 'U0BOB', text: 'First admin at 3am', score: 0.9 }], recommendations: [] } });
    expect(renderHtml(withInsights)).toContain('First admin at 3am');
    expect(renderHtml(report)).toContain('data-insights="not-computed"');
  });

  it('writes one CSV row per request, safe to open in a spreadsheet', () => {
    const csv = renderCsv(report).trim().split('\r\n');
    expect(csv).toHaveLength(1 + 7 + 3);
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(['x', 'y'])).toBe('x; y');
  });

  it('escapes what people wrote in the HTML page', () => {
    const html = renderHtml(buildReport({ tenantId: 't', period, filters: {}, requests: [request({ reason: '<script>alert(1)</script>' })], audit: { eventsInPeriod: 0, byAction: [] }, now: NOW }));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
