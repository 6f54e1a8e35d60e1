import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { activeLease as activeLeaseOf, leaseOf as leaseOfHarness, PEOPLE, SIGNING_SECRET, TEAM, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { targetRoles } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { spawnApp, type AppProcess } from '../support/processes.js';
import { postSigned, slashCommand } from '../support/slack-requests.js';

/**
 * Issue 21: a delivery that reduces access, acknowledged, then its process killed (kill -9) before
 * the work: the End access (`/dbaccess revoke`) and the offboarding (`user_change`, deleted) are
 * carried out after a restart with no new input (Slack does not resend an acknowledged delivery).
 *
 * The app under test runs in a process of its own (web and worker); the harness's in-process app is
 * web only (it takes the request and the approval and runs no job). The kill lands between the
 * acknowledgement and the work deterministically: a transaction of the test holds the lease's row, so
 * the work's UPDATE waits for it; the kill comes once the state database shows it waiting. The dead
 * process's waiting statement is then ended, so it can never commit after the kill.
 */
describe('a delivery that reduces access survives a kill -9 right after its acknowledgement', () => {
  let h: Harness;
  let state: pg.Client;
  const processes: AppProcess[] = [];
  let port = 0;
  const startAppProcess = async () => {
    const app = spawnApp('src/main.ts', { ...h.env, RUN_MODE: 'all', PORT: String(port), LOG_LEVEL: 'info' });
    processes.push(app);
    await app.waitFor('dbaccess started', 120_000);
    return app;
  };
  const appUrl = () => `http://127.0.0.1:${port}`;

  beforeAll(async () => {
    h = await startHarness({ queue: 'redis', env: { RUN_MODE: 'web' } });
    state = new pg.Client({ connectionString: h.app.stateUrl });
    await state.connect();
    port = await freePort();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await state?.end();
    await h?.close();
  });

  const leaseOf = (requestId: string) => leaseOfHarness(h, requestId);

  const activeLease = (user: string) => activeLeaseOf(h, user);

  /**
   * Holds the lease's row, sends `delivery`, and once the app's work waits on that row kills the app,
   * ends its waiting statement and lets go. Returns the HTTP status of the acknowledgement.
   */
  async function killAfterAck(app: AppProcess, leaseId: string, delivery: () => Promise<{ status: number }>): Promise<number> {
    const holder = new pg.Client({ connectionString: h.app.stateUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM leases WHERE id = $1 FOR UPDATE', [leaseId]);
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const { status } = await delivery();
    const waiting = await waitUntil(async () => {
      const { rows } = await state.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $1::int = ANY(pg_blocking_pids(pid))", [holderPid]);
      return rows.length > 0 ? rows.map((row) => row.pid) : undefined;
    }, 30_000, 'the work after the acknowledgement to wait on the lease');
    await app.kill('SIGKILL');
    await state.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [waiting]);
    await holder.query('ROLLBACK');
    await holder.end();
    return status;
  }

  async function expectRevokedAfterRestart(lease: { id: string; username: string; requestId: string }) {
    const row = await leaseOf(lease.requestId);
    // Nothing of the work was written before the kill: the lease is as it was.
    expect(row?.revokedAt ?? null).toBeNull();
    expect(row?.endReason ?? null).toBeNull();
    const restartedAt = Date.now();
    processes.push(await startAppProcess());
    const revoked = await waitUntil(async () => (await leaseOf(lease.requestId))?.revokedAt, 60_000, 'the revocation after the restart');
    console.info(`revoked ${revoked!.getTime() - restartedAt} ms after the restart`);
    expect(await targetRoles(lease.username)).toEqual([]);
    const sessions = await pgTargetSessions(lease.username);
    expect(sessions).toBe(0);
  }

  const pgTargetSessions = async (username: string) => {
    const target = new pg.Client({ connectionString: h.target.adminUrl });
    await target.connect();
    try {
      return (await target.query('SELECT 1 FROM pg_stat_activity WHERE usename = $1', [username])).rowCount;
    } finally {
      await target.end();
    }
  };

  const intentOf = async (subject: string) =>
    (await state.query<{ kind: string; outcome: string | null; done: boolean }>('SELECT kind, outcome, done_at IS NOT NULL AS done FROM inbound_intents WHERE subject = $1', [subject])).rows;

  it('/dbaccess revoke: acknowledged, killed before the work, revoked after the restart with no new input', async () => {
    const app = await startAppProcess();
    const lease = await activeLease(PEOPLE.requester);
    const status = await killAfterAck(app, lease.id, () =>
      postSigned(appUrl(), '/slack/events', slashCommand({ teamId: TEAM, userId: PEOPLE.requester, text: `revoke ${lease.requestId}`, responseUrl: h.slack.responseUrl('revoke-kill', { user: PEOPLE.requester }) }), { secret: SIGNING_SECRET }),
    );
    expect(status).toBe(200);
    await expectRevokedAfterRestart(lease);
    expect(await intentOf(lease.requestId)).toEqual([{ kind: 'revoke', outcome: 'replayed', done: true }]);
    const request = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, lease.requestId) }));
    expect(request!.state).toBe('revoked');
  }, 300_000);

  it('user_change deleted: acknowledged, killed before the work, offboarded after the restart with no new input', async () => {
    const app = processes.at(-1)!;
    const lease = await activeLease(PEOPLE.bob);
    const event = {
      token: 'unused', team_id: TEAM, api_app_id: 'A0DBACCESS', type: 'event_callback', event_id: 'Ev0INBOXKILL', event_time: Math.floor(Date.now() / 1000),
      event: { type: 'user_change', user: { id: PEOPLE.bob, team_id: TEAM, name: 'bob', deleted: true }, event_ts: `${Date.now() / 1000}` },
    };
    const status = await killAfterAck(app, lease.id, () => postSigned(appUrl(), '/slack/events', JSON.stringify(event), { secret: SIGNING_SECRET, contentType: 'application/json' }));
    expect(status).toBe(200);
    await expectRevokedAfterRestart(lease);
    expect(await intentOf(PEOPLE.bob)).toEqual([{ kind: 'offboard', outcome: 'replayed', done: true }]);
  }, 300_000);
});
