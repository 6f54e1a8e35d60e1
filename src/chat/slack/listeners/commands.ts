import { publicMessage } from '../../../lib/errors.js';
import { parseCommand } from '../../core/commands.js';
import type { CatalogView } from '../../../config/catalog.js';
import { settle, type Reply } from '../../core/replies.js';
import { withTenant } from '../../../modules/tenants/tenant-scope.js';
import type { TenantCaller } from '../../core/dispatcher.js';
import { SLACK_SURFACE, renderReply, slackScreen, slackText } from '../slack-replies.js';
import { callerOf, directMessage, type SlackListenerContext } from './context.js';

/**
 * `/dbaccess …`: parsed by the one parser, carried out by the dispatcher. Slack is acknowledged
 * first; the reply follows through the response URL (ephemeral).
 *
 * The acknowledgement needs no round trip, even on a workspace's first sight: the form, help and usage
 * are drawn from the words and the workspace's catalog (both in memory) before its tenant is known.
 * The tenant (one look-up per workspace, single flight, then kept) comes after ack(), and with it the
 * tenant's scope for everything that follows: the middleware leaves commands to this listener.
 */
export function registerCommands(ctx: SlackListenerContext): void {
  const { app, dispatcher, views } = ctx;
  /**
   * The empty form of a workspace's catalog, drawn, sealed (for anyone: the request form is) and
   * serialized once while its catalog and unavailable databases stay the same: a burst of first
   * commands draws it once, not once each, and the Web API client sends the string as it is.
   */
  const emptyForms = new WeakMap<CatalogView, { unavailable: string; view: string }>();
  const emptyForm = (reply: Reply & { show: { kind: 'requestForm'; catalog: CatalogView } }): string => {
    const unavailable = JSON.stringify([...(reply.show.state?.unavailable ?? [])]);
    const cached = emptyForms.get(reply.show.catalog);
    if (cached?.unavailable === unavailable) return cached.view;
    const view = JSON.stringify(views.seal((slackScreen(reply, { revision: 0 }) as { view: { callback_id?: unknown } }).view));
    emptyForms.set(reply.show.catalog, { unavailable, view });
    return view;
  };
  app.command('/dbaccess', async ({ command, ack, respond }) => {
    const parsed = parseCommand(command.text, SLACK_SURFACE);
    const first = dispatcher.answerBeforeTenant(parsed, { platform: 'slack', catalog: ctx.catalogs().forTenant('slack', command.team_id) });
    const inScope = async (work: (caller: TenantCaller) => Promise<void>) => {
      const caller = await callerOf(ctx, command.team_id, command.user_id, command.user_name);
      await withTenant(caller.tenantId, () => work(caller));
    };
    if (first) {
      if (first.show?.kind !== 'requestForm') {
        await ack({ response_type: 'ephemeral', text: renderReply(first) ?? '' });
        return;
      }
      const view = emptyForm(first as Parameters<typeof emptyForm>[0]);
      await ack();
      await inScope(async (caller) => {
        // The form's check runs before its acknowledgement: look the person up while they fill it in.
        ctx.directory?.warm(caller.tenantId, command.user_id);
        await app.client.views.open({ trigger_id: command.trigger_id, view: view as never });
      });
      return;
    }
    await ack();
    await inScope(async (caller) => {
      const reply = await settle(dispatcher.dispatch(caller, parsed));
      // `revoke`: done once answered; an error leaves it to the sweep's replay (src/modules/inbox).
      if (parsed.kind === 'revoke' && !reply.error) await ctx.intentDone(command);
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
  });
}
