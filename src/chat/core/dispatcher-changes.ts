import { rich, text } from '../../lib/rich-text.js';
import { parseDuration } from '../../lib/time.js';
import { MAX_NOTE, type ProposedChanges } from '../../modules/access-requests/request-changes.js';
import type { DispatcherDeps, Handlers, VerifyCode } from './dispatch-types.js';
import { fromModule } from './legacy-markup.js';
import { done, refused, type Reply } from './replies.js';

/**
 * Approve with changes, on every platform: the form's answers are checked before the acknowledgement
 * (errors show under their field), the decision runs after it. The module decides what may change;
 * here the form's words become numbers and the replies are said.
 */
export function changesHandlers(deps: DispatcherDeps, verifyCode: VerifyCode): Pick<Handlers, 'changesForm' | 'approveWithChanges'> {
  const { requests } = deps;

  return {
    /** Who may not decide is told at once; the others get the request as it stands, to draw the form from. */
    async changesForm(caller, { request }) {
      const refusal = await requests.quickRefusal(caller, request);
      if (refusal) return refused(fromModule(refusal));
      const view = await requests.viewById(request.requestId);
      if (!view || view.tenantId !== caller.tenantId) return { ok: false, notFound: true, say: [text(`Request ${request.requestId} was not found.`)] };
      if (view.state !== 'pending') return refused(rich`Request ${view.id} is no longer waiting (${view.state}). Nothing changed.`);
      if (!view.narrowing) return refused(rich`Request ${view.id} cannot be approved with changes here: ${view.kind === 'extension' ? 'an extension is approved or denied as asked' : 'its policy does not allow it'}. Approve it as asked, or deny it with a reason.`);
      return { ok: true, say: [], show: { kind: 'requestCard', requestId: view.id, request: view } };
    },

    async approveWithChanges(caller, command) {
      const { requestId, changes: input, mfa: proof } = command;
      const duration = input.duration?.trim();
      const seconds = duration ? parseDuration(duration) : undefined;
      if (duration && !seconds) return { ok: false, field: 'duration', say: [text('Write a duration such as 30m or 2h, no longer than asked.')] };
      if ((input.note ?? '').length > MAX_NOTE) return { ok: false, field: 'note', say: [text(`Keep the note under ${MAX_NOTE} characters.`)] };
      const changes: ProposedChanges = {
        level: input.level?.trim() || undefined,
        scope: input.scope,
        durationSeconds: seconds,
        note: input.note?.trim() || undefined,
      };
      const actor = await caller.actor();
      const redraw = async (reply: Reply): Promise<Reply> =>
        command.redraw ? { ...reply, show: { kind: 'requestCard', requestId, request: await requests.viewById(requestId) } } : reply;
      if (proof) {
        const wrong = await verifyCode(caller, actor, proof.code, 'approve');
        if (wrong) return redraw(wrong);
      }
      // Every check, nothing recorded: a refusal shows on the form, under its field.
      const check = await requests.decide(actor, requestId, 'approve', undefined, proof !== undefined, changes, true);
      if (!check.ok) {
        const field = check.needsMfa ? 'code' : check.field;
        return check.notFound ? { ok: false, notFound: true, say: [fromModule(check.message)] } : redraw({ ...refused(fromModule(check.message)), field });
      }
      return {
        ok: true, say: [],
        after: async () => {
          const outcome = await requests.decide(actor, requestId, 'approve', undefined, proof !== undefined, changes);
          if (!outcome.ok) return redraw({ ...refused(fromModule(outcome.message)), field: outcome.field });
          if (outcome.progress) return redraw(done(rich`Your approval of ${requestId} with changes is recorded: ${outcome.progress}. More approvers are needed; they approve within your terms.`));
          return redraw({ ok: true, quiet: true, say: [text(`Approved ${requestId} with changes; the requester is told what changed.`)] });
        },
      };
    },
  };
}
