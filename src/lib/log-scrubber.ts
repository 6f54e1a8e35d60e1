import { REDACTED, isSecret, redactKnownSecrets } from './secret.js';

/**
 * The one scrubber every log line goes through (src/lib/logger.ts calls it on the arguments, the
 * child bindings and, for registered values, on the finished line). Two nets:
 * - values: every secret registered (a `Secret` made, configuration tokens, MASTER_KEY, admin
 *   passwords) is removed in any of its encodings;
 * - shapes: what looks like a secret wherever it came from (an SDK's debug dump of a request body):
 *   passwords in URLs, form and JSON fields, `key: value` text, SQL; Bearer/Basic credentials; Slack,
 *   Anthropic and Vault tokens; JWTs; otpauth:// URIs; recovery codes as the project makes them.
 * Errors keep only fields known to be safe (see `safeError`), never the objects hung on them (a pg
 * client with its connection password and backend secret key, an HTTP request with its headers).
 */

/** Field names whose values are secrets, wherever they sit. */
const SECRET_KEY = /password|passwd|^pwd$|^pass$|secret|token|api[-_]?key|authorization|cookie|credential|connection[-_]?string|admin[-_]?url|master[-_]?key|private[-_]?key|recovery[-_]?codes?|otpauth|signature/i;
/** ... except counts that merely share a word (a model's `input_tokens`). */
const NOT_SECRET_KEY = /tokens$|tokens?[-_]?(count|used|left)$/i;

export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);

const KEYS = 'password|passwd|pwd|pass|secret|secretKey|secret_key|client_secret|clientSecret|token|access_token|accessToken|refresh_token|id_token|api_key|apiKey|x-api-key|x-vault-token|authorization|cookie|signing_secret|signingSecret|bot_token|botToken|appPassword|otpauthUri|adminUrl|connectionString|masterKey|MASTER_KEY';

/** The recovery codes `src/modules/mfa/mfa-codes.ts` makes: `xxxx-xxxx-xxxx` from its alphabet. */
const RECOVERY_SYMBOL = '[abcdefghjkmnpqrstuvwxyz23456789]';
const RECOVERY_CODE = new RegExp(`(?<![A-Za-z0-9-])${RECOVERY_SYMBOL}{4}-${RECOVERY_SYMBOL}{4}-${RECOVERY_SYMBOL}{4}(?![A-Za-z0-9-])`, 'gi');

