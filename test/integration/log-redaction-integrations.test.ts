import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, SIGNING_SECRET, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { startFakeEntra, startFakeGoogle, startFakeOkta } from '../support/fake-directories.js';
import { startFakeIncidentIo } from '../support/fake-incidentio.js';
import { startFakePagerDuty } from '../support/fake-pagerduty.js';
import type { SlackMessage } from '../support/fake-slack.js';
import { signDelivery, startFakeGithub, startFakeJira, startFakeLinear } from '../support/fake-trackers.js';
import { expectAbsent, logCapture } from '../support/log-capture.js';

/**
 * No integration credential in the log at LOG_LEVEL=trace: the on-call providers' API keys, the
 * ticket trackers' tokens and webhook secrets, the identity providers' tokens, the Google service
 * account's private key and the access tokens the providers hand out. Each scenario runs the app
 * with its real logger writing into memory, through signed Slack HTTP against the loopback doubles of
 * test/support, including the failure paths that log: a 401, a timeout, and a provider whose broken
 * answer makes its client throw an error of undici's own that carries the request's Authorization
 * header back (test/support/garbled-answer.ts). Then the whole log is searched for every value in
 * every encoding (test/support/log-capture.ts).
 */

const HOUR = 3600_000;
const REQUESTER_EMAIL = 'req@acme.test';
const passwordOf = (uri: string) => decodeURIComponent(new URL(uri).password);

