/**
 * The chaos suite's target databases and their fault. By default the suite starts its own target
 * servers in its temporary directory: a PostgreSQL cluster (the product's embedded PostgreSQL, scram
 * passwords, a superuser admin role as on the machine's scram cluster) and a MariaDB server
 * (`mariadb-install-db` and `/usr/sbin/mariadbd` as the current user, its own port and socket). Their
 * fault is a real freeze: SIGSTOP to every process of the server, SIGCONT at the end. With
 * CHAOS_TARGETS=shared they are fresh databases on the machine's shared servers (the scram cluster on
 * 5433, MariaDB on 3306) behind a TCP proxy whose hold stands in for the freeze (those servers cannot
 * be stopped).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/app/embedded-postgres.js';
import { createLogger } from '../src/lib/logger.js';
import { GROUP_MARKER } from '../src/modules/credentials/engines/postgres/provider.js';
import { waitUntil } from '../test/support/app-harness.js';
import { MARIADB_ADMIN_URL, createMariaTarget, createTargetDatabase } from '../test/support/databases.js';
import { SERVICES } from '../test/support/services.js';
import { freePort } from '../test/support/ports.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';

export type TargetKind = 'postgres' | 'mariadb';

export interface Target {
  kind: TargetKind;
  /** Where the catalog points (the server itself, or the proxy in front of a shared one). */
  port: number;
  database: string;
  /** The admin connection string the app is given (through the proxy for a shared server). */
  adminUrl: string;
  /** What the server is, for the report. */
  server: string;
  /** Stops the server from answering; resolves with what was done, once it is checked. */
  freeze(): Promise<string>;
  /** Lets it answer again; resolves with what was done. Idempotent; a no-op when not frozen. */
  thaw(): Promise<string>;
  frozen(): boolean;
  /** Temporary users (login roles, not access groups) whose names start with the prefix. */
  roles(prefix: string): Promise<string[]>;
  /** Thawed first when frozen; the database dropped, or the server stopped and its files left to the caller. */
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
/** Long enough that a loaded machine answers a live server within it, short against a freeze (10 s or more). */
const PROBE_MS = 2000;
const ADMIN_ROLE = 'dbaccess_admin';
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 'es'}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const timeout = <T>(work: Promise<T>, ms: number) => Promise.race([work, sleep(ms).then(() => 'timeout' as const)]);

