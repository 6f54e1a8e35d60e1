import { publicMessage } from '../../lib/errors.js';
import { code, joinRich, rich, strong, text } from '../../lib/rich-text.js';
import { formatDuration, parseDuration } from '../../lib/time.js';
import { validateDraft } from '../../modules/access-requests/access-request-schemas.js';
import type { Command, Surface } from './commands.js';
import type { DispatcherDeps, Handlers, TenantCaller, VerifyCode } from './dispatch-types.js';
import { fromModule } from './legacy-markup.js';
import { done, refused, type Reply } from './replies.js';
import { unavailableIn } from './request-form.js';

/** Longest extension a person may ask for in one go (policy may allow less). */
const MAX_EXTENSION_SECONDS = 7 * 86400;

type ActionKinds = 'mayDecide' | 'submit' | 'analyze' | 'useSuggestion' | 'extend' | 'reveal' | 'mfaConfirm' | 'review' | 'retry';

/** What the person is told when their MFA set-up is confirmed, with the codes that are shown once. */
export const recoveryCodesText = (codes: readonly string[]) =>
  rich`Your MFA is set up. MFA is on for every approval and reveal that asks for a code. Keep these one-time recovery codes somewhere safe; each works once if you lose your authenticator:\n${joinRich(codes.map(code), '\n')}`;