describe('no integration credential in the log at LOG_LEVEL=trace', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  /** The approval card of a request just submitted, and its id. */
  const submitted = async (h: Harness, values: Parameters<Harness['submitRequest']>[1]) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const answer = await h.submitRequest(PEOPLE.requester, values);
    expect(answer.status).toBe(200);
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    const card = await h.waitForCard((m) => !before.has(m.ts));
    return { card, requestId: /R[0-9A-Z]{9}/.exec(shown(card))![0] };
  };
  const settled = (h: Harness, requestId: string, pattern: RegExp) =>
    h.waitForMessage(APPROVERS_CHANNEL, (m) => !m.threadTs && shown(m).includes(requestId) && pattern.test(shown(m)));
  /** The requester's credentials DM of a request; its password, when the DM shows one. */
  const delivered = async (h: Harness, requestId: string): Promise<string[]> => {
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(shown(m)), 30_000);
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))?.[0];
    return uri ? [passwordOf(uri)] : [];
  };
  const configSecrets = (h: Harness) => ({
    slackBotToken: h.env.SLACK_BOT_TOKEN!,
    slackSigningSecret: SIGNING_SECRET,
    adminPassword: passwordOf(h.target.adminUrl),
    masterKey: [h.env.MASTER_KEY!, Buffer.from(h.env.MASTER_KEY!, 'hex').toString('base64')],
  });
  /** The log is the app's own at trace: the Web API client's debug output (request and answer bodies) is in it. */
  const expectTraceLog = (text: string) => {
    expect(/"level":20,/.test(text) && /http request body: /.test(text), 'the Web API client\'s debug lines in the log').toBe(true);
  };

  it('on-call: PagerDuty and incident.io approve, refuse a key (401), time out, and answer garbled; neither key is in the log', async () => {
    const PD_TOKEN = 'u+pd9Rk2Wx7Lm4Qz8Tn3';
    const IO_KEY = 'inc_live_7f3a9c1e5b8d2f4a6c0e';
    const log = logCapture();
    const [pd, io] = await Promise.all([startFakePagerDuty({ token: PD_TOKEN }), startFakeIncidentIo({ token: IO_KEY })]);
    cleanups.push(() => pd.close(), () => io.close());
    const now = Date.now();
    pd.users = [{ id: 'PRITA', name: 'Rita Requester', email: REQUESTER_EMAIL }];
    pd.oncalls = [{ userId: 'PRITA', schedule: { id: 'PSCHED1', name: 'Payments primary' }, policy: { id: 'PEP1', name: 'Payments' }, level: 1, start: new Date(now - HOUR), end: new Date(now + 5 * HOUR) }];
    io.schedules = [{ id: '01PLATFORM', name: 'Platform on-call', entries: [{ userId: '01RITA', name: 'Rita', email: REQUESTER_EMAIL, start: new Date(now - HOUR), end: new Date(now + 5 * HOUR) }] }];
    const h = await startHarness({
      queue: 'redis',
      log: log.stream,
      env: { LOG_LEVEL: 'trace', PD_TOKEN, IO_TOKEN: IO_KEY },
      slackDirectory: { users: { [PEOPLE.requester]: { email: REQUESTER_EMAIL } } },
      policy: `integrations:
  pagerduty: { token: env:PD_TOKEN, apiUrl: "${pd.url}", timeoutSeconds: 1, cacheSeconds: 0 }
  incidentio: { token: env:IO_TOKEN, apiUrl: "${io.url}", timeoutSeconds: 1, cacheSeconds: 0 }
policies:
  - name: tests
    approvers: [${PEOPLE.alice}, ${PEOPLE.bob}]
    mfa: never
    autoApprove:
      - { name: payments-oncall, levels: [read], maxDuration: 2h, maxRisk: critical, onCall: { provider: pagerduty, schedules: [PSCHED1] } }
      - { name: platform-oncall, levels: [write], maxDuration: 2h, maxRisk: critical, onCall: { provider: incidentio, schedules: [01PLATFORM] } }
`,
    });
    cleanups.push(() => h.close());
    const passwords: string[] = [];

    // Both approve the engineer on call, with the key sent as each API wants it.
    const byPd = await submitted(h, { level: 'read' });
    await settled(h, byPd.requestId, /Auto-approved by rule payments-oncall/);
    passwords.push(...(await delivered(h, byPd.requestId)));
    expect(pd.calls.at(-1)!.authorization).toBe(`Token token=${PD_TOKEN}`);
    const byIo = await submitted(h, { level: 'write' });
    await settled(h, byIo.requestId, /Auto-approved by rule platform-oncall/);
    passwords.push(...(await delivered(h, byIo.requestId)));
    expect(io.calls.at(-1)!.authorization).toBe(`Bearer ${IO_KEY}`);

    // incident.io refuses the key; PagerDuty does not answer within the second.
    io.fault = { kind: 'status', status: 401 };
    const refused = await submitted(h, { level: 'write' });
    await settled(h, refused.requestId, /On-call not checked: incident\.io refused dbaccess's token \(HTTP 401\)/);
    io.release();
    pd.fault = { kind: 'hang' };
    const late = await submitted(h, { level: 'read' });
    await settled(h, late.requestId, /On-call not checked: PagerDuty did not answer within 1 s/);
    pd.release();

    // A broken answer that echoes the Authorization header: undici's error holds the key in its
    // cause's `data`; the client words it as a reason of its own and drops the error.
    for (const [double, level] of [[pd, 'read'], [io, 'write']] as const) {
      double.fault = { kind: 'garbled' };
      const garbled = await submitted(h, { level });
      await settled(h, garbled.requestId, /On-call not checked: (PagerDuty|incident\.io) broke off its answer/);
      double.release();
    }
    const text = log.text();
    expect(log.lines().filter((line) => line.includes('on-call lookup failed'))).toEqual([]);

    expectTraceLog(text);
    expectAbsent(text, { pagerDutyToken: PD_TOKEN, incidentIoKey: IO_KEY, passwords, ...configSecrets(h) });
    for (const line of log.lines()) expect(() => JSON.parse(line)).not.toThrow();
  }, 90_000);

  it('tickets: Jira, Linear and GitHub verify, close by signed webhook, refuse forged ones, and a garbled poll; no token or webhook secret in the log', async () => {
    const JIRA = { email: 'dbaccess-bot@acme.test', token: 'ATATT3xFfGF0-jira-token-4e9b2c7d1a', secret: 'jira-whsec-5d1e9b7c3a2f' };
    const LINEAR = { apiKey: 'lin_api_7Qk2vN9xR4mT1bW8zY3c', secret: 'lin_wh_4c8e2a6f0b1d9e3a' };
    // A webhook secret with a colon parses as a URL (scheme `gh-whsec`): registered whole all the same (lib/secret.ts).
    const GITHUB = { token: 'ghp_R8s2K4m6N1p3Q5t7V9x0Z2b4D6f8H1j3L5n7', secret: 'gh-whsec:8b3d5f7a9c1e' };
    const log = logCapture();
    const [jira, github, linear] = await Promise.all([startFakeJira(JIRA), startFakeGithub(GITHUB), startFakeLinear(LINEAR)]);
    cleanups.push(() => jira.close(), () => github.close(), () => linear.close());
    const h = await startHarness({
      queue: 'redis',
      log: log.stream,
      slackDirectory: { users: { [PEOPLE.requester]: { email: REQUESTER_EMAIL } } },
      env: {
        LOG_LEVEL: 'trace',
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
    cleanups.push(() => h.close());
    const passwords: string[] = [];
    const reason = 'Fix the duplicate invoices of customer 4411 for the finance team';
    const activate = async (card: SlackMessage, requestId: string) => {
      expect((await h.click(PEOPLE.alice, 'dbaccess.approve', card)).status).toBe(200);
      passwords.push(...(await delivered(h, requestId)));
    };
    const ended = (requestId: string) =>
      h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => Boolean(m.text?.includes(requestId)) && /ended at/.test(m.text ?? ''));
    const deliver = (tracker: 'jira' | 'linear' | 'github', secret: string, body: string) =>
      fetch(`${h.url}/webhooks/${tracker}`, { method: 'POST', headers: { 'content-type': 'application/json', ...signDelivery(tracker, secret, body) }, body });

    // Jira: verified with Basic email:token; a garbled answer to the poll echoes that header (the
    // sweep logs the reason); a forged delivery is refused; a signed one ends the access.
    jira.issues.set('OPS-1', { title: 'Duplicate invoices', status: 'In Progress', category: 'indeterminate', assignee: { email: REQUESTER_EMAIL } });
    const onJira = await submitted(h, { level: 'read', ticket: 'OPS-1', reason });
    expect(shown(onJira.card)).toContain('(In Progress in Jira, verified)');
    await activate(onJira.card, onJira.requestId);
    jira.garbled = true;
    await waitUntil(() => log.lines().find((line) => line.includes('could not read a bound ticket') && line.includes('broke off its answer')), 20_000, 'the poll to fail');
    jira.garbled = false;
    const jiraBody = JSON.stringify({ webhookEvent: 'jira:issue_updated', issue: { key: 'OPS-1', fields: { status: { name: 'Done' } } } });
    expect((await deliver('jira', 'forged-secret', jiraBody)).status).toBe(401);
    jira.issues.get('OPS-1')!.status = 'Done';
    jira.issues.get('OPS-1')!.category = 'done';
    expect((await deliver('jira', JIRA.secret, jiraBody)).status).toBe(202);
    await ended(onJira.requestId);

    // GitHub: Bearer token; forged, then signed.
    github.issues.set('acme/ops#7', { title: 'Rotate keys', status: 'open', category: 'open', assignee: { login: 'req-gh' } });
    const onGithub = await submitted(h, { level: 'write', ticket: '7', reason });
    expect(shown(onGithub.card)).toContain('(open in GitHub, verified)');
    await activate(onGithub.card, onGithub.requestId);
    const githubBody = JSON.stringify({ action: 'closed', issue: { number: 7, state: 'closed' }, repository: { full_name: 'acme/ops' } });
    expect((await deliver('github', 'forged-secret', githubBody)).status).toBe(401);
    github.issues.get('acme/ops#7')!.status = 'closed';
    expect((await deliver('github', GITHUB.secret, githubBody)).status).toBe(202);
    await ended(onGithub.requestId);

    // Linear: the key as the whole Authorization header; forged, then signed.
    linear.issues.set('ENG-5', { title: 'Migrate', status: 'In Progress', category: 'started' });
    const onLinear = await submitted(h, { level: 'admin', ticket: 'ENG-5', reason });
    expect(shown(onLinear.card)).toContain('(In Progress in Linear, verified)');
    await activate(onLinear.card, onLinear.requestId);
    const linearBody = JSON.stringify({ action: 'update', type: 'Issue', data: { id: 'uuid-ENG-5', state: { type: 'completed' } }, webhookTimestamp: Date.now() });
    expect((await deliver('linear', 'forged-secret', linearBody)).status).toBe(401);
    linear.issues.get('ENG-5')!.status = 'Done';
    linear.issues.get('ENG-5')!.category = 'completed';
    expect((await deliver('linear', LINEAR.secret, linearBody)).status).toBe(202);
    await ended(onLinear.requestId);
    // The summaries go to the tickets as comments, with each tracker's credential.
    await waitUntil(() => jira.comments.length > 0 && github.comments.length > 0 && linear.comments.length > 0, 30_000, 'the three summary comments');

    const text = log.text();
    expect(log.lines().filter((line) => line.includes('ticket poll failed'))).toEqual([]);
    expect(log.lines().filter((line) => line.includes('webhook refused')).length).toBe(3);
    expectTraceLog(text);
    expectAbsent(text, {
      jiraToken: JIRA.token,
      // What Jira is sent: base64 of email:token.
      jiraBasic: Buffer.from(`${JIRA.email}:${JIRA.token}`).toString('base64'),
      linearKey: LINEAR.apiKey,
      githubToken: GITHUB.token,
      webhookSecrets: [JIRA.secret, LINEAR.secret, GITHUB.secret],
      passwords,
      ...configSecrets(h),
    });
    for (const line of log.lines()) expect(() => JSON.parse(line)).not.toThrow();
  }, 120_000);

  it('identity providers: Okta, Google and Entra groups approve, Okta refuses its token (401), Entra answers garbled; no token, key or access token in the log', async () => {
    const OKTA_TOKEN = '00Xk9-okta-ssws-7Jd2mP4qR8vT1wZ';
    const ENTRA = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '0b6d2b1c-4f3e-4a43-9d8f-1c2b3a4d5e6f', clientSecret: 'Qm8~entra.client-secret_4Zt7Wx2Ny5' };
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const GOOGLE_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const log = logCapture();
    const [okta, google, entra] = await Promise.all([
      startFakeOkta({
        token: OKTA_TOKEN,
        users: [{ id: '00ureq', email: REQUESTER_EMAIL }, { id: '00ualice', email: 'alice@acme.test' }],
        groups: { '00gdbas': ['00ualice'] },
      }),
      startFakeGoogle({
        serviceAccount: 'dbaccess@acme.iam.gserviceaccount.com', subject: 'admin@acme.test', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        groups: { 'dbas@acme.test': ['bob@acme.test'] },
      }),
      startFakeEntra({ ...ENTRA, groups: { 'g-dbas': [{ user: 'bob@acme.test' }] } }),
    ]);
    cleanups.push(() => okta.close(), () => google.close(), () => entra.close());
    const h = await startHarness({
      queue: 'redis',
      log: log.stream,
      env: { LOG_LEVEL: 'trace', OKTA_TOKEN, GOOGLE_KEY, ENTRA_SECRET: ENTRA.clientSecret },
      slackDirectory: { users: { [PEOPLE.requester]: { email: REQUESTER_EMAIL }, [PEOPLE.alice]: { email: 'alice@acme.test' }, [PEOPLE.bob]: { email: 'bob@acme.test' } } },
      policy: `integrations:
  okta: { url: "${okta.url}", token: env:OKTA_TOKEN, cacheFor: 1s }
  google: { serviceAccount: dbaccess@acme.iam.gserviceaccount.com, privateKey: env:GOOGLE_KEY, subject: admin@acme.test, tokenUrl: "${google.url}/token", apiUrl: "${google.url}", cacheFor: 1s }
  entra: { tenantId: ${ENTRA.tenantId}, clientId: ${ENTRA.clientId}, clientSecret: env:ENTRA_SECRET, loginUrl: "${entra.url}", graphUrl: "${entra.url}", cacheFor: 1s }
roles:
  admins: [${PEOPLE.bob}]
policies:
  - { name: dbas, levels: [read], approvers: [okta:00gdbas], mfa: never }
  - { name: google-dbas, levels: [write], approvers: ["google:dbas@acme.test"], mfa: never }
  - { name: entra-dbas, levels: [admin], approvers: [entra:g-dbas], mfa: never }
`,
    });
    cleanups.push(() => h.close());
    const passwords: string[] = [];
    /** The command's answer: in the acknowledgement, or posted to its response_url right after. */
    const say = async (user: string, text: string) => {
      const before = h.slack.callsTo('response_url').length;
      const answer = await h.command(user, text);
      expect(answer.status).toBe(200);
      if (answer.body) return (JSON.parse(answer.body) as { text: string }).text;
      const call = await waitUntil(() => h.slack.callsTo('response_url').slice(before).find((c) => c.responseUrlId !== undefined), 10_000, `the answer to ${text}`);
      return String(call.args.text);
    };

    // Each provider's group approves its level.
    for (const [level, approver] of [['read', PEOPLE.alice], ['write', PEOPLE.bob], ['admin', PEOPLE.bob]] as const) {
      const { requestId } = await submitted(h, { level });
      expect(await say(approver, `approve ${requestId}`)).toBe(`Approved ${requestId}.`);
      passwords.push(...(await delivered(h, requestId)));
    }
    expect(google.issued.length).toBeGreaterThan(0);
    expect(entra.issued.length).toBeGreaterThan(0);

    // Okta refuses the token: once the cached answer lapses, nobody approves through it, and says why.
    const pending = await submitted(h, { level: 'read' });
    okta.unauthorized = true;
    const refusedAt = Date.now();
    await waitUntil(async () => Date.now() - refusedAt > 1_100 && /Okta refused dbaccess's token \(HTTP 401\)/.test(await say(PEOPLE.bob, `policy orders <@${PEOPLE.alice}>`)), 15_000, 'the Okta cache to lapse');
    expect(await say(PEOPLE.alice, `approve ${pending.requestId}`)).toMatch(/Okta refused dbaccess's token \(HTTP 401\)/);
    okta.unauthorized = false;

    // Entra answers garbled, echoing the Bearer access token: worded as a reason, logged as that.
    entra.garbled = true;
    const garbledAt = Date.now();
    await waitUntil(async () => Date.now() - garbledAt > 1_100 && /Microsoft Entra broke off its answer/.test(await say(PEOPLE.bob, `policy orders <@${PEOPLE.bob}>`)), 15_000, 'the Entra cache to lapse');
    entra.garbled = false;
    await waitUntil(() => log.lines().find((line) => line.includes('identity-provider group could not be read') && line.includes('Microsoft Entra')), 5_000, 'the Entra failure in the log');

    const text = log.text();
    expectTraceLog(text);
    // The key as a whole, and each line of its body (the scrubber knows the whole value only).
    const keyLines = GOOGLE_KEY.split('\n').filter((line) => line && !line.startsWith('-----'));
    expectAbsent(text, {
      oktaToken: OKTA_TOKEN,
      googlePrivateKey: [GOOGLE_KEY, GOOGLE_KEY.trim(), ...keyLines],
      googleAccessTokens: google.issued,
      entraClientSecret: ENTRA.clientSecret,
      entraAccessTokens: entra.issued,
      passwords,
      ...configSecrets(h),
    });
    for (const line of log.lines()) expect(() => JSON.parse(line)).not.toThrow();
  }, 120_000);
});
