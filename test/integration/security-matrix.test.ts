import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, SIGNING_SECRET, TEAM, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsUser } from '../support/fake-bot-framework.js';
import type { SlackMessage } from '../support/fake-slack.js';
import { SLACK_CONTENT_TYPE, blockAction, nowSeconds, plainTextInput, slackSignature, slashCommand, staticSelect, viewSubmission } from '../support/slack-requests.js';

/**
 * The security matrix: hostile, malformed and repeated requests against the running app, through its
 * real HTTP interface (Slack's signed endpoint, Teams' /api/messages, the console). Each row names a
 * case; each refused case must get a 4xx within seconds (never a 500, never a hang) and change
 * nothing: the same rows in the state database, no card, no DM, no form, no message in either fake.
 * Each retried delivery must have exactly one effect. The Teams token cases are in teams-auth tests.
 */

const CONSOLE_TOKEN = 'matrix-console-token-0123456789abcdef';
const OTHER_TEAM = 'T0GLOBEX';
/** Slack's endpoint and the console take at most 1 MiB; Teams' activities too. */
const LIMIT = 1024 * 1024;

interface Answer {
  status: number;
  body: string;
  json: unknown;
}

/** POSTs and reads the answer; a hang fails the case after 10 s (Slack itself gives up after 3). */
async function send(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, body: text, json };
}

