import type { Config } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';
import type { JobHandlers, JobQueue } from '../jobs/queue.js';
import type { Logger } from '../lib/logger.js';
import type { createInboxReplay } from '../modules/inbox/inbox-service.js';

interface Deps {
  queue: JobQueue;
  handlers: JobHandlers;
  metrics: Pick<Metrics, 'jobFinished'>;
  env: Pick<Config['env'], 'SWEEP_INTERVAL' | 'RECONCILE_INTERVAL' | 'AUDIT_CHECKPOINT_INTERVAL' | 'RETENTION_PURGE_INTERVAL' | 'AUDIT_EXPORT_INTERVAL'>;
  /** An audit export sink is configured: its job is scheduled too. */
  exportsAudit: boolean;
  inboxReplay: Pick<ReturnType<typeof createInboxReplay>, 'dueIn' | 'replay'>;
  logger: Logger;
  closers: Array<() => Promise<unknown>>;
  /** Awaited before each job starts (see JobQueue.startWorker). */
  before: (() => Promise<void>) | undefined;
}

/** The workers: the job handlers at work, the recurring jobs scheduled (and kept so), the inbox replayed soon. */
export async function startJobWorkers({ queue, handlers, metrics, env, exportsAudit, inboxReplay, logger, closers, before }: Deps): Promise<void> {
  await queue.startWorker(handlers, {
    concurrency: 50,
    onDone: (job, ok) => metrics.jobFinished(job.name, job.timestamp + (job.opts.delay ?? 0), ok),
    before,
  });
  const sweepMs = env.SWEEP_INTERVAL;
  // One after the other, in the same order in every process, so that processes starting together take
  // the schedulers' rows in one order.
  const schedule = async () => {
    await queue.schedule('sweep', sweepMs);
    await queue.schedule('reconcile', env.RECONCILE_INTERVAL);
    await queue.schedule('checkpointAudit', env.AUDIT_CHECKPOINT_INTERVAL);
    await queue.schedule('purgeHistory', env.RETENTION_PURGE_INTERVAL);
    if (exportsAudit) await queue.schedule('exportAudit', env.AUDIT_EXPORT_INTERVAL);
  };
  await schedule();
  await queue.enqueue('reconcile', {});
  // An End access or an offboarding acknowledged by a process that died just before this one
  // started is replayed as soon as its grace is over, not a sweep interval later.
  const dueIn = await inboxReplay.dueIn().catch(() => undefined);
  if (dueIn !== undefined) {
    const replaySoon = setTimeout(() => {
      inboxReplay.replay().catch((error: unknown) => logger.warn({ err: error }, 'inbox replay failed'));
    }, dueIn + 100);
    replaySoon.unref();
    closers.unshift(async () => clearTimeout(replaySoon));
  }
  // The schedules live in the queue's store; a Redis flush or restart erases them. Re-asserting
  // them keeps the sweep (and so every revocation) alive whatever happens to Redis.
  const keepScheduled = setInterval(() => {
    schedule().catch((error: unknown) => logger.warn({ err: error }, 'could not re-assert the sweep schedule'));
  }, sweepMs);
  keepScheduled.unref();
  closers.unshift(async () => clearInterval(keepScheduled));
}
