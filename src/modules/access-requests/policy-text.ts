import { code, isRichText, person, strong, type Inline, type RichText } from '../../lib/rich-text.js';

/**
 * The policy evaluator's explanations as rich text. They are becoming RichText (passed through as
 * they are); until then they are strings in which the evaluator itself wrote `<@id>`, `` `name` ``
 * and `*word*` around catalog values. Only those three forms are read (ids as Slack and Teams write
 * them, no link form); everything else stays plain text that each adapter escapes.
 */
export function policyText(value: string | RichText): RichText {
  if (isRichText(value)) return value;
  const parts: Inline[] = [];
  const pattern = /<@([A-Za-z0-9._@+-]{1,64})(?:\|[^>]{0,80})?>|`([^`\n]{1,300})`|\*([^*\n]{1,200})\*/g;
  let last = 0;
  for (const match of value.matchAll(pattern)) {
    if (match.index > last) parts.push({ kind: 'text', text: value.slice(last, match.index) });
    parts.push(match[1] !== undefined ? person(match[1]) : match[2] !== undefined ? code(match[2]) : strong(match[3]!));
    last = match.index + match[0].length;
  }
  if (last < value.length) parts.push({ kind: 'text', text: value.slice(last) });
  return { parts };
}
