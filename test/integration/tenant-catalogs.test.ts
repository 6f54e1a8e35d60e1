import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, SIGNING_SECRET, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { postSigned } from '../support/slack-requests.js';

const AUDITOR = 'U0AUDITOR';

/** A signed Events API callback, as Slack sends it for a bot event. */
const sendEvent = (h: Harness, event: Record<string, unknown>, teamId = TEAM) =>
  postSigned(h.url, '/slack/events', JSON.stringify({
    token: 'legacy', team_id: teamId, api_app_id: 'A0DBACCESS', type: 'event_callback',
    event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`, event_time: Math.floor(Date.now() / 1000), event,
  }), { secret: SIGNING_SECRET, contentType: 'application/json' });

const responseTo = (h: Harness, pattern: RegExp) => h.slack.waitFor('response_url', (call) => pattern.test(String(call.args.text ?? '')));

/**
 * Roles given by Slack user group and by email: dbaccess asks Slack (usergroups.list, users.info)
 * only because the catalog names people that way, and hears when a group changes.
 */
describe('Slack people by user group and by email', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis',
      slackDirectory: {
        users: { [AUDITOR]: { email: 'Audit@Acme.test' }, [PEOPLE.requester]: { email: 'req@acme.test' }, [PEOPLE.mallory]: { email: 'mallory@evil.test' } },
        usergroups: { S0DBAS: [PEOPLE.requester], S0APPROVERS: [PEOPLE.bob] },
      },
      policy: `roles:
  admins: [${PEOPLE.alice}]
  auditors: [{ email: audit@acme.test }]
  requesters:
    - { who: [S0DBAS], databases: ['*'], levels: ['*'] }
policies:
  - { name: by-group, approvers: [S0APPROVERS], mfa: never }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const newCard = async () => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const answer = await h.submitRequest(PEOPLE.requester, {});
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    return h.waitForCard((m) => !before.has(m.ts));
  };

  it('lets a member of the requesters group ask, and refuses anyone else on the form', async () => {
    const refused = await h.submitRequest(PEOPLE.mallory, {});
    expect(JSON.stringify((refused.json as { errors: Record<string, string> }).errors)).toMatch(/ask an admin/i);
    const card = await newCard();
    expect(hasButton(card, 'dbaccess.approve')).toBe(true);
    // The groups were read once and cached, not once per person or click.
    expect(h.slack.callsTo('usergroups.list').length).toBe(1);
  });

  it('lets only the approvers group decide, and follows the group when Slack says it changed', async () => {
    const card = await newCard();
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await h.slack.waitFor('response_url', (call) => call.args.response_type === 'ephemeral' && /approver/i.test(String(call.args.text ?? '')));
    expect(hasButton(h.slack.message(APPROVERS_CHANNEL, card.ts)!, 'dbaccess.approve')).toBe(true);
    await h.click(PEOPLE.bob, 'dbaccess.approve', card);
    await waitUntil(() => /Approved by <@U0BOB>/.test(shown(h.slack.message(APPROVERS_CHANNEL, card.ts)!)), 15_000, 'the approval by bob');

    // An admin moves approval to alice in Slack; the event drops what dbaccess knew of the groups.
    h.slack.setUsergroup('S0APPROVERS', [PEOPLE.alice]);
    const reads = h.slack.callsTo('usergroups.list').length;
    expect((await sendEvent(h, { type: 'subteam_members_changed', subteam_id: 'S0APPROVERS', team_id: TEAM, added_users: [PEOPLE.alice], removed_users: [PEOPLE.bob] })).status).toBe(200);
    const next = await newCard();
    expect(h.slack.callsTo('usergroups.list').length).toBeGreaterThan(reads);
    const refusals = h.slack.callsTo('response_url').length;
    await h.click(PEOPLE.bob, 'dbaccess.approve', next);
    await waitUntil(() => h.slack.callsTo('response_url').slice(refusals).find((call) => /approver/i.test(String(call.args.text ?? ''))), 10_000, "bob's refusal");
    expect(hasButton(h.slack.message(APPROVERS_CHANNEL, next.ts)!, 'dbaccess.approve')).toBe(true);
    // Alice may decide now: her Deny opens the form for a reason instead of a refusal.
    const opened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.alice, 'dbaccess.deny', next);
    await waitUntil(() => h.slack.callsTo('views.open').slice(opened).find((call) => (call.args.view as { callback_id?: string } | undefined)?.callback_id === 'dbaccess.deny'), 10_000, "alice's deny form");
    expect(h.slack.callsTo('response_url').slice(refusals).filter((call) => /approver/i.test(String(call.args.text ?? '')))).toHaveLength(1);
  });

  it('gives the auditor role by email (users.info), and nothing to others', async () => {
    await h.command(AUDITOR, 'report 2026-11');
    await responseTo(h, /Access report|requests/i);
    expect(h.slack.callsTo('users.info').some((call) => call.args.user === AUDITOR)).toBe(true);
    await h.command(PEOPLE.mallory, 'report 2026-11');
    await responseTo(h, /Only auditors and admins can make access reports/);
  });
});

