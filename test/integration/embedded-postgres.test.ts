import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/app/embedded-postgres.js';

const MODULE_PATH = fileURLToPath(new URL('../../src/app/embedded-postgres.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const dirs: string[] = [];
const running: EmbeddedPostgres[] = [];
const children: ChildProcess[] = [];
/** Servers started outside this process; stopped after each test, whatever it left behind. */
const foreignServers: number[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const pid of foreignServers.splice(0)) {
    if (isAlive(pid)) process.kill(pid, 'SIGINT');
  }
});

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dbaccess-embedded-pg-'));
  dirs.push(dir);
  return dir;
}

let template: Promise<string> | undefined;

/** A data directory holding an initialised cluster, copied from one made once: initdb takes seconds. */
async function initialisedDir(): Promise<string> {
  template ??= (async () => {
    const dir = await freshDir();
    await stop(await start(dir, await freePort()));
    return dir;
  })();
  const dir = await freshDir();
  execFileSync('cp', ['-a', `${await template}/.`, dir]);
  return dir;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function start(dataDir: string, port: number, logger = capturingLogger().logger): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir, port, logger });
  running.push(server);
  return server;
}

async function stop(server: EmbeddedPostgres): Promise<void> {
  running.splice(running.indexOf(server), 1);
  await server.stop();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number.parseInt((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
}

/** Running, and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    return processState(pid) !== 'Z';
  } catch {
    return false;
  }
}

function processStatFields(pid: number): string[] {
  const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the parenthesised command name: state, ppid, ...
  return line.slice(line.lastIndexOf(')') + 2).split(' ');
}

const processState = (pid: number) => processStatFields(pid)[0];
const parentPid = (pid: number) => Number(processStatFields(pid)[1]);

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function killServer(dataDir: string): Promise<number> {
  const pid = await postmasterPid(dataDir);
  process.kill(pid, 'SIGKILL');
  await waitUntil(() => !isAlive(pid), `PostgreSQL ${pid} is gone`);
  return pid;
}

/** Runs the module in its own Node process, as the app would, and resolves once the server is up. */
async function startInChildProcess(
  dataDir: string,
  port: number,
  { exitAtOnce = false } = {},
): Promise<{ child: ChildProcess; serverPid: number; output: () => string }> {
  const script = `
    import { readFileSync } from 'node:fs';
    import { pino } from 'pino';
    import { startEmbeddedPostgres } from ${JSON.stringify(MODULE_PATH)};
    const db = await startEmbeddedPostgres({ dataDir: process.env.EPG_DIR, port: Number(process.env.EPG_PORT), logger: pino({ level: 'silent' }) });
    process.on('SIGTERM', () => {
      // An app draining its work for a moment before it stops the database.
      setTimeout(async () => { await db.stop(); console.log('drained'); process.exit(0); }, 300);
    });
    console.log('ready', readFileSync(process.env.EPG_DIR + '/pg/postmaster.pid', 'utf8').split('\\n')[0]);
    if (process.env.EPG_EXIT_AT_ONCE) process.exit(0);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, EPG_DIR: dataDir, EPG_PORT: String(port), EPG_EXIT_AT_ONCE: exitAtOnce ? '1' : '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitUntil(() => /ready \d+\n/.test(output) || child.exitCode !== null, 'the child process started PostgreSQL', 20_000);
  const serverPid = Number(/ready (\d+)\n/.exec(output)?.[1]);
  expect(serverPid, output).toBeGreaterThan(0);
  foreignServers.push(serverPid);
  return { child, serverPid, output: () => output };
}

/** The OS user the server runs as: `postgres` when the tests run as root, else ourselves. */
function serverUid(): number {
  return process.getuid?.() === 0 ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : (process.getuid?.() ?? 0);
}

describe('startEmbeddedPostgres', () => {
  it('creates a password-protected cluster on loopback on first start and keeps its data across restarts', async () => {
    const dataDir = await freshDir();
    const port = await freePort();
    const { logger, lines } = capturingLogger();

    const first = await start(dataDir, port, logger);
    const [row] = await query<{ version: string; db: string }>(first.url, 'SELECT version() AS version, current_database() AS db');
    expect(row?.version).toMatch(/^PostgreSQL 17\./);
    expect(row?.db).toBe('dbaccess');
    await query(first.url, 'CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)');
    const settings = await query<{ name: string; setting: string }>(
      first.url,
      "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'unix_socket_directories', 'password_encryption') ORDER BY name",
    );
    expect(settings).toEqual([
      { name: 'listen_addresses', setting: '127.0.0.1' },
      { name: 'password_encryption', setting: 'scram-sha-256' },
      { name: 'unix_socket_directories', setting: '' },
    ]);
    await stop(first);

    const passwordFile = path.join(dataDir, 'pg-password');
    expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
    const password = (await readFile(passwordFile, 'utf8')).trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(first.url).toContain(encodeURIComponent(password));
    expect(existsSync(path.join(dataDir, 'pg-initdb'))).toBe(false);

    const pgVersionBefore = await stat(path.join(dataDir, 'pg', 'PG_VERSION'));
    const second = await start(dataDir, port, logger);
    expect(await query(second.url, 'SELECT id FROM kept')).toEqual([{ id: 42 }]);
    expect((await stat(path.join(dataDir, 'pg', 'PG_VERSION'))).ino).toBe(pgVersionBefore.ino);
    expect(lines.filter((line) => line.includes('created the embedded PostgreSQL cluster'))).toHaveLength(1);

    const wrongPassword = second.url.replace(encodeURIComponent(password), 'not-the-password');
    await expect(query(wrongPassword, 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    await stop(second);

    // The server's own output reached the debug log, and the password never did.
    expect(lines.some((line) => line.includes('database system is ready to accept connections'))).toBe(true);
    expect(lines.join('\n')).not.toContain(password);
  });

  it('starts again after the server was killed and left its postmaster.pid behind', async () => {
    const dataDir = await initialisedDir();
    const port = await freePort();
    const first = await start(dataDir, port);
    await query(first.url, 'CREATE TABLE survived (id int); INSERT INTO survived VALUES (1)');

    await killServer(dataDir);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);
    // stop() on a server that already died returns instead of waiting for an exit that happened.
    await stop(first);

    const second = await start(dataDir, port);
    expect(await query(second.url, 'SELECT id FROM survived')).toEqual([{ id: 1 }]);
  });

  it('starts when the stale postmaster.pid names a live process that is not PostgreSQL', async () => {
    const dataDir = await initialisedDir();
    const port = await freePort();
    await start(dataDir, port);
    await killServer(dataDir);

    // After a container restart the old PID often belongs to another process of the same user;
    // PostgreSQL alone then refuses to start ("lock file already exists").
    const uid = serverUid();
    const impostor = spawn('sleep', ['60'], { uid, stdio: 'ignore' });
    children.push(impostor);
    const lockFile = path.join(dataDir, 'pg', 'postmaster.pid');
    const lock = (await readFile(lockFile, 'utf8')).split('\n');
    lock[0] = String(impostor.pid);
    await writeFile(lockFile, lock.join('\n'));

    const second = await start(dataDir, port);
    expect(await query(second.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    expect(impostor.exitCode).toBeNull();
  });

  it('takes over from a server orphaned by a crashed app process', async () => {
    const dataDir = await initialisedDir();
    const port = await freePort();
    const { child, serverPid: orphanPid } = await startInChildProcess(dataDir, port);

    child.kill('SIGKILL');
    await once(child, 'exit');
    if (parentPid(orphanPid) !== 1) {
      // A subreaper adopted it: it may belong to a live process, so the module must refuse, not kill.
      await expect(start(dataDir, port)).rejects.toThrow(/already running/);
      process.kill(orphanPid, 'SIGINT');
      return;
    }

    const server = await start(dataDir, port);
    expect(isAlive(orphanPid)).toBe(false);
    expect(await query(server.url, 'SELECT current_database() AS db')).toEqual([{ db: 'dbaccess' }]);
  });

  it("leaves shutdown to the app's own signal handler", async () => {
    const dataDir = await initialisedDir();
    const port = await freePort();
    const { child, serverPid: pid, output } = await startInChildProcess(dataDir, port);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    // embedded-postgres's own exit hooks would have stopped the server and exited with 143 first.
    expect(output()).toContain('drained');
    expect(code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('shuts the server down when the process exits without calling stop()', async () => {
    const dataDir = await initialisedDir();
    const { child, serverPid: pid } = await startInChildProcess(dataDir, await freePort(), { exitAtOnce: true });
    if (child.exitCode === null) await once(child, 'exit');

    await waitUntil(() => !isAlive(pid), 'the server has shut down');
    // A clean shutdown removes the lock file; a killed server would leave it.
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('reports why the server did not start', async () => {
    const dataDir = await initialisedDir();
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const { port } = busy.address() as AddressInfo;
      await expect(start(dataDir, port)).rejects.toThrow(/did not start[\s\S]*Address already in use/);
    } finally {
      busy.close();
    }
  });
});
