import { renderRich, type InlineRenderer, type RichText } from '../../lib/rich-text.js';
import type { Surface } from '../core/commands.js';
import type { Reply } from '../core/replies.js';

/** Slack's control characters in text: neutralised, so a value can never ping, link or format. */
const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Rich text as Slack mrkdwn. Inside a code span, only what would start a mention, a channel ping or a
 * link is neutralised: usage texts keep their readable `<request id>`.
 */
const MRKDWN: InlineRenderer = {
  text: ({ text }) => escape(text),
  strong: ({ text }) => `*${escape(text)}*`,
  code: ({ text }) => `\`${text.replace(/`/g, 'ˋ').replace(/<(?=[@!#]|[a-z][a-z0-9+.-]*:)/gi, '&lt;')}\``,
  person: ({ id }) => `<@${id}>`,
  link: ({ url, text }) => `<${url}|${escape(text)}>`,
};

export const slackText = (value: RichText): string => renderRich(value, MRKDWN);

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
