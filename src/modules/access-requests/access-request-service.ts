import type { MessageRef } from '../../db/schema/access-requests.js';
import type { CatalogOf, CatalogView } from '../../config/catalog.js';
import type { Db } from '../../db/client.js';
import { badInput, forbidden, notFound } from '../../lib/errors.js';
import { newRequestId } from '../../lib/ids.js';
import { code, joinRich, person, rich, strong, type RichText } from '../../lib/rich-text.js';
import { checkJobId, type Enqueue } from '../job-port.js';
import type { AuditService } from '../audit/audit-service.js';
import type { AdminAvailability } from '../credentials/admin-availability.js';
import { formatScope, parseStoredScope } from '../credentials/scope.js';
import type { OnCallService } from '../oncall/oncall-service.js';
import type { RiskAnalyzer, RiskInput, RiskLevel } from '../risk/risk-types.js';
import { assessRisk } from '../risk/heuristic-analyzer.js';
import { canApprove, evaluateRequest, explainPolicy, personOf, resolveRoles, type Person, type PersonResolver } from '../policy/policy-evaluator.js';
import { usualHoursOf } from '../policy/policy-words.js';
import { timingFor } from '../policy/policy-timing.js';
import { startProblem, storedStart, timingSnapshot } from './request-timing.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import { isTerminal, type RequestState } from './access-request-state.js';
import type { RequestView } from './access-request-types.js';
import type { ValidDraft } from './access-request-schemas.js';
import { policyText } from './policy-text.js';
import { createDecide } from './request-decide.js';
import { isApproverOf, policyContext, policySnapshot } from './request-policy.js';
import { createRequestViewer, type RequestViewDeps } from './request-view.js';
import { createRetryFailed } from './retry-failed.js';
import { createSubmittedCheck, refusalWords, type ScopeChecker, type TicketVerifier } from './request-check.js';

export type { DecideOutcome } from './request-decide.js';

interface Deps {
  checkScope: ScopeChecker;
  db: Db;
  requests: AccessRequestRepo;
  audit: Pick<AuditService, 'record'>;
  risk: RiskAnalyzer;
  enqueue: Enqueue;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** Who a chat user is as the policy sees them (email, Slack user groups); by default the id alone. */
  people?: PersonResolver;
  analyses: RequestViewDeps['analyses'];
  /** Databases that cannot be served now (their admin reference does not resolve): requests for them are refused. */
  availability?: Pick<AdminAvailability, 'of'> | undefined;
  /** Live on-call answers for on-call auto-approve rules (modules/oncall); without it those rules never approve. */
  onCall?: Pick<OnCallService, 'answersFor'> | undefined;
  /** Tickets that bind (modules/tickets): the live check of a request's ticket, after the acknowledgement, before the card. */
  tickets?: { verify: TicketVerifier } | undefined;
  now?: () => Date;
}

