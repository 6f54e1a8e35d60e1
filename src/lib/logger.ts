import { pino, type DestinationStream, type Logger } from 'pino';
import { safeError, scrubText, scrubValue } from './log-scrubber.js';
import { redactKnownSecrets } from './secret.js';

export type { Logger };

/** Keys whose values never reach a log line, wherever they sit in the object (a second net behind the scrubber). */
const REDACT = [
  'password', 'token', 'secret', 'authorization', 'connectionString', 'adminUrl', 'uri', 'url',
  '*.password', '*.token', '*.secret', '*.authorization', '*.connectionString', '*.adminUrl', '*.uri',
  'headers.authorization', 'headers["x-slack-signature"]', 'credentials', '*.credentials',
];

/** Where log lines go: stdout (the app), stderr (the CLI, whose stdout is its output), or a stream. */
export type LogDestination = 'stdout' | 'stderr' | DestinationStream;

/**
 * JSON lines; the CLI logs to stderr so that its own output (tables, --json) stays clean. Every
 * line is scrubbed (src/lib/log-scrubber.ts) at every level: the arguments of each call (messages,
 * objects, errors, whatever an SDK's debug output hands over), the child loggers' bindings, and,
 * for the values of registered secrets, the finished line itself.
 */
export function createLogger(level: string, destination: LogDestination = 'stdout'): Logger {
  const target = destination === 'stdout' ? pino.destination(1) : destination === 'stderr' ? pino.destination(2) : destination;
  const scrubbed: DestinationStream = {
    write: (line: string) => target.write(redactKnownSecrets(line, { jsonSafe: true })),
  };
  const flushable = target as DestinationStream & { flushSync?: () => void; flush?: (cb?: (error?: Error) => void) => void };
  Object.assign(scrubbed, {
    flushSync: () => flushable.flushSync?.(),
    flush: (cb?: (error?: Error) => void) => (flushable.flush ? flushable.flush(cb) : cb?.()),
  });
  return pino(
    {
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { service: 'dbaccess' },
      formatters: { bindings: (bindings) => scrubValue(bindings) as Record<string, unknown> },
      hooks: { logMethod(args, method) { method.apply(this, scrubArguments(args) as Parameters<typeof method>); } },
    },
    scrubbed,
  );
}

/** pino's call arguments: an optional object or error first, then the message and its interpolation values. */
function scrubArguments(args: unknown[]): unknown[] {
  const [first] = args;
  // An error given first is logged under `err`, as pino does (its message the line's), but only its safe fields.
  if (first instanceof Error) {
    const err = safeError(first);
    return args.length === 1 ? [{ err }, err.message] : [{ err }, ...args.slice(1).map(scrubOne)];
  }
  return args.map(scrubOne);
}

const scrubOne = (arg: unknown): unknown => (typeof arg === 'string' ? scrubText(arg) : scrubValue(arg));

/** Removes passwords and other secrets from a message shown outside the log (CLI output, error texts). */
export function scrubSecrets(text: string): string {
  return scrubText(text);
}