/**
 * One file for two workspaces: each sees and uses only its own section, their cards go to their own
 * channels, and a broken file is announced to both without one tenant's details reaching the other.
 */
describe('a catalog with one section per workspace', () => {
  const GLOBEX = 'T0GLOBEX';
  const GLOBEX_CHANNEL = 'C0GLOBEX';
  const GINA = 'U0GINA';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'postgres',
      catalog: ({ target, prefix }) => `tenants:
  - name: acme
    slack: [${TEAM}]
    approvers:
      slack: { channel: ${APPROVERS_CHANNEL}, users: [${PEOPLE.alice}, ${PEOPLE.bob}] }
    settings: { minDuration: 2s, userPrefix: ${prefix} }
    policies:
      - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never }
    databases:
      - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: production, admin: env:ORDERS_ADMIN_URL }
  - name: globex
    slack: [${GLOBEX}]
    approvers:
      slack: { channel: ${GLOBEX_CHANNEL}, users: [${GINA}] }
    settings: { userPrefix: g${prefix} }
    policies:
      - { name: globex, approvers: [${GINA}], mfa: never }
    databases:
      - { id: ledger, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: staging, admin: env:ORDERS_ADMIN_URL }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const formOptions = async (teamId: string, user: string) => {
    const opened = h.slack.callsTo('views.open').length;
    await h.command(user, '', teamId);
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'views.open');
    return JSON.stringify(call.args.view);
  };

  it('shows each workspace its own databases only', async () => {
    const acme = await formOptions(TEAM, PEOPLE.requester);
    expect(acme).toContain('"value":"orders"');
    expect(acme).not.toContain('"value":"ledger"');
    const globex = await formOptions(GLOBEX, 'U0GREQ');
    expect(globex).toContain('"value":"ledger"');
    expect(globex).not.toContain('"value":"orders"');
    const stranger = await h.command('U0NOBODY', '', 'T0STRANGER');
    expect(stranger.body).toMatch(/No databases are configured for this workspace yet/);
  });

  it("refuses another tenant's database on the form, and routes cards and decisions by tenant", async () => {
    const foreign = await h.submitRequest('U0GREQ', { databaseId: 'orders' }, GLOBEX);
    expect(JSON.stringify((foreign.json as { errors: Record<string, string> }).errors)).toMatch(/Choose a database from the list/);

    const answer = await h.submitRequest('U0GREQ', { databaseId: 'ledger', reason: 'Reconcile the ledger totals for the audit of FIN-42' }, GLOBEX);
    expect((answer.json as { errors?: unknown } | undefined)?.errors).toBeUndefined();
    const card = await h.waitForMessage(GLOBEX_CHANNEL, (m) => !m.threadTs && /ledger/.test(shown(m)));
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).some((m) => /ledger/.test(shown(m)))).toBe(false);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];

    // Acme's approver cannot see Globex's request; Globex's approver decides it.
    await h.command(PEOPLE.alice, `approve ${requestId}`, TEAM);
    await responseTo(h, new RegExp(`${requestId} was not found`));
    await h.command(GINA, `deny ${requestId} not this week`, GLOBEX);
    await responseTo(h, new RegExp(`Denied ${requestId}`));
    await waitUntil(() => /Denied by <@U0GINA>/.test(shown(h.slack.message(GLOBEX_CHANNEL, card.ts)!)), 15_000, 'the card to show the denial');
  });

  it("announces a broken file to every tenant's approvers, without the details", async () => {
    const good = readFileSync(h.catalogPath, 'utf8');
    writeFileSync(h.catalogPath, good.replace(`slack: [${GLOBEX}]`, `slack: [${GLOBEX}, ${TEAM}]`));
    const [acme, globex] = await Promise.all([
      h.waitForMessage(APPROVERS_CHANNEL, (m) => /catalog file was changed, but it has mistakes/.test(shown(m)), 15_000),
      h.waitForMessage(GLOBEX_CHANNEL, (m) => /catalog file was changed, but it has mistakes/.test(shown(m)), 15_000),
    ]);
    for (const message of [acme, globex]) {
      expect(shown(message)).not.toMatch(/acme|globex|T0ACME/);
      expect(shown(message)).toMatch(/check-config/);
    }
    writeFileSync(h.catalogPath, good);
  });
});
