import { processIo } from './cli-io.js';
import { runCli } from './cli.js';

/** The CLI's entry point: the one place it reads the process's arguments and environment. */
const code = await runCli(process.argv.slice(2), processIo(), process.env);
// Exit now: a timed-out check may still hold a socket open, and it has nothing left to say.
process.exit(code);
