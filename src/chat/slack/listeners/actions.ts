import type { RespondFn } from '@slack/bolt';
import { settle, type Reply } from '../../core/replies.js';
import { IDS, denyModal, extendModal, mfaModal, parseButtonValue } from '../slack-blocks.js';
import { renderReply, slackScreen } from '../slack-replies.js';
import { STALE_BUTTON, interactionCaller, readDraft, sealFor, teamOf, type SlackListenerContext, type SlackView } from './context.js';

const valueOf = (action: unknown) => (action as { value?: string }).value ?? '';
const triggerOf = (body: unknown) => (body as { trigger_id: string }).trigger_id;
const channelOf = (body: unknown) => (body as { channel?: { id: string } }).channel?.id ?? '';

/** An answer to the clicker alone, under the card; a quiet reply is left to the card's redraw. */
async function answer(respond: RespondFn, reply: Reply): Promise<void> {
  const text = reply.quiet && reply.ok ? undefined : renderReply(reply);
  if (text) await respond({ response_type: 'ephemeral', replace_original: false, text });
}

/** The buttons of dbaccess's cards and forms: acknowledged first, then parsed into a command. */
export function registerActions(ctx: SlackListenerContext): void {
  const { app, dispatcher, views, catalogOf } = ctx;
  const dispatch = async (body: unknown, command: Parameters<typeof dispatcher.dispatch>[1]) => settle(dispatcher.dispatch(await interactionCaller(ctx, body), command));

  app.action(IDS.approve, async ({ ack, body, action, respond }) => {
    await ack();
    const value = parseButtonValue(valueOf(action));
    if (!value) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: STALE_BUTTON }));
    if (value.mfa) {
      // Step-up: refuse at once who may not decide, or open the code form while the trigger is fresh.
      const may = await dispatch(body, { kind: 'mayDecide', request: value });
      if (!may.ok) return answer(respond, may);
      const metadata = JSON.stringify({ requestId: value.requestId, channel: channelOf(body) });
      await app.client.views.open({ trigger_id: triggerOf(body), view: sealFor(ctx, body, mfaModal(value.requestId, metadata)) as never });
      return;
    }
    await answer(respond, await dispatch(body, { kind: 'decide', decision: 'approve', requestId: value.requestId, via: 'button' }));
  });

  app.action(IDS.deny, async ({ ack, body, action, respond }) => {
    await ack();
    const value = parseButtonValue(valueOf(action));
    if (!value) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: STALE_BUTTON }));
    // Who may deny is known from the button and the catalog: answer without a database read, so the
    // form opens while the trigger is fresh. The decision itself re-checks everything.
    const may = await dispatch(body, { kind: 'mayDecide', request: value });
    if (!may.ok) return answer(respond, may);
    const metadata = JSON.stringify({ requestId: value.requestId, channel: channelOf(body) });
    await app.client.views.open({ trigger_id: triggerOf(body), view: sealFor(ctx, body, denyModal(value.requestId, metadata)) as never });
  });

  app.action(IDS.extend, async ({ ack, body, action }) => {
    await ack();
    // The form opens while the trigger is fresh; the extension itself checks everything.
    const catalog = await catalogOf((await interactionCaller(ctx, body)).tenantId);
    const maxDuration = Math.max(0, ...catalog.catalog.databases.map((db) => db.maxDuration));
    await app.client.views.open({ trigger_id: triggerOf(body), view: sealFor(ctx, body, extendModal(valueOf(action), maxDuration)) as never });
  });

  app.action(IDS.reveal, async ({ ack, body, action }) => {
    await ack();
    const requestId = valueOf(action);
    await app.client.views.open({ trigger_id: triggerOf(body), view: sealFor(ctx, body, mfaModal(requestId, requestId, 'reveal')) as never });
  });

  app.action(IDS.mfaConfirm, async ({ ack, body }) => {
    await ack();
    await app.client.views.open({ trigger_id: triggerOf(body), view: sealFor(ctx, body, mfaModal('', '', 'confirm')) as never });
  });

  app.action(IDS.review, async ({ ack, body, action, respond }) => {
    await ack();
    await answer(respond, await dispatch(body, { kind: 'review', requestId: valueOf(action) }));
  });

  app.action(IDS.end, async ({ ack, body, action, respond }) => {
    await ack();
    const reply = await dispatch(body, { kind: 'revoke', requestId: valueOf(action), via: 'button' });
    // Done once answered (ended, already over, refused); an error leaves it to the sweep's replay.
    if (!reply.error) await ctx.intentDone(body);
    await answer(respond, reply);
  });

  app.action(IDS.retry, async ({ ack, body, action, respond }) => {
    await ack();
    await answer(respond, await dispatch(body, { kind: 'retry', requestId: valueOf(action) }));
  });

  app.action(IDS.cancel, async ({ ack, body, action, respond }) => {
    await ack();
    const blockId = (action as { block_id?: string }).block_id ?? '';
    const reply = await dispatch(body, { kind: 'cancel', requestId: valueOf(action) });
    const text = renderReply(reply) ?? '';
    // The requester's receipt loses its button at once; the approvers' card is redrawn by its job.
    if (reply.ok && blockId.startsWith('received-')) await respond({ replace_original: true, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    else await respond({ response_type: 'ephemeral', replace_original: false, text });
  });

  /**
   * "Analyze risk" on the form: progress shows at once, a job runs the analysis (never the model
   * before the acknowledgement) and replaces the form's lower part with the result.
   */
  app.action(IDS.analyze, async ({ ack, body }) => {
    await ack();
    const view = (body as { view?: SlackView }).view;
    if (!view || !teamOf(body)) return;
    const revision = Number(views.data(view.private_metadata)) || 0;
    const draft = readDraft(view.state.values, revision);
    const reply = await dispatcher.dispatch(await interactionCaller(ctx, body), { kind: 'analyze', draft, form: { platform: 'slack', channel: view.id, ts: String(revision) } });
    // Progress first: the job's result must land after it, never under it.
    const draw = slackScreen(reply, { revision });
    if ('view' in draw) await app.client.views.update({ view_id: view.id, hash: view.hash, view: views.seal(draw.view) as never });
    await settle(reply);
  });

  /** "Use suggestion": the form is filled with the narrower request; the person still submits it. */
  app.action(IDS.useSuggestion, async ({ ack, body, action }) => {
    await ack();
    const view = (body as { view?: SlackView }).view;
    const analysisId = valueOf(action);
    if (!view || !/^[0-9a-f-]{36}$/.test(analysisId)) return;
    const revision = Number(views.data(view.private_metadata)) || 0;
    const reply = await dispatch(body, { kind: 'useSuggestion', draft: readDraft(view.state.values, revision), analysisId });
    // A new revision: Slack shows new initial values only in blocks it has not seen.
    const draw = slackScreen(reply, { revision: revision + 1 });
    if ('view' in draw) await app.client.views.update({ view_id: view.id, hash: view.hash, view: views.seal(draw.view) as never });
  });
}
