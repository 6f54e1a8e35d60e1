import { Queue, UnrecoverableError, Worker, createPostgresBackend, withBackend, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { isLostConnection, type Logger } from '../lib/logger.js';
import { asSystem } from '../modules/tenants/tenant-scope.js';
import { withTimeout } from '../lib/async.js';
import { RetryLater } from '../lib/retry-later.js';
import { JOBS, type Enqueue, type JobData, type JobName } from './job-catalog.js';
import type { EnqueueMany } from '../modules/job-port.js';
import { clearForTakeOver } from './take-over.js';

export const QUEUE_NAME = 'dbaccess';

export type QueueBackend = { kind: 'redis'; url: string; prefix: string } | { kind: 'postgres'; url: string; schema: string };

export type JobHandlers = { [N in JobName]: (data: JobData<N>, job: Job) => Promise<void> };

export interface JobQueue {
  enqueue: Enqueue;
  enqueueMany: EnqueueMany;
  /** Starts processing; `onDone` sees every finished job (metrics). */
  /**
   * `before`: awaited before each job starts (in one process with the web side: until the chat
   * acknowledgements arriving have been sent, at most half a second; see urgentFirst in src/lib/async.ts).
   */
  startWorker(handlers: JobHandlers, options?: { concurrency?: number; onDone?: (job: Job, ok: boolean) => void; before?: (() => Promise<void>) | undefined }): Promise<void>;
  /** Registers a recurring job without a payload: sweep, reconcile, the audit export and checkpoints, the purge (idempotent). */
  schedule(name: 'sweep' | 'reconcile' | 'exportAudit' | 'checkpointAudit' | 'purgeHistory', everyMs: number): Promise<void>;
  ping(): Promise<void>;
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
  readonly backend: QueueBackend['kind'];
}

/** The priority of `later` jobs: any value does, as BullMQ runs every job without one first. */
const LATER = 10;

function jobOptions(name: JobName, options: { jobId?: string; delayMs?: number; later?: boolean }) {
  return {
    jobId: options.jobId,
    delay: options.delayMs && options.delayMs > 0 ? options.delayMs : undefined,
    // BullMQ takes jobs without a priority before any prioritized one.
    priority: options.later ? LATER : undefined,
    attempts: JOBS[name].attempts,
    backoff: { type: 'custom' as const },
    removeOnComplete: true,
    removeOnFail: 1000,
  };
}

// Short enough that a target back from an outage is revoked within a minute (one attempt can take 5 s to time out).
const MAX_BACKOFF_MS = 30_000;

/** Exponential from 1 s, capped at 30 s: jobs that must never give up still retry often. */
export const backoffDelay = (attemptsMade: number) => Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attemptsMade - 1));

/** The backoff, unless the job said when it can go on (RetryLater). */
export const retryDelay = (attemptsMade: number, error?: Error) => (error instanceof RetryLater ? error.delayMs : backoffDelay(attemptsMade));

/**
 * What BullMQ does with the job of a worker that died (kill -9, out of memory, a lost machine). Its
 * lock, renewed every lockDuration / 2 while the job runs, expires lockDuration after the last renewal;
 * then the sweep takes the job over (take-over.ts) and BullMQ's stalled check, every stalledInterval,
 * puts it back in the queue. BullMQ's defaults (30 s and 30 s) left a revocation in flight waiting
 * about 70 s after a restart.
 * - lockDuration 10 s: a dead worker's job is free within 10 s. Shorter would risk taking a job from
 *   a live worker whose event loop is held up for more than 5 s; that costs a duplicate run (every job
 *   is safe to run twice), never a lost one.
 * - stalledInterval 5 s: one cheap check (one script or SQL function per queue, whichever worker runs it)
 *   every 5 s, so a stalled job is back about 10-20 s after the death with no sweep at all.
 * - maxStalledCount 5 (BullMQ's default 1 failed a job for good at the second crash): jobs are
 *   idempotent, so running one again after a death is always right; the limit only stops a job that
 *   itself kills its worker from doing so without end. Revocation and provisioning do not depend on
 *   it: the sweep re-adds them whatever state BullMQ left them in.
 */
export const STALLED_SETTINGS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 5 } as const;

/**
 * BullMQ on Redis (REDIS_URL) or on PostgreSQL (the same database as the state); the job code is the
 * same on both. Job payloads are validated on the way in and on the way out.
 */
