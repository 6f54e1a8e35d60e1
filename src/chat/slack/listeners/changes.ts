import { settle } from '../../core/replies.js';
import { parseButtonValue } from '../slack-blocks.js';
import { changesFromModal, changesModal, type ChangesMetadata } from '../slack-changes.js';
import { IDS } from '../slack-kit.js';
import { renderReply } from '../slack-replies.js';
import { STALE_BUTTON, interactionCaller, sealFor, type SlackListenerContext, type StateValues } from './context.js';

/**
 * "Approve with changes…": the button opens the form while its trigger is fresh (one read of the
 * request, for its terms); the submission is checked before the acknowledgement, so a wider level, a
 * longer time or a missing note shows under its field, and decided after it.
 */
export function registerChanges(ctx: SlackListenerContext): void {
  const { app, dispatcher, views } = ctx;

  app.action(IDS.approveWithChanges, async ({ ack, body, action, respond }) => {
    await ack();
    const value = parseButtonValue((action as { value?: string }).value ?? '');
    if (!value) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: STALE_BUTTON }));
    const reply = await settle(dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'changesForm', request: value }));
    const view = reply.show?.kind === 'requestCard' ? reply.show.request : undefined;
    if (!reply.ok || !view) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: renderReply(reply) ?? STALE_BUTTON }));
    const channel = (body as { channel?: { id: string } }).channel?.id ?? '';
    await app.client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: sealFor(ctx, body, changesModal(view, channel)) as never });
  });

  app.view(IDS.changesView, async ({ ack, body, view }) => {
    const metadata = JSON.parse(views.data(view.private_metadata)) as ChangesMetadata;
    const { changes, code } = changesFromModal(view.state.values as StateValues, metadata);
    const reply = await dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'approveWithChanges', requestId: metadata.requestId, changes, mfa: code ? { code } : undefined });
    if (!reply.ok) {
      // The form's fields: level, scope (when drawn), duration, note, code (when asked).
      const fields = new Set(Object.keys(view.state.values as object));
      const field = reply.field && fields.has(reply.field) ? reply.field : 'duration';
      await ack({ response_action: 'errors', errors: { [field]: renderReply(reply) ?? 'Nothing changed.' } });
      await settle({ ...reply, say: [] });
      return;
    }
    await ack();
    const decided = await settle(reply);
    const text = decided.quiet && decided.ok ? undefined : renderReply(decided);
    if (text && metadata.channel) await app.client.chat.postEphemeral({ channel: metadata.channel, user: body.user.id, text });
  });
}
