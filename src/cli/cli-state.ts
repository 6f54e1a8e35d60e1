import { createContainer, type Container } from '../app/container.js';
import { runningEmbeddedUrl } from '../app/embedded-postgres.js';
import type { Config } from '../config/env.js';
import { pendingMigrations } from '../db/client.js';
import { createLogger } from '../lib/logger.js';

/** The CLI logs only warnings (to stderr) unless LOG_LEVEL asks for more detail. */
export const cliLogLevel = (config: Config) => (['debug', 'trace', 'silent'].includes(config.env.LOG_LEVEL) ? config.env.LOG_LEVEL : 'warn');

/** DATABASE_URL, or the embedded PostgreSQL a running dbaccess has up; undefined when neither. */
export async function stateUrlOf(config: Config): Promise<string | undefined> {
  return config.env.DATABASE_URL ?? (await runningEmbeddedUrl(config.env.DATA_DIR, config.env.EMBEDDED_PG_PORT));
}

/**
 * The app's services on its state and queue, for commands that act on them (leases, revoke-all):
 * nothing started (no HTTP, no workers), and the schema left as it is. Migrations this version has
 * and the state database lacks are reported, not refused: in an emergency revoke-all must still try
 * (a running older version has the schema it needs).
 */
export async function openContainer(config: Config, warn: (line: string) => void): Promise<Container> {
  const stateUrl = await stateUrlOf(config);
  if (stateUrl) {
    const { pending } = await pendingMigrations(stateUrl);
    if (pending.length > 0) {
      warn(`dbaccess: the state database lacks ${pending.length} migration${pending.length === 1 ? '' : 's'} of this version (${pending.join(', ')}); run dbaccess migrate before starting it.`);
    }
  }
  // Without a running embedded server the CLI starts it (and it applies the migrations itself).
  return createContainer(config, { logger: createLogger(cliLogLevel(config), 'stderr'), stateUrl, applyMigrations: !stateUrl });
}
