import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/**
 * A secret value (a temporary password, an MFA key, a recovery code, a token) that cannot be
 * printed by accident: JSON, `util.inspect`, `String()` and template literals all give
 * `[redacted]`. The value comes out only through `reveal()`, at the point of use (the rendered DM,
 * the SCRAM verifier). Making one also registers its value, so that the log scrubber removes the
 * value from any line it reaches by another road (an SDK's debug dump of the message it was sent in).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    registerSecretValue(value);
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export const isSecret = (value: unknown): value is Secret => value instanceof Secret;

// ---- the registry of live secret values ----

/**
 * Values shorter than this are not looked for: a 3-character "secret" would blank out ordinary words.
 * Everything the project hands out is far longer (passwords 24, recovery codes 14, MFA keys 32).
 */
export const MIN_SECRET_LENGTH = 6;
/** Secrets handed to people (passwords, codes) are forgotten oldest first beyond this many. */
const MAX_TRANSIENT = 20_000;
/** The scrubber looks up candidates by their first characters. */
const PREFIX = 4;

const permanent = new Set<string>();
const transient = new Set<string>();
interface Form {
  text: string;
  /** Written as JSON escapes it (so it can be matched inside a serialised JSON line). */
  jsonSafe: boolean;
}

/**
 * Registers a value the log must never contain, in every form it may be written in: as is,
 * URL- and form-encoded, base64/base64url, and escaped once or twice for JSON (a DM's blocks are a
 * JSON string inside a JSON body). `permanent` for configuration (tokens, MASTER_KEY, admin
 * passwords); otherwise it is forgotten after MAX_TRANSIENT newer ones.
 */
export function registerSecretValue(value: string, options: { permanent?: boolean } = {}): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
  if (permanent.has(value)) return;
  if (options.permanent) {
    transient.delete(value);
    permanent.add(value);
    addToIndex(value);
    return;
  }
  if (transient.has(value)) return;
  transient.add(value);
  addToIndex(value);
  if (transient.size > MAX_TRANSIENT) {
    const oldest = transient.values().next().value;
    if (oldest !== undefined) {
      transient.delete(oldest);
      removeFromIndex(oldest);
    }
  }
}

const json = (text: string) => JSON.stringify(text).slice(1, -1);

/** Every form a value may take in a log line. */
export function secretForms(value: string): string[] {
  return [...formsOf(value).keys()];
}

function formsOf(value: string): Map<string, boolean> {
  const base = [value, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+'), Buffer.from(value).toString('base64').replace(/=+$/, ''), Buffer.from(value).toString('base64url')];
  const forms = new Map<string, boolean>();
  for (const form of base) {
    if (!forms.has(form)) forms.set(form, form === json(form));
    forms.set(json(form), true);
    forms.set(json(json(form)), true);
  }
  for (const form of forms.keys()) if (form.length < PREFIX) forms.delete(form);
  return forms;
}

/** prefix -> the registered forms starting with it, longest first. */
const index = new Map<string, Form[]>();
/** How many prefixes start with each pair of characters: most positions of a line are passed over on this alone. */
const pairs = new Map<number, number>();
const pairOf = (text: string, at: number) => text.charCodeAt(at) * 65_536 + text.charCodeAt(at + 1);

/** Kept up to date one value at a time: registering a password costs the same with 10 or 20,000 others. */
function addToIndex(value: string): void {
  for (const [text, jsonSafe] of formsOf(value)) {
    const key = text.slice(0, PREFIX);
    const list = index.get(key) ?? [];
    const known = list.find((form) => form.text === text);
    if (known) known.jsonSafe ||= jsonSafe;
    else {
      list.push({ text, jsonSafe });
      list.sort((a, b) => b.text.length - a.text.length);
    }
    if (list.length === 1) pairs.set(pairOf(key, 0), (pairs.get(pairOf(key, 0)) ?? 0) + 1);
    index.set(key, list);
  }
}

function removeFromIndex(value: string): void {
  for (const text of formsOf(value).keys()) {
    const key = text.slice(0, PREFIX);
    const known = index.get(key);
    if (!known) continue;
    const list = known.filter((form) => form.text !== text);
    if (list.length > 0) {
      index.set(key, list);
    } else {
      index.delete(key);
      const pair = pairOf(key, 0);
      const left = (pairs.get(pair) ?? 1) - 1;
      if (left > 0) pairs.set(pair, left);
      else pairs.delete(pair);
    }
  }
}

/**
 * Replaces every registered secret (in any of its forms) in `text` with `[redacted]`. One pass,
 * looking up candidates by the 4 characters at each position, so its cost does not grow with the
 * number of secrets registered.
 */
export function redactKnownSecrets(text: string, { jsonSafe = false }: { jsonSafe?: boolean } = {}): string {
  if (text.length < PREFIX) return text;
  const lookup = index;
  if (lookup.size === 0) return text;
  let out = '';
  let copied = 0;
  // In a JSON line: replace only inside strings (a number or key outside one is not ours to touch).
  let inString = false;
  let escaped = false;
  for (let at = 0; at < text.length; ) {
    const candidates = at + PREFIX <= text.length && (!jsonSafe || (inString && !escaped)) && pairs.has(pairOf(text, at)) ? lookup.get(text.slice(at, at + PREFIX)) : undefined;
    // Inside a serialised JSON line only whole escape sequences may be replaced, or the line would
    // stop being JSON: there only the escaped forms match, and only at the start of a character.
    const found = candidates?.find((form) => text.startsWith(form.text, at) && (!jsonSafe || form.jsonSafe));
    if (found) {
      out += text.slice(copied, at) + REDACTED;
      at += found.text.length;
      copied = at;
      continue;
    }
    if (jsonSafe) {
      const char = text[at];
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = !inString;
    }
    at += 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** For tests of the registry itself. */
export function registeredSecretCount(): number {
  return permanent.size + transient.size;
}

/**
 * Registers what a reference resolved to: the password of a connection string
 * (`postgres://user:pass@host`) and the string with it; anything that is not a connection string
 * (an integration's token or webhook secret) as a whole.
 */
export function registerConnectionSecrets(url: string | undefined): void {
  if (!url) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL (a reference resolved to something else): all of it is the secret.
    registerSecretValue(url, { permanent: true });
    return;
  }
  if (parsed.password) {
    registerSecretValue(url, { permanent: true });
    registerSecretValue(parsed.password, { permanent: true });
    registerSecretValue(decodeURIComponent(parsed.password), { permanent: true });
  } else if (!parsed.host) {
    // `whsec:9d2b…` parses as a URL of scheme `whsec` with no host: a token with a colon, not a connection string.
    registerSecretValue(url, { permanent: true });
  }
}
