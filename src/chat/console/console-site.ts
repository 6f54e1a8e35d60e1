import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../../lib/package-root.js';

/**
 * The local console's site around its command routes: who may reach it, its page (the files in
 * public/, served by @fastify/static), and the addresses a newcomer types (`/`, `/console/`).
 *
 * Reachable from this machine only (loopback address and Host), unless CONSOLE_TOKEN is set; then
 * every request must carry the token. State-changing calls must be JSON with a custom header, which
 * no other site can send without this server's consent (CORS), so they cannot be forged cross-site.
 */
export interface ConsoleSiteOptions {
  token?: string | undefined;
}

const COOKIE = 'dbaccess_console';
const PUBLIC = join(PACKAGE_ROOT, 'src/chat/console/public/');
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
};

export function consoleSite(options: ConsoleSiteOptions, routes: (app: FastifyInstance) => Promise<void>) {
  return async function consoleSiteRoutes(app: FastifyInstance): Promise<void> {
    // Before the guard: a redirect shows nothing, and it keeps a `?token=` for the guard to take.
    for (const path of ['/', '/console/']) app.get(path, (request, reply) => reply.redirect(`/console${searchOf(request.url)}`));

    await app.register(async (site) => {
      await site.register(fastifyCookie);
      site.addHook('onRequest', (request, reply) => guard(options, request, reply));
      await site.register(fastifyStatic, {
        root: PUBLIC, prefix: '/console/', wildcard: false, index: false, cacheControl: false,
        setHeaders: (reply) => void reply.headers(PAGE_HEADERS),
      });
      site.get('/console', (_request, reply) => reply.sendFile('index.html'));
      await site.register(routes);
    });
  };
}

async function guard({ token }: ConsoleSiteOptions, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  if (token) {
    const fromAddress = request.method === 'GET' ? (request.query as { token?: unknown }).token : undefined;
    const given = bearer(request) ?? request.cookies[COOKIE] ?? (typeof fromAddress === 'string' ? fromAddress : undefined);
    if (!given || !sameSecret(given, token)) return reply.code(401).type('text/plain').send('The console needs its token: open the URL dbaccess printed at start.');
    if (fromAddress !== undefined) {
      // Keep the token in a cookie and out of the address bar and history.
      reply.setCookie(COOKIE, token, { path: '/console', httpOnly: true, sameSite: 'strict' });
      return reply.redirect(withoutToken(request.url));
    }
  } else if (!LOOPBACK.has(request.socket.remoteAddress ?? '') || !LOCAL_HOSTS.has(hostName(request.headers.host))) {
    return reply.code(403).type('text/plain').send('The console answers on this machine only (http://127.0.0.1). Set CONSOLE_TOKEN to reach it from elsewhere.');
  }
  if (request.method === 'POST' && (request.headers['x-dbaccess-console'] !== '1' || !String(request.headers['content-type'] ?? '').startsWith('application/json'))) {
    return reply.code(403).send({ error: 'Console calls must come from the console page.' });
  }
  return undefined;
}

/**
 * The bearer token, by hand: the console takes its token from three places (this header, its
 * cookie, once from the address), and @fastify/bearer-auth reads only the header, so using it would
 * take @fastify/auth as well to say "any of them" — more code than these two lines.
 */
function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function hostName(host: string | undefined): string {
  if (!host) return '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

const searchOf = (url: string) => new URL(url, 'http://console').search;

function withoutToken(url: string): string {
  const parsed = new URL(url, 'http://console');
  parsed.searchParams.delete('token');
  return `${parsed.pathname}${parsed.search}`;
}
