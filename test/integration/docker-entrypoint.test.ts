import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../support/ports.js';
import { spawnApp, type AppProcess } from '../support/processes.js';

/**
 * The Docker trial's start (docker-compose.try.yml), run under Node directly: the image's command,
 * `node bin/docker-entrypoint.js`, with the environment the compose file gives it. The image's /data
 * volume is a temporary directory; the port is a free one (3000 may be taken on a shared machine).
 * The browser of the machine that runs Docker reaches the container from outside its loopback: here
 * that is a real socket to this machine's own non-loopback address, never a forwarded header.
 */
interface TryService {
  environment: Record<string, string | null>;
  volumes: string[];
}
const compose = parse(readFileSync(new URL('../../docker-compose.try.yml', import.meta.url), 'utf8')) as { services: { try: TryService } };
const service = compose.services.try;
const volumePath = service.volumes[0]!.split(':')[1]!;
const outside = Object.values(networkInterfaces()).flat().find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
const TOKEN_LINE = /^dbaccess: open http:\/\/127\.0\.0\.1:(\d+)\/console\?token=([A-Za-z0-9_-]+)$/m;

/** The compose file's environment for a data directory here (null: passed from the shell when set). */
function trialEnv(dataDir: string, port: number, pgPort: number, extra: Record<string, string> = {}): Record<string, string> {
  const fromCompose = Object.entries(service.environment).filter((entry): entry is [string, string] => entry[1] !== null);
  return {
    ...Object.fromEntries(fromCompose.map(([name, value]) => [name, value.replace(volumePath, dataDir)])),
    // The image's ENV DATA_DIR is the volume; its /app holds no catalog file (the sandbox).
    DATA_DIR: dataDir,
    DBACCESS_CONFIG: join(dataDir, 'dbaccess.yaml'),
    PORT: String(port),
    EMBEDDED_PG_PORT: String(pgPort),
    ...extra,
  };
}

/** GET from this machine's non-loopback address, as a browser outside the container does. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request({ host: outside, port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    call.on('error', reject);
    call.end();
  });
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe.skipIf(!outside)('the Docker entrypoint, run under Node', () => {
  const dirs: string[] = [];
  const running: AppProcess[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-docker-'));
    dirs.push(dir);
    return dir;
  };
  async function start(env: Record<string, string>): Promise<AppProcess> {
    const app = spawnApp('bin/docker-entrypoint.js', env);
    running.push(app);
    await app.waitFor('dbaccess is running', 90_000);
    return app;
  }
  async function stop(app: AppProcess): Promise<void> {
    expect(await app.kill('SIGTERM')).toBe(0);
  }
  afterAll(async () => {
    await Promise.all(running.map((app) => app.kill('SIGKILL')));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const kept = dataDir();
  let token = '';
  let cookie = '';

  it('first start: generates a token into the data volume, prints it once with the address, and the console needs it from outside', async () => {
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const app = await start(trialEnv(kept, port, pgPort));

    const file = join(kept, 'console-token');
    token = readFileSync(file, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(24);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(TOKEN_LINE.exec(app.output())?.slice(1)).toEqual([String(port), token]);

    expect((await get(port, '/console')).status).toBe(401);
    expect((await get(port, '/console/api/state')).status).toBe(401);
    expect((await get(port, '/console/api/state', { authorization: `Bearer ${'x'.repeat(token.length)}` })).status).toBe(401);
    // Headers that claim loopback change nothing: the token is what counts.
    expect((await get(port, '/console/api/state', { 'x-forwarded-for': '127.0.0.1', host: `localhost:${port}` })).status).toBe(401);

    // The printed address: the token moves into an HttpOnly, SameSite=Strict cookie and out of the address.
    const entry = await get(port, `/console?token=${token}`);
    expect([entry.status, entry.headers.location]).toEqual([302, '/console']);
    const setCookie = String(entry.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    cookie = setCookie.split(';')[0]!;
    expect((await get(port, '/console', { cookie })).status).toBe(200);
    const state = await get(port, '/console/api/state', { cookie });
    expect(state.status).toBe(200);
    expect((JSON.parse(state.body) as { databases: Array<{ id: string }> }).databases.map((database) => database.id)).toEqual(['sandbox']);

    // Once, in all it wrote: the visit with the token in its address left no trace.
    expect(count(app.output(), token)).toBe(1);
    await stop(app);
    expect(count(app.output(), token)).toBe(1);
  }, 120_000);

  it('a restart keeps the token and says where it is, not what it is', async () => {
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const app = await start(trialEnv(kept, port, pgPort));
    expect(app.output()).not.toContain(token);
    expect(app.output()).toContain(`the console's token is the one kept in ${join(kept, 'console-token')}`);
    expect(app.output()).not.toMatch(TOKEN_LINE);
    expect(readFileSync(join(kept, 'console-token'), 'utf8').trim()).toBe(token);
    expect((await get(port, '/console/api/state', { cookie })).status).toBe(200);
    expect((await get(port, '/console/api/state')).status).toBe(401);
    await stop(app);
  }, 120_000);

  it('uses a CONSOLE_TOKEN given, over the one kept, and never generates one over it', async () => {
    const given = 'given-console-token-0123456789abcdef';
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const app = await start(trialEnv(kept, port, pgPort, { CONSOLE_TOKEN: given }));
    expect((await get(port, '/console/api/state', { authorization: `Bearer ${given}` })).status).toBe(200);
    expect((await get(port, '/console/api/state', { cookie })).status).toBe(401);
    expect(readFileSync(join(kept, 'console-token'), 'utf8').trim()).toBe(token);
    expect(app.output()).not.toContain(given);
    expect(app.output()).not.toContain(token);
    await stop(app);

    // On an empty volume too: no file, nothing printed.
    const empty = dataDir();
    const [port2, pgPort2] = await Promise.all([freePort(), freePort()]);
    const second = await start(trialEnv(empty, port2, pgPort2, { CONSOLE_TOKEN: given }));
    expect((await get(port2, '/console/api/state', { authorization: `Bearer ${given}` })).status).toBe(200);
    expect(() => statSync(join(empty, 'console-token'))).toThrow(/ENOENT/);
    expect(second.output()).not.toContain(given);
    expect(second.output()).not.toMatch(/dbaccess: (open|a token|the console's token)/);
    await stop(second);
  }, 180_000);

  it('without CONSOLE_TOKEN_FILE (the image as docker-compose.yml runs it) and no token, the console answers loopback only', async () => {
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const env = trialEnv(dataDir(), port, pgPort);
    delete env.CONSOLE_TOKEN_FILE;
    const app = await start(env);
    expect((await fetch(`http://127.0.0.1:${port}/console/api/state`)).status).toBe(200);
    expect((await get(port, '/console/api/state')).status).toBe(403);
    expect((await get(port, '/console/api/state', { 'x-forwarded-for': '127.0.0.1', host: `localhost:${port}` })).status).toBe(403);
    expect((await get(port, `/console?token=${token}`)).status).toBe(403);
    expect(app.output()).not.toContain(token);
    await stop(app);
  }, 120_000);
});
