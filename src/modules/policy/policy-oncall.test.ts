import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../config/catalog.js';
import { onCallKey, type OnCallRule } from '../../config/oncall-schema.js';
import { plainText } from '../../lib/rich-text.js';
import { evaluateRequest, explainPolicy, personOf, type OnCallFacts, type RequestContext } from './policy-evaluator.js';

const catalog = (onCall: string, extra = '') => `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
integrations:
  pagerduty: { token: env:PD_TOKEN }
policies:
  - name: prod
    approvers: [U0ALICE, U0BOB]
    mfa: never
    autoApprove:
      - name: oncall
        levels: [read, write]
        environments: [production]
        maxDuration: 2h
        maxRisk: critical
        onCall: ${onCall}
${extra}databases:
  - { id: orders, engine: postgres, host: h, port: 5432, database: orders, environment: production, admin: env:A }
  - { id: reports, engine: postgres, host: h, port: 5432, database: reports, environment: staging, admin: env:B }
`;
const RULE = '{ provider: pagerduty, schedules: [PSCHED1], maxEscalationLevel: 1, incidentOpen: true }';
const NOW = new Date('2026-12-07T03:12:00Z');

describe('on-call rules', () => {
  it('are validated with the line and column of the mistake', () => {
    expect(() => parseCatalog(catalog('{ provider: opsgenie, schedules: [P1] }'), 'dbaccess.yaml')).toThrow(/dbaccess\.yaml:15:\d+: policies\.0\.autoApprove\.0\.onCall\.provider: must be pagerduty or incidentio/);
    expect(() => parseCatalog(catalog('{ provider: pagerduty }'), 'dbaccess.yaml')).toThrow(/dbaccess\.yaml:15:\d+: policies\.0\.autoApprove\.0\.onCall.*name the schedules/);
    expect(() => parseCatalog(catalog('{ provider: incidentio, schedules: [01S] }'), 'dbaccess.yaml')).toThrow(/dbaccess\.yaml:15:\d+: policies\.0\.autoApprove\.0\.onCall\.provider: incidentio is not configured: add integrations\.incidentio/);
    expect(() => parseCatalog(catalog(RULE).replace('env:PD_TOKEN', 'u+SECRETKEY'), 'dbaccess.yaml')).toThrow(/dbaccess\.yaml:4:\d+: integrations\.pagerduty\.token: must be a reference/);
  });

  const view = parseCatalog(catalog(RULE));
  const rule = view.catalog.policies[0]!.autoApprove[0]!.onCall as OnCallRule;
  const facts = (over: Partial<Extract<OnCallFacts, { reachable: true }>> = {}): OnCallFacts => ({
    provider: 'pagerduty', reachable: true, email: 'rita@acme.test', known: true, checkedAt: NOW,
    shifts: [{ name: 'Payments primary', scheduleId: 'PSCHED1', escalationLevel: 1, until: new Date('2026-12-07T09:00:00Z') }],
    incidents: [{ label: '#4312', title: 'Payouts failing' }], ...over,
  });
  const ctx = (over: Partial<RequestContext> = {}, answer: OnCallFacts | null = facts()): RequestContext => ({
    requester: { ...personOf('U0RITA'), email: 'rita@acme.test' }, database: view.database('orders')!, level: 'read', durationSeconds: 3600, scope: [],
    reason: 'Payouts are failing, look at the stuck rows', risk: 'high', now: NOW, activeLeases: [], ...(answer ? { onCall: { [onCallKey(rule)]: answer } } : {}), ...over,
  });

  it('approves whoever is on call within the limits, with the evidence', () => {
    const decision = evaluateRequest(ctx(), view.policy);
    expect(decision.outcome).toBe('auto-approve');
    expect(plainText(decision.rules.find((r) => r.rule === 'on-call')!.explanation)).toBe('on call for Payments primary (level 1) until 09:00 UTC; incident #4312 open (PagerDuty)');
  });

  it.each([
    ['a level beyond the rule', { level: 'admin' }, facts(), /only for read or write, not admin/],
    ['another environment', { database: view.database('reports')! }, facts(), /only on production, not staging/],
    ['a longer duration', { durationSeconds: 3 * 3600 }, facts(), /3h is longer than 2h/],
    ['the second escalation level', {}, facts({ shifts: [{ name: 'Payments primary', escalationLevel: 2 }] }), /escalation level 2, above 1/],
    ['no open incident', {}, facts({ incidents: [] }), /no incident is open/],
    ['someone not on call', {}, facts({ shifts: [] }), /not on call for schedule PSCHED1/],
    ['someone PagerDuty does not know', {}, facts({ known: false, shifts: [] }), /no user with the email rita@acme\.test/],
    ['a person without an email', {}, facts({ email: undefined, known: false, shifts: [] }), /your email is not known/],
    ['before the check (the form)', {}, null, /checked once the request is taken/],
  ])('sends %s to the approvers, saying why', (_what, over, answer, why) => {
    const decision = evaluateRequest(ctx(over, answer), view.policy);
    expect(decision.outcome).toBe('needs-approval');
    expect(plainText(decision.rules.find((r) => r.rule === 'auto-approve:oncall')!.explanation)).toMatch(why);
    expect(decision.rules.some((r) => r.rule === 'on-call-unknown')).toBe(false);
  });

  it('says on the card why approvers are asked when the provider could not be, and only when it would have mattered', () => {
    const down: OnCallFacts = { provider: 'pagerduty', reachable: false, problem: 'did not answer within 3 s', checkedAt: NOW };
    const decision = evaluateRequest(ctx({}, down), view.policy);
    expect(decision.outcome).toBe('needs-approval');
    expect(plainText(decision.rules.find((r) => r.rule === 'on-call-unknown')!.explanation)).toBe('On-call not checked: PagerDuty did not answer within 3 s. An approver decides.');
    expect(evaluateRequest(ctx({ level: 'admin' }, down), view.policy).rules.some((r) => r.rule === 'on-call-unknown')).toBe(false);
  });

  it('never auto-approves a request beyond a limit, whatever the provider says (property)', () => {
    fc.assert(fc.property(
      fc.constantFrom('read', 'write', 'admin'), fc.integer({ min: 60, max: 4 * 3600 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean(), fc.constantFrom('orders', 'reports'),
      (level, seconds, escalation, incident, onCall, database) => {
        const answer = facts({ shifts: onCall ? [{ name: 'Payments primary', escalationLevel: escalation }] : [], incidents: incident ? [{ label: '#1', title: 't' }] : [] });
        const decision = evaluateRequest(ctx({ level, durationSeconds: seconds, database: view.database(database)! }, answer), view.policy);
        const within = level !== 'admin' && seconds <= 7200 && escalation <= 1 && incident && onCall && database === 'orders';
        expect(decision.outcome === 'auto-approve').toBe(within);
      },
    ));
  });

  it('is explained in plain words by /dbaccess policy', () => {
    const lines = explainPolicy(view.database('orders')!, undefined, view.policy).map((line) => plainText(line));
    expect(lines.join('\n')).toContain('for whoever is on call for schedule PSCHED1 (PagerDuty, checked live), escalation level 1 at most, only while an incident is open ("oncall")');
  });
});
