import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, verifySlackRequest } from '@slack/bolt';
import { ErrorCode, WebClient, type WebAPICallError } from '@slack/web-api';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import {
  blockAction,
  plainTextInput,
  postSigned,
  signSlackRequest,
  slashCommand,
  staticSelect,
  viewSubmission,
} from '../support/slack-requests.js';

const SECRET = 'test-signing-secret';
const TEAM = 'T0DBACCESS';
const REQUESTER = 'U0REQUESTER';
const APPROVER = 'U0APPROVER';

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const approvalBlocks = (status: string) => [
  { type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: `*orders-db* read for 1h: ${status}` } },
  {
    type: 'actions',
    block_id: 'decision',
    elements: [
      { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'req_01', style: 'primary' },
      { type: 'button', action_id: 'deny', text: { type: 'plain_text', text: 'Deny' }, value: 'req_01', style: 'danger' },
    ],
  },
];
const requestModal = {
  type: 'modal',
  callback_id: 'access_request',
  private_metadata: '{"channel":"C0DBACCESS"}',
  title: { type: 'plain_text', text: 'Request access' },
  submit: { type: 'plain_text', text: 'Request' },
  blocks: [
    {
      type: 'input',
      block_id: 'database',
      label: { type: 'plain_text', text: 'Database' },
      element: {
        type: 'static_select',
        action_id: 'value',
        options: [{ text: { type: 'plain_text', text: 'orders-db' }, value: 'orders-db' }],
      },
    },
    { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'value' } },
    {
      type: 'input',
      block_id: 'ticket',
      optional: true,
      label: { type: 'plain_text', text: 'Ticket' },
      element: { type: 'plain_text_input', action_id: 'value' },
    },
  ],
};

function platformError(error: unknown): string | undefined {
  const coded = error as WebAPICallError;
  return coded.code === ErrorCode.PlatformError ? coded.data.error : undefined;
}