const SHAPES: Array<[RegExp, string]> = [
  // postgres://user:pass@host, also URL-encoded inside a form body.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:\s/@"'\\]*:)[^@\s"'\\]*@/gi, `$1${REDACTED}@`],
  [/(%3A%2F%2F[^%\s&"'\\]*(?:%[0-9A-F]{2}[^%\s&"'\\]*)*?%3A)[^\s&"'\\]*?%40/gi, `$1${REDACTED}%40`],
  [/\b(Bearer)(\s+|%20|\+)[A-Za-z0-9._~+/=-]{6,}/gi, `$1$2${REDACTED}`],
  [/\bxox[a-z]-[A-Za-z0-9-]+/g, REDACTED],
  [/\bxapp-[A-Za-z0-9-]+/g, REDACTED],
  [/\bsk-ant-[A-Za-z0-9_-]+/g, REDACTED],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{10,}/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/otpauth(?:-migration)?:\/\/[^\s"'<>`|\\]+/gi, REDACTED],
  [/otpauth(?:-migration)?%3A%2F%2F[^\s"'&\\]+/gi, REDACTED],
  [/([?&]secret=)[^&\s"'\\]+/gi, `$1${REDACTED}`],
  [RECOVERY_CODE, REDACTED],
  // SQL that carries a password or a verifier.
  [/(\bPASSWORD\s+|\bIDENTIFIED\s+(?:WITH\s+\w+\s+)?(?:BY|AS)\s+(?:PASSWORD\s+)?)'(?:[^']|'')*'/gi, `$1'${REDACTED}'`],
  // JSON fields, also escaped once or more inside another JSON string ("password":"x", \"password\":\"x\").
  [new RegExp(`((\\\\*)"(?:${KEYS})\\2"\\s*:\\s*\\2")(?:(?!\\2").)*\\2"`, 'gi'), `$1${REDACTED}$2"`],
  [new RegExp(`((\\\\*)"(?:${KEYS})\\2"\\s*:\\s*)-?\\d+`, 'gi'), `$1"${REDACTED}"`],
  // key=value and key: value, as forms, command lines, util.inspect and prose write them.
  [new RegExp(`(\\b(?:${KEYS})['"]?\\s*[:=]\\s*)(?:'[^']*'|"[^"]*"|[^\\s,;&}'"\\]]+)`, 'gi'), `$1${REDACTED}`],
];

/**
 * HTTP Basic credentials: base64 of `user:password`. A word after "Basic" is one when it decodes to
 * something with a colon, or is not a plain word (digits, + / =): "Basic Information" stays readable.
 */
const BASIC = /\b(Basic)(\s+|%20|\+)([A-Za-z0-9._~+/=-]{6,})/gi;
const basicCredential = (whole: string, word: string, gap: string, value: string) =>
  /[0-9+/=]/.test(value) || Buffer.from(value, 'base64').toString('latin1').includes(':') ? `${word}${gap}${REDACTED}` : whole;

/** A string with every registered secret and every secret-shaped part replaced by `[redacted]`. */
export function scrubText(text: string): string {
  let out = redactKnownSecrets(text).replace(BASIC, basicCredential);
  for (const [pattern, replacement] of SHAPES) out = out.replace(pattern, replacement);
  return out;
}

/** The fields of an error that never carry a secret: what went wrong and its codes (SQLSTATE for pg). */
const SAFE_ERROR_FIELDS = ['code', 'errno', 'sqlState', 'syscall', 'severity', 'status', 'statusCode'] as const;
const MAX_DEPTH = 8;
const MAX_ITEMS = 200;

/**
 * An error as a plain object of safe fields: type, message, codes, stack, cause, scrubbed. A pg
 * error's `client` (pg-pool hangs it there, with the connection password and the backend's
 * `secretKey`), a mysql2 error's `sql`, an HTTP error's request and headers are left behind.
 */
export function safeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrubText(String(error)) };
  const out: Record<string, unknown> = { type: error.name || error.constructor?.name || 'Error', message: scrubText(String(error.message)) };
  const fields = error as unknown as Record<string, unknown>;
  for (const field of SAFE_ERROR_FIELDS) {
    const value = fields[field];
    if (typeof value === 'number' || typeof value === 'boolean') out[field] = value;
    else if (typeof value === 'string') out[field] = scrubText(value.slice(0, 200));
  }
  const response = fields.response as { statusCode?: unknown } | undefined;
  if (out.statusCode === undefined && typeof response?.statusCode === 'number') out.statusCode = response.statusCode;
  if (typeof error.stack === 'string') out.stack = scrubText(error.stack);
  if (depth < 3 && error.cause !== undefined) out.cause = safeError(error.cause, depth + 1);
  if (depth < 3 && error instanceof AggregateError) out.errors = error.errors.slice(0, 5).map((inner: unknown) => safeError(inner, depth + 1));
  return out;
}

const isPlain = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * A copy of any value fit for a log line: strings scrubbed, `Secret`s and secret-named fields
 * `[redacted]`, errors as `safeError`, plain objects and arrays walked; other objects (clients,
 * sockets, requests) only as what is safe of them, never walked.
 */
export function scrubValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? '[function]' : value;
  if (isSecret(value)) return REDACTED;
  if (value instanceof Error) return safeError(value);
  if (value instanceof Date) return value;
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => scrubValue(item, depth + 1, seen));
    if (isPlain(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) out[key] = isSecretKey(key) && inner !== undefined && inner !== null && typeof inner !== 'boolean' ? REDACTED : scrubValue(inner, depth + 1, seen);
      return out;
    }
    const record = value as Record<string, unknown>;
    if (typeof record.toJSON === 'function') return scrubValue((record.toJSON as () => unknown)(), depth + 1, seen);
    // An HTTP request or reply (Fastify logs them under req/res): what it was, not its headers.
    if (typeof record.method === 'string' && typeof record.url === 'string') return { method: record.method, url: scrubText(record.url) };
    if (typeof record.statusCode === 'number') return { statusCode: record.statusCode };
    return `[${value.constructor?.name ?? 'object'}]`;
  } finally {
    seen.delete(value);
  }
}
