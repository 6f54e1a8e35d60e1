import { codeSpans, type Inline, type RichText } from '../../lib/rich-text.js';

/**
 * A module text that is still a plain string (a usage line, a short refusal) becomes rich text with
 * its backtick spans as code and nothing else read: no mention, link or emphasis can come out of a
 * string, whatever it holds. Module texts that are already rich text pass through unchanged.
 */
export function fromModule(value: string | RichText): RichText {
  return typeof value === 'string' ? codeSpans(value) : value;
}

/**
 * The insights recommendations' sentences, which name people as `<@id>` (`insightsNaming`) and
 * commands in backticks, read back into rich text. Only for those: any other string goes through
 * `fromModule`, which reads no mention.
 */
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