describe('fake Slack through the real WebClient', () => {
  let fake: FakeSlack;
  let client: WebClient;

  beforeEach(async () => {
    fake = await startFakeSlack();
    client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('shows the latest version of a message after chat.update, and keeps the history', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0DBACCESS', text: 'Access request', blocks: approvalBlocks('pending') });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const second = await client.chat.postMessage({ channel: 'C0DBACCESS', text: 'another' });
    expect(Number(second.ts)).toBeGreaterThan(Number(posted.ts));

    await client.chat.update({ channel: 'C0DBACCESS', ts: posted.ts as string, text: 'Approved', blocks: [section('Approved by <@U0APPROVER>')] });

    const seen = fake.message('C0DBACCESS', posted.ts as string);
    expect(seen?.text).toBe('Approved');
    expect(seen?.blocks).toEqual([section('Approved by <@U0APPROVER>')]);
    expect(seen?.history.map((version) => version.via)).toEqual(['chat.postMessage', 'chat.update']);
    expect(fake.messagesIn('C0DBACCESS').map((message) => message.text)).toEqual(['Approved', 'another']);
    // The wire carries blocks as a JSON string; the fake records them decoded, and the token apart.
    const call = fake.callsTo('chat.postMessage')[0];
    expect(call?.args.blocks).toEqual(approvalBlocks('pending'));
    expect(call?.token).toBe('xoxb-test');
    expect(call?.args).not.toHaveProperty('token');
  });

  it('rejects what Slack rejects: unknown message, no text, no channel, a user id in chat.update, bad blocks', async () => {
    await expect(client.chat.update({ channel: 'C0DBACCESS', ts: '1764400000.999999', text: 'x' })).rejects.toSatisfy(
      (error) => platformError(error) === 'message_not_found',
    );
    await expect(client.chat.postMessage({ channel: 'C0DBACCESS' } as never)).rejects.toSatisfy((error) => platformError(error) === 'no_text');
    await expect(client.chat.postMessage({ text: 'x' } as never)).rejects.toSatisfy((error) => platformError(error) === 'channel_not_found');
    const dm = await client.chat.postMessage({ channel: REQUESTER, text: 'hello' });
    expect(dm.channel).toBe(fake.dmChannelFor(REQUESTER));
    await expect(client.chat.update({ channel: REQUESTER, ts: dm.ts as string, text: 'x' })).rejects.toSatisfy(
      (error) => platformError(error) === 'channel_not_found',
    );
    const tooLong = { type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } };
    await expect(client.chat.postMessage({ channel: 'C0DBACCESS', text: 'x', blocks: [tooLong] })).rejects.toSatisfy(
      (error) => platformError(error) === 'invalid_blocks',
    );
    await expect(client.apiCall('chat.scheduleMessage', { channel: 'C0DBACCESS', text: 'x' })).rejects.toSatisfy(
      (error) => platformError(error) === 'unknown_method',
    );
  });

  it('opens a DM and posts ephemerals', async () => {
    const opened = await client.conversations.open({ users: APPROVER });
    expect(opened.channel?.id).toBe(fake.dmChannelFor(APPROVER));
    await client.chat.postMessage({ channel: opened.channel?.id as string, text: 'Please review' });
    expect(fake.messagesIn(APPROVER).map((message) => message.text)).toEqual(['Please review']);

    const ephemeral = await client.chat.postEphemeral({ channel: 'C0DBACCESS', user: REQUESTER, text: 'Only you' });
    expect(ephemeral.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemeralsFor(REQUESTER).map((message) => message.text)).toEqual(['Only you']);
    expect(fake.messagesIn('C0DBACCESS')).toEqual([]);
  });

  it('exchanges a trigger_id once, and expires minted ones', async () => {
    const triggerId = fake.triggerId();
    const opened = await client.views.open({ trigger_id: triggerId, view: requestModal as never });
    expect(opened.view?.id).toMatch(/^V/);
    expect(opened.view?.callback_id).toBe('access_request');
    await expect(client.views.open({ trigger_id: triggerId, view: requestModal as never })).rejects.toSatisfy(
      (error) => platformError(error) === 'exchanged_trigger_id',
    );

    const updated = await client.views.update({ view_id: opened.view?.id as string, hash: opened.view?.hash as string, view: { ...requestModal, blocks: [section('Submitted')] } as never });
    expect(fake.view(opened.view?.id as string)?.blocks).toEqual([section('Submitted')]);
    await expect(client.views.update({ view_id: opened.view?.id as string, hash: opened.view?.hash as string, view: requestModal as never })).rejects.toSatisfy(
      (error) => platformError(error) === 'hash_conflict',
    );
    expect(updated.view?.id).toBe(opened.view?.id);

    const shortLived = await startFakeSlack({ triggerTtlMs: 20 });
    try {
      const late = shortLived.triggerId();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lateClient = new WebClient('xoxb-test', { slackApiUrl: shortLived.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
      await expect(lateClient.views.open({ trigger_id: late, view: requestModal as never })).rejects.toSatisfy(
        (error) => platformError(error) === 'expired_trigger_id',
      );
    } finally {
      await shortLived.close();
    }
  });

  it('rejects a modal Slack would reject (title over 24 characters)', async () => {
    const view = { ...requestModal, title: { type: 'plain_text', text: 'Request temporary database access' } };
    await expect(client.views.open({ trigger_id: fake.triggerId(), view: view as never })).rejects.toSatisfy(
      (error) => platformError(error) === 'invalid_arguments',
    );
  });

  it('surfaces an injected 429 as WebClient rate-limit errors', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
    const rejecting = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000, rejectRateLimitedCalls: true });
    const error = await rejecting.chat.postMessage({ channel: 'C0DBACCESS', text: 'x' }).catch((caught: unknown) => caught as WebAPICallError);
    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(fake.callsTo('chat.postMessage')[0]?.status).toBe(429);

    // Without rejectRateLimitedCalls the client sleeps Retry-After seconds, then (retries: 0) gives up with a
    // request error wrapping "A rate limit was exceeded", not a rate-limited error.
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 0 });
    const waited = await client.chat.postMessage({ channel: 'C0DBACCESS', text: 'x' }).catch((caught: unknown) => caught as WebAPICallError);
    expect(waited).toMatchObject({ code: ErrorCode.RequestError });
    expect((waited as Extract<WebAPICallError, { code: ErrorCode.RequestError }>).original.message).toMatch(/rate limit was exceeded/);

    // The fault is used up: the next call goes through.
    await expect(client.chat.postMessage({ channel: 'C0DBACCESS', text: 'after' })).resolves.toMatchObject({ ok: true });
  });

  it('injects 500s and Slack errors, count times', async () => {
    fake.failNext('views.open', { status: 500 });
    await expect(client.views.open({ trigger_id: fake.triggerId(), view: requestModal as never })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    fake.failNext('conversations.open', { error: 'account_inactive', count: 2 });
    for (let i = 0; i < 2; i += 1) {
      await expect(client.conversations.open({ users: APPROVER })).rejects.toSatisfy((error) => platformError(error) === 'account_inactive');
    }
    await expect(client.conversations.open({ users: APPROVER })).resolves.toMatchObject({ ok: true });
  });

  it('holds a call until told, then carries it out: a post whose caller gave up meanwhile still lands', async () => {
    let release!: () => void;
    const arrived = new Promise<string>((resolve) => {
      fake.holdNext('chat.postMessage', { match: (args) => args.text === 'slow', until: ({ args }) => (resolve(String(args.text)), new Promise<void>((go) => (release = go))) });
    });
    const answered = client.chat.postMessage({ channel: 'C0DBACCESS', text: 'slow' });
    // Another call goes by meanwhile.
    await expect(client.chat.postMessage({ channel: 'C0DBACCESS', text: 'quick' })).resolves.toMatchObject({ ok: true });
    expect(await arrived).toBe('slow');
    expect(fake.messagesIn('C0DBACCESS').map((message) => message.text)).toEqual(['quick']);
    release();
    await expect(answered).resolves.toMatchObject({ ok: true });
    expect(fake.messagesIn('C0DBACCESS').map((message) => message.text)).toEqual(['quick', 'slow']);

    let goneAt = 0;
    fake.holdNext('chat.postMessage', { until: ({ gone }) => gone.then(() => (goneAt = Date.now())) });
    const impatient = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 300 });
    await expect(impatient.chat.postMessage({ channel: 'C0DBACCESS', text: 'given up' })).rejects.toMatchObject({ code: ErrorCode.RequestError });
    await fake.waitFor('chat.postMessage', (call) => call.args.text === 'given up');
    expect(goneAt).toBeGreaterThan(0);
    expect(fake.messagesIn('C0DBACCESS').map((message) => message.text)).toEqual(['quick', 'slow', 'given up']);
  });

  it('answers invalid_auth to a token that is not a bot token, and not_authed without one', async () => {
    const userToken = new WebClient('xoxp-not-a-bot', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
    await expect(userToken.auth.test()).rejects.toSatisfy((error) => platformError(error) === 'invalid_auth');
    const anonymous = new WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
    await expect(anonymous.chat.postMessage({ channel: 'C0DBACCESS', text: 'x' })).rejects.toSatisfy((error) => platformError(error) === 'not_authed');
    expect(fake.messagesIn('C0DBACCESS')).toEqual([]);
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true, team_id: TEAM, user_id: 'U0DBBOT', bot_id: 'B0DBBOT' });
  });

  it('grants only the manifest scopes', async () => {
    const narrow = await startFakeSlack({ scopes: ['commands', 'chat:write'] });
    try {
      const narrowClient = new WebClient('xoxb-test', { slackApiUrl: narrow.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
      const error = await narrowClient.conversations.open({ users: APPROVER }).catch((caught: unknown) => caught as WebAPICallError);
      expect(platformError(error)).toBe('missing_scope');
      expect(error).toMatchObject({ data: { needed: 'im:write' } });
    } finally {
      await narrow.close();
    }
    const result = await client.auth.test();
    expect(result.response_metadata?.scopes).toEqual(['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email', 'usergroups:read', 'channels:history', 'groups:history']);
  });

  it('answers users.info with the email only under users:read.email, and usergroups.list with members', async () => {
    const directory = { users: { U0AUDIT: { email: 'audit@acme.test' } }, usergroups: { S0DBAS: ['U0AUDIT', 'U0BOB'] } };
    const full = await startFakeSlack(directory);
    const noEmail = await startFakeSlack({ ...directory, scopes: ['commands', 'users:read'] });
    try {
      const fullClient = new WebClient('xoxb-test', { slackApiUrl: full.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
      expect((await fullClient.users.info({ user: 'U0AUDIT' })).user?.profile?.email).toBe('audit@acme.test');
      await expect(fullClient.users.info({ user: 'U0NOBODY' })).rejects.toSatisfy((error) => platformError(error) === 'user_not_found');
      const groups = await fullClient.usergroups.list({ include_users: true });
      expect(groups.usergroups?.map((group) => [group.id, group.users])).toEqual([['S0DBAS', ['U0AUDIT', 'U0BOB']]]);
      expect((await fullClient.usergroups.list({})).usergroups?.[0]?.users).toBeUndefined();
      const narrowClient = new WebClient('xoxb-test', { slackApiUrl: noEmail.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
      expect((await narrowClient.users.info({ user: 'U0AUDIT' })).user?.profile?.email).toBeUndefined();
      await expect(narrowClient.usergroups.list({ include_users: true })).rejects.toSatisfy((error) => platformError(error) === 'missing_scope');
    } finally {
      await Promise.all([full.close(), noEmail.close()]);
    }
  });

  it('waits for calls made later, and times out with what it saw', async () => {
    const waiting = fake.waitFor('chat.postMessage', (call) => call.args.text === 'second');
    await client.chat.postMessage({ channel: 'C0DBACCESS', text: 'first' });
    setTimeout(() => void client.chat.postMessage({ channel: 'C0DBACCESS', text: 'second' }), 20);
    await expect(waiting).resolves.toMatchObject({ args: { channel: 'C0DBACCESS', text: 'second' } });
    await expect(fake.waitFor('chat.update', undefined, 50)).rejects.toThrow(/no matching chat.update within 50 ms/);
  });

  it('plays response_url: replace, delete, at most five uses', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0DBACCESS', text: 'Pending', blocks: approvalBlocks('pending') });
    const url = fake.responseUrl('click-1', { channel: 'C0DBACCESS', user: APPROVER, messageTs: posted.ts as string });
    const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

    const replaced = await post({ replace_original: true, text: 'Approved', blocks: [section('Approved')] });
    expect([replaced.status, await replaced.text()]).toEqual([200, 'ok']);
    expect(fake.message('C0DBACCESS', posted.ts as string)?.blocks).toEqual([section('Approved')]);

    await post({ text: 'Only the approver sees this' });
    expect(fake.ephemeralsFor(APPROVER).map((message) => message.text)).toEqual(['Only the approver sees this']);
    expect((await post({})).status).toBe(400);

    await post({ delete_original: true });
    expect(fake.messagesIn('C0DBACCESS')).toEqual([]);
    await post({ text: 'four' });
    await post({ text: 'five' });
    expect((await post({ text: 'six' })).status).toBe(404);
    expect((await fake.waitFor('response_url', (call) => call.args.text === 'six')).responseUrlId).toBe('click-1');
  });
});

describe('signed requests', () => {
  it('verify with Bolt’s own verifier, and fail with a wrong secret or a stale timestamp', () => {
    const body = slashCommand({ teamId: TEAM, userId: REQUESTER, text: 'orders-db read 1h', responseUrl: 'https://hooks.slack.com/commands/x' });
    const headers = signSlackRequest(SECRET, body);
    const verify = (secret: string, signed = headers) =>
      verifySlackRequest({
        signingSecret: secret,
        body,
        headers: { 'x-slack-signature': signed['X-Slack-Signature'], 'x-slack-request-timestamp': Number(signed['X-Slack-Request-Timestamp']) },
      });
    expect(() => verify(SECRET)).not.toThrow();
    expect(() => verify('another-secret')).toThrow(/signature mismatch/);
    expect(() => verify(SECRET, signSlackRequest(SECRET, body, Math.floor(Date.now() / 1000) - 301))).toThrow(/stale/);
    expect(headers['Content-Type']).toBe('application/x-www-form-urlencoded');
  });

  it('builds the slash command fields Slack sends', () => {
    const fields = Object.fromEntries(
      new URLSearchParams(slashCommand({ teamId: TEAM, userId: REQUESTER, userName: 'ada', text: 'orders-db read', responseUrl: 'https://r', triggerId: '1.2.abc' })),
    );
    expect(fields).toMatchObject({
      team_id: TEAM,
      team_domain: 'dbaccess-test',
      channel_id: 'C0DBACCESS',
      user_id: REQUESTER,
      user_name: 'ada',
      command: '/dbaccess',
      text: 'orders-db read',
      response_url: 'https://r',
      trigger_id: '1.2.abc',
    });
    expect(Object.keys(fields)).toEqual(expect.arrayContaining(['token', 'channel_name', 'api_app_id']));
  });

  it('refuses to click a button that is not in the message, or submit a modal missing a required input', () => {
    const message = { ts: '1764400000.000100', channel: 'C0DBACCESS', blocks: approvalBlocks('pending') };
    expect(() => blockAction({ teamId: TEAM, userId: APPROVER, actionId: 'escalate', message, responseUrl: 'https://r' })).toThrow(/no element/);
    expect(() => viewSubmission({ teamId: TEAM, userId: REQUESTER, view: requestModal, values: { reason: { value: plainTextInput('x') } } })).toThrow(
      /required input database\/value/,
    );
    expect(() => viewSubmission({ teamId: TEAM, userId: REQUESTER, view: requestModal, values: { nope: { value: plainTextInput('x') } } })).toThrow(
      /no input nope\/value/,
    );
  });

  it('reach a Fastify route through inject()', async () => {
    const app = Fastify();
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    app.post('/slack/events', async (request, reply) => {
      const valid = (() => {
        try {
          verifySlackRequest({
            signingSecret: SECRET,
            body: request.body as string,
            headers: {
              'x-slack-signature': String(request.headers['x-slack-signature']),
              'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']),
            },
          });
          return true;
        } catch {
          return false;
        }
      })();
      return reply.code(valid ? 200 : 401).send({ valid });
    });
    try {
      const body = slashCommand({ teamId: TEAM, userId: REQUESTER, text: 'x', responseUrl: 'https://r' });
      await expect(postSigned(app, '/slack/events', body, { secret: SECRET })).resolves.toMatchObject({ status: 200, json: { valid: true } });
      await expect(postSigned(app, '/slack/events', body, { secret: 'wrong' })).resolves.toMatchObject({ status: 401 });
    } finally {
      await app.close();
    }
  });
});

describe('a Bolt app between the builders and the fake', () => {
  let fake: FakeSlack;
  let server: Server;
  let baseUrl: string;
  const submissions: unknown[] = [];

  beforeAll(async () => {
    fake = await startFakeSlack();
    const receiver = new HTTPReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
    const app = new App({
      receiver,
      token: 'xoxb-test',
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 },
    });
    app.command('/dbaccess', async ({ ack, client, body }) => {
      await ack();
      await client.views.open({ trigger_id: body.trigger_id, view: requestModal as never });
    });
    app.action('approve', async ({ ack, respond, body }) => {
      await ack();
      const action = (body as { actions: Array<{ value?: string }> }).actions[0];
      await respond({ replace_original: true, text: `Approved ${action?.value}`, blocks: [section(`Approved ${action?.value}`)] });
    });
    app.view('access_request', async ({ ack, view }) => {
      await ack();
      submissions.push(view.state.values);
    });
    server = createServer(receiver.requestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await fake.close();
  });

  it('routes a slash command, and the listener opens the modal with the command’s trigger', async () => {
    const triggerId = fake.triggerId();
    const body = slashCommand({ teamId: TEAM, userId: REQUESTER, text: '', triggerId, responseUrl: fake.responseUrl('cmd-1') });
    const response = await postSigned(baseUrl, '/slack/events', body, { secret: SECRET });
    expect(response.status).toBe(200);
    const opened = await fake.waitFor('views.open');
    expect(opened.args).toMatchObject({ trigger_id: triggerId, view: { callback_id: 'access_request' } });
    expect(fake.callsTo('auth.test')).toHaveLength(1);
  });

  it('routes a click on the button the app rendered, and respond() replaces the message', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    const posted = await client.chat.postMessage({ channel: 'C0DBACCESS', text: 'Access request', blocks: approvalBlocks('pending') });
    const message = fake.message('C0DBACCESS', posted.ts as string);
    if (!message) throw new Error('message not recorded');
    const responseUrl = fake.responseUrl('click-approve', { channel: message.channel, user: APPROVER, messageTs: message.ts });
    const body = blockAction({ teamId: TEAM, userId: APPROVER, actionId: 'approve', message, responseUrl });

    const response = await postSigned(baseUrl, '/slack/events', body, { secret: SECRET });
    expect(response.status).toBe(200);
    await fake.waitFor('response_url', (call) => call.responseUrlId === 'click-approve');
    expect(fake.message('C0DBACCESS', message.ts)?.text).toBe('Approved req_01');
  });

  it('routes a modal submission with the values a person entered', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    const opened = await client.views.open({ trigger_id: fake.triggerId(), view: requestModal as never });
    const view = fake.view(opened.view?.id as string);
    if (!view) throw new Error('view not recorded');
    const body = viewSubmission({
      teamId: TEAM,
      userId: REQUESTER,
      view: { ...view, callback_id: 'access_request' },
      values: { database: { value: staticSelect('orders-db') }, reason: { value: plainTextInput('Investigate INC-42') } },
    });
    const response = await postSigned(baseUrl, '/slack/events', body, { secret: SECRET });
    expect(response.status).toBe(200);
    await expect.poll(() => submissions.length).toBe(1);
    expect(submissions[0]).toEqual({
      database: { value: staticSelect('orders-db') },
      reason: { value: plainTextInput('Investigate INC-42') },
      ticket: { value: { type: 'plain_text_input', value: null } },
    });
  });

  it('rejects a wrong signature, a stale timestamp and a content type with a charset', async () => {
    const body = slashCommand({ teamId: TEAM, userId: REQUESTER, text: 'x', responseUrl: fake.responseUrl('cmd-bad') });
    expect((await postSigned(baseUrl, '/slack/events', body, { secret: 'wrong' })).status).toBe(401);
    expect((await postSigned(baseUrl, '/slack/events', body, { secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 400 })).status).toBe(401);
    expect(
      (await postSigned(baseUrl, '/slack/events', body, { secret: SECRET, contentType: 'application/x-www-form-urlencoded; charset=utf-8' })).status,
    ).toBe(400);
  });
});
