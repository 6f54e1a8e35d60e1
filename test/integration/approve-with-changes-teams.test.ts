import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createMariaTarget } from '../support/databases.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsTeam, type TeamsUser } from '../support/fake-bot-framework.js';
import { shownIn } from '../support/teams-text.js';

/**
 * Approve with changes in Teams (the Bot Framework fake, signed tokens), on MariaDB: the card's
 * "Approve with changes…" inputs, the narrower grant on the real server, the requester's message.
 */
describe('approve with changes (Teams, MariaDB)', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let teams: TeamsDriver;
  let team: TeamsTeam;
  let requester: TeamsUser;
  let alice: TeamsUser;
  let mallory: TeamsUser;
  let maria: Awaited<ReturnType<typeof createMariaTarget>>;

  beforeAll(async () => {
    [fake, maria] = await Promise.all([startFakeBotFramework(), createMariaTarget()]);
    requester = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    mallory = await fake.addUser({ name: 'Mallory', email: 'mallory@acme.example' });
    team = await fake.addTeam({ name: 'DBAs', members: [requester, alice, mallory] });
    h = await startHarness({
      queue: 'redis',
      env: { ...fake.env(), CONSOLE: 'off', SHOP_ADMIN_URL: maria.adminUrl },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
      policy: `policies:\n  - { name: tests, approvers: [${alice.email}], mfa: never }\n`,
      extraDatabases: `  - { id: shop, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${maria.name}, environment: staging, admin: env:SHOP_ADMIN_URL }\n`,
    });
    teams = fake.bot(`${h.url}/api/messages`);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
    await maria?.drop();
  });

  const said = (answer: { body: unknown }) => shownIn({ attachments: [{ content: (answer.body as { value: unknown }).value }] }) || JSON.stringify(answer.body);

  it('grants read on the kept table only, for the shorter time, and tells the requester', async () => {
    expect((await teams.installationUpdate({ from: alice, action: 'add', team })).status).toBe(200);
    expect((await teams.personalMessage({ from: requester, text: 'dbaccess' })).status).toBe(200);
    const personal = await fake.personalConversationId(requester);
    const form = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => shownIn(m).includes('Request database access')), 10_000, 'the request form');
    const submitted = await teams.cardAction({
      from: requester, message: form, verb: 'submit',
      inputs: { databaseId: 'shop', level: 'write', scope: `${maria.name}.orders, ${maria.name}.customers`, duration: '2h', reason: 'Correct two order totals after the refund bug', ticket: '', breakGlass: 'false' },
    });
    const requestId = /R[0-9A-Z]{9}/.exec(said(submitted))![0];
    const card = await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId) && shownIn(m).includes('Approve with changes')), 30_000, 'the approval card');
    const encode = (item: string) => Buffer.from(item, 'utf8').toString('base64url');
    // The card offers the narrowing inputs: levels within write, the scope asked, the time, a note.
    const offered = JSON.stringify(card.attachments);
    expect(offered).toContain('"id":"newLevel"');
    expect(offered).toContain(`"value":"${encode(`${maria.name}.orders`)},${encode(`${maria.name}.customers`)}"`);
    expect(offered).toContain('"id":"note"');
    // The buttons come in the order Slack and the console show them.
    const titles = (card.attachments as { content: { actions: { title: string }[] } }[])[0]!.content.actions.map((action) => action.title);
    expect(titles.slice(0, 3)).toEqual(['Approve', 'Approve with changes…', 'Deny']);

    // A stranger cannot; wider than asked is refused with the reason; nothing changes.
    const stranger = await teams.cardAction({ from: mallory, message: card, verb: 'approveWithChanges', inputs: { newLevel: 'read', keepScope: encode(`${maria.name}.orders`), newDuration: '30m' } });
    expect(JSON.stringify(stranger.body)).toMatch(/Only .*alice@acme\.example.* can approve/);
    const wider = await teams.cardAction({ from: alice, message: (await fake.message(card.id))!, verb: 'approveWithChanges', inputs: { newLevel: 'admin', keepScope: encode(`${maria.name}.orders`), newDuration: '30m' } });
    expect(JSON.stringify(wider.body)).toMatch(/admin is wider than the write asked for/);
    const stillPending = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
    expect(stillPending).toMatchObject({ state: 'pending', level: 'write', changes: null });

    const approved = await teams.cardAction({
      from: alice, message: (await fake.message(card.id))!, verb: 'approveWithChanges',
      inputs: { newLevel: 'read', keepScope: encode(`${maria.name}.orders`), newDuration: '30m', note: 'Read the totals first; customers are out of scope.' },
    });
    expect(approved.status).toBe(200);
    // The card shows the approved terms and what was asked.
    await waitUntil(async () => /Approved with changes by/.test(shownIn(await fake.message(card.id))), 30_000, 'the card redrawn');
    const redrawn = shownIn(await fake.message(card.id));
    expect(redrawn).toContain(`Asked: write, ${maria.name}.orders, ${maria.name}.customers, 2h`);

    const told = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => shownIn(m).includes('approved with changes')), 30_000, 'the requester told');
    expect(shownIn(told)).toMatch(/level write → .*read/);
    expect(shownIn(told)).toContain('customers are out of scope');

    const credentials = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => /mysql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    const url = new URL(/mysql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0]);
    const session = await mysql.createConnection({ host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: maria.name });
    session.on('error', () => {});
    try {
      const [rows] = await session.query(`SELECT count(*) AS n FROM \`${maria.name}\`.orders`);
      expect(Number((rows as Array<{ n: number }>)[0]!.n)).toBe(2);
      await expect(session.query(`SELECT * FROM \`${maria.name}\`.customers`)).rejects.toThrow(/denied/);
      await expect(session.query(`UPDATE \`${maria.name}\`.orders SET total = 0`)).rejects.toThrow(/denied/);
    } finally {
      await session.end().catch(() => {});
    }
  });
});
