import { loadConfig } from '../config/env.js';
import { runMigrations } from '../db/client.js';
import { startEmbeddedPostgres } from '../app/embedded-postgres.js';
import { createLogger } from '../lib/logger.js';
import { resolve } from 'node:path';

/** `npm run migrate`: applies the committed migrations to DATABASE_URL (or the embedded database). */
const { env } = loadConfig();
const logger = createLogger(env.LOG_LEVEL);
const embedded = env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: resolve(env.DATA_DIR), port: env.EMBEDDED_PG_PORT, logger });
try {
  await runMigrations(env.DATABASE_URL ?? embedded!.url);
  console.log('dbaccess: migrations applied');
} finally {
  await embedded?.stop();
}