/** The suite's own targets, in `dir` (removed by the caller). */
export async function startOwnTargets(dir: string): Promise<Record<TargetKind, Target>> {
  const [postgres, mariadb] = await Promise.allSettled([startOwnPostgresTarget(join(dir, 'target-pg')), startOwnMariaTarget(join(dir, 'target-maria'))]);
  if (postgres.status === 'rejected' || mariadb.status === 'rejected') {
    await Promise.all([postgres, mariadb].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw postgres.status === 'rejected' ? postgres.reason : (mariadb as PromiseRejectedResult).reason;
  }
  return { postgres: lastKnownWhileFrozen(postgres.value), mariadb: lastKnownWhileFrozen(mariadb.value) };
}

/**
 * A PostgreSQL cluster of the product's embedded kind, with room for many connections; restartable.
 * `processes()` lists the postmaster and every process it forked (backends, background workers).
 */
export async function startPostgresCluster(dataDir: string, maxConnections: number) {
  const port = await freePort();
  const first = await startEmbeddedPostgres({ dataDir, port, logger: createLogger('warn') });
  const admin = new pg.Client({ connectionString: first.url });
  await admin.connect();
  await admin.query(`ALTER SYSTEM SET max_connections = ${maxConnections}`);
  await admin.end();
  await first.stop();
  let server = await startEmbeddedPostgres({ dataDir, port, logger: createLogger('warn') });
  return {
    url: server.url,
    port,
    stop: () => server.stop(),
    /** Stopped (a fast shutdown: every connection cut), down for `downMs`, then started again on the same port and data. */
    async restart(downMs: number) {
      await server.stop();
      await sleep(downMs);
      server = await startEmbeddedPostgres({ dataDir, port, logger: createLogger('warn') });
    },
    /** The postmaster (first line of postmaster.pid) and its children. */
    processes(): number[] {
      const postmaster = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      return [postmaster, ...childrenOf(postmaster)];
    },
  };
}

async function startOwnPostgresTarget(dataDir: string): Promise<Target> {
  const cluster = await startPostgresCluster(dataDir, 300);
  try {
    // The admin the catalog uses, as on the machine's scram cluster: a superuser with a password.
    const password = randomBytes(12).toString('hex');
    const superuser = new pg.Client({ connectionString: cluster.url });
    await superuser.connect();
    await superuser.query(`CREATE ROLE ${ADMIN_ROLE} LOGIN SUPERUSER PASSWORD '${password}'`).finally(() => superuser.end());
    const serverUrl = `postgresql://${ADMIN_ROLE}:${password}@127.0.0.1:${cluster.port}/postgres`;
    const target = await createTargetDatabase(serverUrl);
    const version = await pgQuery(serverUrl, 'SHOW server_version');
    return withOwnServer({
      ...frozenBy(`PostgreSQL ${String(version[0]?.server_version)} (the suite's own cluster)`, 'the postmaster and its processes', () => cluster.processes(), () => probePostgres(serverUrl)),
      kind: 'postgres', port: cluster.port, database: target.name, adminUrl: target.adminUrl,
      roles: (prefix) => postgresRoles(serverUrl, prefix),
      stopServer: () => cluster.stop(),
    });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

async function startOwnMariaTarget(dir: string): Promise<Target> {
  const dataDir = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  const user = (await execFileAsync('id', ['-un'])).stdout.trim();
  // mariadbd refuses to run as root unless told to (--user); it runs as whoever starts the suite.
  await execFileAsync('mariadb-install-db', ['--no-defaults', `--datadir=${dataDir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db']);
  const port = await freePort();
  const child: ChildProcess = spawn('/usr/sbin/mariadbd', [
    '--no-defaults', `--datadir=${dataDir}`, `--socket=${join(dir, 'mariadb.sock')}`, `--pid-file=${join(dir, 'mariadb.pid')}`,
    `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve', `--user=${user}`, `--log-error=${join(dir, 'error.log')}`,
    '--innodb-buffer-pool-size=64M', '--max-connections=500', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci',
  ], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // A suite that dies without stop(): the server must not stay behind (SIGKILL works on a stopped process too).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stopServer = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if ((await timeout(exited, 30_000)) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const adminUrl = `mysql://root@127.0.0.1:${port}/mysql`;
    await waitUntil(async () => (await mariaQuery(adminUrl, 'SELECT 1').then(() => true, () => false)), 60_000, 'the suite MariaDB');
    const version = await mariaQuery(adminUrl, 'SELECT VERSION() AS v');
    const target = await createMariaTarget(adminUrl);
    return withOwnServer({
      ...frozenBy(`MariaDB ${String(version[0]?.v)} (the suite's own server)`, 'mariadbd', () => [child.pid!], () => probeMaria(adminUrl)),
      kind: 'mariadb', port, database: target.name, adminUrl: target.adminUrl,
      roles: (prefix) => mariaUsers(adminUrl, prefix),
      stopServer,
    });
  } catch (error) {
    await stopServer();
    throw error;
  }
}

/**
 * The freeze of a server of the suite's own: SIGSTOP to its processes (the parent first, so that it
 * forks no new one meanwhile), checked (each process in state T, a query on a session opened before
 * and one on a new connection both unanswered for PROBE_MS); then SIGCONT (the children first) and the
 * time until the held query is answered.
 */
function frozenBy(server: string, what: string, processes: () => number[], probe: () => Promise<Probe>) {
  let stopped: number[] = [];
  let probing: Probe | undefined;
  let thawedAt = 0;
  let stoppedAt = 0;
  // A suite that exits while a server is frozen lets it go (its own stop, or the embedded cluster's exit hook, can then act).
  const thawOnExit = () => stopped.forEach((pid) => signal(pid, 'SIGCONT'));
  const thaw = async (): Promise<string> => {
    if (stopped.length === 0) return 'was not frozen';
    process.removeListener('exit', thawOnExit);
    for (const pid of [...stopped].reverse()) signal(pid, 'SIGCONT');
    const count = stopped.length;
    const frozenMs = Date.now() - stoppedAt;
    stopped = [];
    thawedAt = Date.now();
    const answered = probing ? await timeout(probing.answered, 30_000) : 'timeout';
    probing?.close();
    probing = undefined;
    return `SIGCONT to ${plural(count, 'process')} after ${(frozenMs / 1000).toFixed(1)} s stopped; the held query answered ${answered === 'timeout' ? 'not within 30 s' : `${answered - thawedAt} ms later`}`;
  };
  return {
    server,
    frozen: () => stopped.length > 0,
    thaw,
    async freeze(): Promise<string> {
      probing = await probe();
      const [parent, ...rest] = processes();
      process.once('exit', thawOnExit);
      signal(parent!, 'SIGSTOP');
      stoppedAt = Date.now();
      stopped = [parent!];
      // Listed again once the parent is stopped: nothing new can appear after this.
      for (const pid of [...rest, ...(parent ? childrenOf(parent) : [])]) {
        if (stopped.includes(pid)) continue;
        if (signal(pid, 'SIGSTOP')) stopped.push(pid);
      }
      probing.send();
      const fresh = probing.fresh();
      await sleep(PROBE_MS);
      const states = stopped.map(processState);
      const answered = [probing.sent ? probing.done() : false, (await timeout(fresh, 1)) !== 'timeout'];
      const notStopped = states.filter((s) => s !== 'T' && s !== 't').length;
      if (notStopped > 0 || answered.some(Boolean)) {
        await thaw();
        throw new Error(`the freeze of ${server} did not hold: ${notStopped} of ${states.length} processes not stopped, held query answered: ${answered[0]}, new connection answered: ${answered[1]}`);
      }
      return `SIGSTOP to ${what} (${plural(stopped.length, 'process')}, pids ${stopped.join(' ')}); ${states.length} of ${states.length} in state T, a query on an open session and a new connection unanswered after ${PROBE_MS} ms`;
    },
  };
}

interface Probe {
  /** Sends a query on the session opened before the freeze. */
  send(): void;
  sent: boolean;
  done(): boolean;
  /** When the held query's answer came. */
  answered: Promise<number>;
  /** A new connection and a query on it (resolves when answered; errors are answers too). */
  fresh(): Promise<unknown>;
  close(): void;
}

async function probePostgres(url: string): Promise<Probe> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return probeWith(
    () => client.query('SELECT 1').then(() => Date.now()),
    () => pgQuery(url, 'SELECT 1').catch(() => undefined),
    () => void client.end().catch(() => undefined),
  );
}

async function probeMaria(url: string): Promise<Probe> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: url });
  connection.on('error', () => undefined);
  return probeWith(
    () => connection.query('SELECT 1').then(() => Date.now()),
    () => mariaQuery(url, 'SELECT 1').catch(() => undefined),
    () => connection.destroy(),
  );
}