describe('security matrix: Slack, Teams activities and the console', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let state: pg.Client;
  let rita: TeamsUser;
  /** Rita's 1:1 chat with the bot. */
  let ritaChat: string;
  let card: SlackMessage;
  let requestId: string;
  let consoleRequestId: string;

  /** A Slack request signed with the app's secret (or as told), with any headers. */
  const slack = (body: string, options: { timestamp?: number; secret?: string; signature?: string | null; contentType?: string; headers?: Record<string, string> } = {}) => {
    const timestamp = options.timestamp ?? nowSeconds();
    const signature = options.signature === undefined ? slackSignature(options.secret ?? SIGNING_SECRET, body, timestamp) : options.signature;
    return send(`${h.url}/slack/events`, body, {
      'content-type': options.contentType ?? SLACK_CONTENT_TYPE,
      'x-slack-request-timestamp': String(timestamp),
      ...(signature === null ? {} : { 'x-slack-signature': signature }),
      ...options.headers,
    });
  };
  const command = (text: string, user: string = PEOPLE.requester, teamId = TEAM) =>
    slashCommand({ teamId, userId: user, text, responseUrl: h.slack.responseUrl(`matrix-${Math.random()}`, { user }) });
  const click = (actionId: string, user: string, message: SlackMessage, teamId = TEAM) =>
    blockAction({ teamId, userId: user, actionId, message, channelId: message.channel, responseUrl: h.slack.responseUrl(`click-${Math.random()}`, { user, channel: message.channel, messageTs: message.ts }) });
  /** POSTs to /api/messages with a valid channel token (or none, with `signed` false). */
  const teamsPost = async (body: string | Buffer, contentType = 'application/json', signed = true) => {
    const token = signed ? await fake.signChannelToken() : undefined;
    return send(`${h.url}/api/messages`, body, { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) });
  };
  const consolePost = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    send(`${h.url}${path}`, body, { 'content-type': 'application/json', 'x-dbaccess-console': '1', authorization: `Bearer ${CONSOLE_TOKEN}`, ...headers });

  /** Everything a refused request could have changed: state rows, and what each platform shows. */
  async function snapshot() {
    const { rows } = await state.query<Record<string, number | string>>(`SELECT
      (SELECT count(*)::int FROM access_requests) AS requests, (SELECT count(*)::int FROM decisions) AS decisions,
      (SELECT count(*)::int FROM leases) AS leases, (SELECT count(*)::int FROM audit_events) AS audit,
      (SELECT count(*)::int FROM mfa_enrollments) AS mfa, (SELECT count(*)::int FROM analyses) AS analyses,
      (SELECT count(*)::int FROM tenants) AS tenants,
      (SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM access_requests) AS states`);
    const slackCalls = h.slack.calls.filter((call) => call.method !== 'response_url' && call.method !== 'auth.test').map((call) => `${call.method} ${String(call.args.channel ?? call.args.view_id ?? '')}`);
    const consoleMessages = ((await (await fetch(`${h.url}/console/api/state`, { headers: { authorization: `Bearer ${CONSOLE_TOKEN}` } })).json()) as { messages: unknown[] }).messages.length;
    // What the bot wrote in Teams (reads of keys, tokens and members are no change).
    const teamsCalls = (await fake.calls()).filter((call) => ['createConversation', 'sendToConversation', 'replyToActivity', 'updateActivity', 'deleteActivity'].includes(call.route)).length;
    return { rows: rows[0]!, slackCalls, teamsCalls, consoleMessages };
  }

  /**
   * Waits until the app has finished with everything sent before: a signed `/dbaccess list` goes
   * through the same middleware and tenant scope, and its answer is posted after the listener's
   * work, so listeners started earlier by a refused request would have had their turn.
   */
  async function settle(): Promise<void> {
    const id = `settle-${Math.random()}`;
    const answer = await slack(slashCommand({ teamId: TEAM, userId: PEOPLE.bob, text: 'list', responseUrl: h.slack.responseUrl(id, { user: PEOPLE.bob }) }));
    expect(answer.status).toBe(200);
    await h.slack.waitFor('response_url', (call) => call.responseUrlId === id, 10_000);
  }

  beforeAll(async () => {
    fake = await startFakeBotFramework();
    rita = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    ritaChat = await fake.personalConversationId(rita);
    const alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    const team = await fake.addTeam({ name: 'DBAs', members: [rita, alice] });
    h = await startHarness({
      queue: 'redis',
      env: { ...fake.env(), CONSOLE: 'on', CONSOLE_TOKEN },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
    });
    state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
    // One pending request in Slack's workspace and one in the console's tenant, for the rows to aim at.
    await h.submitRequest(PEOPLE.requester, { reason: 'Matrix: count the failed payouts of last night' });
    card = await h.waitForCard((message) => shown(message).includes('failed payouts'));
    requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const created = await consolePost('/console/api/requests', JSON.stringify({ databaseId: 'orders', level: 'read', scope: '', duration: '30m', reason: 'Console: count the failed payouts of last night', ticket: '' }));
    expect(created.status).toBe(201);
    consoleRequestId = (created.json as { id: string }).id;
    // Another workspace has used dbaccess before (its tenant exists): its rows below may change nothing.
    expect((await slack(command('help', PEOPLE.alice, OTHER_TEAM))).status).toBe(200);
    // Both requests analysed and shown before the first row takes its snapshot.
    await waitUntil(async () => (await state.query('SELECT 1 FROM analyses')).rowCount === 2, 30_000, 'both analyses');
    let last = '';
    await waitUntil(async () => {
      await settle();
      const now = JSON.stringify(await snapshot());
      const stable = now === last;
      last = now;
      return stable;
    }, 30_000, 'a quiet app');
  });
  afterAll(async () => {
    await state?.end();
    await h?.close();
    await fake?.close();
  });

  type Row = [name: string, send: () => Promise<Answer>, status: number | readonly number[]];
  const refused = (rows: Row[]) => {
    it.each(rows)('%s', async (_name, request, status) => {
      const before = await snapshot();
      const started = Date.now();
      const answer = await request();
      expect(Date.now() - started).toBeLessThan(5_000);
      if (Array.isArray(status)) expect(status).toContain(answer.status);
      else expect(answer.status).toBe(status);
      await settle();
      expect(await snapshot()).toEqual(before);
    });
  };

  describe('Slack: signatures and timestamps', () => {
    refused([
      ['a forged signature', () => slack(command(''), { signature: `v0=${'ab'.repeat(32)}` }), 401],
      ['a signature made with another secret', () => slack(command(''), { secret: 'not-the-signing-secret' }), 401],
      ['no signature header', () => slack(command(''), { signature: null }), 401],
      ['a signature over another body', () => slack(command(''), { signature: slackSignature(SIGNING_SECRET, command('list'), nowSeconds()) }), 401],
      ['a stale timestamp (6 minutes old)', () => slack(command(''), { timestamp: nowSeconds() - 6 * 60 }), 401],
      ['a future timestamp (6 minutes ahead)', () => slack(command(''), { timestamp: nowSeconds() + 6 * 60 }), 401],
      ['a timestamp that is not a number', () => slack(command(''), { headers: { 'x-slack-request-timestamp': 'soon' } }), 401],
      ['a correctly signed click replayed 6 minutes later', () => slack(click('dbaccess.approve', PEOPLE.alice, card), { timestamp: nowSeconds() - 6 * 60 }), 401],
    ]);
  });

  describe('Slack: oversized and malformed payloads', () => {
    refused([
      ['a signed body over 1 MiB', () => slack(`${command('')}&padding=${'x'.repeat(LIMIT)}`), 413],
      ['a charset on the form content type (Slack sends it bare)', () => slack(command(''), { contentType: `${SLACK_CONTENT_TYPE}; charset=utf-8` }), 415],
      ['a plain-text content type', () => slack(command(''), { contentType: 'text/plain' }), 415],
      ['no content type', () => slack(command(''), { contentType: '' }), 415],
      ['a command other than /dbaccess', () => slack(slashCommand({ teamId: TEAM, userId: PEOPLE.alice, text: '', command: '/grant', responseUrl: h.slack.responseUrl('other-command') })), 400],
      ['invalid JSON in payload=', () => slack(new URLSearchParams({ payload: '{"type":"block_actions",' }).toString()), 400],
      ['invalid JSON as application/json', () => slack('{"type":"event_callback",', { contentType: 'application/json' }), 400],
      ['a payload that is not an object', () => slack(new URLSearchParams({ payload: '[1,2,3]' }).toString()), 400],
      ['an empty body', () => slack(''), 400],
      ['an unknown action id', () => slack(blockAction({ teamId: TEAM, userId: PEOPLE.alice, actionId: 'dbaccess.drop-everything', value: `${requestId}|orders|${PEOPLE.requester}|read|`, responseUrl: h.slack.responseUrl('unknown-action') })), 400],
      ['an unknown view callback id', () => slack(viewSubmission({ teamId: TEAM, userId: PEOPLE.alice, view: { callback_id: 'dbaccess.grant-everything', private_metadata: requestId }, values: {} })), 400],
      // A known button with a value dbaccess never wrote: acknowledged, and the person told it is stale.
      ['an approve button whose value is garbage', () => slack(blockAction({ teamId: TEAM, userId: PEOPLE.alice, actionId: 'dbaccess.approve', value: 'R0000000000|../../etc|x', responseUrl: h.slack.responseUrl('garbage-approve') })), 200],
      ['a click in a modal dbaccess never opened', () => slack(blockAction({ teamId: TEAM, userId: PEOPLE.requester, actionId: 'dbaccess.analyze', view: { id: 'V0NEVEROPENED', callback_id: 'dbaccess.request', private_metadata: '0', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'dbaccess.analyze', text: { type: 'plain_text', text: 'Analyze' } }] }] } })), 400],
    ]);
  });

  it('Slack: generated signed payloads never get a 5xx or hang, and change nothing', async () => {
    const before = await snapshot();
    const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const actor = { team: fc.record({ id: fc.constantFrom(TEAM, OTHER_TEAM, '', 'lower') }), user: fc.record({ id: fc.constantFrom(PEOPLE.alice, PEOPLE.mallory), team_id: fc.constantFrom(TEAM, OTHER_TEAM) }) };
    const action = fc.record({ action_id: fc.constantFrom('dbaccess.approve', 'dbaccess.end', 'dbaccess.review', 'dbaccess.use-suggestion', 'nope'), value: fc.oneof(fc.string({ maxLength: 60 }), fc.constant(`R0000000000|orders|${PEOPLE.requester}|read|`)) });
    const view = fc.record({ id: fc.string({ maxLength: 12 }), callback_id: fc.constantFrom('dbaccess.request', 'dbaccess.deny', 'dbaccess.extend-form', 'dbaccess.reveal-form', 'x'), private_metadata: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(JSON.stringify({ requestId, channel: APPROVERS_CHANNEL }))), state: fc.constant({ values: {} }) });
    const bodies = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 3 }).map((json) => new URLSearchParams({ payload: json }).toString()),
      fc.dictionary(fc.constantFrom('command', 'text', 'team_id', 'user_id', 'trigger_id', 'ssl_check', 'payload'), fc.string({ maxLength: 40 })).map((fields) => new URLSearchParams(fields).toString()),
      fc.record({ type: fc.constant('block_actions'), ...actor, trigger_id: fc.string({ maxLength: 20 }), actions: fc.array(action, { maxLength: 2 }) }).map(form),
      fc.record({ type: fc.constantFrom('view_submission', 'view_closed', 'shortcut'), ...actor, trigger_id: fc.string({ maxLength: 20 }), view }).map(form),
    );
    await fc.assert(fc.asyncProperty(bodies, fc.constantFrom(SLACK_CONTENT_TYPE, 'application/json'), async (body, contentType) => {
      const answer = await slack(body, { contentType });
      expect(answer.status).toBeLessThan(500);
    }), { numRuns: 150 });
    await settle();
    expect(await snapshot()).toEqual(before);
  });

  describe('Slack: view submissions for views dbaccess never opened', () => {
    const deny = (metadata: string, user: string = PEOPLE.alice) =>
      viewSubmission({ teamId: TEAM, userId: user, view: { id: 'V0NEVEROPENED', callback_id: 'dbaccess.deny', private_metadata: metadata }, values: {} });
    refused([
      ['a deny form naming a pending request', () => slack(deny(JSON.stringify({ requestId, channel: APPROVERS_CHANNEL }))), 400],
      ['a deny form with garbage metadata', () => slack(deny('{not json')), 400],
      ['an MFA approval form with garbage metadata', () => slack(viewSubmission({ teamId: TEAM, userId: PEOPLE.alice, view: { id: 'V0NEVEROPENED', callback_id: 'dbaccess.mfa-approve', private_metadata: '{' }, values: {} })), 400],
      ['an MFA approval form naming a pending request', () => slack(viewSubmission({ teamId: TEAM, userId: PEOPLE.alice, view: { id: 'V0NEVEROPENED', callback_id: 'dbaccess.mfa-approve', private_metadata: JSON.stringify({ requestId, channel: APPROVERS_CHANNEL }) }, values: {} })), 400],
      ['an extension form naming a request', () => slack(viewSubmission({ teamId: TEAM, userId: PEOPLE.requester, view: { id: 'V0NEVEROPENED', callback_id: 'dbaccess.extend-form', private_metadata: requestId }, values: {} })), 400],
      ['a request form never opened', () => slack(viewSubmission({
        teamId: TEAM, userId: PEOPLE.requester, view: { id: 'V0NEVEROPENED', callback_id: 'dbaccess.request', private_metadata: '0' },
        values: {
          databaseId: { value: staticSelect('orders') }, level: { value: staticSelect('read') }, duration: { value: plainTextInput('1h') },
          reason: { value: plainTextInput('Forged: a form that Slack never showed anybody') },
        },
      })), 400],
    ]);

    it('a deny form opened for another person, or with its metadata changed', async () => {
      const opened = h.slack.callsTo('views.open').length;
      expect((await slack(click('dbaccess.deny', PEOPLE.alice, card))).status).toBe(200);
      const { view } = (await waitUntil(() => h.slack.callsTo('views.open')[opened], 5_000, 'the deny form')).response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } };
      await settle();
      const before = await snapshot();
      // Bob may deny, but this form was issued to Alice; and Alice's form cannot be pointed elsewhere.
      expect((await slack(viewSubmission({ teamId: TEAM, userId: PEOPLE.bob, view, values: {} }))).status).toBe(400);
      expect((await slack(viewSubmission({ teamId: OTHER_TEAM, userId: PEOPLE.alice, view, values: {} }))).status).toBe(400);
      const edited = view.private_metadata.replace(requestId, 'R0000000001');
      expect((await slack(viewSubmission({ teamId: TEAM, userId: PEOPLE.alice, view: { ...view, private_metadata: edited }, values: {} }))).status).toBe(400);
      await settle();
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('Slack: another workspace', () => {
    // People of another workspace are real Slack users: acknowledged, and told the request was not found.
    refused([
      ['an approval from another workspace of a request here', () => slack(click('dbaccess.approve', PEOPLE.alice, card, OTHER_TEAM)), 200],
      ['a deny by text from another workspace', () => slack(command(`deny ${requestId} from elsewhere`, PEOPLE.alice, OTHER_TEAM)), 200],
      ['ending a request here from another workspace', () => slack(command(`revoke ${requestId}`, PEOPLE.requester, OTHER_TEAM)), 200],
    ]);
  });

  describe('Slack: retried deliveries have one effect', () => {
    const retry = (body: string) => slack(body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });

    it('the same form submission delivered twice stores one request and posts one card', async () => {
      const opened = h.slack.callsTo('views.open').length;
      expect((await slack(command(''))).status).toBe(200);
      const view = ((await waitUntil(() => h.slack.callsTo('views.open')[opened], 5_000, 'the form')).response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
      const submission = viewSubmission({
        teamId: TEAM, userId: PEOPLE.requester, view,
        values: {
          databaseId: { value: staticSelect('orders') }, level: { value: staticSelect('read') }, duration: { value: plainTextInput('1h') },
          reason: { value: plainTextInput('Retried: count the refunds of last night') }, scope: { value: plainTextInput(null) }, ticket: { value: plainTextInput(null) },
        },
      });
      const before = await snapshot();
      expect((await slack(submission)).status).toBe(200);
      expect((await retry(submission)).status).toBe(200);
      await h.waitForCard((message) => shown(message).includes('refunds of last night'));
      await settle();
      expect((await snapshot()).rows.requests).toBe(Number(before.rows.requests) + 1);
      expect(h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs && shown(message).includes('refunds of last night'))).toHaveLength(1);
    });

    it('the same approval delivered twice decides once and sends the credentials once', async () => {
      await h.submitRequest(PEOPLE.requester, { reason: 'Retried approval: count the chargebacks' });
      const target = await h.waitForCard((message) => shown(message).includes('chargebacks'));
      const id = /R[0-9A-Z]{9}/.exec(shown(target))![0];
      const body = click('dbaccess.approve', PEOPLE.alice, target);
      expect((await slack(body)).status).toBe(200);
      expect((await retry(body)).status).toBe(200);
      const dm = h.slack.dmChannelFor(PEOPLE.requester);
      await h.waitForMessage(dm, (message) => /is ready until/.test(message.text ?? '') && shown(message).includes(id));
      await settle();
      expect((await state.query('SELECT 1 FROM decisions WHERE request_id = $1', [id])).rowCount).toBe(1);
      expect((await state.query('SELECT 1 FROM leases WHERE request_id = $1', [id])).rowCount).toBe(1);
      expect(h.slack.messagesIn(dm).filter((message) => /is ready until/.test(message.text ?? '') && shown(message).includes(id))).toHaveLength(1);
      // Nobody was told twice that it was already decided either.
      expect(h.slack.callsTo('response_url').filter((call) => /already/i.test(shown(call.args)))).toHaveLength(0);
    });

    it('the same MFA set-up command delivered twice enrols once and DMs once', async () => {
      const body = command('mfa', PEOPLE.mallory);
      expect((await slack(body)).status).toBe(200);
      expect((await retry(body)).status).toBe(200);
      const dm = h.slack.dmChannelFor(PEOPLE.mallory);
      await h.waitForMessage(dm, () => true);
      await settle();
      expect(h.slack.messagesIn(dm)).toHaveLength(1);
      expect((await state.query("SELECT 1 FROM mfa_enrollments e JOIN chat_users u ON u.id = e.user_id WHERE u.external_id = $1", [PEOPLE.mallory])).rowCount).toBe(1);
    });
  });

  describe('Teams: oversized and malformed activities (with a valid token)', () => {
    const activity = () => ({
      type: 'message', id: `m-${Math.random()}`, channelId: 'msteams', serviceUrl: fake.serviceUrl, text: 'dbaccess',
      from: { id: rita.id, name: rita.name, aadObjectId: rita.aadObjectId }, recipient: { id: fake.botId, name: fake.botName },
      conversation: { id: ritaChat, conversationType: 'personal', tenantId: fake.tenantId },
      channelData: { tenant: { id: fake.tenantId } },
    });
    refused([
      ['a body over 1 MiB', () => teamsPost(JSON.stringify({ ...activity(), text: `dbaccess ${'x'.repeat(LIMIT)}` })), 413],
      ['invalid JSON', () => teamsPost('{"type":"message",'), 400],
      ['a form-encoded body', () => teamsPost(new URLSearchParams({ type: 'message', text: 'dbaccess' }).toString(), 'application/x-www-form-urlencoded'), 415],
      // No activity to hold the token's service URL against: the inbound check refuses these (401).
      ['a plain-text body', () => teamsPost('dbaccess', 'text/plain'), [400, 401, 415]],
      ['a JSON array', () => teamsPost('[]'), [400, 401]],
      ['an activity without a type', () => teamsPost(JSON.stringify({ ...activity(), type: undefined })), 400],
      ['an activity without a conversation', () => teamsPost(JSON.stringify({ ...activity(), conversation: undefined })), 400],
      ['an activity without a Microsoft 365 tenant', () => teamsPost(JSON.stringify({ ...activity(), conversation: { id: ritaChat, conversationType: 'personal' }, channelData: {} })), 400],
      ['an activity whose type is not text', () => teamsPost(JSON.stringify({ ...activity(), type: { $ne: null } })), 400],
      ['no token at all', () => teamsPost(JSON.stringify(activity()), 'application/json', false), 401],
    ]);

    it('a button dbaccess never drew is refused with an error, a request of another tenant is not found, and the card stays', async () => {
      const teams = fake.bot(`${h.url}/api/messages`);
      expect((await teams.personalMessage({ from: rita, text: 'dbaccess' })).status).toBe(200);
      const form = await waitUntil(async () => (await fake.botMessagesIn(ritaChat)).at(-1), 10_000, 'the request form');
      await settle();
      const before = await snapshot();
      const shownBefore = JSON.stringify(await fake.message(form.id));
      // What Teams would send for a click on such a button (Teams itself only sends the card's own).
      const answer = await teamsPost(JSON.stringify({
        ...activity(), type: 'invoke', name: 'adaptiveCard/action', replyToId: form.id,
        value: { action: { type: 'Action.Execute', verb: 'grantEverything', data: { requestId } }, trigger: 'manual' },
      }));
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest' } });
      // A decision on a request of another tenant (Slack's): "not found" in a message, nothing changed.
      for (const verb of ['approve', 'deny']) {
        const decision = await teamsPost(JSON.stringify({
          ...activity(), type: 'invoke', name: 'adaptiveCard/action', replyToId: form.id,
          value: { action: { type: 'Action.Execute', verb, data: { requestId } }, trigger: 'manual' },
        }));
        expect(decision.status).toBe(200);
        expect(decision.json).toMatchObject({ type: 'application/vnd.microsoft.activity.message', value: `Request ${requestId} was not found.` });
      }
      await settle();
      expect(await snapshot()).toEqual(before);
      expect(JSON.stringify(await fake.message(form.id))).toBe(shownBefore);
    });
  });

  describe('the console', () => {
    const form = { databaseId: 'orders', level: 'read', scope: '', duration: '30m', reason: 'Matrix: count the failed payouts of last night', ticket: '' };
    const anonymous = (path: string, headers: Record<string, string>) => send(`${h.url}${path}`, JSON.stringify(form), { 'content-type': 'application/json', 'x-dbaccess-console': '1', ...headers });
    refused([
      ['no token', () => anonymous('/console/api/requests', {}), 401],
      ['a wrong bearer token', () => anonymous('/console/api/requests', { authorization: `Bearer ${'x'.repeat(CONSOLE_TOKEN.length)}` }), 401],
      ['a wrong cookie', () => anonymous('/console/api/requests', { cookie: `dbaccess_console=${'y'.repeat(CONSOLE_TOKEN.length)}` }), 401],
      ['the token in the query string of a POST', () => send(`${h.url}/console/api/requests?token=${CONSOLE_TOKEN}`, JSON.stringify(form), { 'content-type': 'application/json', 'x-dbaccess-console': '1' }), 401],
      ['no console header (a cross-site form)', () => consolePost('/console/api/requests', JSON.stringify(form), { 'x-dbaccess-console': '' }), 403],
      ['a form-encoded body', () => consolePost('/console/api/requests', new URLSearchParams(form).toString(), { 'content-type': 'application/x-www-form-urlencoded' }), [403, 415]],
      ['a body over 1 MiB', () => consolePost('/console/api/requests', JSON.stringify({ ...form, reason: 'x'.repeat(LIMIT) })), 413],
      ['invalid JSON', () => consolePost('/console/api/requests', '{"databaseId":'), 400],
      ['a JSON array', () => consolePost('/console/api/actions', '[]'), 400],
      ['an unknown field', () => consolePost('/console/api/requests', JSON.stringify({ ...form, approved: true })), 400],
      ['an unknown action', () => consolePost('/console/api/actions', JSON.stringify({ action: 'grant', requestId: consoleRequestId, as: 'approver' })), 400],
      ['a request id of another tenant', () => consolePost('/console/api/actions', JSON.stringify({ action: 'deny', requestId, as: 'approver', reason: 'not mine' })), 404],
      ['ending a request of another tenant', () => consolePost('/console/api/actions', JSON.stringify({ action: 'end', requestId, as: 'requester' })), 404],
      ['cancelling a request of another tenant', () => consolePost('/console/api/actions', JSON.stringify({ action: 'cancel', requestId, as: 'requester' })), 404],
    ]);
  });
});
