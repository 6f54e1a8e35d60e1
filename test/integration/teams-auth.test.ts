import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { BOT_FRAMEWORK_TENANT_ID, startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsUser } from '../support/fake-bot-framework.js';

/**
 * Teams' inbound authentication through the real endpoint (POST /api/messages of the running server), with the
 * Bot Framework in its own process. Every refused activity gets 401, changes nothing (no row, no call to the
 * Bot Connector, no reply) and leaves exactly one log line that says why: no stack trace, no key, no token.
 */
describe('Teams refuses every activity it cannot authenticate', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  let teams: TeamsDriver;
  let user: TeamsUser;
  let state: pg.Client;
  const lines: string[] = [];
  const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  beforeAll(async () => {
    fake = await startFakeBotFramework();
    user = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    const logger = pino({ level: 'info', base: { service: 'dbaccess' } }, { write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) });
    h = await startHarness({ queue: 'postgres', env: { ...fake.env(), CONSOLE: 'off' }, logger });
    teams = fake.bot(`${h.url}/api/messages`);
    state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
  });
  afterAll(async () => {
    await state?.end();
    await h?.close();
    await fake?.close();
  });

  /** Rows of every table of the state database. */
  async function rows(): Promise<Record<string, number>> {
    const tables = await state.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1");
    const counts: Record<string, number> = {};
    for (const { name } of tables.rows) counts[name] = Number((await state.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}"`)).rows[0]?.n ?? 0);
    return counts;
  }

  const now = () => Math.floor(Date.now() / 1000);

  it('answers 401 to each forgery, with one log line saying why, and nothing happens', async () => {
    const cases: Array<[string, () => Promise<string | null>, RegExp]> = [
      ['no Authorization header', async () => null, /^no Authorization header$/],
      ['a Bearer that is not a JWT', async () => 'not-a-jwt', /^Authorization is not a Bearer JWT$/],
      ['an oversized header (12 KB)', async () => 'a'.repeat(12_000), /^Authorization header over 8192 bytes$/],
      ['a bad signature (the channel key id, another key)', () => fake.signChannelToken({ privateKey: rogue }), /^token signature does not verify$/],
      ['an unknown key id', () => fake.signChannelToken({ kid: 'rogue-kid', privateKey: rogue }), /^token signed with an unknown key id$/],
      ['a wrong issuer (Entra, as an emulator or skill token)', () => fake.signChannelToken({ issuer: `https://sts.windows.net/${BOT_FRAMEWORK_TENANT_ID}/` }), /^token from another issuer$/],
      ['a wrong issuer (another host)', () => fake.signChannelToken({ issuer: 'https://api.botframework.example' }), /^token from another issuer$/],
      ['a wrong audience', () => fake.signChannelToken({ audience: '00000000-0000-0000-0000-000000000001' }), /^token for another audience$/],
      ['expired (beyond the 5 min skew)', () => fake.signChannelToken({ notBefore: now() - 3600 - 600 }), /^token expired$/],
      ['not yet valid (beyond the 5 min skew)', () => fake.signChannelToken({ notBefore: now() + 600 }), /^token not yet valid$/],
      ['no serviceurl claim', () => fake.signChannelToken({ extraClaims: { serviceurl: undefined } }), /^token without a serviceurl claim$/],
      ['a serviceurl claim for another service URL', () => fake.signChannelToken({ serviceUrl: 'https://smba.trafficmanager.net/amer/' }), /^token serviceurl does not match the activity's serviceUrl$/],
    ];
    const consoleError = vi.spyOn(console, 'error');
    const consoleWarn = vi.spyOn(console, 'warn');
    try {
      const before = await rows();
      const callsBefore = (await fake.calls()).length;
      const conversation = await fake.personalConversationId(user);
      const tokens: string[] = [];
      for (const [label, token, reason] of cases) {
        const value = await token();
        if (value) tokens.push(value);
        const logged = lines.length;
        const result = await teams.personalMessage({ from: user, text: `dbaccess list (${label})` }, { token: value });
        expect({ label, status: result.status }).toEqual({ label, status: 401 });
        expect(result.body).toEqual({ error: 'unauthorized' });
        const teamsLines = lines.slice(logged).filter((line) => (JSON.parse(line) as { platform?: string }).platform === 'teams');
        expect({ label, lines: teamsLines.length }).toEqual({ label, lines: 1 });
        const line = JSON.parse(teamsLines[0] ?? '{}') as { msg?: string; reason?: string; level?: number };
        expect({ label, msg: line.msg }).toEqual({ label, msg: 'teams activity refused' });
        expect(line.reason).toMatch(reason);
      }
      // The endorsement: the channel's key signs for msteams only.
      const logged = lines.length;
      const webchat = await teams.post({ type: 'message', channelId: 'webchat', serviceUrl: fake.serviceUrl, id: '1', from: { id: user.id, name: user.name }, conversation: { id: conversation } as never, recipient: { id: fake.botId, name: fake.botName } });
      expect(webchat.status).toBe(401);
      expect(lines.slice(logged).map((text) => (JSON.parse(text) as { reason?: string }).reason)).toEqual(["signing key not endorsed for the activity's channel"]);

      // Nothing happened: no row anywhere, no call to the Bot Connector, no answer in the chat, no console output.
      expect(await rows()).toEqual(before);
      expect((await fake.calls()).slice(callsBefore).filter((call) => !['openIdMetadata', 'keys'].includes(call.route))).toEqual([]);
      expect(await fake.botMessagesIn(conversation)).toEqual([]);
      expect(consoleError).not.toHaveBeenCalled();
      expect(consoleWarn).not.toHaveBeenCalled();
      // Nothing of the tokens or the keys is in the log, and every line is one line.
      const log = lines.join('\n');
      expect(log).not.toMatch(/BEGIN (RSA |PUBLIC )?KEY|BEGIN CERTIFICATE|\n\s+at /);
      for (const value of tokens) expect(log).not.toContain(value.slice(-40));
    } finally {
      consoleError.mockRestore();
      consoleWarn.mockRestore();
    }
  });

  it('answers 401 to any other Bearer value: random text, or three base64url parts of random JSON', async () => {
    const before = await rows();
    const callsBefore = (await fake.calls()).length;
    const printable = fc.string({ unit: fc.constantFrom(...Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index))), maxLength: 300 });
    const part = fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url'));
    const jwtShaped = fc.tuple(part, part, fc.string({ maxLength: 60 }).map((text) => Buffer.from(text).toString('base64url'))).map((parts) => parts.join('.'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(printable, jwtShaped), async (token) => {
        const result = await teams.personalMessage({ from: user, text: 'dbaccess list' }, { token: token.trim() || 'x' });
        expect(result.status).toBe(401);
      }),
      { numRuns: 60 },
    );
    expect(await rows()).toEqual(before);
    expect((await fake.calls()).slice(callsBefore).filter((call) => !['openIdMetadata', 'keys'].includes(call.route))).toEqual([]);
  });

  it('answers a header over Node’s 16 KB limit with 431 before anything reads it', async () => {
    const before = await rows();
    const result = await teams.personalMessage({ from: user, text: 'dbaccess list' }, { token: 'a'.repeat(20_000) });
    expect(result.status).toBe(431);
    expect(await rows()).toEqual(before);
  });

  it('still serves a correctly signed activity (the refusals above were not a broken set-up)', async () => {
    const before = await rows();
    const conversation = await fake.personalConversationId(user);
    expect((await teams.personalMessage({ from: user, text: 'dbaccess list' })).status).toBe(200);
    const answer = await waitUntil(async () => (await fake.botMessagesIn(conversation)).find((message) => /no requests yet/.test(message.text ?? '')), 10_000, 'the answer');
    expect(answer.text).toContain('You have no requests yet');
    expect(await rows()).not.toEqual(before);
  });
});

