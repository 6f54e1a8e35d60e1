import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/client.js';
import { waitUntil } from '../support/app-harness.js';
import { createStateDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { spawnApp, type AppProcess } from '../support/processes.js';

/**
 * Processes started together on a fresh state database: each applies the migrations (dbaccess's own,
 * and the PostgreSQL queue's schema), one at a time under an advisory lock, and every one comes up.
 */
const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
const dirs: string[] = [];
const processes: AppProcess[] = [];
const drops: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  for (const drop of drops) await drop().catch(() => {});
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function appliedMigrations(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM dbaccess_migrations.__drizzle_migrations')).rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe('processes started together on a fresh state database', () => {
  it('4 concurrent `npm run migrate` all succeed, and apply each migration once', async () => {
    const state = await createStateDatabase();
    drops.push(state.drop);
    const runs = Array.from({ length: 4 }, () => spawnApp('src/cli/migrate.ts', { DATABASE_URL: state.url, LOG_LEVEL: 'warn' }));
    processes.push(...runs);
    const codes = await Promise.all(runs.map((run) => run.exited));
    expect(codes, runs.map((run) => run.output()).join('\n----\n')).toEqual([0, 0, 0, 0]);
    expect(await appliedMigrations(state.url)).toBe(journal.entries.length);
  }, 180_000);

  it('4 app processes (web and worker, queue on PostgreSQL) all come up', async () => {
    const state = await createStateDatabase();
    drops.push(state.drop);
    const masterKey = randomBytes(32).toString('hex');
    const apps = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'dbaccess-start-'));
        dirs.push(dir);
        const port = await freePort();
        const app = spawnApp('src/main.ts', {
          DATABASE_URL: state.url, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir, DBACCESS_CONFIG: join(dir, 'none.yaml'),
          MASTER_KEY: masterKey, LOG_LEVEL: 'info', CONSOLE: 'off',
        });
        processes.push(app);
        return { app, port };
      }),
    );
    for (const { app, port } of apps) {
      await app.waitFor('dbaccess started', 150_000);
      const ready = await waitUntil(async () => {
        const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return answer?.status === 200 ? ((await answer.json()) as { checks: Record<string, string> }) : undefined;
      }, 20_000, `/readyz on ${port}`);
      expect(ready.checks).toEqual({ database: 'ok', queue: 'ok', started: 'ok' });
    }
    expect(await appliedMigrations(state.url)).toBe(journal.entries.length);
    const codes = await Promise.all(apps.map(({ app }) => app.kill('SIGTERM')));
    expect(codes).toEqual([0, 0, 0, 0]);
  }, 240_000);
});
