import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { plainTextInput, viewSubmission } from '../support/slack-requests.js';

const CAROL = 'U0CAROL';
const code = (secret: string, at = Date.now()) => generate({ secret, epoch: Math.floor(at / 1000) });

/**
 * Access control through signed Slack requests: a quorum needs distinct people and shows its
 * progress, MFA step-up blocks an approval until a valid code, rules refuse on the form with how to
 * comply, auto-approval names its rule, and admins can read the effective policy.
 */
describe('access control through Slack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis',
      extraDatabases: `  - id: reports
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: postgres
    environment: staging
    admin: env:ORDERS_ADMIN_URL
`,
      policy: `roles:
  admins: [${PEOPLE.alice}]
  groups:
    dbas: [${PEOPLE.alice}, ${PEOPLE.bob}, ${CAROL}]
policies:
  - { name: orders-changes, databases: [orders], levels: [write, admin], approvers: [dbas], quorum: 2, mfa: never }
  - { name: orders-reads, databases: [orders], levels: [read], approvers: [dbas], mfa: always, breakGlass: { allowed: true, who: [${PEOPLE.requester}] } }
  - name: staging
    environments: [staging]
    approvers: [dbas]
    mfa: never
    autoApprove:
      - { name: staging-reads, levels: [read], maxRisk: medium, maxDuration: 1h }
rules:
  ticket:
    - { environments: [production], levels: [write, admin], pattern: '[A-Z]+-\\d+' }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const newCard = async (values: Parameters<Harness['submitRequest']>[1]) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const answer = await h.submitRequest(PEOPLE.requester, values);
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    return h.waitForCard((m) => !before.has(m.ts));
  };

  it('refuses on the form what a rule forbids, saying how to comply', async () => {
    const answer = await h.submitRequest(PEOPLE.requester, { level: 'write', ticket: 'see-slack', scope: 'sales.orders' });
    const errors = (answer.json as { errors: Record<string, string> }).errors;
    expect(errors.ticket).toMatch(/does not match `\[A-Z\]\+-\\d\+`/);
    expect(errors.ticket).toMatch(/OPS-1234/);
  });

  it('needs two different approvers for a quorum of two, and shows the progress', async () => {
    const card = await newCard({ level: 'write', ticket: 'OPS-42', scope: 'sales.orders' });
    expect(shown(card)).toMatch(/Policy \*orders-changes\* · 2 distinct approvers/);
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const partial = await h.waitForCard((m) => m.ts === card.ts && /1 of 2 approvals: <@U0ALICE>/.test(shown(m)));
    expect(hasButton(partial, 'dbaccess.approve')).toBe(true);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.alice).some((e) => /recorded: 1 of 2/.test(e.text ?? '')), 5000, 'progress note');

    // The same person twice does not make two approvals; the requester never counts.
    await h.click(PEOPLE.alice, 'dbaccess.approve', partial);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.alice).some((e) => /already approved this request/.test(e.text ?? '')), 5000, 'refusal');
    await h.click(PEOPLE.requester, 'dbaccess.approve', partial);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.requester).some((e) => /cannot approve your own request/.test(e.text ?? '')), 5000, 'self refusal');
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const row = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
    expect(row!.state).toBe('pending');

    await h.click(CAROL, 'dbaccess.approve', partial);
    await h.waitForCard((m) => m.ts === card.ts && /Approved by <@U0ALICE>, <@U0CAROL>/.test(shown(m)));
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId));
  });

  it('blocks an approval that needs MFA until a valid code, and refuses a replayed code', async () => {
    const card = await newCard({ scope: 'sales.orders' });
    expect(shown(card)).toMatch(/approval needs an MFA code/);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const opened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.bob, 'dbaccess.approve', card);
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'MFA form');
    const view = (call.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    expect(view.callback_id).toBe('dbaccess.mfa-approve');
    const submit = (text: string) => h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.bob, view, values: { code: { value: plainTextInput(text) } } }));

    // Not enrolled yet: told how to enrol; nothing approved.
    const notEnrolled = await submit('123456');
    expect((notEnrolled.json as { errors: { code: string } }).errors.code).toMatch(/\/dbaccess mfa/);

    // Bob enrols through /dbaccess mfa: a DM with the key, then a code to confirm.
    await h.command(PEOPLE.bob, 'mfa');
    const setup = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.bob), (m) => /Set up MFA/.test(shown(m)));
    const secret = /\*Key\*\n`([A-Z2-7]+)`/.exec(shown(setup))![1]!;
    expect(shown(setup)).toMatch(/otpauth:\/\/totp\/dbaccess/);
    const confirmOpened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.bob, 'dbaccess.mfa-confirm', setup);
    const confirmCall = await waitUntil(() => h.slack.callsTo('views.open')[confirmOpened], 5000, 'confirm form');
    const confirmView = (confirmCall.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    // Confirm with the previous step's code (within the tolerated skew), so that the current one is
    // still unused for the approval; keep clear of a step boundary so both stay where they belong.
    while (Date.now() % 30_000 > 24_000) await new Promise((resolve) => setTimeout(resolve, 250));
    const earlier = await code(secret, Date.now() - 30_000);
    await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.bob, view: confirmView, values: { code: { value: plainTextInput(earlier) } } }));
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.bob), (m) => /MFA is on/.test(m.text ?? ''));

    // A wrong code is refused on the form; the request stays pending.
    expect(((await submit('000000')).json as { errors: { code: string } }).errors.code).toMatch(/wrong|invalid|not right|match/i);
    expect((await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) })))!.state).toBe('pending');

    // A valid code approves.
    const valid = await code(secret);
    expect(((await submit(valid)).json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    await h.waitForCard((m) => m.ts === card.ts && /Approved by <@U0BOB>/.test(shown(m)));

    // The requester sees the credentials only after their own second factor: Reveal, then a code.
    const waiting = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /reveal the credentials with your MFA code/.test(shown(m)));
    expect(shown(waiting)).not.toMatch(/postgresql:\/\//);
    const requester = await h.app.tenants.actor('slack', TEAM, PEOPLE.requester);
    const requesterSecret = (await asSystem('test', () => h.app.mfa.startEnrollment(requester, 'requester'))).secret.reveal();
    while (Date.now() % 30_000 > 24_000) await new Promise((resolve) => setTimeout(resolve, 250));
    const requesterCode = await code(requesterSecret, Date.now() - 30_000);
    await asSystem('test', () => h.app.mfa.confirmEnrollment(requester, requesterCode));
    const revealOpened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.requester, 'dbaccess.reveal', waiting);
    const revealCall = await waitUntil(() => h.slack.callsTo('views.open')[revealOpened], 5000, 'reveal form');
    const revealView = (revealCall.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    const reveal = (text: string) => h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.requester, view: revealView, values: { code: { value: plainTextInput(text) } } }));
    expect(((await reveal('111111')).json as { errors?: { code?: string } }).errors?.code).toBeDefined();
    expect(((await reveal(await code(requesterSecret))).json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    const revealed = await h.waitForMessage(waiting.channel, (m) => m.ts === waiting.ts && /postgresql:\/\//.test(shown(m)));
    expect(shown(revealed)).toMatch(/is ready until/);
    // The sealed password is wiped when the delivery is recorded, which follows the message edit.
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))?.passwordSealed === null, 5000, 'the sealed password to be wiped');

    // The same code once more (another request) is a replay.
    const second = await newCard({ scope: 'sales.customers' });
    const reopened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.bob, 'dbaccess.approve', second);
    const again = await waitUntil(() => h.slack.callsTo('views.open')[reopened], 5000, 'MFA form again');
    const againView = (again.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    const replay = await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.bob, view: againView, values: { code: { value: plainTextInput(valid) } } }));
    expect((replay.json as { errors: { code: string } }).errors.code).toMatch(/already used/);
  });

  it('locks MFA after 5 wrong codes and tells the approvers; an admin can reset it', async () => {
    const card = await newCard({ scope: 'sales.orders' });
    const opened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.bob, 'dbaccess.approve', card);
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'MFA form');
    const view = (call.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    let last = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.bob, view, values: { code: { value: plainTextInput('000000') } } }));
      last = (answer.json as { errors: { code: string } }).errors.code;
    }
    expect(last).toMatch(/Too many wrong codes: MFA is locked until/);
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => /MFA of <@U0BOB> is locked after too many wrong codes/.test(m.text ?? ''));

    await h.command(PEOPLE.bob, 'mfa reset <@U0CAROL>');
    await h.slack.waitFor('response_url', (c) => /Only admins can reset MFA/.test(String(c.args.text ?? '')));
    await h.command(PEOPLE.alice, 'mfa reset <@U0BOB|bob>');
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => /MFA of <@U0BOB> was reset by <@U0ALICE>/.test(m.text ?? ''));
    const bob = await h.app.tenants.actor('slack', TEAM, PEOPLE.bob);
    expect(await asSystem('test', () => h.app.mfa.isEnrolled(bob))).toBe(false);
  });

  it('gives break-glass access at once, alerts the approvers loudly, and demands a review', async () => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const answer = await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', duration: '30m', breakGlass: true });
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    const card = await h.waitForCard((m) => !before.has(m.ts) && /Break-glass: taken without approval. Review required./.test(shown(m)));
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => !before.has(m.ts) && /\*BREAK-GLASS\* <@U0REQUESTER> took \*read\* on \*orders\*/.test(m.text ?? ''));
    const active = await h.waitForCard((m) => m.ts === card.ts && hasButton(m, 'dbaccess.review') && /access active until/.test(shown(m)));
    // The secret still waits behind the requester's own MFA.
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /reveal the credentials with your MFA code/.test(shown(m)));

    await h.command(PEOPLE.alice, 'status');
    await h.slack.waitFor('response_url', (c) => new RegExp(`Break-glass access not yet reviewed: \`${requestId}\``).test(String(c.args.text ?? '')));

    await h.click(PEOPLE.requester, 'dbaccess.review', active);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.requester).some((e) => /cannot review your own break-glass/.test(e.text ?? '')), 5000, 'self-review refused');
    await h.click(PEOPLE.bob, 'dbaccess.review', active);
    const reviewed = await h.waitForCard((m) => m.ts === card.ts && /Break-glass, reviewed by <@U0BOB>/.test(shown(m)));
    expect(hasButton(reviewed, 'dbaccess.review')).toBe(false);
    const tenantId = (await h.app.db.query.tenants.findFirst())!.id;
    const events = await asSystem('test', () => h.app.audit.list(tenantId));
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['request.break_glass', 'request.break_glass_reviewed']));
  });

  it('refuses break-glass where the policy does not allow it', async () => {
    const answer = await h.submitRequest(PEOPLE.requester, { level: 'write', ticket: 'OPS-7', scope: 'sales.orders', breakGlass: true });
    expect(Object.values((answer.json as { errors: Record<string, string> }).errors).join(' ')).toMatch(/Break-glass is not allowed for write on orders/);
  });

  it('auto-approves what a rule allows, and the card names the rule', async () => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    await h.submitRequest(PEOPLE.requester, { databaseId: 'reports', duration: '30m' });
    const card = await h.waitForCard((m) => !before.has(m.ts) && /Auto-approved by rule staging-reads/.test(shown(m)));
    expect(hasButton(card, 'dbaccess.approve')).toBe(false);
    await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /access to \*reports\* \(staging\) is ready until/.test(shown(m)));
  });

  it('explains the effective policy to admins only', async () => {
    await h.command(PEOPLE.alice, 'policy orders');
    const answer = await h.slack.waitFor('response_url', (c) => /Policy for orders/.test(String(c.args.text ?? '')));
    expect(String(answer.args.text)).toMatch(/orders-changes/);
    expect(String(answer.args.text)).toMatch(/MFA/);
    await h.command(PEOPLE.bob, 'policy orders');
    await h.slack.waitFor('response_url', (c) => /Only admins can read the policies/.test(String(c.args.text ?? '')));
  });
});
