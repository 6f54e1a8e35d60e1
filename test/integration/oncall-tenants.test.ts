import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, hasButton, shown, startHarness, type Harness } from '../support/app-harness.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';

/**
 * Two workspaces in one install, each with its own PagerDuty account (its own double and key): each
 * tenant's on-call rule asks its own account only, through signed Slack HTTP.
 */
const GLOBEX = 'T0GLOBEX';
const GLOBEX_CHANNEL = 'C0GLOBEXAPPR';
const GINA = 'U0GINA';
const GREG = 'U0GREG';
const HOUR = 3600_000;

describe('on-call with two tenants and two PagerDuty accounts', () => {
  let h: Harness;
  let acmePd: FakePagerDuty;
  let globexPd: FakePagerDuty;

  beforeAll(async () => {
    [acmePd, globexPd] = await Promise.all([startFakePagerDuty({ token: 'acme-key' }), startFakePagerDuty({ token: 'globex-key' })]);
    const now = Date.now();
    const shift = (userId: string, name: string) => ({ userId, schedule: { id: 'PSCHED1', name }, policy: { id: 'PEP1', name: 'Ops' }, level: 1, start: new Date(now - HOUR), end: new Date(now + 5 * HOUR) });
    // Greg is on call in acme's PagerDuty only: globex's rule must not see it.
    acmePd.users = [{ id: 'PA1', name: 'Rita', email: 'rita@acme.test' }, { id: 'PA2', name: 'Greg', email: 'greg@globex.test' }];
    acmePd.oncalls = [shift('PA1', 'Acme payments'), shift('PA2', 'Acme payments')];
    globexPd.users = [{ id: 'PG1', name: 'Gina', email: 'gina@globex.test' }, { id: 'PG2', name: 'Greg', email: 'greg@globex.test' }];
    globexPd.oncalls = [shift('PG1', 'Globex ledger')];
    const rule = (name: string) => `{ name: ${name}, levels: [read], maxRisk: critical, onCall: { provider: pagerduty, schedules: [PSCHED1] } }`;
    h = await startHarness({
      queue: 'redis',
      env: { ACME_PD: 'acme-key', GLOBEX_PD: 'globex-key' },
      slackDirectory: { users: { [PEOPLE.requester]: { email: 'rita@acme.test' }, [GINA]: { email: 'gina@globex.test' }, [GREG]: { email: 'greg@globex.test' } } },
      catalog: ({ target, prefix }) => `tenants:
  - name: acme
    slack: [${TEAM}]
    approvers:
      slack: { channel: ${APPROVERS_CHANNEL}, users: [${PEOPLE.alice}, ${PEOPLE.bob}] }
    settings: { minDuration: 2s, userPrefix: ${prefix} }
    integrations:
      pagerduty: { token: env:ACME_PD, apiUrl: "${acmePd.url}", cacheSeconds: 0 }
    policies:
      - { name: acme, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never, autoApprove: [${rule('acme-oncall')}] }
    databases:
      - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: production, admin: env:ORDERS_ADMIN_URL }
  - name: globex
    slack: [${GLOBEX}]
    approvers:
      slack: { channel: ${GLOBEX_CHANNEL}, users: [${PEOPLE.bob}] }
    settings: { minDuration: 2s, userPrefix: g${prefix} }
    integrations:
      pagerduty: { token: env:GLOBEX_PD, apiUrl: "${globexPd.url}", cacheSeconds: 0 }
    policies:
      - { name: globex, approvers: [${PEOPLE.bob}], mfa: never, autoApprove: [${rule('globex-oncall')}] }
    databases:
      - { id: ledger, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: staging, admin: env:ORDERS_ADMIN_URL }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([acmePd?.close(), globexPd?.close()]);
  });

  const cardIn = async (channel: string, teamId: string, user: string, databaseId: string, pattern: RegExp) => {
    const before = new Set(h.slack.messagesIn(channel).map((m) => m.ts));
    const answer = await h.submitRequest(user, { databaseId }, teamId);
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    const first = await h.waitForMessage(channel, (m) => !m.threadTs && !before.has(m.ts));
    const requestId = /R[0-9A-Z]{9}/.exec(shown(first))![0];
    return h.waitForMessage(channel, (m) => !m.threadTs && shown(m).includes(requestId) && pattern.test(shown(m)));
  };

  it('asks each tenant\'s own account, with its own key', async () => {
    const acme = await cardIn(APPROVERS_CHANNEL, TEAM, PEOPLE.requester, 'orders', /Auto-approved by rule acme-oncall/);
    expect(shown(acme)).toContain('on call for Acme payments');
    const globex = await cardIn(GLOBEX_CHANNEL, GLOBEX, GINA, 'ledger', /Auto-approved by rule globex-oncall/);
    expect(shown(globex)).toContain('on call for Globex ledger');

    // On call in the other tenant's account only: not on call here.
    const greg = await cardIn(GLOBEX_CHANNEL, GLOBEX, GREG, 'ledger', /Waiting for an approver/);
    expect(hasButton(greg, 'dbaccess.approve')).toBe(true);

    expect(acmePd.calls.every((call) => call.authorization === 'Token token=acme-key')).toBe(true);
    expect(globexPd.calls.every((call) => call.authorization === 'Token token=globex-key')).toBe(true);
    expect(acmePd.callsTo('/users').map((call) => call.query.get('query'))).toEqual(['rita@acme.test']);
    expect(globexPd.callsTo('/users').map((call) => call.query.get('query')).sort()).toEqual(['gina@globex.test', 'greg@globex.test']);
  });
});
