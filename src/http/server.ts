import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { HTTPReceiver } from '@slack/bolt';
import { withTimeout } from '../lib/async.js';
import { httpStatus, publicMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';
import { slackRoute } from './slack-route.js';
import type { ShortLivedFiles } from './short-lived-files.js';

interface Deps {
  logger: Logger;
  metrics: Metrics;
  /** Each named check must resolve for /readyz to answer 200. */
  readiness: Record<string, () => Promise<unknown>>;
  slack?: HTTPReceiver;
  qrCodes?: ShortLivedFiles;
}

export async function buildServer({ logger, metrics, readiness, slack, qrCodes }: Deps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger.child({ component: 'http' }), logController: new LogController({ disableRequestLogging: true }), bodyLimit: 1024 * 1024 }) as unknown as FastifyInstance;

  app.setErrorHandler((error, request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? httpStatus(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(status).send({ error: status < 500 ? (error as Error).message : publicMessage(error) });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      Object.entries(readiness).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000, () => new Error('timeout'));
          return [name, 'ok'] as const;
        } catch {
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const ready = results.every(([, state]) => state === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  if (qrCodes) {
    // A random, expiring name: only who got the link (Slack, rendering their DM) can fetch it.
    app.get<{ Params: { token: string } }>('/mfa/qr/:token', async (request, reply) => {
      const png = qrCodes.get(request.params.token.replace(/\.png$/, ''));
      if (!png) return reply.code(404).send({ error: 'not found' });
      return reply.header('content-type', 'image/png').header('cache-control', 'no-store').send(png);
    });
  }
  if (slack) await app.register(slackRoute, { receiver: slack });
  return app;
}
