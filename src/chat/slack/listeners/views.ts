import type { AckFn, ViewResponseAction } from '@slack/bolt';
import { settle, type Reply } from '../../core/replies.js';
import { IDS } from '../slack-blocks.js';
import { renderReply, slackScreen } from '../slack-replies.js';
import { directMessage, interactionCaller, readDraft, type SlackListenerContext, type StateValues } from './context.js';

const valuesOf = (view: { state: { values: unknown } }) => view.state.values as StateValues;
const input = (view: { state: { values: unknown } }, block: string) => (valuesOf(view)[block]?.value?.value ?? '').trim();

/**
 * A form's first answer goes in the acknowledgement: a refusal shows under the field it concerns
 * (`field`, or the form's only input). The rest of the work runs after it.
 */
async function acknowledge(ack: AckFn<ViewResponseAction> | AckFn<void>, reply: Reply, field: string): Promise<boolean> {
  if (reply.ok) {
    await (ack as AckFn<void>)();
    return true;
  }
  await (ack as AckFn<ViewResponseAction>)({ response_action: 'errors', errors: { [reply.field ?? field]: renderReply(reply) ?? 'Nothing changed.' } });
  // What follows a refusal (the approvers' alert when wrong codes have just locked someone's MFA).
  await settle({ ...reply, say: [] });
  return false;
}

/** The modals dbaccess opens (sealed by slack-screen): each submission becomes a command. */
export function registerViews(ctx: SlackListenerContext): void {
  const { app, dispatcher, views } = ctx;

  app.view(IDS.requestView, async ({ ack, body, view }) => {
    const revision = Number(views.data(view.private_metadata)) || 0;
    const caller = await interactionCaller(ctx, body);
    // Checked before the acknowledgement (pure, in memory, the policy from the form alone) so errors show inline.
    const reply = await dispatcher.dispatch(caller, { kind: 'submit', draft: readDraft(valuesOf(view), revision) });
    const draw = slackScreen(reply, { revision });
    if ('errors' in draw) return void (await ack({ response_action: 'errors', errors: draw.errors }));
    if (!(await acknowledge(ack, reply, 'reason'))) return;
    const stored = await settle(reply);
    if (!stored.ok) await directMessage(app, body.user.id, { text: renderReply(stored) ?? '' });
  });

  app.view(IDS.mfaApproveView, async ({ ack, body, view }) => {
    const { requestId, channel } = JSON.parse(views.data(view.private_metadata)) as { requestId: string; channel: string };
    // The code is checked before the acknowledgement so that a wrong one shows on the form.
    const reply = await dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'decide', decision: 'approve', requestId, mfa: { code: input(view, 'code') }, via: 'button' });
    if (!(await acknowledge(ack, reply, 'code'))) return;
    const decided = await settle(reply);
    const text = decided.quiet && decided.ok ? undefined : renderReply(decided);
    if (text && channel) await app.client.chat.postEphemeral({ channel, user: body.user.id, text });
  });

  app.view(IDS.denyView, async ({ ack, body, view }) => {
    await ack();
    const { requestId, channel } = JSON.parse(views.data(view.private_metadata)) as { requestId: string; channel: string };
    const reason = input(view, 'reason').slice(0, 500) || undefined;
    const reply = await settle(dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'decide', decision: 'deny', requestId, reason, via: 'button' }));
    if (!reply.ok && channel) await app.client.chat.postEphemeral({ channel, user: body.user.id, text: renderReply(reply) ?? '' });
  });

  app.view(IDS.extendView, async ({ ack, body, view }) => {
    const requestId = views.data(view.private_metadata);
    const command = { kind: 'extend', requestId, duration: valuesOf(view).duration?.value?.value ?? '', reason: input(view, 'reason') } as const;
    const reply = await dispatcher.dispatch(await interactionCaller(ctx, body), command);
    if (!(await acknowledge(ack, reply, 'duration'))) return;
    const extended = await settle(reply);
    // An extension within policy shows on the credentials message (its job); the rest is said by DM.
    if (!extended.quiet || !extended.ok) await directMessage(app, body.user.id, { text: renderReply(extended) ?? '' });
  });

  app.view(IDS.revealView, async ({ ack, body, view }) => {
    const requestId = views.data(view.private_metadata);
    const reply = await dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'reveal', requestId, mfa: { code: input(view, 'code') } });
    if (!(await acknowledge(ack, reply, 'code'))) return;
    await settle(reply);
  });

  app.view(IDS.mfaConfirmView, async ({ ack, body, view }) => {
    // A wrong code is shown in the form; hashing the recovery codes is slow, so it runs after the ack.
    const reply = await dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'mfaConfirm', code: input(view, 'code') });
    if (!(await acknowledge(ack, reply, 'code'))) return;
    const confirmed = await settle(reply);
    const draw = slackScreen(confirmed, { revision: 0 });
    await directMessage(app, body.user.id, 'dm' in draw ? draw.dm : { text: renderReply(confirmed) ?? '' });
  });
}