/** The request lifecycle up to the decision, and the view every chat adapter renders. */
export function createAccessRequestService({ checkScope, db, requests, audit, risk, enqueue, catalogOf, people = async (_tenantId, id) => personOf(id), analyses, availability, onCall, tickets, now = () => new Date() }: Deps) {
  const isApprover = (catalog: CatalogView, person: Person, databaseId: string, level = 'read') => isApproverOf(catalog, person, databaseId, now(), level);
  const personFor = (actor: Pick<Actor, 'tenantId' | 'externalUserId'>) => people(actor.tenantId, actor.externalUserId);

  /**
   * The policy's verdict before anything is stored, from what the form holds: no database or target
   * round trip (the catalog and the person are cached), so that a refusal shows on the form itself,
   * with the rule and how to comply.
   */
  async function precheck(actor: Pick<Actor, 'tenantId' | 'externalUserId'>, draft: ValidDraft, at = now()): Promise<Partial<Record<'databaseId' | 'level' | 'duration' | 'reason' | 'ticket' | 'scope' | 'startsAt', string>>> {
    // A request that can never be served is not taken: the person reads why, and what fixes it.
    const unavailable = availability?.of(draft.database.id);
    if (unavailable) return { databaseId: unavailable.message };
    const catalog = await catalogOf(actor.tenantId);
    const late = draft.startsAt && startProblem(draft.startsAt, at, timingFor(draft.database, draft.level, catalog.policy));
    if (late) return { startsAt: late };
    const requester = await personFor(actor);
    const evaluate = (risk: RiskLevel | undefined) =>
      evaluateRequest(
        { requester, database: draft.database, level: draft.level, durationSeconds: draft.durationSeconds, scope: draft.scope, reason: draft.reason, ticket: draft.ticket, risk, now: at, activeLeases: [], breakGlass: draft.breakGlass },
        catalog.policy,
      );
    // The rating refuses nothing by itself: it only decides auto-approval, and so whether a request
    // needs other approvers. The heuristics were the costliest step before a form's acknowledgement,
    // so they run only when that refusal is in question (the result is the same: stored requests are
    // rated in full after the acknowledgement).
    let decision = evaluate(undefined);
    if (decision.refusal?.rule === 'approvers-available') decision = evaluate(assessRisk(riskInput(catalog, draft, at)).level);
    if (decision.outcome !== 'refuse' || !decision.refusal) return {};
    const field = ({ ticket: 'ticket', 'max-duration': 'duration', 'reason-quality': 'reason', requester: 'level' } as const)[decision.refusal.rule as 'ticket'] ?? 'databaseId';
    return { [field]: refusalWords(decision.refusal).slice(0, 2000) };
  }

  /**
   * Whether this person may decide a request at all, from what a card's button carries (no database
   * read): the refusal to show, or undefined. The decision itself checks everything again.
   */
  async function quickRefusal(approver: Pick<Actor, 'tenantId' | 'externalUserId'>, request: { databaseId: string; requesterExternalId: string; level: string }): Promise<RichText | undefined> {
    const catalog = await catalogOf(approver.tenantId);
    const ctx = policyContext(catalog, { databaseId: request.databaseId, level: request.level, durationSeconds: 0, scope: [], reason: '', ticket: null }, await people(approver.tenantId, request.requesterExternalId), now());
    if (!ctx) return rich`The database ${request.databaseId} is no longer in the catalog.`;
    const check = canApprove(await personFor(approver), ctx, [], catalog.policy);
    return check.allowed ? undefined : check.message;
  }

  /** An approver of its database (never its requester) records the review of a break-glass access. */
  async function reviewBreakGlass(actor: Actor, requestId: string): Promise<string> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request?.policy?.breakGlass) return `Request ${requestId} is not a break-glass access.`;
    if (request.requesterId === actor.userId) return 'You cannot review your own break-glass access; another approver must.';
    if (!isApprover(await catalogOf(actor.tenantId), await personFor(actor), request.databaseId, request.level)) return `Only the approvers of ${request.databaseId} can review this break-glass access.`;
    const reviewed = await db.transaction(async (tx) => {
      const row = await requests.markReviewed(actor.tenantId, requestId, actor.userId, tx);
      if (row) await audit.record({ tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: 'request.break_glass_reviewed', subject: `request:${requestId}`, outcome: 'success' }, tx);
      return row;
    });
    if (!reviewed) return `Break-glass access ${requestId} was already reviewed.`;
    await enqueue('syncCard', { requestId });
    return `Break-glass access ${requestId} is marked reviewed.`;
  }

  /** Admins as the tenant's catalog names them; while it names none, every approver acts as one. */
  async function isAdmin(actor: Pick<Actor, 'tenantId' | 'externalUserId'>): Promise<boolean> {
    const catalog = await catalogOf(actor.tenantId);
    const config = catalog.policy;
    const person = await personFor(actor);
    if ((config.roles?.admins ?? []).length > 0) return resolveRoles(person, config).roles.includes('admin');
    return catalog.catalog.databases.some((db) => isApprover(catalog, person, db.id));
  }

  /** `/dbaccess policy <database> [@person]` for admins. */
  async function explainPolicyFor(asker: Pick<Actor, 'tenantId' | 'externalUserId'>, databaseId: string, aboutExternalId?: string): Promise<RichText> {
    const catalog = await catalogOf(asker.tenantId);
    if (!(await isAdmin(asker))) return rich`Only admins can read the policies. Ask an admin if you need to know who approves what.`;
    const database = catalog.database(databaseId);
    if (!database) return rich`Usage: ${code('policy <database> [@person]')}. Databases: ${catalog.catalog.databases.map((db) => db.id).join(', ') || 'none yet'}.`;
    const about = aboutExternalId ? await people(asker.tenantId, aboutExternalId) : undefined;
    const heading = rich`${strong(`Policy for ${database.id}`)}${aboutExternalId ? rich` and ${person(aboutExternalId)}` : ''}`;
    return joinRich([heading, ...explainPolicy(database, about, catalog.policy).map((line) => rich`• ${policyText(line)}`)], '\n');
  }

  const riskInput = (catalog: CatalogView, draft: ValidDraft, at: Date): RiskInput => ({
    environment: draft.database.environment,
    level: catalog.level(draft.level)?.riskAs ?? 'admin',
    scopeSize: draft.scope.length,
    scope: formatScope(draft.scope),
    tableScoped: draft.scope.length > 0 && draft.scope.every((item) => item.table),
    durationSeconds: draft.durationSeconds,
    reason: draft.reason,
    ticket: draft.ticket ?? undefined,
    tags: draft.database.tags,
    tableTags: draft.database.tableTags,
    requestedAt: at,
    usualHours: usualHoursOf(catalog.policy),
  });

  /**
   * `receiptRef`: where the platform already shows the requester's receipt (the form's message), if it does.
   * `delivery`: `cli` when the requester's own signed-in terminal fetches the credentials (`dbaccess connect`) instead of a DM.
   */
  async function submit(actor: Actor, draft: ValidDraft, extension?: { extendsRequestId: string }, receiptRef?: MessageRef, delivery: 'dm' | 'cli' = 'dm'): Promise<RequestRow> {
    // Whatever path a request takes in (precheck says the same on a form); an extension keeps its lease.
    const unavailable = extension ? undefined : availability?.of(draft.database.id);
    if (unavailable) throw badInput(unavailable.message, { databaseId: unavailable.message });
    const submittedAt = now();
    const catalog = await catalogOf(actor.tenantId);
    const assessment = await risk.assess(riskInput(catalog, draft, submittedAt));
    const decision = evaluateRequest(
      { requester: await personFor(actor), database: draft.database, level: draft.level, durationSeconds: draft.durationSeconds, scope: draft.scope, reason: draft.reason, ticket: draft.ticket, risk: assessment.level, now: submittedAt, activeLeases: [], breakGlass: draft.breakGlass },
      catalog.policy,
    );
    const pendingSeconds = decision.pendingTimeoutSeconds;
    const timing = timingFor(draft.database, draft.level, catalog.policy);
    // Whatever path it came in by (precheck says the same on a form).
    const late = draft.startsAt && startProblem(draft.startsAt, submittedAt, timing);
    if (late) throw badInput(late, { startsAt: late });
    const row = await db.transaction(async (tx) => {
      const inserted = await requests.insert(
        {
          id: newRequestId(),
          tenantId: actor.tenantId,
          requesterId: actor.userId,
          kind: extension ? 'extension' : 'access',
          extendsRequestId: extension?.extendsRequestId ?? null,
          databaseId: draft.database.id,
          level: draft.level,
          scope: formatScope(draft.scope),
          durationSeconds: draft.durationSeconds,
          reason: draft.reason,
          ticket: draft.ticket,
          state: 'pending',
          risk: assessment,
          policy: { ...policySnapshot(decision), ...timingSnapshot(timing) },
          startsAt: extension ? null : storedStart(draft.startsAt, submittedAt),
          pendingUntil: new Date(submittedAt.getTime() + pendingSeconds * 1000),
          receiptRef: receiptRef ?? null,
          delivery,
        },
        tx,
      );
      await audit.record(
        {
          tenantId: actor.tenantId,
          actor: `user:${actor.userId}`,
          action: extension ? 'extension.submitted' : 'request.submitted',
          subject: `request:${inserted.id}`,
          outcome: 'success',
          details: { database: draft.database.id, level: draft.level, scope: inserted.scope, durationSeconds: draft.durationSeconds, risk: assessment.level, ...(delivery === 'cli' ? { delivery } : {}), ...(inserted.startsAt ? { startsAt: inserted.startsAt.toISOString() } : {}) },
        },
        tx,
      );
      return inserted;
    });
    // After commit: the check of the names (then the card) and the pending deadline are jobs of their own.
    await Promise.all([
      enqueue('checkRequest', { requestId: row.id }, { jobId: checkJobId(row.id) }),
      enqueue('expireRequest', { requestId: row.id }, { jobId: `expire-${row.id}`, delayMs: pendingSeconds * 1000 }),
    ]);
    return row;
  }


  /**
   * More time on active access. Within the database's maximum (counted from the approval) it is
   * applied at once; beyond it, approvers get a card for the extension.
   */
  async function requestExtension(
    actor: Actor,
    requestId: string,
    seconds: number,
    reason: string,
    extend: (lease: NonNullable<Awaited<ReturnType<AccessRequestRepo['leaseWithEnder']>>>['lease'], until: Date) => Promise<unknown>,
  ): Promise<{ kind: 'extended'; until: Date } | { kind: 'pending'; request: RequestRow }> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request) throw notFound(`Request ${requestId}`);
    if (request.requesterId !== actor.userId) throw forbidden('Only the requester can extend this access.');
    const lease = (await requests.leaseWithEnder(actor.tenantId, requestId))?.lease;
    if (request.state !== 'active' || !lease || lease.revokedAt) throw forbidden(`Request ${requestId} has no active access to extend.`);
    const database = (await catalogOf(actor.tenantId)).database(request.databaseId);
    if (!database) throw notFound(`Database ${request.databaseId}`);
    const until = new Date(lease.expiresAt.getTime() + seconds * 1000);
    const total = (until.getTime() - request.decidedAt!.getTime()) / 1000;
    if (total <= database.maxDuration) {
      await extend(lease, until);
      return { kind: 'extended', until };
    }
    const pending = await submit(
      actor,
      { database, level: request.level as ValidDraft['level'], scope: parseStoredScope(request.scope), durationSeconds: seconds, reason, ticket: request.ticket, breakGlass: false },
      { extendsRequestId: requestId },
    );
    return { kind: 'pending', request: pending };
  }

  async function expirePending(requestId: string): Promise<void> {
    const request = await requests.getById(requestId);
    if (!request || request.state !== 'pending') return;
    if (request.pendingUntil > now()) {
      // The deadline moved or the job fired early: look again at the deadline.
      await enqueue('expireRequest', { requestId }, { jobId: `expire-${requestId}-${request.pendingUntil.getTime()}`, delayMs: request.pendingUntil.getTime() - now().getTime() });
      return;
    }
    const expired = await db.transaction(async (tx) => {
      const row = await requests.transition(request.tenantId, requestId, 'expire', {}, tx);
      if (row) {
        await audit.record({ tenantId: request.tenantId, actor: 'system', action: 'request.expired', subject: `request:${requestId}`, outcome: 'success' }, tx);
      }
      return row;
    });
    if (expired) {
      await Promise.all([enqueue('syncCard', { requestId }), enqueue('notifyRequester', { requestId }, { jobId: `closed-${requestId}` })]);
    }
  }

  const view = createRequestViewer({ requests, catalogOf, analyses });

  return {
    submit,
    /** The lifecycle's clock: forms read a requested start (`in 3h`) against it. */
    now,
    /** An admin's Retry of a failed request (retry-failed.ts). */
    retryFailed: createRetryFailed({ db, requests, audit, enqueue, isAdmin, now }),
    precheck,
    quickRefusal,
    explainPolicyFor,
    isAdmin,
    /** Whether this person approves requests of this database and level (the policy's approvers). */
    mayDecide: async (actor: Pick<Actor, 'tenantId' | 'externalUserId'>, databaseId: string, level: string) => isApprover(await catalogOf(actor.tenantId), await personFor(actor), databaseId, level),
    reviewBreakGlass,
    unreviewedBreakGlass: (tenantId: string) => requests.unreviewedBreakGlass(tenantId),
    checkSubmitted: createSubmittedCheck({ checkScope, db, requests, audit, enqueue, catalogOf, people, onCall, tickets, now }),
    decide: createDecide({ db, requests, audit, enqueue, catalogOf, people, now }),
    requestExtension,
    expirePending,
    view,
    async viewById(requestId: string): Promise<RequestView | undefined> {
      const row = await requests.getById(requestId);
      return row ? view(row) : undefined;
    },
    async listMine(actor: Actor) {
      return requests.listForRequester(actor.tenantId, actor.userId);
    },
    /** Who may end an active lease early: its requester, or an approver of its database. */
    async authorizeEnd(actor: Actor, requestId: string): Promise<RequestRow> {
      const request = await requests.get(actor.tenantId, requestId);
      if (!request) throw notFound(`Request ${requestId}`);
      if (request.requesterId !== actor.userId && !isApprover(await catalogOf(actor.tenantId), await personFor(actor), request.databaseId, request.level)) {
        throw forbidden(`Only the requester or an approver of ${request.databaseId} can end this access.`);
      }
      if (isTerminal(request.state as RequestState) || request.state === 'pending') {
        throw forbidden(`Request ${requestId} has no active access to end (it is ${request.state}).`);
      }
      return request;
    },
  };
}

export type AccessRequestService = ReturnType<typeof createAccessRequestService>;
