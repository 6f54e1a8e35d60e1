import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { signDelivery, startFakeGithub, startFakeJira, startFakeLinear, type FakeTracker } from '../support/fake-trackers.js';
import type { SlackMessage } from '../support/fake-slack.js';
import { auditOf, waitForState } from '../support/ways-out.js';

/**
 * Tickets that bind (issue 19, item 4), through signed Slack HTTP against loopback doubles of Jira
 * (REST v3), Linear (GraphQL) and GitHub (REST): the ticket is read live after the acknowledgement
 * and before the card; missing, closed, not assigned or unverifiable tickets refuse the request with
 * the reason; the card links a verified ticket; closing the ticket ends the access (a signed webhook,
 * or the sweep's poll); the session summary goes back to the ticket as a comment.
 */
const REASON = 'Fix the duplicate invoices of customer 4411 for the finance team';
const JIRA = { email: 'dbaccess-bot@acme.test', token: 'jira-token-acme', secret: 'jira-webhook-secret' };
const GITHUB = { token: 'ghp_acme', secret: 'github-webhook-secret' };
const LINEAR = { apiKey: 'lin_api_acme', secret: 'linear-webhook-secret' };
const REQUESTER_EMAIL = 'requester@acme.test';

describe('tickets that bind, on Slack', () => {
  let h: Harness;
  let jira: FakeTracker;
  let github: FakeTracker;
  let linear: FakeTracker;

  beforeAll(async () => {
    [jira, github, linear] = await Promise.all([startFakeJira(JIRA), startFakeGithub(GITHUB), startFakeLinear(LINEAR)]);
    h = await startHarness({
      queue: 'postgres',
      slackDirectory: { users: { [PEOPLE.requester]: { email: REQUESTER_EMAIL }, [PEOPLE.mallory]: { email: 'mallory@acme.test' } } },
      env: {
        CONSOLE: 'on',
        JIRA_TOKEN: JIRA.token, JIRA_WEBHOOK_SECRET: JIRA.secret, GITHUB_TOKEN: GITHUB.token, GITHUB_WEBHOOK_SECRET: GITHUB.secret,
        LINEAR_API_KEY: LINEAR.apiKey, LINEAR_WEBHOOK_SECRET: LINEAR.secret,
      },
      policy: `policies:
  - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never }
integrations:
  jira: { url: "${jira.url}", email: ${JIRA.email}, token: env:JIRA_TOKEN, webhookSecret: env:JIRA_WEBHOOK_SECRET, pollEvery: 1s }
  github: { url: "${github.url}", token: env:GITHUB_TOKEN, repository: acme/ops, webhookSecret: env:GITHUB_WEBHOOK_SECRET, pollEvery: 1h, people: { ${PEOPLE.requester}: req-gh } }
  linear: { url: "${linear.url}", apiKey: env:LINEAR_API_KEY, webhookSecret: env:LINEAR_WEBHOOK_SECRET, pollEvery: 1h }
rules:
  ticket:
    - { levels: [read], verify: jira, assigned: true }
    - { levels: [write], verify: github, assigned: true }
    - { levels: [admin], verify: linear }
`,
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await Promise.all([jira?.close(), github?.close(), linear?.close()]);
  });

  const dms = () => h.slack.messagesIn(h.slack.dmChannelFor(PEOPLE.requester));
  const cards = () => new Set(h.slack.messagesIn('C0APPROVALS').map((m) => m.ts));

  /** Submits and waits for what the requester is told: a card for approvers, or the refusal by DM. */
  async function ask(level: string, ticket: string): Promise<{ card?: SlackMessage; refusal?: string }> {
    const before = cards();
    const dmsBefore = dms().length;
    const answer = await h.submitRequest(PEOPLE.requester, { level, ticket, reason: REASON, duration: '1h' });
    expect(answer.status).toBe(200);
    return waitUntil(() => {
      const card = h.slack.messagesIn('C0APPROVALS').find((m) => !before.has(m.ts) && /dbaccess\.approve/.test(JSON.stringify(m.blocks ?? [])));
      if (card) return { card };
      const refusal = dms().slice(dmsBefore).find((m) => /not sent to approvers/.test(m.text ?? ''));
      return refusal ? { refusal: refusal.text! } : undefined;
    }, 20_000, 'a card or a refusal');
  }

  const activate = async (card: SlackMessage) => {
    expect((await h.click(PEOPLE.alice, 'dbaccess.approve', card)).status).toBe(200);
    await waitUntil(() => dms().find((m) => /is ready until/.test(m.text ?? '')), 20_000, 'credentials DM');
  };
  const requestIdOf = (card: SlackMessage) => /R[0-9A-Z]{9}/.exec(shown(card))![0];
  const leaseEndedDm = (requestId: string) => waitUntil(() => dms().find((m) => m.text?.includes(requestId) && /ended at/.test(m.text)), 20_000, `end of ${requestId}`);

  it('puts a verified, open, assigned Jira ticket on the card as a link; closing it ends the access (poll) and the summary goes to the ticket', async () => {
    jira.issues.set('OPS-1', { title: 'Duplicate invoices', status: 'In Progress', category: 'indeterminate', assignee: { accountId: 'acc-req', email: REQUESTER_EMAIL } });
    const { card, refusal } = await ask('read', 'OPS-1');
    expect(refusal).toBeUndefined();
    const text = shown(card!);
    expect(text).toContain(`<${jira.url}/browse/OPS-1|OPS-1> (In Progress in Jira, verified)`);
    // The tracker was asked with the site's own credential (Basic email:token).
    expect(jira.calls.some((call) => call.path.startsWith('/rest/api/3/issue/OPS-1') && call.authorization === `Basic ${Buffer.from(`${JIRA.email}:${JIRA.token}`).toString('base64')}`)).toBe(true);
    await activate(card!);
    const requestId = requestIdOf(card!);

    jira.issues.get('OPS-1')!.status = 'Done';
    jira.issues.get('OPS-1')!.category = 'done';
    const ended = await leaseEndedDm(requestId);
    expect(ended.text).toContain('ticket OPS-1 was closed');
    await waitUntil(() => jira.comments.find((comment) => comment.key === 'OPS-1'), 30_000, 'the summary as a Jira comment');
    const comment = JSON.stringify(jira.comments.find((c) => c.key === 'OPS-1')!.body);
    expect(comment).toContain(`request ${requestId}`);
    expect(comment).toContain('ended because ticket OPS-1 was closed');
    expect(hasButton(h.slack.message(card!.channel, card!.ts)!, 'dbaccess.end')).toBe(false);
  });

  it('refuses a ticket that does not exist, one that is closed, and one assigned to someone else, saying why', async () => {
    expect((await ask('read', 'OPS-404')).refusal).toMatch(/Ticket OPS-404 was not found in Jira/);
    jira.issues.set('OPS-2', { title: 'Old', status: 'Done', category: 'done', assignee: { email: REQUESTER_EMAIL } });
    expect((await ask('read', 'OPS-2')).refusal).toMatch(/Ticket OPS-2 is Done in Jira: access needs an open ticket/);
    jira.issues.set('OPS-3', { title: 'Theirs', status: 'To Do', category: 'new', assignee: { accountId: 'acc-other', email: 'other@acme.test' } });
    expect((await ask('read', 'OPS-3')).refusal).toMatch(/Ticket OPS-3 is assigned to someone else in Jira; orders needs a ticket assigned to the requester/);
    jira.issues.set('OPS-4', { title: 'Nobody', status: 'To Do', category: 'new' });
    expect((await ask('read', 'OPS-4')).refusal).toMatch(/assigned to nobody/);
  });

  it('fails closed when the tracker cannot be reached, and says so', async () => {
    jira.issues.set('OPS-5', { title: 'Fine', status: 'To Do', category: 'new', assignee: { email: REQUESTER_EMAIL } });
    jira.down = true;
    try {
      const { refusal } = await ask('read', 'OPS-5');
      expect(refusal).toMatch(/Ticket OPS-5 could not be verified: Jira \(http:\/\/127\.0\.0\.1:\d+\) answered HTTP 503\. orders needs a ticket verified live, so nothing was sent to approvers/);
    } finally {
      jira.down = false;
    }
  });

  it('GitHub: a forged webhook is refused with 401 and changes nothing; a signed one ends the access', async () => {
    github.issues.set('acme/ops#7', { title: 'Rotate keys', status: 'open', category: 'open', assignee: { login: 'req-gh' } });
    // `7` is issue 7 of the catalog's repository (the form takes ids that start with a letter or digit).
    const { card } = await ask('write', '7');
    expect(shown(card!)).toContain('<https://github.com/acme/ops/issues/7|acme/ops#7> (open in GitHub, verified)');
    await activate(card!);
    const requestId = requestIdOf(card!);
    // The first poll reads it once the access is active; after that, only the webhook would tell.
    const reads = () => github.calls.filter((call) => call.method === 'GET' && call.path === '/repos/acme/ops/issues/7').length;
    await waitUntil(() => reads() >= 2, 10_000, 'the first poll');
    github.issues.get('acme/ops#7')!.status = 'closed';

    const body = JSON.stringify({ action: 'closed', issue: { number: 7, state: 'closed' }, repository: { full_name: 'acme/ops' } });
    const post = (headers: Record<string, string>) => fetch(`${h.url}/webhooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const forged = await post(signDelivery('github', 'not-the-secret', body));
    expect(forged.status).toBe(401);
    expect((await post({})).status).toBe(401);
    // The route answers after its work is done: a refused delivery has ended nothing by now.
    expect(dms().some((m) => m.text?.includes(requestId) && /ended at/.test(m.text))).toBe(false);
    expect(hasButton(h.slack.message(card!.channel, card!.ts)!, 'dbaccess.end')).toBe(true);

    expect((await post(signDelivery('github', GITHUB.secret, body))).status).toBe(202);
    expect((await leaseEndedDm(requestId)).text).toContain('ticket acme/ops#7 was closed');
    await waitUntil(() => github.comments.find((comment) => comment.key === 'acme/ops#7'), 30_000, 'the summary as a GitHub comment');
    expect(String(github.comments.find((c) => c.key === 'acme/ops#7')!.body)).toContain(`request ${requestId}`);
  });

  it('GitHub: not assigned to the requester (by the catalog\'s login map) is refused', async () => {
    github.issues.set('acme/ops#8', { title: 'Someone else', status: 'open', category: 'open', assignee: { login: 'octocat' } });
    expect((await ask('write', 'acme/ops#8')).refusal).toMatch(/Ticket acme\/ops#8 is assigned to someone else in GitHub/);
  });

  it('Linear: a signed webhook naming the issue by its id ends the access; a stale one is refused', async () => {
    linear.issues.set('ENG-5', { title: 'Migrate', status: 'In Progress', category: 'started' });
    const { card } = await ask('admin', 'ENG-5');
    expect(shown(card!)).toContain('|ENG-5> (In Progress in Linear, verified)');
    await activate(card!);
    const requestId = requestIdOf(card!);
    linear.issues.get('ENG-5')!.category = 'completed';
    linear.issues.get('ENG-5')!.status = 'Done';
    const delivery = (timestamp: number) => JSON.stringify({ action: 'update', type: 'Issue', data: { id: 'uuid-ENG-5', state: { type: 'completed' } }, webhookTimestamp: timestamp });
    const post = (body: string, secret: string) => fetch(`${h.url}/webhooks/linear`, { method: 'POST', headers: { 'content-type': 'application/json', ...signDelivery('linear', secret, body) }, body });
    expect((await post(delivery(Date.now() - 5 * 60_000), LINEAR.secret)).status).toBe(401);
    expect((await post(delivery(Date.now()), 'forged')).status).toBe(401);
    expect((await post(delivery(Date.now()), LINEAR.secret)).status).toBe(202);
    expect((await leaseEndedDm(requestId)).text).toContain('ticket ENG-5 was closed');
    await waitUntil(() => linear.comments.find((comment) => comment.key === 'ENG-5'), 30_000, 'the summary as a Linear comment');
  });

  it('the console: a verified Linear ticket is on the card as a link; a closed one is refused with the reason; both audited', async () => {
    type Message = { id: string; kind: string; requestId?: string; text: string; data?: { view?: { policy?: { ticket?: { url: string; key: string } } } } };
    const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' } });
    const messages = async () => ((await (await fetch(`${h.url}/console/api/state`)).json()) as { messages: Message[] }).messages;
    const submit = async (ticket: string) => {
      const created = await fetch(`${h.url}/console/api/requests`, json({ databaseId: 'orders', level: 'admin', scope: '', duration: '30m', reason: REASON, ticket }));
      expect(created.status).toBe(201);
      return ((await created.json()) as { id: string }).id;
    };
    linear.issues.set('ENG-9', { title: 'Console work', status: 'Todo', category: 'unstarted' });
    const open = await submit('ENG-9');
    const card = await waitUntil(async () => (await messages()).find((m) => m.kind === 'card' && m.requestId === open), 20_000, 'the console card');
    expect(card.data?.view?.policy?.ticket).toMatchObject({ key: 'ENG-9', url: 'https://linear.app/acme/issue/ENG-9/x' });
    expect((await auditOf(h.app, `request:${open}`)).map((event) => event.action)).toContain('ticket.verified');

    linear.issues.set('ENG-10', { title: 'Finished', status: 'Canceled', category: 'canceled' });
    const closed = await submit('ENG-10');
    await waitForState(h.app, closed, 'cancelled');
    const told = await waitUntil(async () => (await messages()).find((m) => m.requestId === closed && /not sent to approvers/.test(m.text)), 20_000, 'the refusal');
    expect(told.text).toMatch(/Ticket ENG-10 is Canceled in Linear: access needs an open ticket/);
    expect((await messages()).some((m) => m.kind === 'card' && m.requestId === closed)).toBe(false);
    const refused = (await auditOf(h.app, `request:${closed}`)).find((event) => event.action === 'request.refused');
    expect(refused?.details).toMatchObject({ rule: 'ticket', tracker: 'linear', why: 'closed', key: 'ENG-10' });
  });

  it('says what binds in /dbaccess policy, in plain words', async () => {
    await h.command(PEOPLE.alice, 'policy orders');
    const answer = await h.slack.waitFor('response_url', (c) => /Policy for orders/.test(String(c.args.text ?? '')));
    const text = String(answer.args.text);
    expect(text).toContain('checked live in Jira before approvers see the request (it must exist and be open, and be assigned to the requester; if Jira cannot be reached the request is refused); the access ends when the ticket is closed');
    expect(text).toContain('checked live in Linear');
  });
});

describe('tickets that bind, two tenants with different Jira sites', () => {
  const GLOBEX = 'T0GLOBEX';
  let h: Harness;
  let acmeJira: FakeTracker;
  let globexJira: FakeTracker;
  beforeAll(async () => {
    [acmeJira, globexJira] = await Promise.all([startFakeJira(JIRA), startFakeJira({ email: 'bot@globex.test', token: 'jira-token-globex' })]);
    h = await startHarness({
      queue: 'postgres',
      env: { ACME_JIRA: JIRA.token, GLOBEX_JIRA: 'jira-token-globex' },
      catalog: ({ target, prefix }) => `tenants:
  - name: acme
    slack: [${TEAM}]
    approvers:
      slack: { channel: C0APPROVALS, users: [${PEOPLE.alice}, ${PEOPLE.bob}] }
    settings: { minDuration: 2s, userPrefix: ${prefix} }
    policies:
      - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never }
    integrations:
      jira: { url: "${acmeJira.url}", email: ${JIRA.email}, token: env:ACME_JIRA }
    rules:
      ticket: [{ verify: jira }]
    databases:
      - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: production, admin: env:ORDERS_ADMIN_URL }
  - name: globex
    slack: [${GLOBEX}]
    approvers:
      slack: { channel: C0GLOBEX, users: [U0GINA] }
    settings: { minDuration: 2s, userPrefix: g${prefix} }
    policies:
      - { name: globex, approvers: [U0GINA], mfa: never }
    integrations:
      jira: { url: "${globexJira.url}", email: bot@globex.test, token: env:GLOBEX_JIRA }
    rules:
      ticket: [{ verify: jira }]
    databases:
      - { id: ledger, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: staging, admin: env:ORDERS_ADMIN_URL }
`,
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await Promise.all([acmeJira?.close(), globexJira?.close()]);
  });

  it("reads each tenant's tickets on its own Jira site, with its own token", async () => {
    acmeJira.issues.set('OPS-1', { title: 'Acme work', status: 'In Progress', category: 'indeterminate' });
    globexJira.issues.set('OPS-1', { title: 'Globex work, finished', status: 'Done', category: 'done' });

    await h.submitRequest(PEOPLE.requester, { databaseId: 'orders', level: 'read', ticket: 'OPS-1', reason: REASON, duration: '1h' });
    const card = await h.waitForCard((m) => m.channel === 'C0APPROVALS');
    expect(shown(card)).toContain(`<${acmeJira.url}/browse/OPS-1|OPS-1>`);

    await h.submitRequest('U0GREQ', { databaseId: 'ledger', level: 'read', ticket: 'OPS-1', reason: REASON, duration: '1h' }, GLOBEX);
    const refusal = await waitUntil(() => h.slack.messagesIn(h.slack.dmChannelFor('U0GREQ')).find((m) => /not sent to approvers/.test(m.text ?? '')), 20_000, 'globex refusal');
    expect(refusal.text).toMatch(/Ticket OPS-1 is Done in Jira/);
    expect(h.slack.messagesIn('C0GLOBEX').some((m) => /dbaccess\.approve/.test(JSON.stringify(m.blocks ?? [])))).toBe(false);
    // Each site saw only its own tenant's credential.
    expect(acmeJira.calls.every((call) => call.authorization === `Basic ${Buffer.from(`${JIRA.email}:${JIRA.token}`).toString('base64')}`)).toBe(true);
    expect(globexJira.calls.every((call) => call.authorization === `Basic ${Buffer.from('bot@globex.test:jira-token-globex').toString('base64')}`)).toBe(true);
    expect(globexJira.calls.length).toBeGreaterThan(0);
  });
});
