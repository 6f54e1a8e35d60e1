import pg, { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { targetRoles } from '../support/databases.js';
import { spawnApp, type AppProcess } from '../support/processes.js';
import { rawQueue } from '../support/raw-queue.js';
import { SERVICES } from '../support/services.js';

/**
 * kill -9 of a worker process while it revokes: the revocation is taken over and finished soon after
 * a restart, and even a job BullMQ has failed for good (its stall limit reached) does not stop the sweep.
 * The web part runs in this process; the workers are separate processes of the app (src/main.ts).
 */
describe.each(['redis', 'postgres'] as const)('a worker killed in the middle of a revocation (queue on %s)', (backend) => {
  let h: Harness;
  let raw: ReturnType<typeof rawQueue>;
  const processes: AppProcess[] = [];
  /** A worker process on the harness's state, queue and catalog, once it is up. */
  const startWorkerProcess = async () => {
    const worker = spawnApp('src/main.ts', { ...h.env, RUN_MODE: 'worker', LOG_LEVEL: 'info' });
    processes.push(worker);
    await worker.waitFor('dbaccess started', 120_000);
    return worker;
  };

  beforeAll(async () => {
    h = await startHarness({ queue: backend, env: { RUN_MODE: 'web' } });
    raw = rawQueue(backend === 'redis' ? { kind: 'redis', prefix: h.redisPrefix } : { kind: 'postgres', url: h.app.stateUrl });
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await raw?.close();
    await h?.close();
  });

  const leaseOf = (requestId: string) => asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));
  const revokedAt = async (leaseId: string) => (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.id, leaseId) })))?.revokedAt;
  const revokedEvents = async (leaseId: string) => {
    const owner = new pg.Client({ connectionString: h.app.stateUrl });
    await owner.connect();
    try {
      return (await owner.query("SELECT 1 FROM audit_events WHERE subject = $1 AND action = 'lease.revoked'", [`lease:${leaseId}`])).rowCount;
    } finally {
      await owner.end();
    }
  };

  /**
   * A lease provisioned by the worker process, then its revocation at expiry held up on the target (an
   * open transaction of ours holds the role's row, so the revocation's ALTER ROLE waits for it), then
   * the worker killed while it waits. Returns the lease and the transaction to let go.
   */
  async function killMidRevocation(worker: AppProcess) {
    const before = new Set(h.slack.messagesIn('C0APPROVALS').map((m) => m.ts));
    await h.submitRequest(PEOPLE.requester, { duration: '10s' });
    const card = await h.waitForCard((m) => !before.has(m.ts));
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const lease = await waitUntil(async () => {
      const row = await leaseOf(requestId);
      return row?.provisionedAt ? row : undefined;
    }, 60_000, 'provisioning by the worker process');
    expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now());

    const holder = new pg.Client({ connectionString: SERVICES.targetPg });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`ALTER ROLE ${escapeIdentifier(lease.username)} CONNECTION LIMIT 7`);
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // The revocation is under way: its statement waits for our lock on the target. Looked for from
    // another session: inside the holder's transaction pg_stat_activity is a snapshot taken at its
    // first read, so a revocation on a connection opened (or reused) after that would never show.
    const watcher = new pg.Client({ connectionString: SERVICES.targetPg });
    await watcher.connect();
    try {
      await waitUntil(async () => {
        const { rows } = await watcher.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $2::int = ANY(pg_blocking_pids(pid)) AND strpos(query, $1) > 0",
          [lease.username, holderPid],
        );
        return rows[0]!.n > 0;
      }, 60_000, 'the revocation to wait on the target');
    } finally {
      await watcher.end();
    }
    expect((await raw.queue.getJobState(`revoke-${lease.id}`))).toBe('active');
    await worker.kill('SIGKILL');
    // Let go: the dead worker's statement may now run on the target, and must not matter either way.
    await holder.query('ROLLBACK');
    await holder.end();
    return lease;
  }

  let survivor: AppProcess | undefined;

  it('is revoked within about 10 s of the restart, and once', async () => {
    const first = await startWorkerProcess();
    const lease = await killMidRevocation(first);
    const killedAt = Date.now();

    const restartedAt = Date.now();
    survivor = await startWorkerProcess();
    const readyAt = Date.now();
    const revoked = (await waitUntil(() => revokedAt(lease.id), 60_000, 'revocation after the restart'))!;
    const figures = { startupMs: readyAt - restartedAt, afterRestartMs: revoked.getTime() - restartedAt, afterReadyMs: revoked.getTime() - readyAt, afterKillMs: revoked.getTime() - killedAt };
    console.info(`[${backend}] revocation after kill -9 mid-revocation:`, figures);
    // The dead worker's lock lasts at most 10 s (lockDuration); the sweep then takes the job over.
    expect(revoked.getTime() - killedAt, JSON.stringify(figures)).toBeLessThan(Math.max(12_000, readyAt - killedAt + 3_000));
    expect(await targetRoles(lease.username)).toEqual([]);
    const request = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, lease.requestId) }));
    expect(request!.state).toBe('revoked');
    expect(await revokedEvents(lease.id)).toBe(1);
  }, 300_000);

  it('is revoked by the sweep even when BullMQ has failed the job for good (its stall limit reached)', async () => {
    const lease = await killMidRevocation(survivor!);
    const jobId = `revoke-${lease.id}`;
    // BullMQ's stalled check as it ends a job that stalled more times than allowed: back in the queue,
    // marked to fail without running. (With BullMQ's defaults, a second crash does exactly this.)
    const staller = raw.worker({ autorun: false, maxStalledCount: 0, stalledInterval: 200 });
    await staller.startStalledCheckTimer();
    const doomed = await waitUntil(async () => {
      const job = await raw.queue.getJob(jobId);
      return job?.deferredFailure ? job : undefined;
    }, 60_000, 'BullMQ to give up on the stalled job');
    await staller.close();
    expect(doomed.deferredFailure).toMatch(/stalled more than allowable limit/);

    await h.startWorker();
    const revoked = await waitUntil(() => revokedAt(lease.id), 60_000, 'revocation by the sweep');
    expect(revoked).toBeInstanceOf(Date);
    expect(await targetRoles(lease.username)).toEqual([]);
    expect(await revokedEvents(lease.id)).toBe(1);
  }, 300_000);
});
