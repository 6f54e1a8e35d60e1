import { type CloudAdapter, type TurnContext } from 'botbuilder';
import { AuthenticationError } from 'botframework-connector';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../lib/logger.js';
import { isActivity } from './teams-activity.js';
import { oneLine, type InboundAuth } from './teams-inbound-auth.js';

/**
 * POST /api/messages: the inbound check first (a refused activity gets 401 and one log line with the reason,
 * and reaches neither botbuilder nor the bot), then botbuilder's CloudAdapter, which checks the token again
 * and runs the bot. Whatever still fails is one log line too: no stack trace, no token, no key.
 */
export function teamsEndpoint(deps: { adapter: CloudAdapter; inbound: InboundAuth; logic: (context: TurnContext) => Promise<void>; log: Logger }) {
  const { adapter, inbound, logic, log } = deps;
  return async function route(app: FastifyInstance): Promise<void> {
    app.post('/api/messages', async (request, reply) => {
      const activity = typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : undefined;
      const verdict = await inbound.check(request.headers.authorization, activity);
      if (!verdict.ok) {
        log.warn({ reason: verdict.reason, status: verdict.status }, 'teams activity refused');
        return reply.code(verdict.status).send({ error: verdict.status === 401 ? 'unauthorized' : 'unavailable' });
      }
      // An authentic activity botbuilder would throw on (500): refused before it or the bot sees it.
      if (!isActivity(request.body)) return reply.code(400).send({ error: 'not a Bot Framework activity' });
      reply.hijack();
      const raw = reply.raw;
      const res = {
        socket: raw.socket,
        status: (code: number) => { raw.statusCode = code; },
        header: (name: string, value: unknown) => { raw.setHeader(name, String(value)); },
        send: (body?: unknown) => {
          if (body === undefined) return;
          if (!raw.hasHeader('content-type') && typeof body !== 'string') raw.setHeader('content-type', 'application/json');
          raw.write(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
        },
        end: () => { if (!raw.writableEnded) raw.end(); },
      };
      try {
        await adapter.process({ body: request.body as Record<string, unknown>, headers: request.headers as Record<string, string>, method: request.method }, res, logic);
      } catch (error) {
        const refused = error instanceof AuthenticationError;
        log.warn({ reason: oneLine(error) }, refused ? 'teams activity refused' : 'teams request failed');
        if (!raw.headersSent) raw.statusCode = refused ? 401 : 500;
      } finally {
        res.end();
      }
    });
  };
}