function probeWith(query: () => Promise<number>, fresh: () => Promise<unknown>, close: () => void): Probe {
  let resolveAnswered: (at: number) => void = () => undefined;
  let done = false;
  const probe: Probe = {
    sent: false,
    answered: new Promise<number>((resolve) => (resolveAnswered = resolve)),
    send() {
      probe.sent = true;
      void query().then((at) => { done = true; resolveAnswered(at); }, () => { done = true; resolveAnswered(Date.now()); });
    },
    done: () => done,
    fresh,
    close,
  };
  return probe;
}

/** True when the signal was sent (the process may have ended in between). */
function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** The processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) children.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return children;
}

function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return 'gone';
  }
}

/**
 * Fresh databases on the machine's shared servers, each behind a TCP proxy whose hold stands in for a
 * frozen server (what the app sends waits in the sockets; the server itself keeps running).
 */
export async function sharedTargets(): Promise<Record<TargetKind, Target>> {
  const [target, maria] = await Promise.all([createTargetDatabase(), createMariaTarget()]);
  const make = async (kind: TargetKind, created: { name: string; adminUrl: string; drop(): Promise<void> }, serverUrl: string): Promise<Target> => {
    const proxy = await startTcpProxy(Number(new URL(serverUrl).port));
    const adminUrl = new URL(created.adminUrl);
    adminUrl.port = String(proxy.port);
    let held = false;
    return {
      kind, port: proxy.port, database: created.name, adminUrl: adminUrl.toString(),
      server: `the machine's shared ${kind === 'postgres' ? 'scram PostgreSQL cluster' : 'MariaDB'} behind a TCP proxy`,
      frozen: () => held,
      async freeze() {
        proxy.hold();
        held = true;
        return 'held by its TCP proxy (traffic waits in the sockets; the shared server itself keeps running)';
      },
      async thaw() {
        if (!held) return 'was not held';
        proxy.release();
        held = false;
        return 'released by its TCP proxy';
      },
      roles: (prefix) => (kind === 'postgres' ? postgresRoles(SERVICES.targetPg, prefix) : mariaUsers(MARIADB_ADMIN_URL, prefix)),
      async stop() {
        if (held) proxy.release();
        await proxy.close();
        await created.drop();
      },
    };
  };
  return { postgres: lastKnownWhileFrozen(await make('postgres', target, SERVICES.targetPg)), mariadb: lastKnownWhileFrozen(await make('mariadb', maria, MARIADB_ADMIN_URL)) };
}

