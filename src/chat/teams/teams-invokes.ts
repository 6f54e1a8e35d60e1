import type { AdaptiveCardInvokeResponse, TurnContext } from 'botbuilder';
import type { RequestDraft } from '../../modules/access-requests/access-request-types.js';
import type { Command } from '../core/commands.js';
import type { Dispatcher, TenantCaller } from '../core/dispatcher.js';
import { settle } from '../core/replies.js';
import { FORM_INPUTS } from './teams-cards.js';
import { changesOf } from './teams-changes.js';
import { cardResponse, errorResponse, messageResponse, noticeCard, replyCard, replyMarkdown, replyPlain } from './teams-replies.js';

type Data = Record<string, unknown>;
const str = (value: unknown, max = 2000) => (typeof value === 'string' ? value.slice(0, max) : '');

function draftOf(data: Data): RequestDraft {
  const field = (name: (typeof FORM_INPUTS)[number]) => str(data[name]);
  return {
    databaseId: field('databaseId'), level: field('level'), scope: field('scope'), duration: field('duration'),
    reason: field('reason'), ticket: field('ticket'), breakGlass: data.breakGlass === true || data.breakGlass === 'true', startsAt: field('startsAt'),
  };
}

/** A Universal Action (Action.Execute) as a command; undefined for a verb no button of dbaccess carries. */
export function commandOf(context: TurnContext, verb: string, data: Data): Command | undefined {
  const requestId = str(data.requestId, 20);
  const code = str(data.code, 20).trim();
  switch (verb) {
    case 'submit':
      // The form's message becomes the receipt: it is edited as the request moves on, never posted twice.
      return { kind: 'submit', draft: draftOf(data), shownIn: context.activity.replyToId ? { platform: 'teams', channel: context.activity.conversation.id, ts: context.activity.replyToId } : undefined };
    case 'analyze':
      return { kind: 'analyze', draft: draftOf(data), form: { platform: 'teams', channel: context.activity.conversation.id, ts: context.activity.replyToId ?? '' } };
    case 'useSuggestion':
      return { kind: 'useSuggestion', draft: draftOf(data), analysisId: str(data.analysisId, 40) };
    case 'approve':
    case 'deny':
      return { kind: 'decide', decision: verb, requestId, reason: str(data.reason, 500).trim() || undefined, mfa: verb === 'approve' && code ? { code } : undefined, via: 'button', redraw: true };
    case 'approveWithChanges':
      return { kind: 'approveWithChanges', requestId, changes: changesOf(data), mfa: code ? { code } : undefined, redraw: true };
    case 'end':
      return { kind: 'revoke', requestId, via: 'button' };
    case 'cancel':
      return { kind: 'cancel', requestId, redraw: data.from === 'approval-card' };
    case 'review':
      return { kind: 'review', requestId, redraw: true };
    case 'retry':
      return { kind: 'retry', requestId, redraw: true };
    case 'extend':
      return { kind: 'extend', requestId, duration: str(data.duration, 20), reason: str(data.reason, 500) };
    case 'reveal':
      return { kind: 'reveal', requestId, mfa: { code }, redraw: true };
    case 'mfaConfirm':
      return { kind: 'mfaConfirm', code };
    default:
      return undefined;
  }
}

/**
 * Answers a click: with the card that replaces the clicked one when the reply shows one, or with a
 * short message that leaves the card as it was (a wrong code, or a result a job draws a moment later).
 */
export async function answerInvoke(dispatcher: Dispatcher, caller: TenantCaller, context: TurnContext, verb: string, data: Data): Promise<AdaptiveCardInvokeResponse> {
  const command = commandOf(context, verb, data);
  if (!command) return errorResponse('This button is no longer valid. Nothing changed.');
  const reply = await settle(dispatcher.dispatch(caller, command));
  // A request of another tenant is "not found", said without touching the card.
  if (reply.notFound) return messageResponse(replyPlain(reply));
  const card = replyCard(reply);
  if (card) return cardResponse(card);
  // The receipt's Cancel: the receipt becomes the outcome.
  if (command.kind === 'cancel' && reply.ok) return cardResponse(noticeCard(replyMarkdown(reply)));
  return messageResponse(replyPlain(reply));
}
