import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HTTPReceiver } from '@slack/bolt';
import type { SlackScreen } from '../chat/slack/slack-screen.js';

/** Slack's payloads are small; 1 MiB leaves room for the largest modal state. */
const BODY_LIMIT = 1024 * 1024;

/**
 * Slack's endpoint inside Fastify: the raw body is kept as a Buffer (Bolt verifies the signature over
 * it), and Bolt's own HTTPReceiver answers. The screen refuses first, with a 4xx and before any
 * listener runs, what Bolt would let through or answer late: future timestamps (Bolt refuses only
 * stale ones), other content types, unparsable payloads, interactions dbaccess does not offer and
 * views it never opened.
 */
export async function slackRoute(app: FastifyInstance, { receiver, screen, arrived, now = () => Date.now() }: { receiver: HTTPReceiver; screen: SlackScreen; arrived?: (() => () => void) | undefined; now?: () => number }) {
  if (arrived) {
    // A request is on its way from the moment its connection is accepted: under a burst the process
    // accepts every connection at once but reads each request only in its turn, and work held until
    // the arrivals have their answers must count those not read yet. The mark ends when the
    // connection's first request is read (the route marks each request itself) or it closes.
    const unread = new WeakMap<object, () => void>();
    app.server.on('connection', (socket: Socket) => {
      const end = arrived();
      unread.set(socket, end);
      socket.once('close', end);
    });
    app.server.on('request', (request: IncomingMessage) => unread.get(request.socket)?.());
  }
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post('/slack/events', async (request: FastifyRequest, reply) => {
    // Slack waits for this answer: the adapter holds the work that follows earlier answers until the
    // requests arriving have theirs (see urgentFirst in src/lib/async.ts).
    const answered = arrived?.();
    if (answered) reply.raw.once('close', answered);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const refusal = screen({ headers: request.headers, body, now: now() });
    if (refusal) return reply.code(refusal.status).header('x-slack-no-retry', '1').send({ error: refusal.error });
    (request.raw as typeof request.raw & { rawBody?: Buffer }).rawBody = body;
    reply.hijack();
    receiver.requestListener(request.raw, reply.raw);
  });
}
