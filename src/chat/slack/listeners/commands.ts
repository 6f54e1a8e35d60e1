import { publicMessage } from '../../../lib/errors.js';
import { parseCommand } from '../../core/commands.js';
import { settle } from '../../core/replies.js';
import { SLACK_SURFACE, renderReply, slackScreen, slackText } from '../slack-replies.js';
import { callerOf, directMessage, type SlackListenerContext } from './context.js';

/** Answers made of the words alone: they go in the acknowledgement itself. */
const IN_THE_ACK = new Set(['help', 'usage', 'unknown']);

/**
 * `/dbaccess …`: parsed by the one parser, carried out by the dispatcher. Slack is acknowledged
 * first; the reply follows through the response URL (ephemeral).
 */
export function registerCommands(ctx: SlackListenerContext): void {
  const { app, dispatcher, views } = ctx;
  app.command('/dbaccess', async ({ command, ack, respond }) => {
    const parsed = parseCommand(command.text, SLACK_SURFACE);
    const caller = await callerOf(ctx, command.team_id, command.user_id, command.user_name);
    if (IN_THE_ACK.has(parsed.kind)) {
      await ack({ response_type: 'ephemeral', text: renderReply(await dispatcher.dispatch(caller, parsed)) ?? '' });
      return;
    }
    if (parsed.kind === 'requestForm') {
      // The catalog is in memory: an empty one is said in the acknowledgement, otherwise the form opens.
      const reply = await dispatcher.dispatch(caller, parsed);
      const draw = slackScreen(reply, { revision: 0 });
      if (!('view' in draw)) {
        await ack({ response_type: 'ephemeral', text: renderReply(reply) ?? '' });
        return;
      }
      await ack();
      // The form's check runs before its acknowledgement: look the person up while they fill it in.
      ctx.directory?.warm(caller.tenantId, command.user_id);
      await app.client.views.open({ trigger_id: command.trigger_id, view: views.seal(draw.view, command.team_id, command.user_id) as never });
      return;
    }
    await ack();
    const reply = await settle(dispatcher.dispatch(caller, parsed));
    const draw = slackScreen(reply, { revision: 0, publishQr: ctx.publishQr });
    if ('dm' in draw) {
      try {
        await directMessage(app, command.user_id, draw.dm);
        await respond({ response_type: 'ephemeral', text: 'I sent you the MFA set-up by direct message.' });
      } catch (error) {
        await respond({ response_type: 'ephemeral', text: publicMessage(error) });
      }
      return;
    }
    // One message per part (a report's summary, then the audit chain's verdict).
    for (const said of reply.say) await respond({ response_type: 'ephemeral', text: slackText(said) });
  });
}
