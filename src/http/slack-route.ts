import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HTTPReceiver } from '@slack/bolt';

const MAX_SKEW_SECONDS = 5 * 60;

/**
 * Slack's endpoint inside Fastify: the raw body is kept as a Buffer (Bolt verifies the signature over
 * it), and Bolt's own HTTPReceiver answers. Bolt refuses stale timestamps but not future ones; this
 * refuses both, so a request captured or forged for later cannot be replayed.
 */
export async function slackRoute(app: FastifyInstance, { receiver, now = () => Date.now() }: { receiver: HTTPReceiver; now?: () => number }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));

  app.post('/slack/events', async (request: FastifyRequest, reply) => {
    const timestamp = Number(request.headers['x-slack-request-timestamp']);
    if (!Number.isFinite(timestamp) || Math.abs(now() / 1000 - timestamp) > MAX_SKEW_SECONDS || !request.headers['x-slack-signature']) {
      return reply.code(401).send({ error: 'invalid or stale Slack signature' });
    }
    (request.raw as typeof request.raw & { rawBody?: Buffer }).rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    reply.hijack();
    receiver.requestListener(request.raw, reply.raw);
  });
}
