import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { JOBS, type JobName } from '../../src/jobs/job-catalog.js';
import { createJobQueue, type JobHandlers, type JobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/lib/logger.js';
import { deleteRedisPrefix, waitUntil } from '../support/app-harness.js';
import { createStateDatabase } from '../support/databases.js';
import { SERVICES } from '../support/services.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function queueOn(backend: 'redis' | 'postgres'): Promise<JobQueue> {
  const logger = createLogger('silent');
  if (backend === 'redis') {
    const prefix = `dbaccess-test-queue-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => deleteRedisPrefix(prefix));
    const queue = createJobQueue({ kind: 'redis', url: SERVICES.redis, prefix }, logger);
    cleanups.push(() => queue.close());
    return queue;
  }
  const state = await createStateDatabase();
  cleanups.push(() => state.drop());
  const queue = createJobQueue({ kind: 'postgres', url: state.url, schema: 'bullmq' }, logger);
  cleanups.push(() => queue.close());
  return queue;
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
});
