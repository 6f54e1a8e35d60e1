import { resolve } from 'node:path';
import { EXIT } from './cli-io.js';
import type { Command } from './command.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the migrations in migrations/ to the state database',
  usage: 'dbaccess migrate [--check]',
  help: `Applies the committed migrations to DATABASE_URL (or to the embedded PostgreSQL under DATA_DIR,
starting it if dbaccess is not running). Migrations are forward-only; applying them twice changes
nothing. \`npm start\` applies them too; run this as an explicit step before starting a new version
(docker compose run --rm app npx dbaccess migrate).

  --check   apply nothing: list the pending migrations and exit 1 if there are any

Exit: 0 done (or nothing pending), 1 pending migrations with --check, or a failure.`,
  options: { check: { type: 'boolean' } },
  maxPositionals: 0,
  async run({ values }, { io, config: loadConfig }) {
    const config = loadConfig();
    const [{ startEmbeddedPostgres }, { pendingMigrations, runMigrations }, { createLogger }, { cliLogLevel, stateUrlOf }] = await Promise.all([
      import('../app/embedded-postgres.js'), import('../db/client.js'), import('../lib/logger.js'), import('./cli-state.js'),
    ]);
    const logger = createLogger(cliLogLevel(config), 'stderr');
    const running = await stateUrlOf(config);
    const embedded = running ? undefined : await startEmbeddedPostgres({ dataDir: resolve(config.env.DATA_DIR), port: config.env.EMBEDDED_PG_PORT, logger });
    const url = running ?? embedded!.url;
    const where = config.env.DATABASE_URL ? 'DATABASE_URL' : `the embedded PostgreSQL (${config.env.DATA_DIR})`;
    try {
      const before = await pendingMigrations(url);
      if (values.check) {
        if (before.pending.length === 0) {
          io.out(`dbaccess: ${where} is up to date (${before.applied} migrations applied).`);
          return EXIT.ok;
        }
        io.out(`dbaccess: ${before.pending.length} pending on ${where}: ${before.pending.join(', ')}`);
        return EXIT.problems;
      }
      if (before.pending.length > 0) io.err(`Applying ${before.pending.length} migration${before.pending.length === 1 ? '' : 's'} to ${where}: ${before.pending.join(', ')}`);
      await runMigrations(url, () => io.err('Another process is applying the migrations: waiting for it.'));
      const after = await pendingMigrations(url);
      io.out(`dbaccess: migrations applied (${after.applied} in ${where}, ${before.pending.length} new).`);
      return EXIT.ok;
    } finally {
      await embedded?.stop();
    }
  },
};
