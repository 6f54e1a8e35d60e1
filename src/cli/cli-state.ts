import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createContainer, type Container } from '../app/container.js';
import { runningEmbeddedUrl, startEmbeddedPostgres } from '../app/embedded-postgres.js';
import { SANDBOX_ADMIN_REFERENCE, ensureSandbox } from '../app/sandbox.js';
import { parseCatalogSet, type CatalogSet } from '../config/catalog.js';
import type { Config } from '../config/env.js';
import { pendingMigrations, runMigrations } from '../db/client.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { catalogEngines } from '../modules/credentials/engines/catalog-rules.js';
import { SANDBOX_SOURCE } from './sandbox-catalog.js';

/** The CLI logs only warnings (to stderr) unless LOG_LEVEL asks for more detail. */
export const cliLogLevel = (config: Config) => (['debug', 'trace', 'silent'].includes(config.env.LOG_LEVEL) ? config.env.LOG_LEVEL : 'warn');

/** DATABASE_URL, or the embedded PostgreSQL a running dbaccess has up; undefined when neither. */
export async function stateUrlOf(config: Config): Promise<string | undefined> {
  return config.env.DATABASE_URL ?? (await runningEmbeddedUrl(config.env.DATA_DIR, config.env.EMBEDDED_PG_PORT));
}

/** The server's rule (app/container.ts): embedded state and no catalog file is the sandbox. */
export function servesSandbox(config: Config): boolean {
  if (config.env.DATABASE_URL) return false;
  try {
    statSync(config.env.DBACCESS_CONFIG);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The state database as the server sees it, for a CLI command. */
export interface CliState {
  url: string;
  /** The embedded PostgreSQL was not running: this command started it (and stops it at close). */
  startedHere: boolean;
  /** The sandbox catalog, when the server would serve it (no catalog file, no DATABASE_URL). */
  catalog?: CatalogSet;
  /** The configuration, with the sandbox's admin reference filled in as the server fills it. */
  config: Config;
  close(): Promise<void>;
}

/**
 * DATABASE_URL; else the embedded PostgreSQL under DATA_DIR, started the way the server starts it
 * when no dbaccess is running (created on a first run, migrated, the sandbox made ready), so that a
 * command run before the server sees what the server will; and, without a catalog file, the sandbox
 * catalog with its admin connection.
 */
export async function openState(config: Config, logger: Logger): Promise<CliState> {
  const { env } = config;
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, startedHere: false, config, close: async () => {} };
  const sandboxMode = servesSandbox(config);
  const dataDir = resolve(env.DATA_DIR);
  const running = await runningEmbeddedUrl(dataDir, env.EMBEDDED_PG_PORT);
  let url = running;
  let close = async () => {};
  if (!url) {
    const embedded = await startEmbeddedPostgres({ dataDir, port: env.EMBEDDED_PG_PORT, logger, preload: sandboxMode ? ['pg_stat_statements'] : [] });
    url = embedded.url;
    close = embedded.stop;
  }
  try {
    // Nobody else uses a server this command started: it is prepared as the server would prepare it.
    if (!running) await runMigrations(url, () => logger.info('another process is applying the migrations: waiting for it'));
    if (!sandboxMode) return { url, startedHere: !running, config, close };
    const sandbox = await ensureSandbox({ superUrl: url, dataDir, logger });
    return {
      url,
      startedHere: !running,
      catalog: parseCatalogSet(sandbox.catalogYaml, SANDBOX_SOURCE, catalogEngines),
      config: { ...config, readEnvReference: (name) => (name === SANDBOX_ADMIN_REFERENCE ? sandbox.adminUrl : config.readEnvReference(name)) },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The app's services on its state and queue, for commands that act on them (leases, revoke-all):
 * nothing started (no HTTP, no workers), and the schema of a running app's database left as it is.
 * Migrations this version has and that database lacks are reported, not refused: in an emergency
 * revoke-all must still try (a running older version has the schema it needs). Stopping the app
 * also stops the embedded PostgreSQL when this command started it.
 */
export async function openContainer(config: Config, warn: (line: string) => void): Promise<Container> {
  const logger = createLogger(cliLogLevel(config), 'stderr');
  const state = await openState(config, logger);
  try {
    if (!state.startedHere) {
      const { pending } = await pendingMigrations(state.url);
      if (pending.length > 0) {
        warn(`dbaccess: the state database lacks ${pending.length} migration${pending.length === 1 ? '' : 's'} of this version (${pending.join(', ')}); run dbaccess migrate before starting it.`);
      }
    }
    const app = await createContainer(state.config, { logger, stateUrl: state.url, applyMigrations: false, ...(state.catalog ? { catalog: state.catalog } : {}) });
    const stopApp = app.stop;
    app.stop = async () => {
      await stopApp();
      await state.close();
    };
    return app;
  } catch (error) {
    await state.close();
    throw error;
  }
}
