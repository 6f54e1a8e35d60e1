import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { withTenant } from '../../modules/tenants/tenant-scope.js';
import type { Logger } from '../../lib/logger.js';
import { formatDuration, formatTime } from '../../lib/time.js';
import type { RequestExitRepo } from '../../modules/access-requests/request-exit-repo.js';
import type { TenantService } from '../../modules/tenants/tenant-service.js';
import { createDispatcher, type DispatcherDeps, type TenantCaller } from '../core/dispatcher.js';
import { settle } from '../core/replies.js';
import { unavailableIn } from '../core/request-form.js';
import { parseCommand } from '../core/commands.js';
import { CONSOLE_SURFACE, actionSchema, consoleActionCommand, consoleReply } from './console-replies.js';
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

/** The services the dispatcher calls (the notifier is the app's router), and what the console itself needs. */
interface Deps extends Omit<DispatcherDeps, 'logger'> {
  store: ConsoleStore;
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  /** The requests to draw again at start (the console keeps its messages in memory). */
  history: Pick<RequestExitRepo, 'recent'>;
  logger: Logger;
}

const TENANT = 'local';

const text = (max: number) => z.string().max(max);
const draftSchema = z.strictObject({
  databaseId: text(40), level: text(31), scope: text(2000).default(''), duration: text(20), reason: text(1000), ticket: text(100).default(''), breakGlass: z.boolean().default(false), startsAt: text(40).default(''),
});
/** A text command, or the code that confirms an MFA set-up (`mfa` answers with the key). */
const commandSchema = z.strictObject({ as: z.enum(['requester', 'approver']), text: text(500).optional(), code: text(20).optional() });

export function consoleApp(options: ConsoleOptions, { store, tenants, history, logger, ...services }: Deps) {
  const { requests, notifier, catalogOf, availability } = services;
  const log = logger.child({ platform: 'console' });
  const dispatcher = createDispatcher({ ...services, logger: log }, CONSOLE_SURFACE, 'the console');
  /** One person plays two: the requester and the approver. */
  const callerAs = (tenantId: string, who: 'requester' | 'approver'): TenantCaller => {
    const name = who === 'requester' ? 'You (requesting)' : 'You (approving)';
    let actor: ReturnType<TenantCaller['actor']> | undefined;
    return {
      platform: 'console', tenantId, externalUserId: options.people[who], name,
      actor: () => (actor ??= tenants.actor('console', TENANT, options.people[who], name)),
      other: (externalUserId) => tenants.actor('console', TENANT, externalUserId),
    };
  };

  return async function consoleRoutes(app: FastifyInstance): Promise<void> {
    const tenantId = await tenants.ensureTenant('console', TENANT);
    await withTenant(tenantId, () => redraw(tenantId)).catch((error: unknown) => log.warn({ err: error }, 'could not draw the requests of before the restart'));

    app.get('/console/api/state', async () => {
      const catalog = await catalogOf(tenantId);
      const unavailable = unavailableIn(catalog, availability);
      const databases = catalog.catalog.databases.map((db) => {
        // Why it cannot be served now (its admin reference does not resolve): the page greys it out.
        const problem = unavailable.get(db.id);
        return {
          id: db.id, environment: db.environment, levels: db.levels, maxDuration: formatDuration(db.maxDuration), description: db.description ?? null, tags: db.tags,
          unavailable: problem ? { problem: problem.problem, message: problem.message } : null,
        };
      });
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

    /** The form: validated and checked by the policy like Slack's and Teams', errors per field. */
    app.post('/console/api/requests', (request, reply) => withTenant(tenantId, async () => {
      const body = draftSchema.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'The form is malformed.' });
      const answer = await settle(dispatcher.dispatch(callerAs(tenantId, 'requester'), { kind: 'submit', draft: body.data }));
      if (answer.show?.kind === 'formErrors') return reply.code(422).send({ errors: answer.show.errors });
      if (answer.show?.kind !== 'received') return reply.code(500).send({ error: consoleReply(answer).message });
      return reply.code(201).send({ id: answer.show.request.id });
    }));

    app.post('/console/api/analyze', (request, reply) => withTenant(tenantId, async () => {
      const body = z.strictObject({ formId: z.string().regex(/^[a-z0-9-]{8,40}$/), draft: draftSchema }).safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'The form is malformed.' });
      const answer = await settle(dispatcher.dispatch(callerAs(tenantId, 'requester'), { kind: 'analyze', draft: body.data.draft, form: { platform: 'console', channel: body.data.formId, ts: '0' } }));
      if (!answer.ok) return reply.code(500).send({ error: consoleReply(answer).message });
      return reply.code(202).send({ analyzing: true });
    }));

    app.post('/console/api/suggestion', (request, reply) => withTenant(tenantId, async () => {
      const body = z.strictObject({ analysisId: z.uuid() }).safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'No such suggestion.' });
      const empty = { databaseId: '', level: '', scope: '', duration: '', reason: '', ticket: '', breakGlass: false, startsAt: '' };
      const answer = await dispatcher.dispatch(callerAs(tenantId, 'requester'), { kind: 'useSuggestion', draft: empty, analysisId: body.data.analysisId });
      const form = answer.show?.kind === 'requestForm' ? answer.show.state : undefined;
      const analysis = form?.analysis?.state === 'applied' ? form.analysis.text : undefined;
      if (!answer.ok || !form?.draft) return reply.code(404).send({ error: analysis ?? 'That suggestion is no longer available; analyze again.' });
      return { level: form.draft.level, scope: form.draft.scope, duration: form.draft.duration, text: analysis };
    }));

    app.post('/console/api/actions', (request, reply) => withTenant(tenantId, async () => {
      const body = actionSchema.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ ok: false, message: 'This button is no longer valid. Nothing changed.' });
      const answer = consoleReply(await settle(dispatcher.dispatch(callerAs(tenantId, body.data.as), consoleActionCommand(body.data))));
      // A form's refusal names its field (approve with changes), so the page can show it there.
      return reply.code(answer.status).send({ ok: answer.ok, message: answer.message, ...(answer.field ? { field: answer.field } : {}) });
    }));

    /** The text commands of Slack and Teams (`status`, `list`, `mfa`, `mfa reset <person>`, …), answered in JSON. */
    app.post('/console/api/commands', (request, reply) => withTenant(tenantId, async () => {
      const body = commandSchema.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ ok: false, message: 'The command is malformed.' });
      const command = body.data.code !== undefined ? { kind: 'mfaConfirm' as const, code: body.data.code } : parseCommand(body.data.text ?? '', CONSOLE_SURFACE);
      const { notFound: _notFound, status, ...answer } = consoleReply(await settle(dispatcher.dispatch(callerAs(tenantId, body.data.as), command)));
      return reply.code(status).send(answer);
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
      if (view.state === 'pending' || view.state === 'scheduled' || view.state === 'approved' || view.state === 'provisioning') await notifier.send({ type: 'requestReceived', request: view });
      else if (view.state === 'active' && view.lease && !store.get(`dm-${view.id}`)) {
        store.put({
          id: `dm-${view.id}`, channel: `dm:${view.requester.externalId}`, kind: 'notice', requestId: view.id,
          text: `Your ${view.level} access to ${view.databaseId} is active until ${formatTime(view.lease.expiresAt)} as ${view.lease.username} (its password was shown before dbaccess restarted).`,
          actions: [{ action: 'end', label: 'End access now', requestId: view.id, style: 'danger', confirm: 'End your access now? Open sessions are killed.' }],
        });
      }
    }
  }
}
