import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config/env.js';
import type { CliIo } from './cli-io.js';

export interface CommandContext {
  io: CliIo;
  /** The process environment, read once by the entry point. */
  environment: Record<string, string | undefined>;
  /** The validated configuration; throws the environment's mistakes (a CONFIG error). */
  config(): Config;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** One `dbaccess <name>` subcommand. `--help` is added to every command's options. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  maxPositionals: number;
  run(args: ParsedArgs, context: CommandContext): Promise<number>;
}
