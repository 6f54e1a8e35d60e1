import { startEarly } from './app/early-start.js';
import { loadConfig } from './config/env.js';
import { isAppError } from './lib/errors.js';
import { createLogger } from './lib/logger.js';

/** Start: config -> container -> http and/or workers (RUN_MODE) -> graceful shutdown. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.env.LOG_LEVEL);
  // The embedded PostgreSQL starts while the rest of the code loads (start-up time, issue 17).
  const early = startEarly(config, logger);
  const { createContainer } = await import('./app/container.js');
  const container = await createContainer(config, { logger, early });
  await container.start();
  logger.info({ port: config.env.PORT, mode: config.env.RUN_MODE, queue: container.queue.backend }, 'dbaccess started');
  if (container.consoleUrl) {
    // Said plainly on stdout: the first thing a newcomer needs is where to click.
    const token = config.env.CONSOLE_TOKEN ? '?token=<CONSOLE_TOKEN>' : '';
    const what = container.sandbox ? 'Try it on the sandbox database' : 'The local console';
    process.stdout.write(`\ndbaccess is running. ${what}: open ${container.consoleUrl}${token}\n\n`);
  }

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      void container.stop().finally(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  // Configuration mistakes are the operator's to fix: say exactly what, without a stack trace.
  console.error(isAppError(error) ? `dbaccess: ${error.message}` : error);
  process.exit(1);
});
