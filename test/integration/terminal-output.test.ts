import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/app-harness.js';
import { freePort } from '../support/ports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STACK_LINE = /^\s+at .+/m;
// A colour escape (ESC[...m), as a terminal receives it.
const ANSI = new RegExp(String.fromCharCode(27) + '\\[\\d+m');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * `npm start` as a person runs it, on the embedded default (no catalog file: the sandbox). The
 * process leads its own process group, as a shell's foreground job does, so that a Ctrl-C can reach
 * the whole group (the embedded PostgreSQL included) as the terminal sends it.
 */
function run(command: string, args: string[], env: Record<string, string>, stdin: 'ignore' | 'pipe' = 'ignore'): Run {
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env }, stdio: [stdin, 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const waitForOutput = (app: Run, text: string | RegExp, timeoutMs = 60_000) =>
  waitUntil(
    () => {
      const output = app.stdout() + app.stderr();
      if (typeof text === 'string' ? output.includes(text) : text.test(output)) return true;
      if (app.child.exitCode !== null) throw new Error(`the process ended (${app.child.exitCode}): ${output.slice(-2000)}`);
      return false;
    },
    timeoutMs,
    `${String(text)} (output so far: ${(app.stdout() + app.stderr()).slice(-1000)})`,
  );

/** Milliseconds from now until the process exits, and its exit code. */
async function timeToExit(app: Run): Promise<{ ms: number; code: number | null }> {
  const started = performance.now();
  const code = await app.exited;
  return { ms: performance.now() - started, code };
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { code?: string } });

describe('the terminal: npm start on the embedded default', () => {
  // One data directory for the file: the first start makes the cluster and the sandbox, the others reuse them.
  const dataDir = mkdtempSync(join(tmpdir(), 'dbaccess-terminal-'));
  const running: Run[] = [];
  let env: Record<string, string>;
  let port: number;

  beforeAll(async () => {
    const pgPort = await freePort();
    port = await freePort();
    env = { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), DBACCESS_CONFIG: join(dataDir, 'none.yaml') };
  });
  // A test that failed half-way leaves no process behind for the next one's data directory.
  afterEach(async () => {
    for (const app of running.splice(0)) {
      if (app.child.exitCode !== null || app.child.signalCode !== null) continue;
      // Under script(1) the app leads its own session on the pseudo-terminal: a Ctrl-C reaches it, a kill of script's group does not.
      app.child.stdin?.write('\u0003');
      const ended = await Promise.race([app.exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
      if (!ended) {
        for (const pid of execFileSync('ps', ['-o', 'pid=', '--ppid', String(app.child.pid)], { encoding: 'utf8' }).split('\n').map(Number).filter(Boolean)) process.kill(-pid, 'SIGKILL');
        process.kill(-app.child.pid!, 'SIGKILL');
        await app.exited;
      }
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const start = (extra: Record<string, string> = {}) => {
    const app = run(process.execPath, ['--import', 'tsx', 'src/main.ts'], { ...env, ...extra });
    running.push(app);
    return app;
  };

  it('on a busy port, says so in one line naming the port and PORT, and exits non-zero', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const app = start();
      const code = await app.exited;
      expect(code).not.toBe(0);
      const stderr = app.stderr().trim().split('\n');
      expect(stderr).toEqual([expect.stringMatching(new RegExp(`^dbaccess: port ${port} .*already in use.*set PORT to a free port`))]);
      expect(app.stderr()).not.toMatch(STACK_LINE);
      // Not a terminal: stdout is JSON lines only, and they keep what went wrong for whoever collects them.
      const lines = jsonLines(app.stdout());
      expect(app.stdout().trim().split('\n').length).toBe(lines.length);
      expect(lines.find((line) => line.msg === 'dbaccess could not start')?.err?.code).toBe('EADDRINUSE');
      expect(app.stdout()).not.toContain('dbaccess is running');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 120_000);

  it('logs JSON lines when stdout is not a terminal, banner after listening; a Ctrl-C to the group stops it quietly within 2 s', async () => {
    const app = start();
    await waitForOutput(app, 'dbaccess is running');
    const output = app.stdout();
    const lines = jsonLines(output);
    const banner = output.indexOf('dbaccess is running');
    expect(output.slice(0, banner).trim().split('\n').length).toBe(lines.length);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^Server listening at http:\/\/127\.0\.0\.1:/), 'dbaccess started']));
    expect(output.indexOf('Server listening at')).toBeLessThan(banner);
    expect(output.indexOf('"dbaccess started"')).toBeLessThan(banner);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const before = app.stdout().length;
    process.kill(-app.child.pid!, 'SIGINT');
    const { ms, code } = await timeToExit(app);
    expect(code, app.stderr() + app.stdout().slice(before)).toBe(0);
    expect(ms).toBeLessThan(2000);
    expect(app.stderr()).not.toMatch(/warning/i);
    expect(app.stderr()).not.toMatch(STACK_LINE);
    const after = jsonLines(app.stdout().slice(before));
    expect(after.filter((line) => line.level >= 40)).toEqual([]);
  }, 120_000);

  it('on a terminal: readable coloured lines, the banner after listening, and Ctrl-C stops it quietly within 2 s', async () => {
    // script(1) gives the app a pseudo-terminal; a Ctrl-C typed into it is a SIGINT to its foreground group.
    const command = `exec ${JSON.stringify(process.execPath)} --import tsx src/main.ts`;
    const app = run('script', ['-qefc', command, '/dev/null'], env, 'pipe');
    running.push(app);
    await waitForOutput(app, 'dbaccess is running');
    const output = app.stdout();
    expect(output).not.toContain('{"level"');
    expect(output).toMatch(ANSI);
    expect(output).toMatch(/INFO .*Server listening at http:\/\/127\.0\.0\.1:/);
    expect(output.indexOf('Server listening at')).toBeLessThan(output.indexOf('dbaccess is running'));
    expect(output.indexOf('dbaccess started')).toBeLessThan(output.indexOf('dbaccess is running'));

    const before = app.stdout().length;
    app.child.stdin!.write('\u0003');
    const { ms, code } = await timeToExit(app);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    const after = app.stdout().slice(before) + app.stderr();
    expect(after).not.toMatch(/warn|error/i);
    expect(after).not.toMatch(STACK_LINE);
  }, 120_000);

  it('on a terminal, a busy port is one line without a stack trace', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const command = `exec ${JSON.stringify(process.execPath)} --import tsx src/main.ts`;
      const app = run('script', ['-qefc', command, '/dev/null'], env, 'pipe');
      running.push(app);
      const code = await app.exited;
      expect(code).not.toBe(0);
      const output = app.stdout();
      expect(output).toMatch(new RegExp(`dbaccess: port ${port} .*already in use.*set PORT to a free port`));
      expect(output).not.toMatch(STACK_LINE);
      expect(output).not.toMatch(/FATAL|EADDRINUSE/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 120_000);
});
