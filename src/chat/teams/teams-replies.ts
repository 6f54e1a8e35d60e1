import type { AdaptiveCardInvokeResponse } from 'botbuilder';
import { plainText, type RichText } from '../../lib/rich-text.js';
import { richParagraphs } from './teams-markdown.js';
import type { Surface } from '../core/commands.js';
import { recoveryCodesText } from '../core/dispatcher-actions.js';
import type { InboundAdapter } from '../core/inbound-adapter.js';
import type { Reply, Screen, ScreenRenderers } from '../core/replies.js';
import { ADAPTIVE_CARD_CONTENT_TYPE, approvalCard, attachment, credentialsWaitingCard, escapeMarkdown, requestFormCard, requestReceivedCard, type AdaptiveCard } from './teams-cards.js';

/** Rich text as Teams markdown: one renderer for every Teams text (teams-markdown.ts). */
export const teamsMarkdown = (value: RichText): string => richParagraphs(value).text;

/** What a reply says, as one markdown text (paragraphs). */
export const replyMarkdown = (reply: Pick<Reply, 'say'>) => reply.say.map(teamsMarkdown).join('\n\n');

/** What a reply says, as plain text: Universal Actions' message answers show no markdown. */
export const replyPlain = (reply: Pick<Reply, 'say'>) => reply.say.map((said) => plainText(said, (id) => id)).join(' ');

/** `dbaccess …` in a chat (an @mention in a channel); people by their sign-in (email). */
export const TEAMS_SURFACE: Surface = {
  prefix: 'dbaccess',
  personHint: '<email>',
  person: (word) => (/^[^\s@<>]+@[^\s@<>]+$/.test(word) ? word.toLowerCase() : undefined),
};

const CARD = { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5' } as const;

/** A card of one text (already markdown). */
export function noticeCard(markdown: string): AdaptiveCard {
  return { ...CARD, body: [{ type: 'TextBlock', text: markdown, wrap: true }] } as AdaptiveCard;
}

/** A card with a notice on top, in the attention colour (a refusal, a wrong code, an outcome). */
export function withNotice(card: AdaptiveCard, markdown: string): AdaptiveCard {
  if (!markdown) return card;
  return { ...card, body: [{ type: 'TextBlock', text: markdown, wrap: true, color: 'Attention', weight: 'Bolder' } as AdaptiveCard['body'][number], ...card.body] };
}

/** The authenticator set-up: the secret and its otpauth URI (in this 1:1 chat only), then a first code. */
export function mfaEnrollmentCard(secret: string, otpauthUri: string): AdaptiveCard {
  return {
    ...CARD,
    body: [
      { type: 'TextBlock', text: 'Set up your second factor', weight: 'Bolder', size: 'Medium', wrap: true },
      { type: 'TextBlock', text: 'Add this key to an authenticator app (or open the otpauth link on your phone), then enter the 6-digit code it shows.', wrap: true },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: secret, fontType: 'Monospace' }] },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: otpauthUri, fontType: 'Monospace' }] },
      { type: 'Input.Text', id: 'code', label: 'Code from your authenticator', maxLength: 10 },
    ],
    actions: [{ type: 'Action.Execute', title: 'Confirm', verb: 'mfaConfirm', data: {} }],
  } as unknown as AdaptiveCard;
}

/** What a click or a message said, on top of the card it shows (a quiet reply is left to the card). */
const saidOn = (reply: Reply) => (reply.quiet && reply.ok ? '' : replyMarkdown(reply));

/** The card of each screen a reply can show, with what it says on top. */
const SCREENS = {
  requestForm: (show) => requestFormCard(show.catalog, show.state),
  formErrors: (show) => requestFormCard(show.catalog, { draft: show.draft, errors: show.errors, unavailable: show.unavailable }),
  received: (show) => requestReceivedCard(show.request),
  requestCard: (show, reply) => (show.request ? withNotice(approvalCard(show.request), saidOn(reply)) : noticeCard(escapeMarkdown(`Request ${show.requestId} was not found.`))),
  credentialsWaiting: (show, reply) => (show.request ? withNotice(credentialsWaitingCard(show.request), saidOn(reply)) : noticeCard(saidOn(reply))),
  mfaSetup: (show) => mfaEnrollmentCard(show.secret, show.otpauthUri),
  recoveryCodes: (show) => noticeCard(teamsMarkdown(recoveryCodesText(show.codes))),
} satisfies ScreenRenderers<AdaptiveCard>;

/** The card a reply shows; undefined when it shows only text. */
export function replyCard(reply: Reply): AdaptiveCard | undefined {
  return reply.show ? (SCREENS[reply.show.kind] as (show: Screen, reply: Reply) => AdaptiveCard)(reply.show, reply) : undefined;
}

/** Teams' inbound side, as the compiler checks it. */
export const teamsInbound = {
  surface: TEAMS_SURFACE,
  renderText: teamsMarkdown,
  renderReply: (reply) => replyMarkdown(reply) || undefined,
  screens: SCREENS,
} satisfies InboundAdapter<AdaptiveCard>;

export const cardResponse = (card: AdaptiveCard): AdaptiveCardInvokeResponse => ({ statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: attachment(card).content as unknown as Record<string, unknown> });
/**
 * A short message instead of a new card: for clicks whose result a job draws on the same message a
 * moment later (End, Extend, Reveal). A replacement card could arrive after the job's and hide it.
 */
export const messageResponse = (text: string): AdaptiveCardInvokeResponse => ({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text as unknown as Record<string, unknown> });
/** Universal Actions' error answer: Teams shows it to the person and leaves the card as it was. */
export const errorResponse = (message: string): AdaptiveCardInvokeResponse => ({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message } });
