import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PEOPLE } from '../../src/app/sandbox.js';
import type { Container } from '../../src/app/container.js';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsTeam, type TeamsUser } from '../support/fake-bot-framework.js';
import { startFakeVault, type FakeVault } from '../support/fake-vault.js';
import { shownIn } from '../support/teams-text.js';

/**
 * A catalog database whose admin reference does not resolve (`cp dbaccess.example.yaml dbaccess.yaml`
 * without ORDERS_ADMIN_URL): the form marks it unavailable and a submission naming it anyway is
 * refused with the fix; `status` lists it; the approvers are told once, however often it is checked
 * and however many processes check; the other database of the same server works end to end; and
 * when it is fixed, the approvers hear that once too. On Slack and the console (one install), and on
 * Teams, through their real interfaces.
 */

const FIX = 'broken is unavailable: BROKEN_ADMIN_URL is not set. Set it to the admin connection URL and restart, or remove broken from dbaccess.yaml.';
const NOTICE = /broken is unavailable: BROKEN_ADMIN_URL is not set/;
const FIXED = /broken is available again/;
const REASON = 'Count the failed payouts of last night for finance';

/** The harness's catalog and a second database on the same server whose admin reference names a variable nobody set. */
const withBroken = ({ target, standard }: { target: { name: string }; standard: string }) =>
  `${standard}  - { id: broken, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: staging, admin: env:BROKEN_ADMIN_URL }\n`;

