import Anthropic from '@anthropic-ai/sdk';
import mysql from 'mysql2/promise';
import { generate } from 'otplib';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { asSystem } from '../../src/db/tenant-scope.js';
import { asJobs } from '../support/scopes.js';
import { createVaultClient } from '../../src/modules/credentials/vault-client.js';
import { CONSOLE_PEOPLE } from '../../src/app/sandbox.js';
import { APPROVERS_CHANNEL, PEOPLE, SIGNING_SECRET, TEAM, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { SERVICES } from '../support/services.js';
import { startFakeAnthropic, outcome } from '../support/fake-anthropic.js';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-bot-framework.js';
import { startFakeVault } from '../support/fake-vault.js';
import { blockAction, plainTextInput, viewSubmission } from '../support/slack-requests.js';
import { shownIn } from '../support/teams-text.js';
import { expectAbsent, logCapture } from '../support/log-capture.js';

/**
 * Secrets are absent from the log at every level. Each scenario runs the app at LOG_LEVEL=trace
 * with its real logger writing into memory (what it would write to stdout), hands out credentials,
 * MFA keys and recovery codes through the real chat interfaces, and then looks for every one of
 * them, and the configuration's secrets, in the whole log: as written, URL-encoded, base64 and
 * JSON-escaped (a DM's blocks are JSON inside the JSON of a Web API call).
 */

const RECOVERY_CODE = /\b[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}\b/g;
const code = (secret: string, at = Date.now()) => generate({ secret, epoch: Math.floor(at / 1000) });
/** Waits, if needed, until the current 30-second TOTP step has at least 6 s left. */
const awayFromStepEnd = async () => {
  while (Date.now() % 30_000 > 24_000) await new Promise((resolve) => setTimeout(resolve, 250));
};

const passwordOf = (uri: string) => decodeURIComponent(new URL(uri).password);

const answered = (result: { body: unknown }) => shownIn({ attachments: [{ content: (result.body as { value: unknown }).value }] }) || String((result.body as { value?: unknown }).value ?? '');

const SECOND_DATABASE = `  - id: reports
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: postgres
    environment: staging
    admin: env:ORDERS_ADMIN_URL
`;

describe('no secret in the log at LOG_LEVEL=trace', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('Slack: enrol MFA, request, approve with a code, reveal, extend, end, revoke; nothing of it in the log', async () => {
    const log = logCapture();
    const h: Harness = await startHarness({
      queue: 'redis',
      log: log.stream,
      env: { LOG_LEVEL: 'trace' },
      extraDatabases: SECOND_DATABASE,
      policy: `roles:
  admins: [${PEOPLE.alice}]
policies:
  - { name: guarded, databases: [orders], approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: always }
  - { name: plain, databases: [reports], approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never }
`,
    });
    cleanups.push(() => h.close());
    const handedOut: Record<string, string[]> = { totpKeys: [], otpauthUris: [], recoveryCodes: [], passwords: [] };
    const openedView = async (before: number, what: string) => {
      const call = await waitUntil(() => h.slack.callsTo('views.open')[before], 5000, what);
      return (call.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] } }).view;
    };

    /** `/dbaccess mfa`, the key from the DM, a code to confirm, the recovery codes from the next DM. */
    async function enrol(user: string): Promise<string> {
      const dm = h.slack.dmChannelFor(user);
      await h.command(user, 'mfa');
      const setup = await h.waitForMessage(dm, (m) => /Set up MFA/.test(shown(m)));
      const key = /\*Key\*\n`([A-Z2-7]+)`/.exec(shown(setup))![1]!;
      handedOut.totpKeys!.push(key);
      handedOut.otpauthUris!.push(/otpauth:\/\/[^\s>|`]+/.exec(shown(setup))![0]);
      const before = h.slack.callsTo('views.open').length;
      await h.click(user, 'dbaccess.mfa-confirm', setup);
      const view = await openedView(before, 'the confirm form');
      await awayFromStepEnd();
      const confirmed = await h.post(viewSubmission({ teamId: TEAM, userId: user, view, values: { code: { value: plainTextInput(await code(key, Date.now() - 30_000)) } } }));
      if (confirmed.status === 200) {
        const codes = await h.waitForMessage(dm, (m) => /MFA is on/.test(m.text ?? ''));
        const recovery = (codes.text ?? '').match(RECOVERY_CODE) ?? [];
        expect(recovery).toHaveLength(10);
        handedOut.recoveryCodes!.push(...recovery);
      } else {
        // The confirmation hashes ten recovery codes before it acknowledges; on a machine loaded
        // enough for that to pass Bolt's 2.5 s, Slack gets a 404 while the listener goes on and
        // confirms without showing the codes (a product issue of its own, reported). The rest of
        // the flow still runs; the recovery codes shown are then checked on Teams only.
        expect(confirmed.status).toBe(404);
        const actor = await asJobs(h.app.tenants).actor('slack', TEAM, user);
        await waitUntil(() => asJobs(h.app.mfa).isEnrolled(actor), 30_000, 'the confirmation to finish');
        console.warn(`log-redaction: the MFA confirmation of ${user} was not acknowledged within 2.5 s (machine load); its recovery codes were not shown`);
        await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() % 30_000) + 100));
      }
      return key;
    }

    const bobKey = await enrol(PEOPLE.bob);
    const requesterKey = await enrol(PEOPLE.requester);

    // Request; Bob approves with his code.
    await h.submitRequest(PEOPLE.requester, { databaseId: 'orders', scope: 'sales.orders', duration: '1h' });
    const card = await h.waitForCard((m) => /approval needs an MFA code/.test(shown(m)));
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    let before = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.bob, 'dbaccess.approve', card);
    const approveView = await openedView(before, 'the MFA form');
    const approved = await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.bob, view: approveView, values: { code: { value: plainTextInput(await code(bobKey)) } } }));
    expect((approved.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();

    // The requester reveals with a code: the password arrives in the DM.
    const waiting = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /reveal the credentials/.test(shown(m)));
    before = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.requester, 'dbaccess.reveal', waiting);
    const revealView = await openedView(before, 'the reveal form');
    await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.requester, view: revealView, values: { code: { value: plainTextInput(await code(requesterKey)) } } }));
    const dm = await h.waitForMessage(waiting.channel, (m) => m.ts === waiting.ts && /postgresql:\/\//.test(shown(m)));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    handedOut.passwords!.push(passwordOf(uri));

    // Extend, then end from the DM.
    before = h.slack.callsTo('views.open').length;
    await h.post(blockAction({ teamId: TEAM, userId: PEOPLE.requester, actionId: 'dbaccess.extend', message: dm, channelId: dm.channel, responseUrl: h.slack.responseUrl('ext', { user: PEOPLE.requester }) }));
    const extendView = await openedView(before, 'the extend form');
    await h.post(viewSubmission({ teamId: TEAM, userId: PEOPLE.requester, view: extendView, values: { duration: { value: plainTextInput('30m') }, reason: { value: plainTextInput(null) } } }));
    await h.waitForMessage(dm.channel, (m) => /extended: it now ends at/.test(m.text ?? ''));
    await h.click(PEOPLE.requester, 'dbaccess.end', h.slack.message(dm.channel, dm.ts)!);
    await h.waitForCard((m) => m.ts === card.ts && /access ended at/.test(shown(m)), 30_000);

    // A second request, delivered at once, revoked by an approver.
    await h.submitRequest(PEOPLE.requester, { databaseId: 'reports', duration: '1h', reason: 'Check the staging report numbers for OPS-77' });
    const second = await h.waitForCard((m) => m.ts !== card.ts && /reports/.test(shown(m)));
    const secondId = /R[0-9A-Z]{9}/.exec(shown(second))![0];
    await h.click(PEOPLE.alice, 'dbaccess.approve', second);
    const secondDm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(secondId) && /postgresql:\/\//.test(shown(m)));
    handedOut.passwords!.push(passwordOf(/postgresql:\/\/[^\s`"]+/.exec(shown(secondDm))![0]));
    await h.command(PEOPLE.bob, `revoke ${secondId}`);
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => m.ts === second.ts && /access ended at/.test(shown(m)), 30_000);

    // The log is the app's own at trace: Bolt's and the Web API client's debug output is in it.
    const text = log.text();
    expect(/"level":20,/.test(text) && /http request body: /.test(text) && text.includes(requestId)).toBe(true);
    expectAbsent(text, {
      ...handedOut,
      slackBotToken: h.env.SLACK_BOT_TOKEN!,
      slackSigningSecret: SIGNING_SECRET,
      adminPassword: passwordOf(h.target.adminUrl),
      masterKey: [h.env.MASTER_KEY!, Buffer.from(h.env.MASTER_KEY!, 'hex').toString('base64')],
    });
    for (const line of log.lines()) expect(() => JSON.parse(line)).not.toThrow();
  }, 180_000);

  it('Teams: enrol MFA, request, approve with a code, reveal, extend, end, revoke; nothing of it in the log', async () => {
    const log = logCapture();
    const fake: FakeBotFramework = await startFakeBotFramework();
    cleanups.push(() => fake.close());
    const requester = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    const alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    const team = await fake.addTeam({ name: 'DBAs', members: [requester, alice] });
    const h = await startHarness({
      queue: 'redis',
      log: log.stream,
      env: { ...fake.env(), CONSOLE: 'off', LOG_LEVEL: 'trace' },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
      extraDatabases: SECOND_DATABASE,
      policy: `policies:
  - { name: guarded, databases: [orders], approvers: [${alice.email}], mfa: always }
  - { name: plain, databases: [reports], approvers: [${alice.email}], mfa: never }
`,
    });
    cleanups.push(() => h.close());
    const teams = fake.bot(`${h.url}/api/messages`);
    const handedOut: Record<string, string[]> = { totpKeys: [], otpauthUris: [], recoveryCodes: [], passwords: [] };
    const personal = (user: typeof requester) => fake.personalConversationId(user);
    const botMessages = async (user: typeof requester) => fake.botMessagesIn(await personal(user));
    const reply = async (user: typeof requester, text: string) => {
      const before = (await botMessages(user)).length;
      expect((await teams.personalMessage({ from: user, text })).status).toBe(200);
      return waitUntil(async () => (await botMessages(user))[before], 10_000, `the answer to ${text}`);
    };
    expect((await teams.installationUpdate({ from: alice, action: 'add', team })).status).toBe(200);

    async function enrol(user: typeof requester): Promise<string> {
      const setup = await reply(user, 'dbaccess mfa');
      const key = /^[A-Z2-7]{16,}$/m.exec(shownIn(setup))![0];
      handedOut.totpKeys!.push(key);
      handedOut.otpauthUris!.push(/otpauth:\/\/\S+/.exec(shownIn(setup))![0]);
      await awayFromStepEnd();
      const confirmed = await teams.cardAction({ from: user, message: setup, verb: 'mfaConfirm', inputs: { code: await code(key, Date.now() - 30_000) } });
      const recovery = answered(confirmed).match(RECOVERY_CODE) ?? [];
      expect(recovery).toHaveLength(10);
      handedOut.recoveryCodes!.push(...recovery);
      return key;
    }
    const aliceKey = await enrol(alice);
    const requesterKey = await enrol(requester);

    const form = await reply(requester, 'dbaccess');
    const inputs = { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '1h', reason: 'Investigate the failed payouts of last night for OPS-1234', ticket: 'OPS-1234', breakGlass: 'false' };
    const requestId = /R[0-9A-Z]{9}/.exec(answered(await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs })))![0];
    const card = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId) && shownIn(m).includes('Approve')), 30_000, 'the approval card');
    const approved = await teams.cardAction({ from: alice, message: (await fake.message(card.id))!, verb: 'approve', inputs: { code: await code(aliceKey) } });
    expect(answered(approved)).toMatch(/Approved by/);

    const waiting = await waitUntil(async () => (await botMessages(requester)).find((m) => shownIn(m).includes(requestId) && /Reveal/i.test(shownIn(m))), 30_000, 'the credentials waiting');
    await teams.cardAction({ from: requester, message: waiting, verb: 'reveal', inputs: { code: await code(requesterKey) } });
    const credentials = await waitUntil(async () => (await botMessages(requester)).find((m) => /postgresql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    handedOut.passwords!.push(passwordOf(/postgresql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0]));
    expect(answered(await teams.cardAction({ from: requester, message: (await fake.message(credentials.id))!, verb: 'extend', inputs: { duration: '30m' } }))).toMatch(/Extended until/);
    await teams.cardAction({ from: requester, message: (await fake.message(credentials.id))!, verb: 'end' });
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) })))?.state === 'revoked', 30_000, 'the end');

    const second = await reply(requester, 'dbaccess');
    const secondId = /R[0-9A-Z]{9}/.exec(answered(await teams.cardAction({ from: requester, message: second, verb: 'submit', inputs: { ...inputs, databaseId: 'reports', scope: '' } })))![0];
    const secondCard = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(secondId) && shownIn(m).includes('Approve')), 30_000, 'the second card');
    await teams.cardAction({ from: alice, message: (await fake.message(secondCard.id))!, verb: 'approve' });
    const secondCredentials = await waitUntil(async () => (await botMessages(requester)).find((m) => shownIn(m).includes(secondId) && /postgresql:\/\//.test(shownIn(m))), 30_000, 'the second credentials');
    handedOut.passwords!.push(passwordOf(/postgresql:\/\/[^\s`"]+/.exec(shownIn(secondCredentials))![0]));
    expect(shownIn(await reply(alice, `dbaccess revoke ${secondId}`))).toMatch(/Ending access/);
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, secondId) })))?.state === 'revoked', 30_000, 'the revocation');

    const text = log.text();
    // Teams' own output is our log lines; the debug ones (the Slack client's, here idle) show the level is on.
    expect(/"level":20,/.test(text)).toBe(true);
    expectAbsent(text, {
      ...handedOut,
      botPassword: fake.appPassword,
      adminPassword: passwordOf(h.target.adminUrl),
      masterKey: [h.env.MASTER_KEY!, Buffer.from(h.env.MASTER_KEY!, 'hex').toString('base64')],
    });
    for (const line of log.lines()) expect(() => JSON.parse(line)).not.toThrow();
  }, 180_000);

  it('the console: request, approve with a code, reveal with a code, extend, end, revoke; nothing of it in the log', async () => {
    const log = logCapture();
    const h = await startHarness({
      queue: 'redis',
      log: log.stream,
      env: { CONSOLE: 'on', LOG_LEVEL: 'trace' },
      extraDatabases: SECOND_DATABASE,
      policy: `policies:
  - { name: guarded, databases: [orders], approvers: [${CONSOLE_PEOPLE.approver}], mfa: always }
  - { name: plain, databases: [reports], approvers: [${CONSOLE_PEOPLE.approver}], mfa: never }
`,
    });
    cleanups.push(() => h.close());
    const post = async (path: string, body: unknown) => {
      const answer = await fetch(`${h.url}/console/api/${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' } });
      return (await answer.json()) as { ok?: boolean; message?: string; id?: string };
    };
    const state = async () => (await (await fetch(`${h.url}/console/api/state`)).json()) as { messages: Array<{ kind: string; requestId?: string; text: string; data?: { password?: string; uri?: string } }> };
    // The console has no enrolment screen: its two people enrol through the service.
    const handedOut: Record<string, string[]> = { totpKeys: [], otpauthUris: [], recoveryCodes: [], passwords: [] };
    const keys: Record<string, string> = {};
    for (const who of ['requester', 'approver'] as const) {
      const actor = await asJobs(h.app.tenants).actor('console', 'local', CONSOLE_PEOPLE[who]);
      const started = await asJobs(h.app.mfa).startEnrollment(actor, who);
      keys[who] = started.secret.reveal();
      handedOut.totpKeys!.push(keys[who]!);
      handedOut.otpauthUris!.push(started.otpauthUri.reveal());
      await awayFromStepEnd();
      handedOut.recoveryCodes!.push(...(await asJobs(h.app.mfa).confirmEnrollment(actor, await code(keys[who]!, Date.now() - 30_000))).recoveryCodes.map((c) => c.reveal()));
    }
    const form = { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '1h', reason: 'Count the failed payouts of last night for finance', ticket: '' };
    const { id } = await post('requests', form);
    await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'card' && m.requestId === id), 30_000, 'the console card');
    expect(await post('actions', { action: 'approve', requestId: id, as: 'approver', code: await code(keys.approver!) })).toMatchObject({ ok: true });
    await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'waiting' && m.requestId === id), 30_000, 'the credentials waiting');
    expect(await post('actions', { action: 'reveal', requestId: id, as: 'requester', code: await code(keys.requester!) })).toMatchObject({ ok: true });
    const credentials = await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'credentials' && m.requestId === id), 30_000, 'the credentials');
    handedOut.passwords!.push(credentials.data!.password!);
    expect(await post('actions', { action: 'extend', requestId: id, as: 'requester', duration: '30m' })).toMatchObject({ ok: true });
    expect(await post('actions', { action: 'end', requestId: id, as: 'requester' })).toMatchObject({ ok: true });

    const second = await post('requests', { ...form, databaseId: 'reports', scope: '' });
    await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'card' && m.requestId === second.id), 30_000, 'the second card');
    expect(await post('actions', { action: 'approve', requestId: second.id, as: 'approver' })).toMatchObject({ ok: true });
    const secondCredentials = await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'credentials' && m.requestId === second.id), 30_000, 'the second credentials');
    handedOut.passwords!.push(secondCredentials.data!.password!);
    expect(await post('actions', { action: 'end', requestId: second.id, as: 'approver' })).toMatchObject({ ok: true });
    await waitUntil(async () => (await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, second.id!) })))?.state === 'revoked', 30_000, 'the revocation');

    const text = log.text();
    expect(/"level":20,/.test(text)).toBe(true);
    expectAbsent(text, {
      ...handedOut,
      adminPassword: passwordOf(h.target.adminUrl),
      masterKey: [h.env.MASTER_KEY!, Buffer.from(h.env.MASTER_KEY!, 'hex').toString('base64')],
    });
  }, 180_000);

  it('pg, mysql2, Vault and Anthropic errors are logged without a password, secretKey, token or key', async () => {
    const log = logCapture();
    const logger = createLogger('trace', log.stream);
    const adminPassword = passwordOf(SERVICES.targetPg);

    // pg: a pooled connection killed under its pool. pg-pool hangs the client (its connection
    // password, the backend's secretKey) on the error it emits, and that is what used to be logged.
    const pool = new pg.Pool({ connectionString: SERVICES.targetPg, max: 1 });
    cleanups.push(() => pool.end());
    const client = await pool.connect();
    const { secretKey, processID } = client as unknown as { secretKey: number; processID: number };
    client.release();
    const emitted = new Promise<Error>((resolve) => pool.once('error', resolve));
    const killer = new pg.Client({ connectionString: SERVICES.targetPg });
    await killer.connect();
    await killer.query('SELECT pg_terminate_backend($1)', [processID]);
    await killer.end();
    const poolError = await emitted;
    expect((poolError as Error & { client?: unknown }).client).toBeDefined();
    logger.error({ err: poolError }, 'queue error');
    logger.warn(poolError);
    // ... and a failed login.
    const refused = await new pg.Client({ connectionString: SERVICES.targetPg.replace(adminPassword, 'wrong-pg-password') }).connect().catch((error: unknown) => error);
    logger.error({ err: refused }, 'could not connect');

    // mysql2: a statement carrying a password, which MariaDB quotes back in its syntax error.
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test' });
    cleanups.push(() => connection.end());
    const mysqlError = await connection.query("CREATE USRE 'x'@'%' IDENTIFIED BY 'mysql-secret-pw-123'").catch((error: unknown) => error);
    expect(String((mysqlError as { sql?: string }).sql)).toContain('mysql-secret-pw-123');
    logger.error({ err: mysqlError }, 'provision failed');
    const deniedMysql = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'nobody_here', password: 'mysql-login-pw-456' }).catch((error: unknown) => error);
    logger.error({ err: deniedMysql }, 'could not connect');

    // Vault: a refused token and a failing server.
    const vaultToken = 'hvs.log-test-vault-token-value';
    const vault = await startFakeVault({ token: vaultToken });
    cleanups.push(() => vault.close());
    const wrongToken = 'hvs.wrong-vault-token-value';
    logger.error({ err: await createVaultClient({ addr: vault.addr, token: wrongToken }).readKv('secret/data/orders', 'url').catch((error: unknown) => error) }, 'vault refused');
    vault.failNext('/v1/secret', 500, { errors: [`internal error for token ${vaultToken}`] });
    logger.error({ err: await createVaultClient({ addr: vault.addr, token: vaultToken }).readKv('secret/data/orders', 'url').catch((error: unknown) => error) }, 'vault failed');

    // Anthropic: a server error and a refused key.
    const anthropic = await startFakeAnthropic();
    cleanups.push(() => anthropic.close());
    anthropic.enqueue(outcome.serverError());
    const call = (apiKey: string) => new Anthropic({ apiKey, baseURL: anthropic.url, maxRetries: 0 }).messages.create({ model: 'claude-haiku-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    logger.error({ err: await call(anthropic.apiKey) }, 'analysis failed');
    logger.error({ err: await call('sk-ant-wrong-key-value') }, 'analysis failed');

    const text = log.text();
    expect(log.lines().length).toBe(9);
    expect(text).not.toMatch(new RegExp(`\\b${secretKey}\\b`));
    expect(text).not.toMatch(/secretKey|connectionParameters/);
    expectAbsent(text, {
      adminPassword, wrongPgPassword: 'wrong-pg-password', mysqlPasswords: ['mysql-secret-pw-123', 'mysql-login-pw-456'],
      vaultTokens: [vaultToken, wrongToken], anthropicKeys: [anthropic.apiKey, 'sk-ant-wrong-key-value'],
    });
    // What went wrong is still said: the codes and messages an operator needs.
    expect(text).toMatch(/57P01|terminat/);
    expect(text).toMatch(/ER_PARSE_ERROR/);
    // MariaDB answers a refused login with 1045 or 1698 (ER_ACCESS_DENIED_NO_PASSWORD_ERROR), depending on its accounts.
    expect(text).toMatch(/ER_ACCESS_DENIED_(NO_PASSWORD_)?ERROR/);
  }, 60_000);
});
