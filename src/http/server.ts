import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { HTTPReceiver } from '@slack/bolt';
import type { SlackScreen } from '../chat/slack/slack-screen.js';
import { withTimeout } from '../lib/async.js';
import { httpStatus, publicMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';
import { slackRoute } from './slack-route.js';
import type { ShortLivedFiles } from './short-lived-files.js';
import { REPORT_FORMATS, type ReportFormat } from '../modules/reports/report-links.js';
import type { ReportService } from '../modules/reports/report-service.js';

interface Deps {
  logger: Logger;
  metrics: Metrics;
  /** Each named check must resolve for /readyz to answer 200. */
  readiness: Record<string, () => Promise<unknown>>;
  /** Slack's endpoint: Bolt's receiver, and what refuses a request before Bolt sees it. */
  slack?: { receiver: HTTPReceiver; screen: SlackScreen; arrived?: (() => () => void) | undefined } | undefined;
  qrCodes?: ShortLivedFiles;
  /** Signed, expiring report downloads (`/reports/report.<format>?token=<signed token>`). */
  reports?: Pick<ReportService, 'download'>;
  /** The local console's routes, when it is on. */
  console?: (app: FastifyInstance) => Promise<void>;
  /** Microsoft Teams' endpoint (POST /api/messages), when Teams is configured. */
  teams?: ((app: FastifyInstance) => Promise<void>) | undefined;
  /** The terminal's API (`dbaccess connect`, /cli/api/...). */
  cli?: ((app: FastifyInstance) => Promise<void>) | undefined;
  /** Ticket trackers' webhooks (POST /webhooks/<tracker>), when a catalog binds access to tickets. */
  ticketWebhooks?: ((app: FastifyInstance) => Promise<void>) | undefined;
}

export async function buildServer({ logger, metrics, readiness, slack, qrCodes, console: consoleRoutes, reports, teams, cli, ticketWebhooks }: Deps): Promise<FastifyInstance> {
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
  if (reports) {
    // The token is the credential: a wrong one is 403 and an expired one 410, neither with details.
    app.get<{ Params: { file: string }; Querystring: { token?: string } }>('/reports/:file', async (request, reply) => {
      const format = /^report\.([a-z]+)$/.exec(request.params.file)?.[1] as ReportFormat | undefined;
      if (!format || !(REPORT_FORMATS as readonly string[]).includes(format)) return reply.code(404).send({ error: 'not found' });
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      const result = await reports.download(token, format);
      void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').header('x-content-type-options', 'nosniff');
      if (result.status !== 200) return reply.code(result.status).send({ error: result.status === 410 ? 'this link has expired; ask for the report again' : 'forbidden' });
      if (format === 'html') void reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
      const disposition = format === 'html' ? 'inline' : 'attachment';
      return reply.header('content-type', result.contentType).header('content-disposition', `${disposition}; filename="${result.filename}"`).send(result.body);
    });
  }
  if (slack) await app.register(slackRoute, slack);
  if (consoleRoutes) await app.register(consoleRoutes);
  if (teams) await app.register(teams);
  if (cli) await app.register(cli);
  if (ticketWebhooks) await app.register(ticketWebhooks);
  return app;
}

/**
 * Stops the HTTP server without waiting on clients: requests in flight get a second to finish, then
 * every connection still open is closed (a client that never reads a response body, or an open
 * event stream, would otherwise hold the shutdown for minutes).
 */
export async function closeHttp(http: FastifyInstance, graceMs = 1000): Promise<void> {
  const timer = setTimeout(() => http.server.closeAllConnections(), graceMs);
  timer.unref();
  try {
    await http.close();
  } finally {
    clearTimeout(timer);
  }
}
