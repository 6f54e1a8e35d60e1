import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Credentials as the CLI API hands them to the requester's terminal. */
export interface FetchedCredentials {
  protocol: string;
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  expiresAt: string;
}

const onPath = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;

/** The MySQL option file's quoting: backslashes and double quotes escaped inside double quotes. */
const optionValue = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * How to start the engine's client with the password out of its command line: psql reads
 * PGPASSWORD from its environment; mysql and mariadb read a 0600 option file in a 0700 folder of
 * their own, removed when the client exits (MYSQL_PWD is deprecated).
 */
export function clientLaunch(credentials: FetchedCredentials, environment: Record<string, string | undefined>) {
  const base = Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined));
  if (credentials.protocol === 'postgres') {
    return {
      program: 'psql',
      args: ['-h', credentials.host, '-p', String(credentials.port), '-U', credentials.username, '-d', credentials.database],
      env: { ...base, PGPASSWORD: credentials.password, PGAPPNAME: 'dbaccess connect' },
      cleanup: () => {},
    };
  }
  const folder = mkdtempSync(join(tmpdir(), 'dbaccess-'));
  const optionFile = join(folder, 'client.cnf');
  writeFileSync(optionFile, `[client]\npassword=${optionValue(credentials.password)}\n`, { mode: 0o600 });
  return {
    program: onPath('mariadb') ? 'mariadb' : 'mysql',
    args: [`--defaults-extra-file=${optionFile}`, '-h', credentials.host, '-P', String(credentials.port), '-u', credentials.username, credentials.database],
    env: base,
    cleanup: () => rmSync(folder, { recursive: true, force: true }),
  };
}

/** The variables `--print-env` shows, for tools such as DBeaver. */
export function envLines(credentials: FetchedCredentials): string[] {
  if (credentials.protocol === 'postgres') {
    return [`PGHOST=${credentials.host}`, `PGPORT=${credentials.port}`, `PGDATABASE=${credentials.database}`, `PGUSER=${credentials.username}`, `PGPASSWORD=${credentials.password}`].map((line) => `export ${line}`);
  }
  return [`MYSQL_HOST=${credentials.host}`, `MYSQL_TCP_PORT=${credentials.port}`, `MYSQL_DATABASE=${credentials.database}`, `MYSQL_USER=${credentials.username}`, `MYSQL_PWD=${credentials.password}`].map((line) => `export ${line}`);
}

/**
 * Runs the client on this terminal (its stdin, stdout and stderr) and returns its exit code. Ctrl-C
 * belongs to the client meanwhile (psql cancels the query); the option file goes at exit whatever happens.
 */
export async function runClient(credentials: FetchedCredentials, environment: Record<string, string | undefined>): Promise<number> {
  const launch = clientLaunch(credentials, environment);
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', ignore);
  const child = spawn(launch.program, launch.args, { stdio: 'inherit', env: launch.env });
  const onTerm = forward('SIGTERM');
  const onHup = forward('SIGHUP');
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new Error(`${launch.program} is not installed (or not on PATH); install it, or use --print-env with another client.`) : error));
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    launch.cleanup();
    process.off('SIGINT', ignore);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
  }
}
