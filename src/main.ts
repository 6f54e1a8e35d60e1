import type { Container } from './app/container.js';
import { startEarly } from './app/early-start.js';
import { loadConfig, type Env } from './config/env.js';
import { isAppError } from './lib/errors.js';
import { createLogger, expectShutdown, isLostConnection, logFormatFor, scrubSecrets, type Logger } from './lib/logger.js';

/** The longest a stop may take before the process ends anyway (a job or a connection that hangs). */
const STOP_DEADLINE_MS = 10_000;

/** Start: config -> container -> http and/or workers (RUN_MODE) -> the banner -> graceful shutdown. */
async function main(): Promise<void> {
  let env: Env | undefined;
  let logger: Logger | undefined;
  let container: Container | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C does not wait for the first one's stop.
    if (stopping) process.exit(1);
    stopping = true;
    logger?.info({ signal }, 'shutting down');
    if (logger) expectShutdown(logger);
    // A client without an error listener whose connection the stopping database ends would crash the
    // exit with a stack trace; after a stop was asked for, that is expected. Anything else still fails.
    process.on('uncaughtException', (error) => {
      if (!isLostConnection(error)) fail(whyNotStarted(error, env).replace(/^could not start/, 'while stopping'));
    });
    // Still starting: nothing to drain; the embedded PostgreSQL is stopped on exit (src/app/embedded-postgres.ts).
    if (!container) process.exit(0);
    setTimeout(() => fail(`did not stop within ${STOP_DEADLINE_MS / 1000} s; exiting anyway`), STOP_DEADLINE_MS).unref();
    void container.stop().finally(() => flush(logger).finally(() => process.exit(0)));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  let format = logFormatFor('auto', process.stdout);
  try {
    const config = loadConfig();
    env = config.env;
    format = logFormatFor(env.LOG_FORMAT, process.stdout);
    logger = createLogger(env.LOG_LEVEL, 'stdout', format);
    // The embedded PostgreSQL starts while the rest of the code loads (start-up time, issue 17).
    const early = startEarly(config, logger);
    const { createContainer } = await import('./app/container.js');
    container = await createContainer(config, { logger, early });
    await container.start();
  } catch (error) {
    if (stopping) return;
    stopping = true;
    // On a terminal the one line below says it all; JSON lines keep the whole error for whoever collects them.
    if (format.format === 'json') logger?.fatal({ err: error }, 'dbaccess could not start');
    await container?.stop();
    await flush(logger);
    fail(whyNotStarted(error, env), env?.LOG_LEVEL === 'debug' || env?.LOG_LEVEL === 'trace' ? error : undefined);
  }
  if (stopping) return;
  await announce(env, logger, container);
}

/** After the server listens: a log line, and on stdout where to click when the console is on. */
async function announce(env: Env, logger: Logger, container: Container): Promise<void> {
  logger.info({ port: env.PORT, mode: env.RUN_MODE, queue: container.queue.backend }, 'dbaccess started');
  if (!container.consoleUrl) return;
  // Said plainly on stdout, after the log lines so far: the first thing a newcomer needs is where to click.
  await flush(logger);
  const token = env.CONSOLE_TOKEN ? '?token=<CONSOLE_TOKEN>' : '';
  const what = container.sandbox ? 'Try it on the sandbox database' : 'The local console';
  process.stdout.write(`\ndbaccess is running. ${what}: open ${container.consoleUrl}${token}\n\n`);
}

/**
 * One line a person can act on, naming the variable to change. Configuration mistakes and our own
 * errors are written for the operator already; anything else gets its first line, scrubbed.
 */
function whyNotStarted(error: unknown, env: Env | undefined): string {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  const port = env?.PORT ?? 3000;
  const host = env?.HOST ?? '0.0.0.0';
  if (code === 'EADDRINUSE') return `port ${port} (HOST ${host}) is already in use, perhaps by another dbaccess: stop it, or set PORT to a free port (PORT=${port + 1} npm start).`;
  if (code === 'EACCES' && syscall === 'listen') return `not allowed to listen on port ${port}: set PORT to 1024 or above.`;
  if (code === 'EADDRNOTAVAIL') return `HOST ${host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0.`;
  const message = error instanceof Error ? error.message : String(error);
  const [first = '', ...rest] = scrubSecrets(message).split('\n');
  const more = rest.some((line) => line.trim()) || !isAppError(error) ? ' (LOG_LEVEL=debug shows the details)' : '';
  if (/embedded PostgreSQL did not start/.test(first) && /already in use/i.test(message)) {
    return `${first} Its port is in use: set EMBEDDED_PG_PORT to a free port.`;
  }
  return `${isAppError(error) ? '' : 'could not start: '}${first}${more}`;
}

/** The line on stderr, and with LOG_LEVEL=debug the error whole; then a non-zero exit. */
function fail(line: string, details?: unknown): never {
  process.stderr.write(`dbaccess: ${line}\n`);
  if (details !== undefined) process.stderr.write(`${scrubSecrets(details instanceof Error ? (details.stack ?? details.message) : String(details))}\n`);
  process.exit(1);
}

/** Waits for the log lines written so far to reach stdout (JSON lines are written asynchronously). */
function flush(logger: Logger | undefined): Promise<void> {
  return new Promise((resolve) => (logger ? logger.flush(() => resolve()) : resolve()));
}

void main();
