import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/env.js';
import type { Logger } from '../lib/logger.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

/**
 * The embedded PostgreSQL started before the composition root is even loaded, so that initdb and the
 * server's start overlap with loading the code (start-up time, issue 17). Only for the embedded
 * topology (no DATABASE_URL); the container checks the guess it is based on and starts again if wrong.
 */
export interface EarlyStart {
  embedded: Promise<EmbeddedPostgres>;
  /** The libraries it was started with: the sandbox's (no catalog file) or none. */
  preload: string[];
}

/** Libraries the embedded server needs: the sandbox records statements with pg_stat_statements. */
export const embeddedPreload = (sandboxMode: boolean): string[] => (sandboxMode ? ['pg_stat_statements'] : []);

export function startEarly(config: Config, logger: Logger): EarlyStart | undefined {
  const { env } = config;
  if (env.DATABASE_URL) return undefined;
  // The container's rule: the sandbox when there is no catalog file (and no DATABASE_URL).
  const preload = embeddedPreload(!existsSync(resolve(env.DBACCESS_CONFIG)));
  const embedded = startEmbeddedPostgres({ dataDir: resolve(env.DATA_DIR), port: env.EMBEDDED_PG_PORT, logger, preload });
  // Whoever awaits it sees the failure; until then it is not an unhandled rejection.
  embedded.catch(() => undefined);
  return { embedded, preload };
}

/** Stops an early start that will not be used (a start-up failure, or a wrong guess). */
export async function abandonEarly(early: EarlyStart | undefined): Promise<void> {
  if (!early) return;
  const embedded = await early.embedded.catch(() => undefined);
  await embedded?.stop();
}