const storedFor = async (app: Container, databaseId: string) =>
  (await asSystem('test', () => app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM access_requests WHERE database_id = $1', [databaseId]))).rows[0]!.n;

/** Changes the catalog file and waits until the running app has taken it in. */
async function reload(h: Harness, edit: (text: string) => string, taken: (app: Container) => boolean): Promise<void> {
  writeFileSync(h.catalogPath, edit(readFileSync(h.catalogPath, 'utf8')));
  await waitUntil(() => taken(h.app), 15_000, 'the catalog reloaded');
  // The check a reload starts is in flight: this one runs after it.
  await h.app.checkAdmins();
}
const maxDurationOf = (app: Container, databaseId: string) => app.catalogs().ofDatabase(databaseId)?.database(databaseId)?.maxDuration;

async function worksFor(uri: string): Promise<unknown[]> {
  const session = new pg.Client({ connectionString: uri });
  await session.connect();
  try {
    return (await session.query('SELECT customer FROM sales.orders ORDER BY id')).rows.map((row) => row.customer);
  } finally {
    await session.end();
  }
}

describe('a database whose admin reference does not resolve, on Slack and the console', () => {
  let h: Harness;
  const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' } });
  const consoleForm = (databaseId: string) => ({ databaseId, level: 'read', scope: 'sales.orders', duration: '30m', reason: REASON, ticket: '' });
  type ConsoleState = { databases: Array<{ id: string; unavailable: { problem: string; message: string } | null }>; messages: Array<{ kind: string; channel: string; requestId?: string; text: string; data?: { uri?: string } }> };
  const consoleState = async () => (await (await fetch(`${h.url}/console/api/state`)).json()) as ConsoleState;
  const consoleSay = async (as: 'requester' | 'approver', text: string) => (await (await fetch(`${h.url}/console/api/commands`, json({ as, text }))).json()) as { ok: boolean; message: string };
  const notices = (pattern: RegExp) => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => pattern.test(m.text ?? ''));
  const consoleAlerts = async (pattern: RegExp) => (await consoleState()).messages.filter((m) => m.channel === 'approvals' && m.kind === 'alert' && pattern.test(m.text));

  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis',
      env: { CONSOLE: 'on', ADMIN_CHECK_INTERVAL: '1s' },
      policy: `roles:
  admins: [${PEOPLE.alice}, ${CONSOLE_PEOPLE.approver}]
policies:
  - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}, ${CONSOLE_PEOPLE.approver}], mfa: never }
`,
      catalog: withBroken,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('Slack: the form marks it unavailable with the fix; a submission naming it anyway is refused and stores nothing', async () => {
    const opened = h.slack.callsTo('views.open').length;
    await h.command(PEOPLE.requester, '');
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'the form');
    const view = (call.response as { view: { blocks: Array<{ block_id?: string; element?: { options?: Array<{ text: { text: string }; value: string }> } }> } }).view;
    const options = view.blocks.find((block) => block.block_id === 'databaseId')!.element!.options!;
    expect(options.map((option) => option.text.text)).toEqual(['orders (production)', 'broken (unavailable: BROKEN_ADMIN_URL is not set)']);
    expect(shown(view as never)).toContain(FIX);

    // An old form or a crafted payload: refused under the field, with the fix; nothing is stored or posted.
    const answer = await h.submitRequest(PEOPLE.requester, { databaseId: 'broken', scope: 'sales.orders', reason: REASON });
    expect(answer.json).toEqual({ response_action: 'errors', errors: { databaseId: FIX } });
    expect(await storedFor(h.app, 'broken')).toBe(0);
  });

  it('Slack and the console: status lists it with the fix, for admins', async () => {
    const before = h.slack.callsTo('response_url').length;
    await h.command(PEOPLE.alice, 'status');
    const status = await h.slack.waitFor('response_url', (c) => /dbaccess status/.test(String(c.args.text ?? '')) && h.slack.callsTo('response_url').indexOf(c) >= before);
    expect(String(status.args.text)).toContain('Databases unavailable (their admin connection does not resolve): 1');
    expect(String(status.args.text)).toContain(FIX);

    const said = await consoleSay('approver', 'status');
    expect(said.ok).toBe(true);
    expect(said.message).toContain(FIX);
  });

  it('the console: the form greys it out with the fix, and its API refuses it with 422 and stores nothing', async () => {
    const { databases } = await consoleState();
    expect(databases.map((db) => [db.id, db.unavailable])).toEqual([
      ['orders', null],
      ['broken', { problem: 'BROKEN_ADMIN_URL is not set', message: FIX }],
    ]);
    const refused = await fetch(`${h.url}/console/api/requests`, json(consoleForm('broken')));
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ errors: { databaseId: FIX } });
    expect(await storedFor(h.app, 'broken')).toBe(0);
  });

  it('Slack: the other database of the same server still works end to end', async () => {
    await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', reason: REASON });
    const card = await h.waitForCard((m) => hasButton(m, 'dbaccess.approve') && shown(m).includes(REASON), 30_000);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const credentials = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId), 30_000);
    expect(await worksFor(/postgresql:\/\/[^\s`"]+/.exec(shown(credentials))![0])).toEqual(['acme', 'globex']);
    // And no card ever named the broken one.
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => hasButton(m, 'dbaccess.approve') || /R[0-9A-Z]{9}/.test(shown(m))).some((m) => /\bbroken\b/.test(shown(m)))).toBe(false);
    expect(await storedFor(h.app, 'broken')).toBe(0);
  });

  it('the console: the other database of the same server still works end to end', async () => {
    const created = await fetch(`${h.url}/console/api/requests`, json(consoleForm('orders')));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await waitUntil(async () => (await consoleState()).messages.find((m) => m.kind === 'card' && m.requestId === id), 20_000, 'the console card');
    const approved = await (await fetch(`${h.url}/console/api/actions`, json({ action: 'approve', requestId: id, as: 'approver' }))).json() as { ok: boolean };
    expect(approved.ok).toBe(true);
    const credentials = await waitUntil(async () => (await consoleState()).messages.find((m) => m.kind === 'credentials' && m.requestId === id), 30_000, 'the console credentials');
    expect(await worksFor(credentials.data!.uri!)).toEqual(['acme', 'globex']);
  });

  it('Slack and the console: the approvers are told once, with the fix, however often it is checked, reloaded, or checked by another process', async () => {
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => NOTICE.test(m.text ?? ''), 15_000);
    await waitUntil(async () => (await consoleAlerts(NOTICE)).length > 0, 15_000, 'the console notice');
    expect(notices(NOTICE)[0]!.text).toContain('BROKEN_ADMIN_URL is not set. Set it to the admin connection URL and restart, or remove broken from dbaccess.yaml.');

    for (let round = 0; round < 3; round++) await h.app.checkAdmins();
    await reload(h, (text) => text.replace('maxDuration: 4h', 'maxDuration: 3h'), (app) => maxDurationOf(app, 'orders') === 3 * 3600);
    await reload(h, (text) => text.replace('maxDuration: 3h', 'maxDuration: 4h'), (app) => maxDurationOf(app, 'orders') === 4 * 3600);
    // A second process on the same state database (a worker) checks at its start, and finds it told.
    // (Last of the flows here: the worker takes jobs too, and its console messages stay in its own memory.)
    const worker = await h.startWorker();
    await worker.checkAdmins();
    await h.app.checkAdmins();

    expect(notices(NOTICE)).toHaveLength(1);
    expect(await consoleAlerts(NOTICE)).toHaveLength(1);
  });

  it('fixed by a catalog edit: the form offers it again, status is clear, and the approvers hear it once', async () => {
    await reload(h, (text) => text.replace('admin: env:BROKEN_ADMIN_URL', 'admin: env:ORDERS_ADMIN_URL'), (app) => app.availability.of('broken') === undefined);
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => FIXED.test(m.text ?? ''), 15_000);
    await waitUntil(async () => (await consoleAlerts(FIXED)).length > 0, 15_000, 'the console says it is fixed');
    for (let round = 0; round < 3; round++) await h.app.checkAdmins();
    expect(notices(FIXED)).toHaveLength(1);
    expect(await consoleAlerts(FIXED)).toHaveLength(1);
    expect(notices(NOTICE)).toHaveLength(1);

    const opened = h.slack.callsTo('views.open').length;
    await h.command(PEOPLE.requester, '');
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'the form');
    expect(shown((call.response as { view: never }).view)).not.toContain('unavailable');
    expect((await consoleState()).databases.every((db) => db.unavailable === null)).toBe(true);
    expect((await consoleSay('approver', 'status')).message).toContain('Databases: every admin connection resolves');
  });
});

describe('a database whose admin reference does not resolve, on Teams', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let teams: TeamsDriver;
  let team: TeamsTeam;
  let requester: TeamsUser;
  let alice: TeamsUser;

  beforeAll(async () => {
    fake = await startFakeBotFramework();
    requester = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    team = await fake.addTeam({ name: 'DBAs', members: [requester, alice] });
    h = await startHarness({
      queue: 'redis',
      env: { ...fake.env(), CONSOLE: 'off', ADMIN_CHECK_INTERVAL: '1s' },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
      policy: `policies:\n  - { name: tests, approvers: [${alice.email}], mfa: never }\n`,
      catalog: withBroken,
    });
    teams = fake.bot(`${h.url}/api/messages`);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const cardValue = (answer: { body: unknown }) => ({ attachments: [{ content: (answer.body as { value: unknown }).value }] });
  const inputs = (databaseId: string) => ({ databaseId, level: 'read', scope: 'sales.orders', duration: '30m', reason: REASON, ticket: '', breakGlass: 'false' });

  async function openForm(): Promise<Awaited<ReturnType<FakeBotFramework['botMessagesIn']>>[number]> {
    const personal = await fake.personalConversationId(requester);
    const before = (await fake.botMessagesIn(personal)).length;
    await teams.personalMessage({ from: requester, text: 'dbaccess' });
    return waitUntil(async () => (await fake.botMessagesIn(personal)).slice(before).find((m) => shownIn(m).includes('Request database access')), 10_000, 'the request form');
  }

  it('the approvers\' channel is told once, as soon as the bot knows it, however often it is checked', async () => {
    // The bot learns its channel when it is added to the team; until then the notice waits and is tried again.
    expect((await teams.installationUpdate({ from: alice, action: 'add', team })).status).toBe(200);
    const told = async () => (await fake.botMessagesIn(team.general.id)).filter((m) => NOTICE.test(shownIn(m)));
    await waitUntil(async () => (await told()).length > 0, 15_000, 'the Teams notice');
    expect(shownIn((await told())[0])).toContain(FIX);
    for (let round = 0; round < 3; round++) await h.app.checkAdmins();
    expect(await told()).toHaveLength(1);
  });

  it('the form marks it unavailable; a submission naming it is refused with the fix and stores nothing', async () => {
    const form = await openForm();
    const choices = JSON.stringify(form.attachments);
    expect(choices).toContain('"title":"broken (unavailable: BROKEN_ADMIN_URL is not set)"');
    expect(choices).toContain('"title":"orders (production)"');
    expect(shownIn(form)).toContain(FIX);

    const refused = await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs: inputs('broken') });
    expect(refused.status).toBe(200);
    expect(shownIn(cardValue(refused))).toContain(FIX);
    expect(shownIn(cardValue(refused))).not.toMatch(/R[0-9A-Z]{9}/);
    expect(await storedFor(h.app, 'broken')).toBe(0);
  });

  it('status lists it with the fix', async () => {
    await teams.personalMessage({ from: alice, text: 'dbaccess status' });
    const personal = await fake.personalConversationId(alice);
    const status = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => shownIn(m).includes('dbaccess status')), 10_000, 'the status');
    expect(shownIn(status)).toContain(FIX);
  });

  it('the other database of the same server still works end to end', async () => {
    const form = await openForm();
    const submitted = await teams.cardAction({ from: requester, message: form, verb: 'submit', inputs: inputs('orders') });
    const requestId = /R[0-9A-Z]{9}/.exec(shownIn(cardValue(submitted)))![0];
    const card = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId) && JSON.stringify(m.attachments ?? []).includes('"verb":"approve"')), 30_000, 'the approval card');
    const approved = await teams.cardAction({ from: alice, message: card, verb: 'approve' });
    expect(approved.status).toBe(200);
    const personal = await fake.personalConversationId(requester);
    const credentials = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => /postgresql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    expect(await worksFor(/postgresql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0])).toEqual(['acme', 'globex']);
    expect(await storedFor(h.app, 'broken')).toBe(0);
  });
});

describe('a database whose Vault reference does not exist', () => {
  let h: Harness;
  let vault: FakeVault;
  const token = 'vault-token-for-unavailable-tests';
  const VAULT_NOTICE = /vaulted is unavailable: The Vault secret secret\/data\/vaulted does not exist/;

  beforeAll(async () => {
    vault = await startFakeVault({ token, kv: {} });
    h = await startHarness({
      queue: 'postgres',
      env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: token, ADMIN_CHECK_INTERVAL: '1s' },
      catalog: ({ target, standard }) => `${standard}  - { id: vaulted, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: staging, admin: "vault:secret/data/vaulted#url" }\n`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await vault?.close();
  });

  it('is read off the acknowledgements, marked on the form and refused with what Vault said; once written, it is offered again and the approvers hear so once', async () => {
    const notice = await h.waitForMessage(APPROVERS_CHANNEL, (m) => VAULT_NOTICE.test(m.text ?? ''), 15_000);
    expect(notice.text).toContain('Fix it in Vault (dbaccess reads it again every 1s), or remove vaulted from dbaccess.yaml.');
    const answer = await h.submitRequest(PEOPLE.requester, { databaseId: 'vaulted', scope: 'sales.orders', reason: REASON });
    expect((answer.json as { errors: { databaseId: string } }).errors.databaseId).toMatch(VAULT_NOTICE);
    const view = (h.slack.callsTo('views.open').at(-1)!.response as { view: { blocks: Array<{ block_id?: string; element?: { options?: Array<{ text: { text: string } }> } }> } }).view;
    expect(view.blocks.find((block) => block.block_id === 'databaseId')!.element!.options!.map((option) => option.text.text)).toContain('vaulted (unavailable: its Vault secret cannot be read)');
    expect(await storedFor(h.app, 'vaulted')).toBe(0);

    vault.writeKv('secret/data/vaulted', { url: h.target.adminUrl });
    await h.waitForMessage(APPROVERS_CHANNEL, (m) => /vaulted is available again/.test(m.text ?? ''), 15_000);
    await h.submitRequest(PEOPLE.requester, { databaseId: 'vaulted', scope: 'sales.orders', reason: REASON });
    await h.waitForCard((m) => hasButton(m, 'dbaccess.approve') && /vaulted/.test(shown(m)), 30_000);
    await h.app.checkAdmins();
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => VAULT_NOTICE.test(m.text ?? ''))).toHaveLength(1);
  });
});
