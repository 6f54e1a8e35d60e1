import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/app-harness.js';
import { freePort } from '../support/ports.js';

/** The README's first command: `npm start` with nothing configured runs on the embedded default. */
describe('npm start on the embedded default', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dbaccess-embedded-'));
  let child: ChildProcess | undefined;
  let output = '';
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts its own PostgreSQL, runs the queue on it, answers /readyz, and stops cleanly', async () => {
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), DBACCESS_CONFIG: join(dataDir, 'none.yaml') };
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));

    const ready = await waitUntil(async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return answer?.status === 200 ? ((await answer.json()) as { checks: Record<string, string> }) : undefined;
    }, 45_000, `/readyz (output so far: ${output.slice(-500)})`);
    expect(ready.checks).toEqual({ database: 'ok', queue: 'ok', started: 'ok' });
    expect(output).toContain('"queue":"postgres"');
    expect(output).toContain('no catalog file');

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('dbaccess_active_leases 0');

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