describe('Teams when the Bot Framework’s signing keys cannot be loaded', () => {
  let h: Harness;
  let fake: FakeBotFramework;
  const lines: string[] = [];

  beforeAll(async () => {
    fake = await startFakeBotFramework();
    const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) });
    h = await startHarness({ queue: 'postgres', env: { ...fake.env(), CONSOLE: 'off' }, logger });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('answers 503 (not 401: the sender is not at fault) with one log line, then serves once the keys load', async () => {
    const user = await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' });
    const teams = fake.bot(`${h.url}/api/messages`);
    await fake.failNext('openIdMetadata', { status: 503 });
    const refused = await teams.personalMessage({ from: user, text: 'dbaccess list' });
    expect(refused.status).toBe(503);
    const teamsLines = lines.map((line) => JSON.parse(line) as { platform?: string; msg?: string; reason?: string }).filter((line) => line.platform === 'teams');
    expect(teamsLines).toEqual([expect.objectContaining({ msg: 'teams activity refused', reason: `cannot load the Bot Framework signing keys: ${new URL(fake.url).host} answered 503` })]);
    expect(await fake.botMessagesIn(await fake.personalConversationId(user))).toEqual([]);

    expect((await teams.personalMessage({ from: user, text: 'dbaccess list' })).status).toBe(200);
    await waitUntil(async () => (await fake.botMessagesIn(await fake.personalConversationId(user))).length > 0, 10_000, 'the answer');
  });
});
