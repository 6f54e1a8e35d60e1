import { TurnContext } from 'botbuilder';
import { parseCommand } from '../core/commands.js';
import type { Dispatcher, TenantCaller } from '../core/dispatcher.js';
import { settle } from '../core/replies.js';
import { attachment } from './teams-cards.js';
import { TEAMS_SURFACE, replyCard, replyMarkdown } from './teams-replies.js';

/** A text message (`dbaccess status`, or an @mention in a channel): the same commands as everywhere. */
export async function answerMessage(dispatcher: Dispatcher, caller: TenantCaller, context: TurnContext): Promise<void> {
  const said = (TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '').replace(/<[^>]*>/g, ' ').trim();
  const reply = await settle(dispatcher.dispatch(caller, parseCommand(said.replace(/^dbaccess\b\s*/i, ''), TEAMS_SURFACE)));
  const card = replyCard(reply);
  await context.sendActivity(card ? { attachments: [attachment(card)], summary: 'dbaccess' } : { text: replyMarkdown(reply) });
}
