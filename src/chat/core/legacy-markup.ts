import type { Inline, RichText } from '../../lib/rich-text.js';

/**
 * A bridge for module texts that still carry Slack's markup (`<@U1>`, `<url|label>`, `` `code` ``,
 * `*strong*`): they are read into the neutral rich text, so each adapter renders them its own way
 * (a mention on Slack, an email in Teams, a bare id in the console) instead of showing Slack syntax.
 * A module text that is already rich text passes through unchanged.
 */
export function fromModule(value: string | RichText): RichText {
  return typeof value === 'string' ? fromLegacyMarkup(value) : value;
}

const TOKEN = /<@([A-Za-z0-9._@+-]+)(?:\|[^>]*)?>|<(https?:[^|>\s]+)\|([^>]+)>|`([^`\n]+)`|(?<=^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g;

export function fromLegacyMarkup(input: string): RichText {
  const parts: Inline[] = [];
  let last = 0;
  const plain = (text: string) => {
    if (!text) return;
    const previous = parts.at(-1);
    if (previous?.kind === 'text') parts[parts.length - 1] = { kind: 'text', text: previous.text + text };
    else parts.push({ kind: 'text', text });
  };
  for (const match of input.matchAll(TOKEN)) {
    plain(input.slice(last, match.index));
    const [, id, url, label, codeText, strongText] = match;
    if (id) parts.push({ kind: 'person', id });
    else if (url) parts.push({ kind: 'link', url, text: label! });
    else if (codeText !== undefined) parts.push({ kind: 'code', text: codeText });
    else parts.push({ kind: 'strong', text: strongText! });
    last = match.index + match[0].length;
  }
  plain(input.slice(last));
  return { parts };
}
