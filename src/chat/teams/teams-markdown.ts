import { renderRich, splitLines, visible, type RichText, type RichValue } from '../../lib/rich-text.js';
import type { Icon, Line } from '../core/request-presenter.js';

/**
 * Teams' TextBlock markdown, escaped by construction: `md` escapes whatever it interpolates, and
 * RichText is rendered part by part (people by their id or email, code as escaped text: TextBlocks
 * have no code span). No Slack markup is ever read or stripped here: modules send none.
 */

// ---- Markdown that cannot be injected ------------------------------------------------------------

/** Text that is safe to put in a TextBlock: our own markup, with every interpolated value escaped. */
export class Markdown {
  readonly #brand = 'markdown';
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}


/**
 * Escapes text for Teams' TextBlock markdown: emphasis, links, code, list, heading and rule markers
 * get a backslash; `<` and `>` become their full-width forms, because Teams reads `<at>…</at>` as a
 * mention before any markdown does and a backslash does not stop it in every client. Inline (default),
 * newlines become spaces so a value cannot fake a line of the card; `multiline` keeps them as
 * paragraph breaks (Teams needs a blank line for a visible break outside lists).
 */
export function escapeMarkdown(text: string, { multiline = false }: { multiline?: boolean } = {}): string {
  const clean = visible(text.replace(/\r\n?/g, '\n').replace(/\t/g, ' '));
  if (!multiline) return escapeLine(clean.replace(/\s*\n\s*/g, ' '));
  return clean
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line, index, lines) => line !== '' || (index > 0 && lines[index - 1] !== ''))
    .map(escapeLine)
    .join('\n\n')
    .trim();
}

function escapeLine(line: string): string {
  return line
    .replace(/[\\`*_[\]~]/g, '\\$&')
    .replace(/</g, '＜')
    .replace(/>/g, '＞')
    .replace(/^(\s*)([#+=|-])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

type MarkdownValue = string | number | Markdown | RichText;

/** Tagged template: the literal parts are our markup, every `${value}` is escaped unless it is Markdown. */
export function md(strings: TemplateStringsArray, ...values: MarkdownValue[]): Markdown {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += (value instanceof Markdown ? value.text : typeof value === 'object' ? richMarkdown(value).text : escapeMarkdown(String(value))) + (strings[index + 1] ?? '');
  });
  return new Markdown(text);
}

/** Untrusted text of several lines (a reason, a model's summary), each line escaped. */
export const paragraphs = (text: string) => new Markdown(escapeMarkdown(text, { multiline: true }));
export const joinMarkdown = (parts: Markdown[], separator: string) => new Markdown(parts.map((part) => part.text).join(separator));

/** A person, shown by their platform id (an email address for Teams users). */
export function mention(externalId: string): Markdown {
  return md`${externalId}`;
}


export const TEAMS_ICONS: Record<Icon, string> = {
  waiting: '⏳', approved: '✅', breakGlass: '🚨', active: '🔓', denied: '⛔', expired: '⌛', cancelled: '✖️', warning: '⚠️',
  ending: '🔒', alarm: '🚨', ended: '🔒', extended: '⏳', key: '🔑', mfa: '🔐', door: '🚪', received: '📨', info: 'ℹ️', clock: '🕒',
};

/** Only our own pages are linked, and only with an address that cannot break out of the link. */
const SAFE_URL = /^https?:\/\/[^\s()<>[\]`\\]+$/;

/** Rich text as one line of TextBlock markdown. */
export function richMarkdown(value: RichValue): Markdown {
  return new Markdown(renderRich(value, {
    text: (part) => escapeMarkdown(part.text),
    strong: (part) => {
      const inner = escapeMarkdown(part.text).trim();
      return inner ? `**${inner}**` : '';
    },
    code: (part) => escapeMarkdown(part.text),
    person: (part) => mention(part.id).text,
    group: (part) => mention(part.id).text,
    link: (part) => (SAFE_URL.test(part.url) ? `[${escapeMarkdown(part.text)}](${part.url})` : escapeMarkdown(part.text)),
  }));
}

/** Several lines of rich text (a policy, a report) as paragraphs; a line starting with `• ` becomes a list item. */
export function richParagraphs(value: RichValue): Markdown {
  const lines = splitLines(value).map((line) => {
    const first = line.parts[0];
    if (first?.kind === 'text' && first.text.startsWith('• ')) {
      return `- ${richMarkdown({ parts: [{ kind: 'text', text: first.text.slice(2) }, ...line.parts.slice(1)] }).text}`;
    }
    return richMarkdown(line).text;
  }).filter(Boolean);
  // List items stay together; other lines need a blank line to show as lines.
  return new Markdown(lines.reduce((all, item, index) => (index === 0 ? item : `${all}${item.startsWith('- ') && lines[index - 1]!.startsWith('- ') ? '\n' : '\n\n'}${item}`), ''));
}

/** One line of the presenter: icon, then text. */
export const teamsLine = (line: Line): Markdown => new Markdown(`${line.icon ? `${TEAMS_ICONS[line.icon]} ` : ''}${richMarkdown(line.text).text}`);
/** A status line's segments, joined with ` · `. */
export const teamsSegments = (lines: readonly Line[]): Markdown => joinMarkdown(lines.map(teamsLine), ' · ');
