import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CatalogOf } from '../config/catalog.js';
import { httpStatus, publicMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { formatDuration } from '../lib/time.js';
import { validateDraft } from '../modules/access-requests/access-request-schemas.js';
import type { AccessRequestService } from '../modules/access-requests/access-request-service.js';
import type { AnalysisService } from '../modules/analysis/analysis-service.js';
import type { CliSession, CliSessionService } from '../modules/cli-sessions/cli-session-service.js';
import type { LeaseService } from '../modules/credentials/lease-service.js';
import type { RequestExitService } from '../modules/access-requests/request-exit-service.js';
import type { MfaService } from '../modules/mfa/mfa-service.js';
import { withTenant } from '../modules/tenants/tenant-scope.js';

/**
 * The API of the terminal (`dbaccess connect`), under /cli/api. A device-code sign-in (`device`,
 * `token`), confirmed in chat with `login <code>`; then every call carries a bearer token bound to one
 * person and tenant, and acts as that person with the same rules as chat: the form's validation and
 * policy, requests of their own only, MFA where policy asks, no approving at all (approvers decide in
 * chat). Calls are counted per address and per token, and refused past a limit.
 */
interface Deps {
  sessions: CliSessionService;
  requests: Pick<AccessRequestService, 'precheck' | 'submit' | 'view' | 'viewById' | 'listMine'>;
  analysis: Pick<AnalysisService, 'preview'>;
  leases: Pick<LeaseService, 'credentialsForCli'>;
  /** Ending one's own access (or cancelling a request that waits), as End access does in chat. */
  exits: Pick<RequestExitService, 'cancel' | 'revoke'>;
  mfa: Pick<MfaService, 'verify'>;
  catalogOf: CatalogOf;
  logger: Logger;
  /** How to sign in, shown by the CLI: the chat command's prefix on this install (`/dbaccess` on Slack). */
  loginHint: string;
}

const text = (max: number) => z.string().max(max);
const draftSchema = z.strictObject({
  databaseId: text(40), level: text(31).default('read'), scope: text(2000).default(''), duration: text(20).default('1h'), reason: text(1000), ticket: text(100).default(''),
});
const REQUEST_ID = /^R[0-9A-Z]{9}$/;

/** At most `limit` calls per key in any minute (a fixed window; the window's counts live in memory). */
function rateLimiter(limit: number) {
  const counts = new Map<string, { window: number; count: number }>();
  return (key: string): boolean => {
    const window = Math.floor(Date.now() / 60_000);
    const entry = counts.get(key);
    if (!entry || entry.window !== window) {
      if (counts.size > 10_000) counts.clear();
      counts.set(key, { window, count: 1 });
      return true;
    }
    entry.count += 1;
    return entry.count <= limit;
  };
}

const bearer = (request: FastifyRequest) => {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
};

export function cliApi({ sessions, requests, analysis, leases, exits, mfa, catalogOf, logger, loginHint }: Deps) {
  const log = logger.child({ component: 'cli-api' });
  const perAddress = rateLimiter(30);
  const perToken = rateLimiter(240);
  // A sign-in's polls are counted by its device code (the CLI polls every 2 s: 30 a minute), and an address's by a
  // cap well above one terminal's, so several terminals behind one address (an office's NAT) sign in side by side.
  const perSignIn = rateLimiter(40);
  const pollsPerAddress = rateLimiter(600);
  // When the fixed window ends, in whole seconds: the CLI waits that long and polls again.
  const tooMany = (reply: FastifyReply) => reply.code(429).header('retry-after', String(60 - (Math.floor(Date.now() / 1000) % 60))).send({ error: 'Too many calls; wait a minute and try again.' });

  return async function cliRoutes(app: FastifyInstance): Promise<void> {
    app.addHook('onSend', async (_request, reply) => void reply.header('cache-control', 'no-store'));

    app.post('/cli/api/device', async (request, reply) => {
      if (!perAddress(`device:${request.ip}`)) return tooMany(reply);
      const body = z.strictObject({ client: text(100).default('a terminal') }).safeParse(request.body ?? {});
      if (!body.success) return reply.code(400).send({ error: 'The sign-in request is malformed.' });
      const client = body.data.client.replace(/[^\w .@()-]/g, '').trim() || 'a terminal';
      const started = await sessions.start(client);
      return { deviceCode: started.deviceCode, userCode: started.userCode, expiresAt: started.expiresAt.toISOString(), interval: 2, login: `${loginHint} login ${started.userCode}` };
    });

    app.post('/cli/api/token', async (request, reply) => {
      if (!pollsPerAddress(`token:${request.ip}`)) return tooMany(reply);
      const body = z.strictObject({ deviceCode: z.string().min(20).max(100) }).safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'The token request is malformed.' });
      if (!perSignIn(`token:${body.data.deviceCode}`)) return tooMany(reply);
      const outcome = await sessions.exchange(body.data.deviceCode);
      if (outcome.kind === 'pending') return reply.code(202).send({ pending: true });
      if (outcome.kind === 'expired') return reply.code(410).send({ error: 'This sign-in code is unknown, or expired before it was confirmed; start again (dbaccess login).' });
      if (outcome.kind === 'used') return reply.code(410).send({ error: 'This sign-in code was already used: its token is handed out once only, and is now ended. Start again (dbaccess login).' });
      return { token: outcome.token, expiresAt: outcome.expiresAt.toISOString(), person: { platform: outcome.actor.platform, id: outcome.actor.externalUserId } };
    });

    /** Everything below acts as the token's person, in their tenant's scope. */
    await app.register(async (authed) => {
      authed.decorateRequest('session', null);
      authed.addHook('onRequest', async (request, reply) => {
        const token = bearer(request);
        const session = token ? await sessions.authenticate(token) : undefined;
        if (!session) return reply.code(401).send({ error: 'Not signed in, or the sign-in expired or was revoked: run dbaccess login.' });
        if (!perToken(session.tokenId)) return tooMany(reply);
        (request as unknown as { session: CliSession }).session = session;
      });
      const sessionOf = (request: FastifyRequest) => (request as unknown as { session: CliSession }).session;
      const as = <T>(request: FastifyRequest, work: (session: CliSession) => Promise<T>) => {
        const session = sessionOf(request);
        return withTenant(session.actor.tenantId, () => work(session));
      };
      /** Row-level security shows the token's tenant only; the tenant is checked again here. */
      const requestById = async (tenantId: string, requestId: string) => {
        const view = await requests.viewById(requestId);
        return view?.tenantId === tenantId ? view : undefined;
      };
      const failed = (reply: FastifyReply, error: unknown) => {
        const status = httpStatus(error);
        if (status >= 500) log.error({ err: error }, 'cli api call failed');
        return reply.code(status === 403 ? 403 : status).send({ error: publicMessage(error) });
      };

      authed.get('/cli/api/me', async (request) => {
        const { actor, expiresAt } = sessionOf(request);
        return { person: { platform: actor.platform, id: actor.externalUserId }, expiresAt: expiresAt.toISOString() };
      });

      authed.delete('/cli/api/token', async (request) => {
        const { tokenId, actor } = sessionOf(request);
        return { revoked: await sessions.revoke(tokenId, actor) };
      });

      /** The form checked as chat checks it, then analysed: errors per field, or the rating and a narrower request. */
      const checked = async (session: CliSession, body: unknown) => {
        const parsed = draftSchema.safeParse(body);
        if (!parsed.success) return { status: 400, errors: { form: 'The request is malformed.' } } as const;
        const catalog = await catalogOf(session.actor.tenantId);
        const draft = { ...parsed.data, databaseId: parsed.data.databaseId.toLowerCase(), breakGlass: false };
        const valid = validateDraft(draft, catalog);
        if (!valid.ok) return { status: 422, errors: valid.errors } as const;
        const refusal = await requests.precheck(session.actor, valid.value);
        if (Object.keys(refusal).length > 0) return { status: 422, errors: refusal } as const;
        return { status: 200, valid: valid.value } as const;
      };

      authed.post('/cli/api/preview', (request, reply) => as(request, async (session) => {
        const result = await checked(session, request.body);
        if (result.status !== 200) return reply.code(result.status).send({ errors: result.errors });
        const found = await analysis.preview(session.actor, result.valid);
        const suggestion = found.suggestion && { level: found.suggestion.level, scope: found.suggestion.scope.join(', '), duration: formatDuration(found.suggestion.durationSeconds), text: found.suggestion.text };
        return { risk: { level: found.level, reasons: found.reasons }, conflicts: found.conflicts, suggestion: suggestion ?? null };
      }));

      authed.post('/cli/api/requests', (request, reply) => as(request, async (session) => {
        const result = await checked(session, request.body);
        if (result.status !== 200) return reply.code(result.status).send({ errors: result.errors });
        try {
          const row = await requests.submit(session.actor, result.valid, undefined, undefined, 'cli');
          return reply.code(201).send({ id: row.id, state: row.state, risk: { level: row.risk.level, reasons: row.risk.reasons } });
        } catch (error) {
          return failed(reply, error);
        }
      }));

      /** One of the person's own requests as the terminal shows it; another's, or another tenant's, is not found. */
      authed.get<{ Params: { id: string } }>('/cli/api/requests/:id', (request, reply) => as(request, async (session) => {
        const view = REQUEST_ID.test(request.params.id) ? await requestById(session.actor.tenantId, request.params.id) : undefined;
        if (!view || view.requester.externalId !== session.actor.externalUserId) return reply.code(404).send({ error: `Request ${request.params.id.slice(0, 12)} was not found.` });
        return {
          id: view.id, state: view.state, databaseId: view.databaseId, level: view.level, scope: view.scope, risk: { level: view.risk.level },
          approvals: view.decisions.filter((decision) => decision.decision === 'approve').length, required: view.policy?.quorum ?? 1,
          mfaRequired: view.policy?.mfaRequired ?? false, failure: view.failure,
          lease: view.lease && { expiresAt: view.lease.expiresAt.toISOString(), ready: view.lease.provisionedAt !== null && view.lease.revokedAt === null },
        };
      }));

      /**
       * The person's live accesses: those fetched by the terminal (on one database: `connect` opens
       * another session on them), or with `all=1` every one of theirs, wherever it was delivered
       * (`dbaccess leases --mine`).
       */
      authed.get<{ Querystring: { database?: string; all?: string } }>('/cli/api/leases', (request) => as(request, async (session) => {
        const database = String(request.query.database ?? '').toLowerCase().slice(0, 40);
        const all = request.query.all === '1';
        const rows = (await requests.listMine(session.actor)).filter((row) => row.state === 'active' && (all || row.delivery === 'cli') && (!database || row.databaseId === database));
        const views = await Promise.all(rows.map((row) => requests.view(row)));
        return {
          leases: views.filter((view) => view.lease && !view.lease.revokedAt && view.lease.expiresAt > new Date())
            .map((view) => ({ requestId: view.id, databaseId: view.databaseId, level: view.level, scope: view.scope, expiresAt: view.lease!.expiresAt.toISOString(), delivery: rows.find((row) => row.id === view.id)?.delivery ?? 'dm' })),
        };
      }));

      /**
       * `dbaccess end <id>`: the person's own request ends as End access (active) or Cancel (waiting)
       * ends it in chat, with the same answer; another's, or another tenant's, is not found.
       */
      authed.post<{ Params: { id: string } }>('/cli/api/requests/:id/end', (request, reply) => as(request, async (session) => {
        const view = REQUEST_ID.test(request.params.id) ? await requestById(session.actor.tenantId, request.params.id) : undefined;
        if (!view || view.requester.externalId !== session.actor.externalUserId) return reply.code(404).send({ error: `Request ${request.params.id.slice(0, 12)} was not found.` });
        const outcome = await (view.state === 'active' ? exits.revoke(session.actor, view.id) : exits.cancel(session.actor, view.id));
        return reply.code(outcome.ok ? 200 : 409).send({ ok: outcome.ok, message: outcome.message });
      }));

      /** The credentials, to this terminal only (audited each time); a code first where policy asks for MFA. */
      authed.post<{ Params: { id: string } }>('/cli/api/requests/:id/credentials', (request, reply) => as(request, async (session) => {
        const body = z.strictObject({ code: z.string().max(20).optional() }).safeParse(request.body ?? {});
        if (!body.success || !REQUEST_ID.test(request.params.id)) return reply.code(400).send({ error: 'The call is malformed.' });
        const view = await requestById(session.actor.tenantId, request.params.id);
        if (!view || view.requester.externalId !== session.actor.externalUserId) return reply.code(404).send({ error: `Request ${request.params.id} was not found.` });
        if (view.policy?.mfaRequired) {
          if (!body.data.code) return reply.code(401).send({ error: 'This access needs your MFA code.', mfa: true });
          const verified = await mfa.verify(session.actor, body.data.code, 'reveal');
          if (!verified.ok) return reply.code(401).send({ error: verified.reason === 'not-enrolled' ? `You have no MFA yet: set it up in chat with ${loginHint} mfa.` : verified.message, mfa: true });
        }
        try {
          const { credentials } = await leases.credentialsForCli(session.actor, view.id, session.tokenId);
          return {
            protocol: credentials.protocol, host: credentials.host, port: credentials.port, database: credentials.database,
            username: credentials.username, password: credentials.password.reveal(), expiresAt: credentials.expiresAt.toISOString(),
          };
        } catch (error) {
          return failed(reply, error);
        }
      }));
    });
  };
}
