import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/app-harness.js';
import { freePort } from '../support/ports.js';

/**
 * Start-up time (issue 17): what a configuration does not use is not loaded. The real entry, started
 * with nothing configured (no Slack, Teams or Anthropic key), under a loader hook that records every
 * module the ESM loader resolves; none of the heavy SDKs may be among them once it is ready.
 */
const NOT_AT_START = ['botbuilder', 'botframework-connector', '@azure/msal-node', '@slack/bolt', '@slack/web-api', '@anthropic-ai/sdk', 'pdfkit', 'libpg-query', 'node-sql-parser'];

describe('start-up loads only what the configuration uses', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dbaccess-lazy-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a start without Slack, Teams or a model key loads no chat SDK, model SDK, PDF writer or SQL parser', async () => {
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const record = join(dataDir, 'modules.txt');
    const env = {
      PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort), DBACCESS_CONFIG: join(dataDir, 'none.yaml'), RECORD_MODULES_TO: record,
    };
    child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/record-modules.mjs', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 45_000, `/readyz (output so far: ${output.slice(-500)})`);
    // The console answers too: it is what the sandbox start is for.
    expect((await fetch(`http://127.0.0.1:${port}/console`)).status).toBe(200);

    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    // The recorder works: the entry, the composition root and the HTTP server are there.
    expect(loaded.some((url) => url.endsWith('/src/app/container.ts'))).toBe(true);
    expect(loaded.some((url) => url.includes('/node_modules/fastify/'))).toBe(true);
    const heavy = NOT_AT_START.filter((name) => loaded.some((url) => url.includes(`/node_modules/${name}/`)));
    expect(heavy).toEqual([]);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
