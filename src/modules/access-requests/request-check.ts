import type { CatalogOf } from '../../config/catalog.js';
import type { Db } from '../../db/client.js';
import { plainText, renderRich, type RichText } from '../../lib/rich-text.js';
import { cardJobId, type Enqueue } from '../job-port.js';
import type { AuditService } from '../audit/audit-service.js';
import { parseStoredScope, type ScopeItem } from '../credentials/scope.js';
import { onCallAuditDetails, type OnCallService } from '../oncall/oncall-service.js';
import { evaluateRequest, type Person, type PersonResolver } from '../policy/policy-evaluator.js';
import { timingFor } from '../policy/policy-timing.js';
import { approvalEvent, timingSnapshot } from './request-timing.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import { policyContext, policySnapshot } from './request-policy.js';

/** Names in the scope that do not exist on the target, or `unreachable` when it could not be asked. */
export type ScopeChecker = (
  databaseId: string,
  scope: ScopeItem[],
  grant?: { level: string; privileges?: string[] | undefined },
) => Promise<{ problems: string[]; leftOut?: string[] } | { unreachable: string }>;

/** The live check of a request's ticket (modules/tickets/ticket-service.ts). */
export type TicketVerifier = (
  request: Pick<RequestRow, 'id' | 'tenantId' | 'databaseId' | 'level' | 'ticket'>,
  requester: { externalId: string; person: Person },
) => Promise<{ kind: 'none' } | { kind: 'verified'; ticket: NonNullable<NonNullable<RequestRow['policy']>['ticket']> } | { kind: 'refused'; message: string; details: Record<string, unknown> }>;

interface Deps {
  checkScope: ScopeChecker;
  db: Db;
  requests: Pick<AccessRequestRepo, 'getById' | 'transition' | 'setLeftOut' | 'setRisk' | 'setPolicy' | 'requesterExternalId' | 'activeOf'>;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  catalogOf: CatalogOf;
  people: PersonResolver;
  onCall?: Pick<OnCallService, 'answersFor'> | undefined;
  tickets?: { verify: TicketVerifier } | undefined;
  now: () => Date;
}

/**
 * A refusal as the words of a form field's error or a stored cancel reason, where no markup is shown:
 * names between backticks (read back as code by `codeSpans` where the reason is shown), people as `@id`.
 */
export function refusalWords(refusal: { message: RichText; howToComply: RichText }): string {
  const words = (value: RichText) => renderRich(value, {
    text: (part) => part.text, strong: (part) => part.text, code: (part) => `\`${part.text}\``,
    person: (part) => `@${part.id}`, group: (part) => `@${part.id}`, link: (part) => part.text,
  });
  return `${words(refusal.message)} ${words(refusal.howToComply)}`;
}

/** The on-call evidence of an auto-approval, as plain words for its audit event. */
function onCallEvidence(rules: ReadonlyArray<{ rule: string; explanation: RichText }>): { onCall?: string } {
  const evidence = rules.find((rule) => rule.rule === 'on-call');
  return evidence ? { onCall: plainText(evidence.explanation) } : {};
}

/**
 * The check of a submitted request (the checkRequest job), before approvers see it: the scope's
 * names on the target, the ticket with its tracker, then the policy again with the live on-call
 * answers, which may refuse or auto-approve it; otherwise its card goes to the approvers.
 */
