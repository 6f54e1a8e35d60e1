import { Queue, Worker, createPostgresBackend, withBackend, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from '../../src/jobs/queue.js';
import { SERVICES } from './services.js';

export type RawQueueAt = { kind: 'redis'; prefix: string } | { kind: 'postgres'; url: string };

/**
 * BullMQ itself on the app's queue (a Redis prefix, or the `bullmq` schema of a state database): to look
 * at jobs by id, and for workers the app does not run (manual ones, a stalled check with other limits).
 */
export function rawQueue(at: RawQueueAt) {
  type Extra = Omit<WorkerOptions, 'connection' | 'prefix'>;
  if (at.kind === 'redis') {
    const connections = [new Redis(SERVICES.redis, { maxRetriesPerRequest: null })];
    const queue = new Queue(QUEUE_NAME, { connection: connections[0]!, prefix: at.prefix });
    return {
      queue,
      worker: (options: Extra) => {
        // BullMQ never closes a connection it is given.
        const connection = connections[0]!.duplicate({ maxRetriesPerRequest: null });
        connections.push(connection);
        return new Worker(QUEUE_NAME, null, { connection, prefix: at.prefix, ...options });
      },
      close: async () => {
        await queue.close();
        for (const connection of connections) connection.disconnect();
      },
    };
  }
  const classes = withBackend(createPostgresBackend);
  const connection = { connectionString: at.url, schema: 'bullmq', migrate: true };
  const queue = new classes.Queue(QUEUE_NAME, { connection }) as unknown as Queue;
  return {
    queue,
    worker: (options: Extra) => new classes.Worker(QUEUE_NAME, null, { connection, ...options }) as unknown as Worker,
    close: () => queue.close(),
  };
}