/** The buttons and forms of the cards: the same checks and answers on every platform. */
export function actionHandlers(deps: DispatcherDeps, surface: Surface, verifyCode: VerifyCode): Pick<Handlers, ActionKinds> {
  const { requests, leases, analysis, mfa, catalogOf, availability, notifier } = deps;

  /** The request's card as it now is, for platforms that answer a click with the card. */
  const withCard = async (reply: Reply, command: { requestId: string; redraw?: boolean }): Promise<Reply> =>
    command.redraw ? { ...reply, show: { kind: 'requestCard', requestId: command.requestId, request: await requests.viewById(command.requestId) } } : reply;

  return {
    async mayDecide(caller, { request }) {
      const refusal = await requests.quickRefusal(caller, request);
      return refusal ? refused(fromModule(refusal)) : done();
    },

    /** Checked (pure, policy from the form alone) before the acknowledgement; stored after it. */
    async submit(caller, { draft, shownIn, deliverTo }) {
      const catalog = await catalogOf(caller.tenantId);
      const unavailable = unavailableIn(catalog, availability);
      const result = validateDraft(draft, catalog, requests.now());
      if (!result.ok) return { ok: false, say: [], show: { kind: 'formErrors', catalog, draft, errors: result.errors, unavailable } };
      // Also refuses a database that cannot be served now, whatever the form showed (an old form, a crafted payload).
      const refusal = await requests.precheck(caller, result.value);
      if (Object.keys(refusal).length > 0) return { ok: false, say: [], show: { kind: 'formErrors', catalog, draft, errors: refusal, unavailable } };
      return {
        ok: true, say: [],
        after: async () => {
          try {
            const row = await requests.submit(await caller.actor(), result.value, undefined, shownIn, deliverTo);
            return { ok: true, say: [], show: { kind: 'received', request: await requests.view(row) } };
          } catch (error) {
            deps.logger.error({ err: error }, 'could not store a request');
            return refused(text(`Your request could not be stored: ${publicMessage(error)} Nothing was submitted; please try again.`));
          }
        },
      };
    },

    /** Progress shows first; the analysis runs as a job (never a model before the acknowledgement). */
    async analyze(caller, { draft, form }) {
      const catalog = await catalogOf(caller.tenantId);
      return {
        ok: true, say: [], show: { kind: 'requestForm', catalog, state: { draft, analysis: { state: 'running' }, unavailable: unavailableIn(catalog, availability) } },
        after: async () => {
          await analysis.startDraft(await caller.actor(), draft, form);
          return done();
        },
      };
    },

    /** The form filled in with the narrower request; the person still submits it. */
    async useSuggestion(caller, { draft, analysisId }): Promise<Reply> {
      const [catalog, suggestion] = await Promise.all([catalogOf(caller.tenantId), caller.actor().then((actor) => analysis.suggestionFor(actor, analysisId))]);
      const unavailable = unavailableIn(catalog, availability);
      if (!suggestion) return { ok: false, say: [], show: { kind: 'requestForm', catalog, state: { draft, analysis: { state: 'applied' as const, text: 'That suggestion is no longer available; analyze again.' }, unavailable } } };
      const applied = { ...draft, level: suggestion.level, scope: suggestion.scope.length ? suggestion.scope.join(', ') : draft.scope, duration: formatDuration(suggestion.durationSeconds) };
      return { ok: true, say: [], show: { kind: 'requestForm' as const, catalog, state: { draft: applied, analysis: { state: 'applied' as const, text: suggestion.text }, unavailable } } };
    },

    async extend(caller, { requestId, duration, reason }) {
      const seconds = parseDuration(duration);
      if (!seconds || seconds > MAX_EXTENSION_SECONDS) return { ok: false, field: 'duration', say: [text('Write a duration such as 30m or 2h (at most 7d).')] };
      return {
        ok: true, say: [],
        after: async () => {
          const actor = await caller.actor();
          try {
            const outcome = await requests.requestExtension(actor, requestId, seconds, reason?.trim() || 'More time for the same task.', (lease, until) => leases.extend(lease, until, `user:${actor.userId}`));
            if (outcome.kind === 'pending') return done(rich`That goes beyond the maximum for this database, so approvers decide: extension request ${strong(outcome.request.id)} is waiting. Your access continues until then.`);
            return { ok: true, quiet: true, say: [text(`Extended until ${outcome.until.toISOString().slice(11, 16)} UTC.`)] };
          } catch (error) {
            return refused(text(`Could not extend ${requestId}: ${publicMessage(error)}`));
          }
        },
      };
    },

    /** The code and the credentials' availability are checked before the acknowledgement; the DM after it. */
    async reveal(caller, command) {
      const { requestId, mfa: proof } = command;
      const actor = await caller.actor();
      const wrong = await verifyCode(caller, actor, proof.code, 'reveal');
      let ready: Awaited<ReturnType<typeof leases.credentialsForRequester>> | undefined;
      let problem: Reply | undefined = wrong;
      if (!problem) {
        try {
          ready = await leases.credentialsForRequester(actor, requestId);
        } catch (error) {
          problem = { ok: false, field: 'code', say: [text(publicMessage(error))] };
        }
      }
      if (problem) return command.redraw ? { ...problem, show: { kind: 'credentialsWaiting', request: await requests.viewById(requestId) } } : problem;
      return {
        ok: true, say: [],
        after: async () => {
          const ref = await notifier.send({ type: 'credentialsReady', request: await requests.view(ready!.request), credentials: ready!.credentials });
          await leases.markDelivered(ready!.lease, ref ?? null);
          return { ok: true, quiet: true, say: [text('Your credentials are shown in the message.')] };
        },
      };
    },

    /** A wrong code shows on the form; hashing the recovery codes is slow, so it runs after the acknowledgement. */
    async mfaConfirm(caller, { code: given }) {
      const actor = await caller.actor();
      try {
        await mfa.checkEnrollmentCode(actor, given);
      } catch (error) {
        return { ok: false, field: 'code', say: [text(publicMessage(error))] };
      }
      return {
        ok: true, say: [],
        after: async () => {
          try {
            const { recoveryCodes } = await mfa.confirmEnrollment(actor, given);
            return { ok: true, say: [], show: { kind: 'recoveryCodes', codes: recoveryCodes.map((secret) => secret.reveal()) } };
          } catch (error) {
            return refused(text(`Two-factor set-up was not confirmed: ${publicMessage(error)}`));
          }
        },
      };
    },

    async review(caller, command) {
      return withCard(done(fromModule(await requests.reviewBreakGlass(await caller.actor(), command.requestId))), command);
    },

    async retry(caller, command) {
      const outcome = await requests.retryFailed(await caller.actor(), command.requestId);
      return withCard({ ok: outcome.ok, say: [fromModule(outcome.message)] }, command);
    },
  };
}

export type { Command, TenantCaller };
