/**
 * Text that modules hand to people, with no platform markup in it. A module never writes `<@U1>`,
 * mrkdwn or Teams markdown: it writes `rich\`${person(id)} may read ${code(table)}\``, and each chat
 * adapter renders the parts in its own syntax and escapes every piece of text itself, so a value
 * (a reason, a table name, a model's summary) can never become a mention, a link or markup.
 *
 * The value is plain data (JSON round-trips it), so it can be stored and rendered later.
 */

export type Inline =
  /** Text shown as it is; the adapter escapes it. */
  | { kind: 'text'; text: string }
  /** Text to show emphasised. */
  | { kind: 'strong'; text: string }
  /** An identifier, SQL, a command or anything to be copied exactly: shown in a monospace span. */
  | { kind: 'code'; text: string }
  /** A person, by their chat platform id; the adapter shows a mention or a name. */
  | { kind: 'person'; id: string }
  /** A group of people the platform can mention as one (a Slack user group), by its platform id. */
  | { kind: 'group'; id: string }
  /** A link to one of our own pages (never a user-supplied address). */
  | { kind: 'link'; url: string; text: string };

export interface RichText {
  readonly parts: readonly Inline[];
}

export type RichValue = string | number | RichText | Inline;

const isRich = (value: unknown): value is RichText =>
  typeof value === 'object' && value !== null && Array.isArray((value as RichText).parts);

function toInlines(value: RichValue): Inline[] {
  if (typeof value === 'string') return value === '' ? [] : [{ kind: 'text', text: value }];
  if (typeof value === 'number') return [{ kind: 'text', text: String(value) }];
  if (isRich(value)) return [...value.parts];
  return [value];
}

/** Merges neighbouring text parts, so renderers and tests see `a b` rather than `a`, ` b`. */
function normalise(parts: Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const part of parts) {
    const last = out.at(-1);
    if (part.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + part.text };
    else if (!(part.kind === 'text' && part.text === '')) out.push(part);
  }
  return out;
}

/** Tagged template: literal parts and interpolated strings are both plain text; parts keep their kind. */
export function rich(strings: TemplateStringsArray, ...values: RichValue[]): RichText {
  const parts: Inline[] = toInlines(strings[0] ?? '');
  values.forEach((value, index) => parts.push(...toInlines(value), ...toInlines(strings[index + 1] ?? '')));
  return { parts: normalise(parts) };
}

export const text = (value: string): RichText => ({ parts: normalise([{ kind: 'text', text: value }]) });
export const strong = (value: string): Inline => ({ kind: 'strong', text: value });
export const code = (value: string): Inline => ({ kind: 'code', text: value });
export const person = (id: string): Inline => ({ kind: 'person', id });
export const group = (id: string): Inline => ({ kind: 'group', id });
export const link = (url: string, label: string): Inline => ({ kind: 'link', url, text: label });

/** Joins values with a plain-text separator. */
export function joinRich(values: readonly RichValue[], separator = ', '): RichText {
  const parts: Inline[] = [];
  values.forEach((value, index) => {
    if (index > 0) parts.push({ kind: 'text', text: separator });
    parts.push(...toInlines(value));
  });
  return { parts: normalise(parts) };
}

/** `a`, `a and b`, `a, b and c`. */
export function andList(values: readonly RichValue[]): RichText {
  if (values.length <= 1) return joinRich(values);
  return rich`${joinRich(values.slice(0, -1))} and ${values.at(-1)!}`;
}

/** `a`, `a or b`, `a, b or c`. */
export function orList(values: readonly RichValue[]): RichText {
  if (values.length <= 1) return joinRich(values);
  return rich`${joinRich(values.slice(0, -1))} or ${values.at(-1)!}`;
}

export const isRichText = isRich;

/**
 * The text with no markup at all: for logs, audit event details, CSV and the terminal.
 * People (and groups of people) appear as `@<id>` unless a name is given for them.
 */
export function plainText(value: RichValue, names: (id: string) => string | undefined = () => undefined): string {
  return toInlines(value)
    .map((part) => (part.kind === 'person' || part.kind === 'group' ? (names(part.id) ?? `@${part.id}`) : part.text))
    .join('');
}

/** Renders with one function per kind: what an adapter implements to show rich text its own way. */
export type InlineRenderer = { [K in Inline['kind']]: (part: Extract<Inline, { kind: K }>) => string };

export function renderRich(value: RichValue, render: InlineRenderer): string {
  return toInlines(value)
    .map((part) => (render[part.kind] as (p: Inline) => string)(part))
    .join('');
}

/**
 * Bidi overrides and isolates, zero-width and other control characters (not tab or newline): they
 * reorder or hide what a reader sees, so every renderer removes them from the text it shows.
 */
export const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
export const visible = (value: string): string => value.replace(INVISIBLE, '');

/** The value cut at the newlines of its text parts: one RichText per line, for renderers that lay out lines themselves. */
export function splitLines(value: RichValue): RichText[] {
  const lines: Inline[][] = [[]];
  for (const part of toInlines(value)) {
    if (part.kind !== 'text') {
      lines.at(-1)!.push(part);
      continue;
    }
    part.text.split(/\r\n?|\n/).forEach((piece, index) => {
      if (index > 0) lines.push([]);
      if (piece) lines.at(-1)!.push({ kind: 'text', text: piece });
    });
  }
  return lines.map((parts) => ({ parts }));
}

/**
 * A message kept as a string (a stored failure, a driver's error) in which names were put between
 * backticks: each backtick span becomes a code part, everything else stays text. Nothing else is read,
 * so no mention, link or emphasis can come out of it.
 */
export function codeSpans(value: string): RichText {
  const parts: Inline[] = value.split(/`([^`\n]+)`/).map((piece, index) => (index % 2 === 1 ? { kind: 'code', text: piece } : { kind: 'text', text: piece }));
  return { parts: normalise(parts) };
}
