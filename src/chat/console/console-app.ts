import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CatalogOf } from '../../config/catalog.js';
import { withTenant } from '../../db/tenant-scope.js';
import { httpStatus, isAppError, publicMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { formatDuration, parseDuration } from '../../lib/time.js';
import { validateDraft } from '../../modules/access-requests/access-request-schemas.js';
import type { AccessRequestService } from '../../modules/access-requests/access-request-service.js';
import type { AnalysisService } from '../../modules/analysis/analysis-service.js';
import type { LeaseService } from '../../modules/credentials/lease-service.js';
import type { RequestExitRepo } from '../../modules/access-requests/request-exit-repo.js';
import type { RequestExitService } from '../../modules/access-requests/request-exit-service.js';
import { formatTime } from '../../lib/time.js';
import type { MfaService } from '../../modules/mfa/mfa-service.js';
import type { Actor, TenantService } from '../../modules/tenants/tenant-service.js';
import type { ChatNotifier } from '../core/notifications.js';
import type { ConsoleStore } from './console-store.js';

/**
 * The local console: a third adapter on the same core, for trying dbaccess before (or without) a
 * chat platform. One person plays two people, a requester and an approver, so that self-approval
 * stays refused as everywhere else. Transport only: parse, call a service, answer. Who may reach
 * these routes, and the page itself, are console-site.ts's.
 */
export interface ConsoleOptions {
  people: { requester: string; approver: string };
}

interface Deps {
  store: ConsoleStore;
  notifier: ChatNotifier;
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  requests: AccessRequestService;
  analysis: Pick<AnalysisService, 'startDraft' | 'suggestionFor'>;
  leases: Pick<LeaseService, 'extend' | 'credentialsForRequester' | 'markDelivered'>;
  /** Cancel, Revoke and End access. */
  exits: Pick<RequestExitService, 'cancel' | 'revoke'>;
  /** The requests to draw again at start (the console keeps its messages in memory). */
  history: Pick<RequestExitRepo, 'recent'>;
  mfa: Pick<MfaService, 'verify'>;
  /** The console tenant's catalog. */
  catalogOf: CatalogOf;
  logger: Logger;
}

const TENANT = 'local';

const text = (max: number) => z.string().max(max);
const draftSchema = z.strictObject({
  databaseId: text(40), level: text(31), scope: text(2000).default(''), duration: text(20), reason: text(1000), ticket: text(100).default(''), breakGlass: z.boolean().default(false),
});
const actionSchema = z.strictObject({
  action: z.enum(['approve', 'deny', 'end', 'cancel', 'extend', 'reveal', 'review', 'retry']),
  requestId: z.string().regex(/^R[0-9A-Z]{9}$/),
  as: z.enum(['requester', 'approver']),
  reason: text(500).optional(),
  duration: text(20).optional(),
  code: text(20).optional(),
});

export function consoleApp(options: ConsoleOptions, deps: Deps) {
  const { store, notifier, tenants, requests, analysis, leases, exits, history, mfa, catalogOf, logger } = deps;
  const log = logger.child({ platform: 'console' });
  const actorAs = (who: 'requester' | 'approver'): Promise<Actor> => tenants.actor('console', TENANT, options.people[who], who === 'requester' ? 'You (requesting)' : 'You (approving)');

  return async function consoleRoutes(app: FastifyInstance): Promise<void> {
    const tenantId = await tenants.ensureTenant('console', TENANT);
    await withTenant(tenantId, () => redraw(tenantId)).catch((error: unknown) => log.warn({ err: error }, 'could not draw the requests of before the restart'));

    app.get('/console/api/state', async () => {
      const databases = (await catalogOf(tenantId)).catalog.databases.map((db) => ({
        id: db.id, environment: db.environment, levels: db.levels, maxDuration: formatDuration(db.maxDuration), description: db.description ?? null, tags: db.tags,
      }));
      return { people: options.people, databases, messages: store.list() };
    });

    app.get('/console/events', (request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      reply.raw.write(': connected\n\n');
      const unsubscribe = store.subscribe((event) => reply.raw.write(`event: ${event.type}\ndata: ${JSON.stringify(event.message)}\n\n`));
      const heartbeat = setInterval(() => reply.raw.write(': keep-alive\n\n'), 15_000);
      heartbeat.unref();
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    });

    /** The form: validated and checked by the policy like Slack's, errors per field. */
    app.post('/console/api/requests', (request, reply) => withTenant(tenantId, async () => {
      const body = draftSchema.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'The form is malformed.' });
      const result = validateDraft(body.data, await catalogOf(tenantId));
      if (!result.ok) return reply.code(422).send({ errors: result.errors });
      const refusal = await requests.precheck(await actorAs('requester'), result.value);
      if (Object.keys(refusal).length > 0) return reply.code(422).send({ errors: refusal });
      const row = await requests.submit(await actorAs('requester'), result.value);
      return reply.code(201).send({ id: row.id });
    }));

    app.post('/console/api/analyze', (request, reply) => withTenant(tenantId, async () => {
      const body = z.strictObject({ formId: z.string().regex(/^[a-z0-9-]{8,40}$/), draft: draftSchema }).safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'The form is malformed.' });
      await analysis.startDraft(await actorAs('requester'), body.data.draft, { platform: 'console', channel: body.data.formId, ts: '0' });
      return reply.code(202).send({ analyzing: true });
    }));

    app.post('/console/api/suggestion', (request, reply) => withTenant(tenantId, async () => {
      const body = z.strictObject({ analysisId: z.uuid() }).safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'No such suggestion.' });
      const suggestion = await analysis.suggestionFor(await actorAs('requester'), body.data.analysisId);
      if (!suggestion) return reply.code(404).send({ error: 'That suggestion is no longer available; analyze again.' });
      return { level: suggestion.level, scope: suggestion.scope.join(', '), duration: formatDuration(suggestion.durationSeconds), text: suggestion.text };
    }));

    app.post('/console/api/actions', (request, reply) => withTenant(tenantId, async () => {
      const body = actionSchema.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ ok: false, message: 'This button is no longer valid. Nothing changed.' });
      try {
        const { status = 200, ...answer } = await act(body.data, await actorAs(body.data.as));
        return reply.code(status).send(answer);
      } catch (error) {
        log.warn({ err: error }, 'console action failed');
        // A request of another tenant is "not found", like one that does not exist.
        return reply.code(isAppError(error) ? httpStatus(error) : 500).send({ ok: false, message: publicMessage(error) });
      }
    }));
  };

  /**
   * After a restart the store is empty: each recent request's card and the requester's message are
   * drawn again from the state database, so nothing in flight disappears from the screen.
   */
  async function redraw(tenantId: string): Promise<void> {
    for (const row of await history.recent(tenantId)) {
      const view = await requests.view(row);
      await notifier.send({ type: 'approvalCard', request: view });
      if (view.state === 'pending' || view.state === 'approved' || view.state === 'provisioning') await notifier.send({ type: 'requestReceived', request: view });
      else if (view.state === 'active' && view.lease && !store.get(`dm-${view.id}`)) {
        store.put({
          id: `dm-${view.id}`, channel: `dm:${view.requester.externalId}`, kind: 'notice', requestId: view.id,
          text: `Your ${view.level} access to ${view.databaseId} is active until ${formatTime(view.lease.expiresAt)} as ${view.lease.username} (its password was shown before dbaccess restarted).`,
          actions: [{ action: 'end', label: 'End access now', requestId: view.id, style: 'danger', confirm: 'End your access now? Open sessions are killed.' }],
        });
      }
    }
  }

  async function act(input: z.infer<typeof actionSchema>, actor: Actor): Promise<{ ok: boolean; message: string; status?: number }> {
    const { action, requestId } = input;
    switch (action) {
      case 'approve':
      case 'deny': {
        let mfaVerified = false;
        if (input.code) {
          const verified = await mfa.verify(actor, input.code, 'approve');
          if (!verified.ok) return { ok: false, message: verified.reason === 'not-enrolled' ? 'No MFA is set up for this person.' : verified.message };
          mfaVerified = true;
        }
        const outcome = await requests.decide(actor, requestId, action, input.reason?.trim() || undefined, mfaVerified);
        if (!outcome.ok) return { ok: false, message: outcome.message, ...(outcome.notFound ? { status: 404 } : {}) };
        return { ok: true, message: outcome.progress ? `Your approval is recorded: ${outcome.progress}.` : action === 'approve' ? `Approved ${requestId}.` : `Denied ${requestId}.` };
      }
      case 'end':
      case 'cancel': {
        const { notFound, ...outcome } = await (action === 'end' ? exits.revoke(actor, requestId) : exits.cancel(actor, requestId));
        return { ...outcome, ...(notFound ? { status: 404 } : {}) };
      }
      case 'extend': {
        const seconds = parseDuration(input.duration ?? '');
        if (!seconds || seconds > 7 * 86400) return { ok: false, message: 'Write a duration such as 30m or 2h (at most 7d).' };
        const outcome = await requests.requestExtension(actor, requestId, seconds, input.reason?.trim() || 'More time for the same task.', (lease, until) => leases.extend(lease, until, `user:${actor.userId}`));
        return outcome.kind === 'pending'
          ? { ok: true, message: `That goes beyond the maximum, so approvers decide: extension request ${outcome.request.id} is waiting.` }
          : { ok: true, message: `Extended until ${outcome.until.toISOString().slice(11, 16)} UTC.` };
      }
      case 'reveal': {
        const verified = await mfa.verify(actor, input.code ?? '', 'reveal');
        if (!verified.ok) return { ok: false, message: verified.reason === 'not-enrolled' ? 'No MFA is set up for this person.' : verified.message };
        const ready = await leases.credentialsForRequester(actor, requestId);
        const dmRef = await notifier.send({ type: 'credentialsReady', request: await requests.view(ready.request), credentials: ready.credentials });
        await leases.markDelivered(ready.lease, dmRef ?? null);
        return { ok: true, message: 'Credentials revealed in your inbox.' };
      }
      case 'retry':
        return requests.retryFailed(actor, requestId);
      case 'review':
        return { ok: true, message: await requests.reviewBreakGlass(actor, requestId) };
    }
  }
}
