import type { RichText } from '../../lib/rich-text.js';
import { slackLines } from './slack-rich.js';
import type { Surface } from '../core/commands.js';
import { recoveryCodesText } from '../core/dispatcher-actions.js';
import type { InboundAdapter } from '../core/inbound-adapter.js';
import type { Reply, Screen, ScreenRenderers } from '../core/replies.js';
import { onForm } from './listeners/context.js';
import { mfaEnrollmentBlocks, requestModal } from './slack-blocks.js';

/** Rich text as Slack mrkdwn: one renderer for every Slack message (slack-rich.ts). */
export const slackText = (value: RichText): string => slackLines(value);

/** What a reply says, as one mrkdwn message (undefined when it says nothing). */
export function renderReply(reply: Pick<Reply, 'say'>): string | undefined {
  return reply.say.length ? reply.say.map(slackText).join('\n') : undefined;
}

/** `/dbaccess …`; people are mentions (`<@U123|name>` as Slack sends them). */
export const SLACK_SURFACE: Surface = {
  prefix: '/dbaccess',
  personHint: '@person',
  person: (word) => /^<@([A-Z0-9]+)(\|[^>]*)?>$/.exec(word)?.[1],
};

/** What a screen becomes on Slack: a modal's view, errors under a form's fields, a DM, or nothing. */
export type SlackDraw =
  | { view: Record<string, unknown> }
  | { errors: Record<string, string> }
  | { dm: { text: string; blocks?: unknown[] } }
  | { nothing: true };

/** Where a screen is drawn: the form's revision (block ids carry it), and how to publish a QR code. */
export interface SlackDrawContext {
  revision: number;
  publishQr?: ((png: Buffer) => string | undefined) | undefined;
}

type Draw = (context: SlackDrawContext) => SlackDraw;

const SCREENS = {
  requestForm: (show) => ({ revision }) => ({ view: requestModal(show.catalog, { ...show.state, revision }) }),
  formErrors: (show) => ({ revision }) => ({ errors: onForm(show.errors, revision) }),
  // The receipt, the card and the credentials message are posted and redrawn by their jobs.
  received: () => () => ({ nothing: true }),
  requestCard: () => () => ({ nothing: true }),
  credentialsWaiting: () => () => ({ nothing: true }),
  mfaSetup: (show) => ({ publishQr }) => ({ dm: mfaEnrollmentBlocks(show.secret, show.otpauthUri, publishQr?.(show.qrPng)) }),
  recoveryCodes: (show) => () => ({ dm: { text: slackText(recoveryCodesText(show.codes)) } }),
} satisfies ScreenRenderers<Draw>;

/** How a reply's screen is drawn on Slack (nothing when it shows none). */
export function slackScreen(reply: Reply, context: SlackDrawContext): SlackDraw {
  return reply.show ? (SCREENS[reply.show.kind] as (show: Screen, reply: Reply) => Draw)(reply.show, reply)(context) : { nothing: true };
}

/** Slack's inbound side, as the compiler checks it. */
export const slackInbound = { surface: SLACK_SURFACE, renderText: slackText, renderReply, screens: SCREENS } satisfies InboundAdapter<Draw>;
