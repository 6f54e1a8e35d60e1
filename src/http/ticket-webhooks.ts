import type { FastifyInstance } from 'fastify';
import { TRACKERS, type TrackerName } from '../config/integrations/trackers.js';
import type { TicketService } from '../modules/tickets/ticket-service.js';
import { asSystem } from '../modules/tenants/tenant-scope.js';

/**
 * `POST /webhooks/jira`, `/webhooks/linear`, `/webhooks/github`: a ticket tracker says a ticket
 * changed. The body is kept raw (the signature is over its bytes); the service checks it against
 * each tenant's webhook secret and answers 401 when none verifies it.
 */
export function ticketWebhookRoutes({ tickets }: { tickets: Pick<TicketService, 'webhook'> }) {
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));
      scope.post<{ Params: { tracker: string } }>('/webhooks/:tracker', async (request, reply) => {
        const tracker = request.params.tracker as TrackerName;
        if (!(TRACKERS as readonly string[]).includes(tracker)) return reply.code(404).send({ error: 'Not found' });
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const result = await asSystem(`webhook:${tracker}`, () => tickets.webhook(tracker, request.headers, body));
        return result.status === 401 ? reply.code(401).send({ error: 'The signature does not match a configured webhook secret.' }) : reply.code(202).send({ ok: true });
      });
    });
  };
}
