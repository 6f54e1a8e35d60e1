import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config/env.js';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import { EXIT, operatorMessage, type CliIo } from './cli-io.js';
import { checkConfigCommand } from './check-config-command.js';
import type { Command } from './command.js';
import { doctorCommand } from './doctor-command.js';
import { leasesCommand } from './leases-command.js';
import { migrateCommand } from './migrate-command.js';
import { revokeAllCommand } from './revoke-all-command.js';
import { offboardCommand } from './offboard-command.js';
import { signoutCommand } from './signout-command.js';
import { connectCommand, endCommand, loginCommand, logoutCommand } from './connect-command.js';

/** `dbaccess <command>`: the package's bin (bin/dbaccess.js runs this through tsx). */
export const COMMANDS: readonly Command[] = [connectCommand, loginCommand, logoutCommand, migrateCommand, checkConfigCommand, doctorCommand, leasesCommand, revokeAllCommand, offboardCommand, signoutCommand, endCommand];

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'Usage: dbaccess <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'connect, login and logout talk to a dbaccess server (--server or DBACCESS_URL); the others read the',
    'same environment as the server (README, Configuration).',
    "`dbaccess <command> --help` tells more. Exit codes: 0 ok, 1 problems found, 2 usage mistake.",
  ].join('\n');
}

const commandHelp = (command: Command) => `Usage: ${command.usage}\n\n${command.help}`;

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo, environment: Record<string, string | undefined>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? COMMANDS.find((command) => command.name === rest[0]) : undefined;
    if (name === 'help' && rest[0] && !topic) {
      io.err(`dbaccess: unknown command "${rest[0]}".\n\n${overview()}`);
      return EXIT.usage;
    }
    (name === undefined ? io.err : io.out)(topic ? commandHelp(topic) : overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(version());
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.err(`dbaccess: unknown command "${name}".\n\n${overview()}`);
    return EXIT.usage;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`dbaccess ${command.name}: ${(error as Error).message.split('\n')[0]!.replace(/\. To specify .*$/, '.')}\nUsage: ${command.usage}`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  if (parsed.positionals.length > command.maxPositionals) {
    io.err(`dbaccess ${command.name}: unexpected argument "${parsed.positionals[command.maxPositionals]}".\nUsage: ${command.usage}`);
    return EXIT.usage;
  }

  let config: Config | undefined;
  try {
    return await command.run(
      { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals },
      { io, environment, config: () => (config ??= loadConfig(environment)) },
    );
  } catch (error) {
    io.err(`dbaccess ${command.name}: ${operatorMessage(error)}`);
    return EXIT.problems;
  }
}
