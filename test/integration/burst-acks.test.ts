import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { APPROVERS_CHANNEL, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { plainTextInput, slashCommand, staticSelect, viewSubmission } from '../support/slack-requests.js';

/**
 * Bursts of first commands: workspaces the app has never seen, all typing `/dbaccess` at the same
 * moment. Every one is acknowledged and gets its form, each workspace's tenant is looked up once
 * (single flight), not once per command, and an acknowledgement never waits for the state database:
 * not for the tenant's look-up, and not behind the work that follows earlier acknowledgements (bench
 * scenario 4b times it; here it is shown by holding every state query until the answers are in).
 */
describe('first commands of 20 workspaces at once', () => {
  const teams = (tag: string) => Array.from({ length: 20 }, (_, i) => `T0${tag}${String(i).padStart(2, '0')}`);
  const BURST = teams('FIRST');
  const HELD = teams('HELD');
  let h: Harness;
  /** Tenant look-ups the app sent to its state database, by workspace id. */
  const lookups = new Map<string, number>();
  /** While set, every query of the app's state pool waits for it (a state database that answers nothing). */
  let gate: Promise<void> | undefined;
  let waiting = 0;

  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres' });
    // Watch and hold the app's own pool (the statements it sends), not a stand-in for it.
    const pool = h.app.pool as unknown as Record<'query' | 'connect', (...args: unknown[]) => Promise<unknown>>;
    const held = <A extends unknown[]>(run: (...args: A) => Promise<unknown>) => async (...args: A) => {
      while (gate) {
        waiting += 1;
        await gate.finally(() => (waiting -= 1));
      }
      return run(...args);
    };
    const query = pool.query.bind(pool);
    const connect = pool.connect.bind(pool);
    pool.connect = held(connect);
    pool.query = held(async (...args: unknown[]) => {
      const first = args[0] as string | { text?: string; values?: unknown[] };
      const text = typeof first === 'string' ? first : first.text ?? '';
      const values = (Array.isArray(args[1]) ? args[1] : typeof first === 'string' ? undefined : first.values) as unknown[] | undefined;
      if (/insert into "tenants"/i.test(text)) {
        for (const value of values ?? []) if (typeof value === 'string' && [...BURST, ...HELD].includes(value)) lookups.set(value, (lookups.get(value) ?? 0) + 1);
      }
      return query(...args);
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const commandsOf = (workspaces: string[], perTeam: number) =>
    workspaces.flatMap((team, t) =>
      Array.from({ length: perTeam }, (_, i) => {
        const user = `U0${team.slice(2, 4)}${String(t).padStart(2, '0')}P${String(i).padStart(2, '0')}`;
        return { team, user, body: slashCommand({ teamId: team, userId: user, text: '', responseUrl: h.slack.responseUrl(`first-${team}-${i}`, { user }) }) };
      }),
    );
  const formsAfter = (opened: number, count: number) =>
    waitUntil(() => {
      const calls = h.slack.callsTo('views.open').slice(opened);
      return calls.length >= count && calls;
    }, 60_000, 'every form to open');
  const rowsOf = async (sql: string, params: unknown[]) => {
    const state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
    try {
      return (await state.query(sql, params)).rows;
    } finally {
      await state.end();
    }
  };

  it('acknowledges 500 first commands, opens every form, looks each workspace up once and claims each delivery once', async () => {
    const commands = commandsOf(BURST, 25);
    const opened = h.slack.callsTo('views.open').length;
    const answers = await Promise.all(commands.map(({ body }) => h.post(body)));
    expect(answers.map((answer) => answer.status)).toEqual(commands.map(() => 200));
    const forms = await formsAfter(opened, commands.length);
    // Not timed here (the machine may be busy): trigger ids that do not expire; the bench holds the 3 s.
    expect(forms.filter((call) => (call.response as { ok?: boolean }).ok !== true).map((call) => (call.response as { error?: string }).error)).toEqual([]);
    expect(forms).toHaveLength(commands.length);
    expect(Object.fromEntries(BURST.map((team) => [team, lookups.get(team)]))).toEqual(Object.fromEntries(BURST.map((team) => [team, 1])));

    const tenants = await rowsOf("SELECT count(*)::int AS n FROM tenants WHERE platform = 'slack' AND external_id = ANY($1::text[])", [BURST]);
    expect(tenants[0].n).toBe(BURST.length);
    // Each command's delivery claimed (the insert that makes a Slack retry act once), each once.
    const claimed = await rowsOf("SELECT t.external_id AS team, count(*)::int AS n FROM slack_deliveries d JOIN tenants t ON t.id = d.tenant_id WHERE t.external_id = ANY($1::text[]) GROUP BY 1", [BURST]);
    expect(Object.fromEntries(claimed.map((row: { team: string; n: number }) => [row.team, row.n]))).toEqual(Object.fromEntries(BURST.map((team) => [team, 25])));
  });

  it('acknowledges first commands and form submissions while the state database answers nothing', async () => {
    const commands = commandsOf(HELD, 5);
    const opened = h.slack.callsTo('views.open').length;
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    // Every answer arrives with every state query held: none of them waited for one.
    const answers = await Promise.all(commands.map(({ body }) => h.post(body)));
    expect(answers.map((answer) => [answer.status, answer.body])).toEqual(commands.map(() => [200, '']));
    // The work that follows them (each workspace's tenant, then its claims and forms) was waiting.
    await waitUntil(() => waiting >= HELD.length, 30_000, 'the tenant look-ups to wait');
    expect(h.slack.callsTo('views.open').length).toBe(opened);
    gate = undefined;
    release();
    const forms = await formsAfter(opened, commands.length);
    expect(Object.fromEntries(HELD.map((team) => [team, lookups.get(team)]))).toEqual(Object.fromEntries(HELD.map((team) => [team, 1])));

    // The forms submitted at once, the state database held again: checked and acknowledged in memory.
    const viewFor = new Map(forms.map((call) => [String(call.args.trigger_id), (call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view]));
    const triggerOf = (body: string) => new URLSearchParams(body).get('trigger_id')!;
    const cards = h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs).length;
    gate = new Promise<void>((resolve) => (release = resolve));
    const submitted = await Promise.all(
      commands.map(({ team, user, body }) =>
        h.post(
          viewSubmission({
            teamId: team,
            userId: user,
            view: viewFor.get(triggerOf(body))!,
            values: {
              databaseId: { value: staticSelect('orders') },
              level: { value: staticSelect('read') },
              scope: { value: plainTextInput(null) },
              duration: { value: plainTextInput('1h') },
              reason: { value: plainTextInput('Investigate the failed payouts of last night for OPS-1234') },
              ticket: { value: plainTextInput(null) },
            },
          }),
        ),
      ),
    );
    expect(submitted.map((answer) => [answer.status, answer.body])).toEqual(commands.map(() => [200, '']));
    await waitUntil(() => waiting > 0, 30_000, 'the submissions to wait for the state database');
    gate = undefined;
    release();
    // Then each is stored and its card posted, once.
    await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs).length >= cards + commands.length, 120_000, 'every card');
    const requests = await rowsOf("SELECT count(*)::int AS n FROM access_requests r JOIN tenants t ON t.id = r.tenant_id WHERE t.external_id = ANY($1::text[])", [HELD]);
    expect(requests[0].n).toBe(commands.length);
  });
});
