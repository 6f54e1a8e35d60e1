import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { startFakeEntra, startFakeOkta, type FakeDirectory } from '../support/fake-directories.js';

const ENTRA_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ENTRA_CLIENT = '0b6d2b1c-4f3e-4a43-9d8f-1c2b3a4d5e6f';

/**
 * Identity-provider groups and manager approval through signed Slack HTTP: Slack gives each person's
 * email (users.info), the Okta double gives the groups and the managers.
 */
describe('Okta groups and managers on Slack', () => {
  let h: Harness;
  let okta: FakeDirectory;
  let entra: FakeDirectory;
  const CAROL = 'U0CAROL';
  beforeAll(async () => {
    // Bob is in g-dbas only through g-oncall, two levels down: transitiveMembers flattens it.
    entra = await startFakeEntra({
      tenantId: ENTRA_TENANT, clientId: ENTRA_CLIENT, clientSecret: 'entra-e2e-secret-123456', pageSize: 2,
      groups: { 'g-dbas': [{ user: 'zed@acme.test' }, { group: 'g-platform' }], 'g-platform': [{ group: 'g-oncall' }], 'g-oncall': [{ user: 'bob@acme.test' }] },
    });
    okta = await startFakeOkta({
      token: 'okta-e2e-token-123456',
      // One member a page: alice is on page 2 of the approvers' group.
      pageSize: 1,
      users: [
        { id: '00ureq', email: 'req@acme.test', managerId: '00ucarol' },
        { id: '00umal', email: 'mallory@acme.test', managerId: '00ubob' },
        { id: '00ualice', email: 'alice@acme.test' },
        { id: '00ubob', email: 'bob@acme.test' },
        { id: '00ucarol', email: 'carol@acme.test' },
        { id: '00uzed', email: 'zed@acme.test' },
      ],
      groups: { '00gdbas': ['00uzed', '00ualice'], '00gdevs': ['00ureq', '00umal'] },
    });
    h = await startHarness({
      queue: 'postgres',
      env: { OKTA_TOKEN: 'okta-e2e-token-123456', ENTRA_SECRET: 'entra-e2e-secret-123456' },
      slackDirectory: {
        users: {
          [PEOPLE.requester]: { email: 'req@acme.test' }, [PEOPLE.alice]: { email: 'alice@acme.test' }, [PEOPLE.bob]: { email: 'bob@acme.test' },
          [PEOPLE.mallory]: { email: 'mallory@acme.test' }, [CAROL]: { email: 'carol@acme.test' },
        },
      },
      policy: `integrations:
  okta: { url: "${okta.url}", token: env:OKTA_TOKEN, cacheFor: 1s }
  entra: { tenantId: ${ENTRA_TENANT}, clientId: ${ENTRA_CLIENT}, clientSecret: env:ENTRA_SECRET, loginUrl: "${entra.url}", graphUrl: "${entra.url}" }
roles:
  admins: [${PEOPLE.bob}]
  requesters:
    - { who: okta:00gdevs }
policies:
  - { name: dbas, levels: [read], approvers: [okta:00gdbas], mfa: never }
  - { name: managers, levels: [write], approvers: [manager:okta], mfa: never }
  - { name: admins, levels: [admin], approvers: [entra:g-dbas], mfa: never }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await okta?.close();
    await entra?.close();
  });

  /** The command's answer: in the acknowledgement, or posted to its response_url right after. */
  const say = async (user: string, text: string) => {
    const before = h.slack.callsTo('response_url').length;
    const answer = await h.command(user, text);
    expect(answer.status).toBe(200);
    if (answer.body) return (JSON.parse(answer.body) as { text: string }).text;
    const call = await waitUntil(() => h.slack.callsTo('response_url').slice(before).find((c) => c.responseUrlId !== undefined), 10_000, `the answer to ${text}`);
    return String(call.args.text);
  };
  const newRequest = async (user: string, level: string) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const answer = await h.submitRequest(user, { level, reason: `Check the payouts of last night for OPS-1234 (${level})` });
    expect(answer.status).toBe(200);
    const card = await h.waitForCard((m) => !before.has(m.ts));
    return /R[0-9A-Z]{9}/.exec(shown(card))![0];
  };
  const audited = async (requestId: string) =>
    asSystem('test', () => h.app.db.query.auditEvents.findMany({ where: (e, { eq }) => eq(e.subject, `request:${requestId}`) }));

  it('a requester through an Okta group asks; a member of the approvers\' group (on page 2) approves; a non-member cannot', async () => {
    const requestId = await newRequest(PEOPLE.requester, 'read');
    expect(await say(PEOPLE.mallory, `approve ${requestId}`)).toMatch(/^Only Okta group 00gdbas can approve read on orders/);
    expect(await say(PEOPLE.alice, `approve ${requestId}`)).toBe(`Approved ${requestId}.`);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId));
    const approved = (await audited(requestId)).find((event) => event.action === 'request.approved')!;
    expect(approved.details.via).toBe('okta:00gdbas');
    expect(okta.callsTo('/groups/00gdbas/users').some((call) => call.query.after === '00uzed')).toBe(true);
  });

  it('someone outside the Okta group of requesters is told so', async () => {
    const answer = await h.submitRequest(PEOPLE.alice, { level: 'read' });
    // The form's answer: the refusal under the field, nothing stored, no card.
    const cards = h.slack.messagesIn(APPROVERS_CHANNEL).length;
    expect(JSON.stringify(answer.json)).toMatch(/"response_action":"errors".*not set up to request database access/);
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).length).toBe(cards);
  });

  it('manager approval: the requester\'s manager approves; someone else\'s manager cannot; the requester cannot', async () => {
    const requestId = await newRequest(PEOPLE.requester, 'write');
    expect(await say(PEOPLE.requester, `approve ${requestId}`)).toBe('You cannot approve your own request, even as one of its approvers.');
    // bob manages mallory, not the requester.
    expect(await say(PEOPLE.bob, `approve ${requestId}`)).toMatch(/^Only the requester's manager \(per Okta\) can approve write on orders/);
    expect(await say(CAROL, `approve ${requestId}`)).toBe(`Approved ${requestId}.`);
    const approved = (await audited(requestId)).find((event) => event.action === 'request.approved')!;
    expect(approved.details.via).toBe('manager:okta');
  });

  it('Entra nested groups: a member two groups down approves, a non-member cannot', async () => {
    const requestId = await newRequest(PEOPLE.requester, 'admin');
    expect(await say(PEOPLE.alice, `approve ${requestId}`)).toMatch(/^Only Microsoft Entra group g-dbas can approve admin on orders/);
    expect(await say(PEOPLE.bob, `approve ${requestId}`)).toBe(`Approved ${requestId}.`);
    const approved = (await audited(requestId)).find((event) => event.action === 'request.approved')!;
    expect(approved.details.via).toBe('entra:g-dbas');
    expect(entra.callsTo('/oauth2/v2.0/token').length).toBeGreaterThanOrEqual(1);
    expect(entra.callsTo('/transitiveMembers').some((call) => call.query.$skiptoken !== undefined)).toBe(true);
  });

  it('shows the groups and the manager rule in plain words in /dbaccess policy', async () => {
    const text = await say(PEOPLE.bob, 'policy orders');
    expect(text).toContain('policy "dbas": 1 approval from Okta group 00gdbas');
    expect(text).toContain('policy "managers": 1 approval from the requester\'s manager (per Okta)');
    expect(text).toMatch(/Groups from Okta \(127\.0\.0\.1:\d+\): asked live, answers kept 1s; members are matched by email\. If it cannot be reached, nobody gains a role or approves through it until it answers\./);
  });

  it('Okta down: once the cached answer is older than cacheFor, nobody approves or requests through it, and each is told why', async () => {
    const requestId = await newRequest(PEOPLE.requester, 'read');
    okta.down = true;
    const downAt = Date.now();
    try {
      // Waits for every answer cached before Okta went down to lapse (cacheFor 1s: each was fetched
      // before downAt, and failures are not kept), as the admin's view of alice shows.
      await waitUntil(async () => Date.now() - downAt > 1_100 && (await say(PEOPLE.bob, `policy orders <@${PEOPLE.alice}>`)).includes('Okta answered HTTP 503'), 10_000, 'the cache to lapse');
      const refusal = await say(PEOPLE.alice, `approve ${requestId}`);
      expect(refusal).toMatch(/^Only Okta group 00gdbas can approve read on orders \(policy "dbas"\)\. Okta answered HTTP 503, so its groups and managers count for nobody right now\./);
      const request = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
      expect(request!.state).toBe('pending');
      const refused = (await audited(requestId)).find((event) => event.outcome === 'refused')!;
      expect(refused.details.why).toBe('directory-unavailable');

      const answer = await h.submitRequest(PEOPLE.requester, { level: 'read' });
      expect(JSON.stringify(answer.json ?? answer.body)).toMatch(/Okta answered HTTP 503/);
    } finally {
      okta.down = false;
    }
  });
});
