import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { waitUntil } from '../support/app-harness.js';
import { freePort } from '../support/ports.js';

/**
 * The image, built from the Dockerfile and run as docker-compose.try.yml runs it, where a Docker
 * engine answers (CI installs Debian's docker.io: .ci/prepare-docker.sh). The browser is this machine's:
 * its requests reach the container through the published port, from outside the container's loopback.
 * The compose file's settings are turned into `docker run` options here, so that each test uses a free
 * port and its own volume. Elsewhere it is skipped; docker-entrypoint.test.ts runs the same start under Node.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const engine = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 }).status === 0;
// One tag, built again each run: the next build reuses its layers.
const TAG = 'dbaccess:test';
const TOKEN_LINE = /^dbaccess: open http:\/\/127\.0\.0\.1:\d+\/console\?token=([A-Za-z0-9_-]+)$/m;

interface TryService {
  environment: Record<string, string | null>;
  volumes: string[];
  ports: string[];
  init?: boolean;
}
const service = (parse(readFileSync(new URL('docker-compose.try.yml', `file://${ROOT}`), 'utf8')) as { services: { try: TryService } }).services.try;
const [, volumePath] = service.volumes[0]!.split(':');
const containerPort = service.ports[0]!.split(':').at(-1)!;

/** The classic builder: BuildKit would fetch the Dockerfile's `# syntax` image, and nothing else needs it. */
function docker(args: string[], timeoutMs = 60_000): string {
  return execFileSync('docker', args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What the container wrote, stdout and stderr, over all its starts. */
function logs(name: string): string {
  const result = spawnSync('docker', ['logs', name], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`;
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe.skipIf(!engine)('the Docker image, built and run by a Docker engine', () => {
  const run = randomBytes(3).toString('hex');
  const containers: string[] = [];
  const volumes: string[] = [];
  afterAll(() => {
    for (const name of containers) spawnSync('docker', ['rm', '-f', name]);
    for (const name of volumes) spawnSync('docker', ['volume', 'rm', '-f', name]);
  });

  /** `docker compose -f docker-compose.try.yml up`, as `docker run` options, with changes to its environment. */
  async function startTrial(label: string, env: Record<string, string | null> = {}): Promise<{ name: string; port: number }> {
    const name = `dbaccess-test-${label}-${run}`;
    const port = await freePort();
    containers.push(name);
    volumes.push(name);
    const environment = Object.entries({ ...service.environment, ...env }).filter((entry): entry is [string, string] => entry[1] !== null);
    docker([
      'run', '-d', '--name', name, ...(service.init ? ['--init'] : []),
      '-p', `127.0.0.1:${port}:${containerPort}`, '-v', `${name}:${volumePath}`,
      ...environment.flatMap(([key, value]) => ['-e', `${key}=${value}`]),
      TAG,
    ]);
    await waitUntil(() => logs(name).includes('dbaccess is running'), 120_000, `the container to start (its output: ${logs(name).slice(-1500)})`);
    return { name, port };
  }

  it('builds', () => {
    docker(['build', '-t', TAG, '.'], 900_000);
    expect(docker(['image', 'inspect', TAG, '--format', '{{.Config.User}} {{json .Config.Cmd}}']).trim()).toBe('node ["node","bin/docker-entrypoint.js"]');
  }, 900_000);

  it('runs the trial: the sandbox and the console reachable from this machine with the token printed once, the same after a restart', async () => {
    const { name, port } = await startTrial('trial');
    const url = `http://127.0.0.1:${port}`;
    const token = TOKEN_LINE.exec(logs(name))![1]!;
    expect(docker(['exec', name, 'cat', `${volumePath}/console-token`]).trim()).toBe(token);
    expect(docker(['exec', name, 'stat', '-c', '%U %a', `${volumePath}/console-token`]).trim()).toBe('node 600');
    // Only the app's port leaves the container, and only to this machine's loopback.
    expect(docker(['port', name]).trim().split('\n')).toEqual([`${containerPort}/tcp -> 127.0.0.1:${port}`]);

    expect((await fetch(`${url}/console`)).status).toBe(401);
    const entry = await fetch(`${url}/console?token=${token}`, { redirect: 'manual' });
    expect([entry.status, entry.headers.get('location')]).toEqual([302, '/console']);
    const cookie = entry.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${url}/console`, { headers: { cookie } })).status).toBe(200);
    const state = (await (await fetch(`${url}/console/api/state`, { headers: { cookie } })).json()) as { databases: Array<{ id: string }> };
    expect(state.databases.map((database) => database.id)).toEqual(['sandbox']);

    docker(['restart', name]);
    await waitUntil(() => count(logs(name), 'dbaccess is running') === 2, 120_000, 'the restart');
    expect(logs(name)).toContain(`the console's token is the one kept in ${volumePath}/console-token`);
    expect(count(logs(name), token)).toBe(1);
    expect((await fetch(`${url}/console/api/state`, { headers: { cookie } })).status).toBe(200);
  }, 300_000);

  it('uses a CONSOLE_TOKEN given and keeps no file; without CONSOLE_TOKEN_FILE or a token, the console refuses this machine', async () => {
    const given = `given-${randomBytes(16).toString('hex')}`;
    const withToken = await startTrial('given', { CONSOLE_TOKEN: given });
    expect((await fetch(`http://127.0.0.1:${withToken.port}/console/api/state`, { headers: { authorization: `Bearer ${given}` } })).status).toBe(200);
    expect(spawnSync('docker', ['exec', withToken.name, 'test', '-e', `${volumePath}/console-token`]).status).toBe(1);
    expect(logs(withToken.name)).not.toContain(given);

    const withoutToken = await startTrial('none', { CONSOLE_TOKEN_FILE: null });
    expect((await fetch(`http://127.0.0.1:${withoutToken.port}/console/api/state`)).status).toBe(403);
  }, 300_000);
});