/**
 * While a server is frozen nothing on it changes (no user can be made or dropped), so the users read
 * last are the users it has: the watch goes on polling the other target and the state database instead
 * of waiting out the freeze in a query, which would shift every time it records.
 */
function lastKnownWhileFrozen(target: Target): Target {
  let last: string[] = [];
  return {
    ...target,
    async roles(prefix) {
      if (target.frozen()) return last;
      try {
        last = await target.roles(prefix);
        return last;
      } catch (error) {
        if (target.frozen()) return last;
        throw error;
      }
    },
  };
}

/** A target of the suite's own: thawed before its server is stopped. */
function withOwnServer(target: Omit<Target, 'stop'> & { stopServer(): Promise<void> }): Target {
  return { ...target, async stop() { await target.thaw(); await target.stopServer(); } };
}

async function pgQuery(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResultRow[]> {
  // Bounded: a frozen server would otherwise hold the caller for the whole freeze.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, query_timeout: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(sql, params)).rows;
  } finally {
    void client.end().catch(() => undefined);
  }
}

async function mariaQuery(url: string, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  connection.on('error', () => undefined);
  try {
    const [rows] = await connection.query<import('mysql2').RowDataPacket[]>({ sql, timeout: 5000 }, params);
    return rows;
  } finally {
    connection.destroy();
  }
}

/** Login roles (access groups, marked in their comment, left out) whose names start with the prefix. */
async function postgresRoles(url: string, prefix: string): Promise<string[]> {
  const rows = await pgQuery(url,
    `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) AND NOT coalesce(starts_with(shobj_description(oid, 'pg_authid'), $2), false) ORDER BY 1`,
    [prefix, GROUP_MARKER]);
  return rows.map((row) => String(row.rolname));
}

/** Users (not roles) whose names start with the prefix. */
async function mariaUsers(url: string, prefix: string): Promise<string[]> {
  // global_priv, not the mysql.user view (whose is_role column cannot be compared on this server); roles have no host.
  const rows = await mariaQuery(url, "SELECT DISTINCT User AS name FROM mysql.global_priv WHERE BINARY LEFT(User, ?) = BINARY ? AND Host <> '' ORDER BY 1", [prefix.length, prefix]);
  return rows.map((row) => String(row.name));
}
