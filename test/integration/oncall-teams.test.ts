import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsTeam, type TeamsUser } from '../support/fake-bot-framework.js';
import { startFakeIncidentIo, type FakeIncidentIo } from '../support/fake-incidentio.js';
import { shownIn } from '../support/teams-text.js';

/**
 * On-call auto-approval in Microsoft Teams (people by their sign-in email) against an incident.io
 * double: the engineer on the schedule gets working credentials with no approver, with the evidence on
 * the channel's card; someone else waits for an approver; an incident.io that fails is said on the card.
 */
const HOUR = 3600_000;

describe('on-call auto-approval in Teams with incident.io', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let io: FakeIncidentIo;
  let teams: TeamsDriver;
  let team: TeamsTeam;
  let rita: TeamsUser;
  let alice: TeamsUser;
  let mallory: TeamsUser;

  beforeAll(async () => {
    [fake, io] = await Promise.all([startFakeBotFramework(), startFakeIncidentIo({ token: 'io-test-key' })]);
    rita = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    alice = await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' });
    mallory = await fake.addUser({ name: 'Mallory', email: 'mallory@acme.example' });
    team = await fake.addTeam({ name: 'DBAs', members: [rita, alice, mallory] });
    const now = Date.now();
    io.schedules = [{ id: '01PLATFORM', name: 'Platform on-call', entries: [{ userId: '01RITA', name: 'Rita', email: 'Rita@Acme.example', start: new Date(now - HOUR), end: new Date(now + 8 * HOUR) }] }];
    io.incidents = [{ id: '01INC', reference: 'INC-87', name: 'Checkout down', category: 'active' }];
    h = await startHarness({
      queue: 'redis',
      env: { ...fake.env(), CONSOLE: 'off', IO_TOKEN: 'io-test-key' },
      teamsApprovers: { channel: team.general.id, users: [alice.email] },
      policy: `integrations:
  incidentio: { token: env:IO_TOKEN, apiUrl: "${io.url}", cacheSeconds: 0 }
policies:
  - name: tests
    approvers: [${alice.email}]
    mfa: never
    autoApprove:
      - { name: platform-oncall, levels: [read], maxDuration: 2h, maxRisk: critical, onCall: { provider: incidentio, schedules: [01PLATFORM], incidentOpen: true } }
`,
    });
    teams = fake.bot(`${h.url}/api/messages`);
    expect((await teams.installationUpdate({ from: alice, action: 'add', team })).status).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
    await io?.close();
  });

  const submit = async (who: TeamsUser) => {
    const personal = await fake.personalConversationId(who);
    const before = (await fake.botMessagesIn(personal)).length;
    expect((await teams.personalMessage({ from: who, text: 'dbaccess' })).status).toBe(200);
    const form = await waitUntil(async () => (await fake.botMessagesIn(personal)).slice(before).find((m) => shownIn(m).includes('Request database access')), 10_000, 'the request form');
    const submitted = await teams.cardAction({
      from: who, message: form, verb: 'submit',
      inputs: { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '1h', reason: 'Checkout is down: look at the stuck orders for INC-87', ticket: '', breakGlass: 'false' },
    });
    expect(submitted.status).toBe(200);
    const requestId = /R[0-9A-Z]{9}/.exec(shownIn({ attachments: [{ content: (submitted.body as { value: unknown }).value }] }))![0];
    const card = (pattern: RegExp) => waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(requestId) && pattern.test(shownIn(m))), 30_000, `the card of ${requestId} saying ${pattern}`);
    return { requestId, personal, card };
  };

  it('gives the engineer on call working credentials without an approver, with the evidence on the card', async () => {
    const { personal, card } = await submit(rita);
    const approved = await card(/Auto-approved by rule platform-oncall/);
    expect(shownIn(approved)).toMatch(/on call for Platform on-call until (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC; incident INC-87 open \(incident\.io\)/);
    const credentials = await waitUntil(async () => (await fake.botMessagesIn(personal)).find((m) => /postgresql:\/\//.test(shownIn(m))), 30_000, 'the credentials');
    const session = new pg.Client({ connectionString: /postgresql:\/\/[^\s`"]+/.exec(shownIn(credentials))![0] });
    session.on('error', () => {});
    await session.connect();
    expect((await session.query('SELECT count(*)::int AS n FROM sales.orders')).rows[0].n).toBe(2);
    await session.end();
    expect(io.calls.every((call) => call.authorization === 'Bearer io-test-key')).toBe(true);
  });

  it('sends someone not on the schedule to the approvers, and says so when incident.io fails', async () => {
    const other = await submit(mallory);
    expect(shownIn(await other.card(/Waiting for an approver/))).toContain('Approve');

    io.fault = { kind: 'status', status: 500 };
    const failing = await submit(rita);
    const card = await failing.card(/On-call not checked: incident\.io answered HTTP 500\. An approver decides\./);
    expect(shownIn(card)).toContain('Approve');
    io.fault = undefined;
  });
});