export function createSubmittedCheck({ checkScope, db, requests, audit, enqueue, catalogOf, people, onCall, tickets, now }: Deps) {
  /**
   * Before approvers see a request, the objects it names are looked up on the target: a name that
   * does not exist ends the request with near matches for the requester. A target that cannot be
   * reached does not hold the request up; the card says the names are unverified.
   */
  async function checkSubmitted(requestId: string): Promise<void> {
    const request = await requests.getById(requestId);
    if (!request || request.state !== 'pending') return;
    // Who is on call is asked while the target is (both are round trips to elsewhere).
    const onCallAnswers = request.kind === 'access' ? askOnCall(request) : undefined;
    if (request.kind === 'access') {
      // Also what the admin cannot grant (a whole database meets extension objects, other owners' tables).
      const verdict = await checkScope(request.databaseId, parseStoredScope(request.scope), { level: request.level, privileges: (await catalogOf(request.tenantId)).level(request.level)?.privileges });
      if ('problems' in verdict && verdict.problems.length > 0) {
        await cancel(request, verdict.problems.join(' '), { problems: verdict.problems, ...(verdict.leftOut ? { leftOut: verdict.leftOut } : {}) });
        return;
      }
      if ('problems' in verdict && verdict.leftOut?.length) await requests.setLeftOut(request.tenantId, requestId, verdict.leftOut);
      if ('unreachable' in verdict) {
        await requests.setRisk(request.tenantId, requestId, { ...request.risk, reasons: [...request.risk.reasons, `Names in the scope not verified: ${verdict.unreachable}.`] });
      }
    }
    // A ticket a rule binds is read live from its tracker: missing, closed or not the requester's ends the request here.
    let verifiedTicket: NonNullable<RequestRow['policy']>['ticket'];
    if (tickets && request.ticket) {
      const externalId = await requests.requesterExternalId(request);
      const verdict = await tickets.verify(request, { externalId, person: await people(request.tenantId, externalId) });
      if (verdict.kind === 'refused') {
        await cancel(request, verdict.message, verdict.details);
        return;
      }
      if (verdict.kind === 'verified') {
        verifiedTicket = verdict.ticket;
        if (request.policy) await requests.setPolicy(request.tenantId, requestId, { ...request.policy, ticket: verifiedTicket });
      }
    }
    if (request.kind === 'access') {
      const requesterExternalId = await requests.requesterExternalId(request);
      const catalog = await catalogOf(request.tenantId);
      const activeLeases = (await requests.activeOf(request.tenantId, request.requesterId)).flatMap((active) => {
        const database = catalog.database(active.databaseId);
        return database ? [{ databaseId: database.id, environment: database.environment, level: active.level, tags: database.tags }] : [];
      });
      const ctx = policyContext(catalog, request, await people(request.tenantId, requesterExternalId), now(), {
        activeLeases, risk: request.risk.level, now: request.createdAt, breakGlass: request.policy?.breakGlass ?? false, onCall: await onCallAnswers,
      });
      const decision = ctx && evaluateRequest(ctx, catalog.policy);
      // Why approvers are asked although on-call might have approved: on the card, from the stored policy.
      const unknown = decision?.outcome === 'needs-approval' ? decision.rules.find((rule) => rule.rule === 'on-call-unknown') : undefined;
      if (unknown && request.policy) {
        await requests.setPolicy(request.tenantId, requestId, { ...request.policy, rules: [...request.policy.rules.filter((rule) => rule.rule !== unknown.rule), { rule: unknown.rule, outcome: unknown.outcome, explanation: unknown.explanation }] });
      }
      if (decision?.outcome === 'refuse' && decision.refusal) {
        await cancel(request, refusalWords(decision.refusal), { rule: decision.refusal.rule });
        return;
      }
      if (decision?.outcome === 'auto-approve') {
        const decidedAt = now();
        // A later start: auto-approved now, provisioned then (request-timing.ts).
        const { event, delayMs } = approvalEvent(request, decidedAt);
        const approved = await db.transaction(async (tx) => {
          const row = await requests.transition(request.tenantId, requestId, event, { decidedAt }, tx);
          if (row) {
            await requests.setPolicy(request.tenantId, requestId, { ...policySnapshot(decision), ...timingSnapshot(timingFor(ctx!.database, request.level, catalog.policy)), ...(verifiedTicket ? { ticket: verifiedTicket } : {}) }, tx);
            await audit.record(
              {
                tenantId: request.tenantId, actor: 'system', action: decision.breakGlass ? 'request.break_glass' : 'request.auto_approved', subject: `request:${requestId}`,
                outcome: 'success', details: { rule: decision.autoApprovedBy, policy: decision.policy, reason: request.reason, ...onCallEvidence(decision.rules) },
              },
              tx,
            );
          }
          return row;
        });
        if (approved) {
          await Promise.all([
            enqueue('syncCard', { requestId }),
            enqueue('analyzeRequest', { requestId }, { jobId: `analyze-${requestId}` }),
            enqueue('provision', { requestId }, { jobId: `provision-${requestId}`, delayMs }),
            ...(decision.breakGlass ? [enqueue('alertBreakGlass', { requestId }, { jobId: `break-glass-${requestId}` })] : []),
          ]);
          return;
        }
      }
    }
    await Promise.all([
      // One first card job at a time: the sweep runs the check again when the card is overdue (lease-sweep.ts).
      enqueue('syncCard', { requestId }, { jobId: cardJobId(requestId) }),
      enqueue('notifyRequester', { requestId }, { jobId: `received-${requestId}` }),
      // The model's reading comes after the card: approvers see the request at once, the analysis when ready.
      ...(request.kind === 'access' ? [enqueue('analyzeRequest', { requestId }, { jobId: `analyze-${requestId}` })] : []),
    ]);
  }

  /**
   * The live on-call answers a request's on-call rules need (none asked when no rule could approve
   * it anyway), audited with what the provider said. Never throws: a failure is "not on call".
   */
  async function askOnCall(request: RequestRow) {
    if (!onCall) return undefined;
    try {
      const catalog = await catalogOf(request.tenantId);
      const requester = await people(request.tenantId, await requests.requesterExternalId(request));
      const ctx = policyContext(catalog, request, requester, now(), { risk: request.risk.level, now: request.createdAt });
      const answers = ctx && (await onCall.answersFor(request.tenantId, ctx, catalog.policy));
      if (answers) {
        const details = onCallAuditDetails(answers);
        await audit.record({
          tenantId: request.tenantId, actor: 'system', action: 'request.on_call_checked', subject: `request:${request.id}`,
          outcome: details.some((entry) => 'unreachable' in entry) ? 'failure' : 'success', details: { answers: details },
        });
      }
      return answers;
    } catch {
      return undefined;
    }
  }

  async function cancel(request: RequestRow, failure: string, details: Record<string, unknown>): Promise<void> {
    const cancelled = await db.transaction(async (tx) => {
      const row = await requests.transition(request.tenantId, request.id, 'cancel', { failure }, tx);
      if (row) {
        await audit.record({ tenantId: request.tenantId, actor: 'system', action: 'request.refused', subject: `request:${request.id}`, outcome: 'refused', details }, tx);
      }
      return row;
    });
    if (cancelled) await enqueue('notifyRequester', { requestId: request.id }, { jobId: `closed-${request.id}` });
  }

  return checkSubmitted;
}
