import { codeOf, escapeRegExp, personalData } from './session-check-helpers.js';
import type { Resolved, Seen, SessionRuleInput } from './session-types.js';

/**
 * Tables read only to pick the rows of a change in scope, or of a read of tables in scope: `UPDATE order_lines ol JOIN products p ON ...
 * SET ol.tax_code = 'R7' WHERE p.sku = 'BK-1'`, `DELETE FROM leads WHERE source_id IN (SELECT id FROM
 * sources WHERE name = 'spam')`. Nothing of them is read out or copied into the change: reviewers call
 * that ordinary, and the rules note it rather than flag it. A table whose values the change writes (its
 * columns or a subquery of it in the SET: `SET note = c.card_number`) is read outside the scope, and so
 * is one of personal data or secrets (`WHERE requester_id IN (SELECT id FROM people WHERE phone = ...)`).
 */
export function onlyPicksRows(s: Seen, o: Resolved, input: SessionRuleInput): boolean {
  // A lookup in personal data or secrets outside the scope still reads them: who has that phone, whose key that is.
  if (o.inScope || o.access !== 'read' || !['select', 'update', 'delete'].includes(s.statement.kind) || personalData(o) || SENSITIVE_TAGS.some((tag) => o.tags.has(tag))) return false;
  // A read that names the table only in its WHERE (`WHERE id IN (SELECT subscriber_id FROM email_bounces ...)`)
  // returns rows of the tables in scope, picked by it.
  if (s.statement.kind === 'select') {
    const code = codeOf(s, input).toLowerCase();
    const at = code.search(/\bwhere\b/);
    const name = new RegExp(`(?:^|[^\\w])${escapeRegExp(o.name.toLowerCase())}(?:[^\\w]|$)`);
    const inSubquery = new RegExp(`(?:\\bin|\\bexists|=|\\bany|\\ball)\\s*\\(\\s*select\\b[^()]*?\\bfrom\\s+(?:[\\w"\`]+\\s*\\.\\s*)?["\`]?${escapeRegExp(o.name.toLowerCase())}\\b`);
    return at > 0 && !/\b(?:union|intersect|except)\b/.test(code) && !name.test(code.slice(0, at)) && inSubquery.test(code.slice(at)) && s.objects.some((other) => other !== o && other.access === 'read' && other.inScope && !other.system);
  }
  const written = s.objects.filter((other) => other.access === 'write');
  if (written.length === 0 || written.some((other) => !other.inScope)) return false;
  if (s.statement.kind === 'delete') return true;
  const code = codeOf(s, input).toLowerCase();
  const set = setValues(code);
  const name = o.name.toLowerCase();
  const named = new RegExp(`(?:^|[^\\w.])(?:[\\w"\`]+\\s*\\.\\s*)?["\`]?${escapeRegExp(name)}["\`]?\\s+(?:as\\s+)?(\\w+)`, 'g');
  const own = new Set([name, ...[...code.matchAll(named)].map((match) => match[1]!).filter((alias) => !NOT_ALIASES.has(alias))]);
  const qualifiers = new Set([...set.matchAll(/(\w+)["`]?\s*\.\s*["`]?\w/g)].map((match) => match[1]!));
  return ![...own].some((alias) => qualifiers.has(alias)) && !new RegExp(`(?:^|[^\\w])${escapeRegExp(name)}(?:[^\\w]|$)`).test(set);
}

/** An UPDATE's SET list: after SET, up to its FROM, WHERE or RETURNING outside parentheses. */
function setValues(code: string): string {
  const start = code.search(/\bset\b/);
  if (start < 0) return '';
  let depth = 0;
  for (let at = start + 3; at < code.length; at++) {
    const char = code[at]!;
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (depth === 0 && /\W/.test(code[at - 1]!) && /^(?:from|where|returning)\b/.test(code.slice(at))) return code.slice(start + 3, at);
  }
  return code.slice(start + 3);
}

const SENSITIVE_TAGS = ['secret', 'secrets', 'credentials', 'financial'];
const NOT_ALIASES = new Set(['on', 'set', 'where', 'join', 'inner', 'left', 'right', 'using', 'from', 'and', 'or', 'as', 'limit', 'order', 'group']);
