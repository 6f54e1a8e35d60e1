import { processIo } from './cli-io.js';
import { runCli } from './cli.js';

/** `npm run migrate`: the same as `dbaccess migrate` (applies the committed migrations to DATABASE_URL or the embedded database). */
process.exit(await runCli(['migrate', ...process.argv.slice(2)], processIo(), process.env));
