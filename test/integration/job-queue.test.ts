import { randomBytes, randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { JOBS, type JobName } from '../../src/jobs/job-catalog.js';
import { createJobQueue, type JobHandlers, type JobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/lib/logger.js';
import { deleteRedisPrefix, waitUntil } from '../support/app-harness.js';
import { createStateDatabase } from '../support/databases.js';
import { rawQueue } from '../support/raw-queue.js';
import { SERVICES } from '../support/services.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function queueOn(backend: 'redis' | 'postgres'): Promise<JobQueue & { raw: ReturnType<typeof rawQueue> }> {
  const logger = createLogger('silent');
  if (backend === 'redis') {
    const prefix = `dbaccess-test-queue-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => deleteRedisPrefix(prefix));
    const queue = createJobQueue({ kind: 'redis', url: SERVICES.redis, prefix }, logger);
    const raw = rawQueue({ kind: 'redis', prefix });
    cleanups.push(() => queue.close(), () => raw.close());
    return Object.assign(queue, { raw });
  }
  const state = await createStateDatabase();
  cleanups.push(() => state.drop());
  const queue = createJobQueue({ kind: 'postgres', url: state.url, schema: 'bullmq' }, logger);
  await queue.ping(); // creates the queue's schema
  const raw = rawQueue({ kind: 'postgres', url: state.url });
  cleanups.push(() => queue.close(), () => raw.close());
  return Object.assign(queue, { raw });
}

/** Handlers that record what ran; `revoke` does what `revoke` says. */
function recording(revoke: (leaseId: string) => Promise<void> = async () => {}) {
  const ran: Array<{ name: string; data: unknown }> = [];
  const handlers = Object.fromEntries(
    Object.keys(JOBS).map((name) => [
      name,
      async (data: { leaseId?: string }) => {
        ran.push({ name, data });
        if (name === 'revoke') await revoke(data.leaseId!);
      },
    ]),
  ) as unknown as JobHandlers;
  return { ran, handlers };
}

describe.each(['redis', 'postgres'] as const)('the job queue on %s', (backend) => {
  it('runs `later` jobs (what follows a revocation) after every queued job without it', async () => {
    const queue = await queueOn(backend);
    const ran: string[] = [];
    const leases = Array.from({ length: 4 }, () => randomUUID());
    // Follow-ups first, revocations after: the revocations must still run first.
    for (const leaseId of leases) await queue.enqueue('summarize', { leaseId }, { jobId: `summarize-${leaseId}`, later: true });
    for (const leaseId of leases) await queue.enqueue('revoke', { leaseId }, { jobId: `revoke-${leaseId}` });
    const record = (name: JobName) => async () => {
      ran.push(name);
    };
    const handlers = Object.fromEntries(Object.keys(JOBS).map((name) => [name, record(name as JobName)])) as unknown as JobHandlers;
    await queue.startWorker(handlers, { concurrency: 1 });
    await waitUntil(() => ran.length === 8 || undefined, 20_000, 'all eight jobs');
    expect(ran).toEqual([...Array(4).fill('revoke'), ...Array(4).fill('summarize')]);
  });

  describe('the sweep taking over a job by its id (takeOver)', () => {
    it('replaces a job that failed for good: BullMQ alone would keep ignoring the id', async () => {
      const queue = await queueOn(backend);
      const leaseId = randomUUID();
      let fail = true;
      const { ran, handlers } = recording(async () => {
        if (fail) throw new UnrecoverableError('failed for good');
      });
      await queue.startWorker(handlers, { concurrency: 2 });
      await queue.enqueue('revoke', { leaseId }, { jobId: `revoke-${leaseId}` });
      await waitUntil(async () => (await queue.raw.queue.getJobState(`revoke-${leaseId}`)) === 'failed', 20_000, 'the job to fail for good');
      fail = false;
      await queue.enqueue('revoke', { leaseId }, { jobId: `revoke-${leaseId}` });
      expect(await queue.raw.queue.getJobState(`revoke-${leaseId}`)).toBe('failed');
      await queue.enqueue('revoke', { leaseId }, { jobId: `revoke-${leaseId}`, takeOver: true });
      await waitUntil(() => ran.length === 2 || undefined, 20_000, 'the job to run again');
      await waitUntil(async () => (await queue.raw.queue.getJobState(`revoke-${leaseId}`)) === 'unknown', 20_000, 'the job to complete');
    });

    it('takes over a job left active by a dead worker once its lock expires, and not while it holds', async () => {
      const queue = await queueOn(backend);
      const leaseId = randomUUID();
      const jobId = `revoke-${leaseId}`;
      await queue.enqueue('revoke', { leaseId }, { jobId });
      // A worker takes the job and dies: nothing renews its lock (2 s here) any more.
      const dying = queue.raw.worker({ autorun: false, lockDuration: 2000 });
      const taken = await dying.getNextJob('dead-worker-token');
      expect(taken?.id).toBe(jobId);
      await dying.close(true);
      const { ran, handlers } = recording();
      await queue.startWorker(handlers, { concurrency: 2 });
      // While its lock holds, the job counts as running: nothing is added, nothing runs.
      await queue.enqueue('revoke', { leaseId }, { jobId, takeOver: true });
      expect(await queue.raw.queue.getJobState(jobId)).toBe('active');
      expect(ran).toEqual([]);
      // Once the lock has expired, the next take-over (or BullMQ's own stalled check, every 5 s) runs it.
      await waitUntil(async () => {
        if (ran.length > 0 || (await queue.raw.queue.getJobState(jobId)) !== 'active') return true;
        await queue.enqueue('revoke', { leaseId }, { jobId, takeOver: true });
        return false;
      }, 20_000, 'the take-over');
      await waitUntil(async () => (await queue.raw.queue.getJobState(jobId)) === 'unknown', 20_000, 'the job to complete');
      // A take-over racing the stalled check's own run of the job may add one more run (the sweep would
      // not: by then the lease is revoked); never more.
      expect(ran.length).toBeGreaterThanOrEqual(1);
      expect(ran.length).toBeLessThanOrEqual(2);
      expect(new Set(ran.map((run) => JSON.stringify(run)))).toEqual(new Set([JSON.stringify({ name: 'revoke', data: { leaseId } })]));
    });

    it('runs now a first run scheduled for later, and adds nothing while a job waits, retries or runs', async () => {
      const queue = await queueOn(backend);
      const [later, retrying, running] = [randomUUID(), randomUUID(), randomUUID()];
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let failures = 0;
      const { ran, handlers } = recording(async (leaseId) => {
        if (leaseId === running) await held;
        if (leaseId === retrying && failures++ < 3) throw new Error('target down');
      });
      // A revocation planned for an expiry an hour away, brought forward (an early end).
      await queue.enqueue('revoke', { leaseId: later }, { jobId: `revoke-${later}`, delayMs: 3600_000 });
      await queue.enqueue('revoke', { leaseId: retrying }, { jobId: `revoke-${retrying}` });
      await queue.enqueue('revoke', { leaseId: running }, { jobId: `revoke-${running}` });
      await queue.startWorker(handlers, { concurrency: 4 });
      await queue.enqueue('revoke', { leaseId: later }, { jobId: `revoke-${later}`, takeOver: true });
      await waitUntil(() => ran.some((run) => (run.data as { leaseId: string }).leaseId === later) || undefined, 20_000, 'the promoted job');
      // The failing one is in its backoff (delayed, attempts made; 4 s after the third failure): left alone, not run early.
      await waitUntil(async () => {
        const job = await queue.raw.queue.getJob(`revoke-${retrying}`);
        return job?.attemptsMade === 3 && (await job.getState()) === 'delayed';
      }, 30_000, 'the third backoff');
      await queue.enqueue('revoke', { leaseId: retrying }, { jobId: `revoke-${retrying}`, takeOver: true });
      await queue.enqueue('revoke', { leaseId: running }, { jobId: `revoke-${running}`, takeOver: true });
      expect(await queue.raw.queue.getJobState(`revoke-${retrying}`)).toBe('delayed');
      expect(await queue.raw.queue.getJobState(`revoke-${running}`)).toBe('active');
      release();
      await waitUntil(async () => (await queue.raw.queue.getJobState(`revoke-${retrying}`)) === 'unknown', 30_000, 'the retries to succeed');
      const runsOf = (leaseId: string) => ran.filter((run) => (run.data as { leaseId: string }).leaseId === leaseId).length;
      expect([runsOf(later), runsOf(retrying), runsOf(running)]).toEqual([1, 4, 1]);
    });
  });
});
