import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { slashCommand } from '../support/slack-requests.js';

/**
 * A burst of first commands: 20 workspaces the app has never seen, 5 people each, all typing
 * `/dbaccess` at the same moment. Every one is acknowledged and gets its form, and each workspace's
 * tenant is looked up once (single flight), not once per command (bench scenario 4b times it).
 */
describe('first commands of 20 workspaces at once', () => {
  const TEAMS = Array.from({ length: 20 }, (_, i) => `T0FIRST${String(i).padStart(2, '0')}`);
  const PER_TEAM = 5;
  let h: Harness;
  /** Tenant look-ups the app sent to its state database, by workspace id. */
  const lookups = new Map<string, number>();

  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres' });
    // Watch the app's own pool (the statements it sends), not a stand-in for it.
    const pool = h.app.pool;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text?: string; values?: unknown[] };
      const text = typeof first === 'string' ? first : first.text ?? '';
      const values = (Array.isArray(args[1]) ? args[1] : typeof first === 'string' ? undefined : first.values) as unknown[] | undefined;
      if (/insert into "tenants"/i.test(text)) {
        for (const value of values ?? []) if (typeof value === 'string' && TEAMS.includes(value)) lookups.set(value, (lookups.get(value) ?? 0) + 1);
      }
      return query(...args);
    };
  });
  afterAll(async () => {
    await h?.close();
  });

  it('acknowledges every command, opens every form, and looks each workspace up once', async () => {
    const commands = TEAMS.flatMap((team, t) =>
      Array.from({ length: PER_TEAM }, (_, i) => {
        const user = `U0F${String(t).padStart(2, '0')}P${i}`;
        return slashCommand({ teamId: team, userId: user, text: '', responseUrl: h.slack.responseUrl(`first-${team}-${i}`, { user }) });
      }),
    );
    const opened = h.slack.callsTo('views.open').length;
    const answers = await Promise.all(commands.map((body) => h.post(body)));
    expect(answers.map((answer) => answer.status)).toEqual(commands.map(() => 200));
    const forms = await waitUntil(() => {
      const calls = h.slack.callsTo('views.open').slice(opened);
      return calls.length >= commands.length && calls;
    }, 30_000, 'every form to open');
    // Not timed here (the machine may be busy): trigger ids that do not expire; the bench holds the 3 s.
    expect(forms.filter((call) => (call.response as { ok?: boolean }).ok !== true).map((call) => (call.response as { error?: string }).error)).toEqual([]);
    expect(Object.fromEntries(lookups)).toEqual(Object.fromEntries(TEAMS.map((team) => [team, 1])));

    const state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
    try {
      const { rows } = await state.query<{ n: number }>("SELECT count(*)::int AS n FROM tenants WHERE platform = 'slack' AND external_id = ANY($1::text[])", [TEAMS]);
      expect(rows[0]!.n).toBe(TEAMS.length);
    } finally {
      await state.end();
    }
  });
});
