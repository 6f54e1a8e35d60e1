import { renderRich, splitLines, visible, type RichValue } from '../../lib/rich-text.js';
import type { Icon, Line } from '../core/request-presenter.js';

/**
 * Rich text as Slack mrkdwn. Every piece of text is escaped here, whoever wrote it: `& < >` become
 * entities (no mention, channel ping or link can be formed), and the characters that open formatting
 * are replaced by look-alikes that do not (backtick, `*`, `~`, and `_` at the start of a word), so a
 * value shows as the words it is. People become `<@id>` only for a Slack user id; code is a backtick
 * span whose value cannot close it.
 */

export const SLACK_ICONS: Record<Icon, string> = {
  waiting: ':hourglass_flowing_sand:', approved: ':white_check_mark:', breakGlass: ':rotating_light:', active: ':unlock:',
  denied: ':no_entry:', expired: ':hourglass:', cancelled: ':heavy_multiplication_x:', warning: ':warning:', ending: ':lock:',
  alarm: ':rotating_light:', ended: ':lock:', extended: ':hourglass_flowing_sand:', key: ':key:', mfa: ':closed_lock_with_key:',
  door: ':door:', received: ':incoming_envelope:', info: ':information_source:', clock: ':clock3:',
};

const entities = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Text for mrkdwn: no entity, mention, link or formatting can come out of it. Newlines stay unless `inline`. */
export function escapeMrkdwn(value: string, { inline = false } = {}): string {
  const text = visible(inline ? value.replace(/\s*[\r\n]+\s*/g, ' ') : value);
  return entities(text)
    .replace(/`/g, 'ˋ')
    .replace(/\*/g, '∗')
    .replace(/~/g, '∼')
    .replace(/(?<![\p{L}\p{N}])_/gu, '＿');
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{1,19}$/;
const SLACK_GROUP_ID = /^S[A-Z0-9]{1,19}$/;
const SAFE_URL = /^https?:\/\/[^\s<>|`]+$/;

export function mrkdwnOf(value: RichValue, options: { inline?: boolean } = {}): string {
  return renderRich(value, {
    text: (part) => escapeMrkdwn(part.text, options),
    strong: (part) => {
      const inner = escapeMrkdwn(part.text, { inline: true }).trim();
      return inner ? `*${inner}*` : '';
    },
    code: (part) => {
      const inner = entities(visible(part.text).replace(/[\r\n]+/g, ' ')).replace(/`/g, 'ˋ');
      return inner.trim() ? `\`${inner}\`` : escapeMrkdwn(part.text, { inline: true });
    },
    person: (part) => (SLACK_USER_ID.test(part.id) ? `<@${part.id}>` : escapeMrkdwn(part.id, { inline: true })),
    group: (part) => (SLACK_GROUP_ID.test(part.id) ? `<!subteam^${part.id}>` : escapeMrkdwn(part.id, { inline: true })),
    link: (part) => (SAFE_URL.test(part.url) ? `<${entities(part.url)}|${escapeMrkdwn(part.text, { inline: true }).replace(/\|/g, '¦')}>` : escapeMrkdwn(part.text, { inline: true })),
  });
}

/** One line of a presenter: its icon, then its text, on one line. */
export const slackLine = (line: Line): string => `${line.icon ? `${SLACK_ICONS[line.icon]} ` : ''}${mrkdwnOf(line.text, { inline: true })}`;
/** A status line's segments, joined as Slack has always shown them. */
export const slackSegments = (lines: readonly Line[]): string => lines.map(slackLine).join(' · ');
/** Several lines of rich text (a policy, a report), each line rendered inline. */
export const slackLines = (value: RichValue): string => splitLines(value).map((line) => mrkdwnOf(line, { inline: true })).join('\n');

/** The inside of a ``` block: shown verbatim, but it cannot close the block nor form an entity, mention or link. */
export const codeBlock = (value: string): string => entities(visible(value)).replace(/`/g, 'ˋ');
