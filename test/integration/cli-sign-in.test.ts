import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { createAuditService, type AuditService } from '../../src/modules/audit/audit-service.js';
import { createCliSessionService, type CliSessionService, type Exchange } from '../../src/modules/cli-sessions/cli-session-service.js';
import { createTenantService, type Actor } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../support/databases.js';
import { asJobs } from '../support/scopes.js';

/**
 * The device-code sign-in of the terminal, on the real PostgreSQL: the CLI polls while the person
 * confirms in chat, and a confirmation may land at any point of a poll. The poll sees the sign-in
 * pending or gets its token, never "expired" for a sign-in just confirmed; the token is handed out
 * once, and a second poll hears that it was already used.
 *
 * The polls run on a pool of their own whose statements can be followed, each once, by a step of the
 * test (the confirmation): that places the confirmation between two statements of one poll without
 * racing any clock.
 */
describe('terminal sign-in: the poll and the confirmation', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  const pools: pg.Pool[] = [];
  /** The chat side (confirm) and the checks. */
  let sessions: CliSessionService;
  /** The CLI side (exchange), on the followed pool. */
  let polls: CliSessionService;
  let person: Actor;
  let audit: AuditService;
  let clock = new Date('2030-05-01T09:00:00Z');
  /** Run after the poll pool's next `after`-th statement has its answer, before the poll goes on. */
  let step: { after: number; work: () => Promise<void> } | undefined;

  const service = (db: Db) => createCliSessionService({ db, audit: createAuditService({ db }), now: () => clock });

  beforeAll(async () => {
    state = await createStateDatabase();
    await runMigrations(state.url);
    const chat = createStateDb(state.url);
    const cli = createStateDb(state.url);
    pools.push(chat.pool, cli.pool);
    const query = cli.pool.query.bind(cli.pool) as (...args: unknown[]) => Promise<unknown>;
    (cli.pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args) => {
      const answer = await query(...args);
      if (step && --step.after === 0) {
        const { work } = step;
        step = undefined;
        await work();
      }
      return answer;
    };
    sessions = service(chat.db);
    audit = asJobs(createAuditService({ db: chat.db }));
    polls = service(cli.db);
    const tenants = createTenantService({ db: chat.db });
    const tenantId = await tenants.ensureTenant('slack', 'T0SIGNIN');
    person = { tenantId, userId: await tenants.ensureUser(tenantId, 'slack', 'U0SIGNIN'), platform: 'slack', externalUserId: 'U0SIGNIN' };
  });
  afterAll(async () => {
    for (const pool of pools) await pool.end();
    await state?.drop();
  });

  /** Polls as the CLI does until the answer is no longer "pending": every answer in order, and the token. */
  async function pollUntilDone(deviceCode: string): Promise<{ answers: Exchange['kind'][]; token?: string }> {
    const answers: Exchange['kind'][] = [];
    for (let n = 0; n < 10; n++) {
      const answer = await polls.exchange(deviceCode);
      answers.push(answer.kind);
      if (answer.kind === 'issued') {
        expect((await sessions.authenticate(answer.token))?.actor).toEqual(person);
        return { answers, token: answer.token };
      }
      if (answer.kind !== 'pending') return { answers };
    }
    return { answers };
  }

  it.each([1, 2, 3])('a confirmation landing after statement %i of a poll: pending, then the token; a poll again hears "already used" and ends the token', async (after) => {
    const { deviceCode, userCode } = await sessions.start('laptop');
    let confirmed = false;
    step = { after, work: async () => {
      confirmed = Boolean(await sessions.confirm(person, userCode));
    } };
    let { answers, token } = await pollUntilDone(deviceCode);
    if (step) {
      // The poll sent fewer statements than `after`: the confirmation comes after it.
      step = undefined;
      expect(await sessions.confirm(person, userCode)).toBeDefined();
      const more = await pollUntilDone(deviceCode);
      answers = [...answers, ...more.answers];
      token = more.token;
    } else {
      expect(confirmed).toBe(true);
    }
    expect(answers.filter((kind) => kind !== 'pending')).toEqual(['issued']);
    expect((await polls.exchange(deviceCode)).kind).toBe('used');
    expect(await sessions.authenticate(token!)).toBeUndefined();
  });

  it('two polls at once on a confirmed sign-in: one gets the token, the other hears it was already used, and the token is ended', async () => {
    for (let round = 0; round < 5; round++) {
      const { deviceCode, userCode } = await sessions.start('laptop');
      expect(await sessions.confirm(person, userCode)).toBeDefined();
      const answers = await Promise.all([polls.exchange(deviceCode), polls.exchange(deviceCode)]);
      expect(answers.map((answer) => answer.kind).sort()).toEqual(['issued', 'used']);
      const [token] = answers.flatMap((answer) => (answer.kind === 'issued' ? [answer.token] : []));
      expect(await sessions.authenticate(token!)).toBeUndefined();
    }
    const [ended] = await audit.list(person.tenantId, 1);
    expect(ended).toMatchObject({ actor: 'system:cli-sign-in', action: 'cli.token_revoked', details: { reason: 'device code used again' } });
  });

  it('an unknown code and one not confirmed in time answer "expired"; a revoked sign-in is never handed out', async () => {
    expect((await polls.exchange('x'.repeat(43))).kind).toBe('expired');
    const late = await sessions.start('laptop');
    clock = new Date(late.expiresAt.getTime() + 1000);
    expect(await sessions.confirm(person, late.userCode)).toBeUndefined();
    expect((await polls.exchange(late.deviceCode)).kind).toBe('expired');

    const revoked = await sessions.start('laptop');
    expect(await sessions.confirm(person, revoked.userCode)).toBeDefined();
    expect(await sessions.revokeAllOf(person.tenantId, person.userId, 'system:test')).toBeGreaterThan(0);
    expect((await polls.exchange(revoked.deviceCode)).kind).toBe('used');
  });
});
