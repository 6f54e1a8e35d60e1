import type { Resolved, Seen, SessionFlag, SessionFlagCode, SessionRuleInput } from './session-types.js';
import { lex } from './sql-lexer.js';

/** What the session rules share: the shape of a rule, and how flags name what they point at. */

// Each rule returns its flags; messages are short and name what was done, never quote statement text.
export type Rule = (seen: Seen[], input: SessionRuleInput) => Array<SessionFlag | undefined>;

export const indexes = (list: Seen[]) => list.map((s) => s.index);
export const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
export function names(values: Iterable<string>, max = 5): string {
  const unique = [...new Set(values)].map((value) => (value.length > 60 ? `${value.slice(0, 57)}...` : value));
  return unique.length <= max ? unique.join(', ') : `${unique.slice(0, max).join(', ')} and ${unique.length - max} more`;
}
export const commands = (list: Seen[]) => names(list.map((s) => s.statement.command || 'unreadable statement'));
/**
 * Critical when any of them ran, described by those that ran; a warning when the server refused them
 * all. The flag points at every one of them.
 */
export function dangerous(code: SessionFlagCode, list: Seen[], ran: (those: Seen[]) => string, refused: (those: Seen[]) => string): SessionFlag | undefined {
  if (list.length === 0) return undefined;
  const done = list.filter((s) => s.ran);
  return { code, severity: done.length > 0 ? 'critical' : 'warning', message: done.length > 0 ? ran(done) : refused(list), statements: indexes(list) };
}
/** Tables capture reads from: changing them edits the record. */
export const capturedBy = (o: Resolved, input: SessionRuleInput) => o.schema !== undefined && input.dialect.isCaptureTable(o.schema.toLowerCase(), o.name.toLowerCase());
/** Personal data, as the rubric reads the catalog's tags: pii, and health, card and other personal data. */
const PERSONAL_TAGS = ['pii', 'phi', 'pci', 'personal'];
export const personalData = (o: Resolved) => PERSONAL_TAGS.some((tag) => o.tags.has(tag));
/** Columns that say who a row is about. */
export const IDENTIFIES = /\b(?:e_?mails?|phones?|phone_numbers?|mobile|name|first_?name|last_?name|full_?name|display_?name|user_?name|surname|address|street|ssn|birth_?date|date_of_birth|dob|iban)\b/i;
export const AGGREGATE = /\b(?:count|sum|avg|min|max|group_concat|string_agg|array_agg|percentile_cont|stddev|variance)\s*\(|\bgroup\s+by\b/i;
/** A select list without what its aggregates take: `country, count(DISTINCT email)` reads out countries. */
export const outsideAggregates = (list: string) => list.replace(/\b(?:count|sum|avg|min|max|stddev|variance)\s*\([^()]*\)/gi, ' ');
/** What a SELECT reads out: the text between its first SELECT and the FROM after it. */
export const selectList = (code: string) => /\bselect\b([\s\S]*?)\bfrom\b/i.exec(code)?.[1] ?? '';
export const onlyTemporary = (s: Seen) => s.objects.length > 0 && s.objects.every((o) => o.temp);
/** The code the lexer sees: comments removed, for text no parser could read. */
export const codeOf = (s: Seen, input: SessionRuleInput) => lex(input.dialect.lexical, s.statement.text).code;


export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
