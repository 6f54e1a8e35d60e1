import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, hasButton, shown, startHarness, type Harness } from '../support/app-harness.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';

/**
 * On-call auto-approval through signed Slack HTTP against a PagerDuty double: whoever is on call for
 * the rule's schedule (and within its limits, while an incident is open) gets working access without
 * waiting; anyone else, or anything beyond the limits, goes to the approvers; a PagerDuty that fails
 * or does not answer sends the request to the approvers with the reason on the card.
 */
const TOKEN = 'pd-test-key-1';
const HOUR = 3600_000;

describe('on-call auto-approval on Slack with PagerDuty', () => {
  let h: Harness;
  let pd: FakePagerDuty;

  beforeAll(async () => {
    pd = await startFakePagerDuty({ token: TOKEN });
    h = await startHarness({
      queue: 'redis',
      env: { PD_TOKEN: TOKEN },
      slackDirectory: { users: { [PEOPLE.requester]: { email: 'Rita@Acme.test' }, [PEOPLE.mallory]: { email: 'mallory@acme.test' } } },
      policy: `integrations:
  pagerduty: { token: env:PD_TOKEN, apiUrl: "${pd.url}", timeoutSeconds: 1, cacheSeconds: 0 }
policies:
  - name: tests
    approvers: [${PEOPLE.alice}, ${PEOPLE.bob}]
    mfa: never
    autoApprove:
      - name: payments-oncall
        levels: [read, write]
        environments: [production]
        maxDuration: 2h
        maxRisk: critical
        onCall: { provider: pagerduty, schedules: [PSCHED1], maxEscalationLevel: 1, incidentOpen: true, services: [PSVC1] }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await pd?.close();
  });

  beforeEach(() => {
    const now = Date.now();
    pd.fault = undefined;
    pd.users = [{ id: 'PRITA', name: 'Rita Requester', email: 'rita@acme.test' }, { id: 'PMAL', name: 'Mallory', email: 'mallory@acme.test' }];
    pd.oncalls = [
      { userId: 'PRITA', schedule: { id: 'PSCHED1', name: 'Payments primary' }, policy: { id: 'PEP1', name: 'Payments' }, level: 1, start: new Date(now - HOUR), end: new Date(now + 5 * HOUR) },
      { userId: 'PMAL', schedule: { id: 'POTHER', name: 'Search primary' }, policy: { id: 'PEP2', name: 'Search' }, level: 1, start: new Date(now - HOUR), end: new Date(now + 5 * HOUR) },
    ];
    pd.incidents = [{ id: 'Q1', number: 4312, title: 'Payouts failing', status: 'triggered', serviceId: 'PSVC1' }];
  });

  const cardOf = async (user: string, values: Parameters<Harness['submitRequest']>[1] = {}) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const answer = await h.submitRequest(user, values);
    expect(answer.status).toBe(200);
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    const card = await h.waitForCard((m) => !before.has(m.ts));
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    return { card, requestId };
  };
  /** The card once it says what it is waiting for (or what approved it). */
  const settled = (requestId: string, pattern: RegExp) =>
    h.waitForMessage(APPROVERS_CHANNEL, (m) => !m.threadTs && shown(m).includes(requestId) && pattern.test(shown(m)));

  const auditOf = async (requestId: string) => {
    const client = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query("SET dbaccess.tenant_id = '*'");
      return (await client.query<{ action: string; outcome: string; details: Record<string, unknown> }>('SELECT action, outcome, details FROM audit_events WHERE subject = $1 ORDER BY seq', [`request:${requestId}`])).rows;
    } finally {
      await client.end();
    }
  };

  it('approves the on-call engineer at once, shows the evidence, delivers working credentials, and audits what PagerDuty said', async () => {
    const calls = pd.calls.length;
    const { requestId } = await cardOf(PEOPLE.requester, { level: 'write', duration: '1h' });
    const card = await settled(requestId, /Auto-approved by rule payments-oncall/);
    expect(shown(card)).toMatch(/on call for Payments primary \(level 1\) until (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC; incident #4312 open \(PagerDuty\)/);
    expect(hasButton(card, 'dbaccess.approve')).toBe(false);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(m.text ?? ''));
    expect(dm).toBeTruthy();

    // PagerDuty was asked as its API documents, with the key as a token and API version 2.
    const asked = pd.calls.slice(calls);
    expect(asked.map((call) => call.path).sort()).toEqual(['/incidents', '/oncalls', '/users']);
    for (const call of asked) {
      expect(call.authorization).toBe(`Token token=${TOKEN}`);
      expect(call.accept).toBe('application/vnd.pagerduty+json;version=2');
    }
    const oncalls = asked.find((call) => call.path === '/oncalls')!;
    expect(oncalls.query.getAll('user_ids[]')).toEqual(['PRITA']);
    expect(oncalls.query.getAll('schedule_ids[]')).toEqual(['PSCHED1']);
    expect(asked.find((call) => call.path === '/incidents')!.query.getAll('statuses[]')).toEqual(['triggered', 'acknowledged']);

    const audit = await auditOf(requestId);
    const checked = audit.find((event) => event.action === 'request.on_call_checked')!;
    expect(checked.outcome).toBe('success');
    expect(JSON.stringify(checked.details)).toContain('Payments primary');
    expect(JSON.stringify(checked.details)).not.toContain(TOKEN);
    expect(audit.find((event) => event.action === 'request.auto_approved')!.details.onCall).toMatch(/on call for Payments primary/);
  });

  it('sends someone who is not on call for the schedule to the approvers', async () => {
    const { requestId } = await cardOf(PEOPLE.mallory);
    const card = await settled(requestId, /Waiting for an approver/);
    expect(hasButton(card, 'dbaccess.approve')).toBe(true);
    expect(shown(card)).not.toMatch(/Auto-approved|On-call not checked/);
    expect((await auditOf(requestId)).find((event) => event.action === 'request.on_call_checked')!.details).toMatchObject({ answers: [{ provider: 'PagerDuty', onCall: false }] });
  });

  it('keeps to the rule\'s limits: level, duration, escalation level, open incident', async () => {
    // Beyond the rule's level or duration: PagerDuty is not even asked.
    const calls = pd.calls.length;
    for (const values of [{ level: 'admin' }, { duration: '3h' }]) {
      const { requestId } = await cardOf(PEOPLE.requester, values);
      expect(hasButton(await settled(requestId, /Waiting for an approver/), 'dbaccess.approve')).toBe(true);
    }
    expect(pd.calls.length).toBe(calls);

    // On call, but only as the second level.
    pd.oncalls[0]!.level = 2;
    const second = await cardOf(PEOPLE.requester);
    expect(hasButton(await settled(second.requestId, /Waiting for an approver/), 'dbaccess.approve')).toBe(true);
    pd.oncalls[0]!.level = 1;

    // No incident open on the rule's service (one on another service does not count).
    pd.incidents = [{ id: 'Q2', number: 4313, title: 'Search slow', status: 'acknowledged', serviceId: 'POTHERSVC' }];
    const quiet = await cardOf(PEOPLE.requester);
    expect(hasButton(await settled(quiet.requestId, /Waiting for an approver/), 'dbaccess.approve')).toBe(true);
  });

  it('falls back to the approvers, and says why on the card, when PagerDuty fails, resets or does not answer', async () => {
    const cases: Array<[FakePagerDuty['fault'], RegExp]> = [
      [{ kind: 'status', status: 500 }, /On-call not checked: PagerDuty answered HTTP 500\. An approver decides\./],
      [{ kind: 'reset' }, /On-call not checked: PagerDuty could not be reached\./],
      [{ kind: 'hang' }, /On-call not checked: PagerDuty did not answer within 1 s\./],
    ];
    for (const [fault, notice] of cases) {
      pd.fault = fault;
      const { requestId } = await cardOf(PEOPLE.requester);
      const card = await settled(requestId, notice);
      expect(hasButton(card, 'dbaccess.approve')).toBe(true);
      expect((await auditOf(requestId)).find((event) => event.action === 'request.on_call_checked')!.outcome).toBe('failure');
      pd.release();
    }
  });
});