export function createJobQueue(backend: QueueBackend, logger: Logger): JobQueue {
  const redis = backend.kind === 'redis' ? new Redis(backend.url, { maxRetriesPerRequest: null }) : undefined;
  const classes = backend.kind === 'postgres' ? withBackend(createPostgresBackend) : undefined;
  const pgConnection = backend.kind === 'postgres' ? { connectionString: backend.url, schema: backend.schema, migrate: true } : undefined;

  // The two backends take different connection types; these two factories are the only place that knows.
  const makeQueue = (): Queue =>
    classes ? (new classes.Queue(QUEUE_NAME, { connection: pgConnection! }) as unknown as Queue) : new Queue(QUEUE_NAME, { connection: redis!, prefix: (backend as { prefix: string }).prefix });
  const makeWorker = (processor: (job: Job) => Promise<void>, concurrency: number): Worker => {
    const settings = { backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) => retryDelay(attemptsMade, error) };
    return classes
      ? (new classes.Worker(QUEUE_NAME, processor, { connection: pgConnection!, concurrency, settings, ...STALLED_SETTINGS }) as unknown as Worker)
      : new Worker(QUEUE_NAME, processor, {
          connection: (() => {
            const connection = redis!.duplicate({ maxRetriesPerRequest: null });
            owned.push(connection);
            return connection;
          })(),
          prefix: (backend as { prefix: string }).prefix,
          concurrency,
          settings,
          ...STALLED_SETTINGS,
        });
  };

  const queue = makeQueue();
  /** Connections we made for workers: BullMQ treats a passed-in connection as shared and never closes it. */
  const owned: Redis[] = [];
  // A connection the database server ended (it restarts, or a Ctrl-C reached it with us) is reconnected
  // by BullMQ; only other errors are worth a warning.
  queue.on('error', (error) => (isLostConnection(error) ? logger.debug({ err: error }, 'queue connection lost; reconnecting') : logger.warn({ err: error }, 'queue error')));
  let worker: Worker | undefined;

  return {
    backend: backend.kind,
    async enqueue(name, data, options = {}) {
      const payload = JOBS[name].schema.parse(data);
      if (options.takeOver && options.jobId && !(await clearForTakeOver(queue, options.jobId))) return;
      await queue.add(name, payload, jobOptions(name, options));
    },

    async enqueueMany(jobs) {
      if (jobs.length === 0) return;
      const bulk = jobs.map(({ name, data, options = {} }) => ({ name, data: JOBS[name].schema.parse(data) as object, opts: jobOptions(name, options) }));
      await queue.addBulk(bulk);
    },

    async startWorker(handlers, { concurrency = 20, onDone, before } = {}) {
      worker = makeWorker(async (job) => {
        await before?.();
        const name = job.name as JobName;
        const spec = JOBS[name];
        if (!spec) throw new UnrecoverableError(`Unknown job ${job.name}`);
        const parsed = spec.schema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`Invalid payload for ${name}`);
        // Jobs span tenants (they load by id); the rows they load say which tenant they are about.
        const run = asSystem(`job:${name}`, () => (handlers[name] as (data: unknown, job: Job) => Promise<void>)(parsed.data, job));
        await withTimeout(run, spec.timeoutMs, () => new Error(`${name} took longer than ${spec.timeoutMs} ms`));
      }, concurrency);
      worker.on('completed', (job) => onDone?.(job, true));
      worker.on('failed', (job, error) => {
        if (job) onDone?.(job, false);
        logger.warn({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: { message: error.message } }, 'job failed');
      });
      worker.on('error', (error) => (isLostConnection(error) ? logger.debug({ err: { message: error.message } }, 'worker connection lost; reconnecting') : logger.warn({ err: { message: error.message } }, 'worker error')));
      await worker.waitUntilReady();
    },

    async schedule(name, everyMs) {
      // Processes starting together upsert the same schedulers: on the PostgreSQL backend two upserts can
      // deadlock, and PostgreSQL ends one of them (40P01), which is safe to run again.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await queue.upsertJobScheduler(name, { every: everyMs }, { name, data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } });
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
        }
      }
    },

    async ping() {
      await queue.getJobCounts('waiting');
    },

    async counts() {
      return queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    },

    async close() {
      await worker?.close();
      await queue.close();
      await Promise.all([...owned, ...(redis ? [redis] : [])].map((connection) => connection.quit().catch(() => {})));
    },
  };
}
