import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInbox, createInboxReplay } from '../../src/modules/inbox/inbox-service.js';
import { activeLease as activeLeaseOf, leaseOf as leaseOfHarness, PEOPLE, TEAM, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { newTriggerId, slashCommand } from '../support/slack-requests.js';

/**
 * The inbox of deliveries that reduce access (issue 21), in one process: a Slack retry of the same
 * `/dbaccess revoke` acts once and its intent is done live; an intent replayed by the sweep is
 * authorized again as live, and one its actor was not allowed is done as refused (audited), not retried.
 */
describe('the inbox of deliveries that reduce access', () => {
  let h: Harness;
  let state: pg.Client;
  let tenantId: string;

  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
    state = new pg.Client({ connectionString: h.app.stateUrl });
    await state.connect();
    tenantId = await h.app.tenants.ensureTenant('slack', TEAM);
  }, 120_000);
  afterAll(async () => {
    await state?.end();
    await h?.close();
  });

  const leaseOf = (requestId: string) => leaseOfHarness(h, requestId);
  const replayer = () => createInboxReplay({ db: h.app.db, tenants: h.app.tenants, exits: h.app.exits, offboarding: h.app.offboarding, audit: h.app.audit, graceMs: 0 });

  const activeLease = (user: string) => activeLeaseOf(h, user);

  it('a Slack retry of the same /dbaccess revoke acts once; its intent is written once and done live', async () => {
    const lease = await activeLease(PEOPLE.requester);
    const triggerId = newTriggerId();
    const body = slashCommand({ teamId: TEAM, userId: PEOPLE.requester, text: `revoke ${lease.requestId}`, triggerId, responseUrl: h.slack.responseUrl('inbox-retry', { user: PEOPLE.requester }) });
    const answers = await Promise.all([h.post(body), h.post(body), h.post(body)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await waitUntil(async () => (await leaseOf(lease.requestId))?.revokedAt, 60_000, 'the revocation');
    const intents = await waitUntil(async () => {
      const { rows } = await state.query<{ outcome: string | null }>('SELECT outcome FROM inbound_intents WHERE subject = $1', [lease.requestId]);
      return rows.every((row) => row.outcome) ? rows : undefined;
    }, 10_000, 'the intent done');
    expect(intents).toEqual([{ outcome: 'live' }]);
    const ended = await state.query("SELECT 1 FROM audit_events WHERE subject = $1 AND action = 'lease.ended'", [`lease:${lease.id}`]);
    expect(ended.rowCount).toBe(1);
    // Nothing is left for the sweep to replay.
    expect(await replayer().replay()).toEqual({ replayed: 0, refused: 0, failed: 0 });
  }, 180_000);

  it('a replayed intent is authorized as live: one its actor was not allowed is done as refused, audited, and not retried', async () => {
    const lease = await activeLease(PEOPLE.requester);
    const inbox = createInbox({ db: h.app.db });
    // As if a process took in Mallory's End access on someone else's request and died before the work.
    await inbox.record(tenantId, `command:${newTriggerId()}`, { kind: 'revoke', platform: 'slack', workspaceId: TEAM, actorExternalId: PEOPLE.mallory, requestId: lease.requestId });
    // Still within its grace: left to the work following the acknowledgement.
    expect(await createInboxReplay({ db: h.app.db, tenants: h.app.tenants, exits: h.app.exits, offboarding: h.app.offboarding, audit: h.app.audit }).replay()).toEqual({ replayed: 0, refused: 0, failed: 0 });

    expect(await replayer().replay()).toEqual({ replayed: 0, refused: 1, failed: 0 });
    const { rows } = await state.query<{ outcome: string; done: boolean; attempts: number }>('SELECT outcome, done_at IS NOT NULL AS done, attempts FROM inbound_intents WHERE subject = $1', [lease.requestId]);
    expect(rows).toEqual([{ outcome: expect.stringMatching(/^refused: Only the requester or an approver/), done: true, attempts: 1 }]);
    const refusal = await state.query<{ actor: string }>("SELECT actor FROM audit_events WHERE subject = $1 AND action = 'request.revoke' AND outcome = 'refused'", [`request:${lease.requestId}`]);
    expect(refusal.rowCount).toBe(1);
    // Done: the next sweep does not try it again, and the access stays.
    expect(await replayer().replay()).toEqual({ replayed: 0, refused: 0, failed: 0 });
    const after = await leaseOf(lease.requestId);
    expect(after?.revokedAt ?? null).toBeNull();
    expect(after?.endReason ?? null).toBeNull();

    // The requester's own intent, replayed, ends it: the same call as live, idempotent on a second pass.
    await inbox.record(tenantId, `command:${newTriggerId()}`, { kind: 'revoke', platform: 'slack', workspaceId: TEAM, actorExternalId: PEOPLE.requester, requestId: lease.requestId });
    expect(await replayer().replay()).toEqual({ replayed: 1, refused: 0, failed: 0 });
    await waitUntil(async () => (await leaseOf(lease.requestId))?.revokedAt, 60_000, 'the revocation');
    const again = `command:${newTriggerId()}`;
    await inbox.record(tenantId, again, { kind: 'revoke', platform: 'slack', workspaceId: TEAM, actorExternalId: PEOPLE.requester, requestId: lease.requestId });
    expect(await replayer().replay()).toEqual({ replayed: 1, refused: 0, failed: 0 });
    const last = await state.query<{ outcome: string }>('SELECT outcome FROM inbound_intents WHERE delivery_key = $1', [again]);
    expect(last.rows[0]?.outcome).toMatch(/^nothing to do: Request R[0-9A-Z]{9} is already/);
  }, 180_000);
  it('two tenants: an intent acts only in its own tenant; the same delivery key in each is two intents', async () => {
    const lease = await activeLease(PEOPLE.requester);
    const other = await h.app.tenants.ensureTenant('slack', 'T0OTHERWS');
    const inbox = createInbox({ db: h.app.db });
    const key = `command:${newTriggerId()}`;
    // Another workspace's deliveries naming this tenant's request and person (the same Slack ids).
    await inbox.record(other, key, { kind: 'revoke', platform: 'slack', workspaceId: 'T0OTHERWS', actorExternalId: PEOPLE.requester, requestId: lease.requestId });
    await inbox.record(other, `event:${newTriggerId()}`, { kind: 'offboard', platform: 'slack', workspaceId: 'T0OTHERWS', userExternalId: PEOPLE.requester });
    expect(await replayer().replay()).toEqual({ replayed: 2, refused: 0, failed: 0 });
    const { rows } = await state.query<{ kind: string; outcome: string }>('SELECT kind, outcome FROM inbound_intents WHERE tenant_id = $1 ORDER BY kind', [other]);
    expect(rows).toEqual([{ kind: 'offboard', outcome: 'not found: never seen by dbaccess' }, { kind: 'revoke', outcome: 'not found' }]);
    const untouched = await leaseOf(lease.requestId);
    expect(untouched?.revokedAt ?? null).toBeNull();
    expect(untouched?.endReason ?? null).toBeNull();
    const offboarded = await state.query('SELECT 1 FROM audit_events WHERE tenant_id = $1 AND action = $2', [tenantId, 'person.offboarded']);
    expect(offboarded.rowCount).toBe(0);

    // The same delivery key in this tenant is its own intent, and ends this tenant's access.
    await inbox.record(tenantId, key, { kind: 'revoke', platform: 'slack', workspaceId: TEAM, actorExternalId: PEOPLE.requester, requestId: lease.requestId });
    expect(await replayer().replay()).toEqual({ replayed: 1, refused: 0, failed: 0 });
    await waitUntil(async () => (await leaseOf(lease.requestId))?.revokedAt, 60_000, 'the revocation');
    const both = await state.query('SELECT tenant_id FROM inbound_intents WHERE delivery_key = $1', [key]);
    expect(both.rowCount).toBe(2);
  }, 180_000);
});
