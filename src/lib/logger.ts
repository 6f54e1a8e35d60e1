import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyLine } from './log-pretty.js';
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

export interface LogFormat {
  /** JSON lines (the default: for machines), or lines for a person on a terminal (src/lib/log-pretty.ts). */
  format: 'json' | 'pretty';
  /** Pretty lines only: ANSI colours. */
  colour?: boolean;
}

/** LOG_FORMAT as the app applies it: `auto` is pretty on a terminal, JSON anywhere else. */
export function logFormatFor(setting: 'auto' | 'pretty' | 'json', stream: { isTTY?: boolean }): LogFormat {
  const format = setting === 'auto' ? (stream.isTTY ? 'pretty' : 'json') : setting;
  return { format, colour: format === 'pretty' && Boolean(stream.isTTY) };
}

/**
 * JSON lines, or pretty ones for a terminal; the CLI logs to stderr so that its own output (tables,
 * --json) stays clean. Every line is scrubbed (src/lib/log-scrubber.ts) at every level and in both
 * formats: the arguments of each call (messages, objects, errors, whatever an SDK's debug output
 * hands over), the child loggers' bindings, and, for the values of registered secrets, the finished
 * line itself (a pretty line is made from the scrubbed JSON one, and scrubbed again).
 */
export function createLogger(level: string, destination: LogDestination = 'stdout', { format, colour = false }: LogFormat = { format: 'json' }): Logger {
  const pretty = format === 'pretty';
  const fd = destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : undefined;
  // Written at once: lines interleave in order with what the app prints itself (the start banner, a
  // failure's one line), and none is lost when the process exits.
  const target = fd === undefined ? (destination as DestinationStream) : pino.destination({ dest: fd, sync: true });
  const stacks = level === 'debug' || level === 'trace';
  const finish = pretty
    ? (line: string) => redactKnownSecrets(prettyLine(redactKnownSecrets(line, { jsonSafe: true }), { colour, stacks }))
    : (line: string) => redactKnownSecrets(line, { jsonSafe: true });
  const scrubbed: DestinationStream = {
    write: (line: string) => target.write(finish(line)),
  };
  const flushable = target as DestinationStream & { flushSync?: () => void; flush?: (cb?: (error?: Error) => void) => void };
  Object.assign(scrubbed, {
    flushSync: () => flushable.flushSync?.(),
    flush: (cb?: (error?: Error) => void) => (flushable.flush ? flushable.flush(cb) : cb?.()),
  });
  const shutdown = { expected: false };
  const logger = pino(
    {
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { service: 'dbaccess' },
      // Errors are already plain objects of their safe fields (safeError, above): pino's own serializer
      // would call each an "Object" and drop its cause's codes.
      serializers: { err: (value: unknown) => value },
      formatters: { bindings: (bindings) => scrubValue(bindings) as Record<string, unknown> },
      hooks: {
        logMethod(args, method, level) {
          if (shutdown.expected && (level === 40 || (level === 50 && args.some(isLostConnection)))) {
            if (this.isLevelEnabled('debug')) this.debug(...(args as [string]));
            return;
          }
          method.apply(this, scrubArguments(args) as Parameters<typeof method>);
        },
      },
    },
    scrubbed,
  );
  shutdowns.set(logger, shutdown);
  return logger;
}

const shutdowns = new WeakMap<Logger, { expected: boolean }>();

/**
 * The person asked the app to stop (Ctrl-C, SIGTERM): from now on warnings are about work the stop
 * itself cuts short, and errors of connections a stopping database ends are expected, so both go to
 * debug (LOG_LEVEL=debug still shows them); other errors stay. On a terminal, Ctrl-C reaches the
 * embedded PostgreSQL together with the app, so without this every worker, pool and job in flight
 * would report its lost connection on the way out.
 */
export function expectShutdown(logger: Logger): void {
  const shutdown = shutdowns.get(logger);
  if (shutdown) shutdown.expected = true;
}

/** Errors of a connection the database server ended or refused (SQLSTATE 57P01 to 57P03, a closed socket, and a provider's words for them). */
const LOST_CONNECTION = /terminating connection due to administrator command|the database system is shutting down|the server is shutting down or starting up|Connection terminated|ECONNREFUSED|ECONNRESET|57P0[123]/i;

export function isLostConnection(arg: unknown): boolean {
  if (typeof arg === 'string') return LOST_CONNECTION.test(arg);
  if (!arg || typeof arg !== 'object') return false;
  const record = arg as { err?: unknown; error?: unknown; message?: unknown; code?: unknown };
  if (record.err !== undefined || record.error !== undefined) return isLostConnection(record.err ?? record.error);
  return [record.message, record.code].some((value) => typeof value === 'string' && LOST_CONNECTION.test(value));
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
