/**
 * The chaos suite's bounded quick form (CHAOS_QUICK=1, about 2 minutes), as a test that fails on any
 * violated invariant or any fault that did not happen. `npm test` runs it only with CHAOS=1
 * (vitest.config.ts): it holds both cores for its length.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

it('passes every invariant under every fault (CHAOS_QUICK=1)', async () => {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/run.ts'], { cwd: ROOT, env: { ...process.env, CHAOS_QUICK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const result = JSON.parse(readFileSync(new URL('results/latest.json', import.meta.url), 'utf8')) as {
    at: string; mode: string; invariants: Array<{ name: string; value: number; pass: boolean; detail?: string }>; faults: string[];
  };
  expect(new Date(result.at).getTime(), 'latest.json is from this run').toBeGreaterThan(started);
  expect(result.mode).toBe('quick form');
  expect(result.invariants.filter((row) => !row.pass), output.slice(-4000)).toEqual([]);
  // Every fault at least once: kill -9 of each kind, Redis flushed and restarted, both targets frozen
  // (SIGSTOP of the suite's own servers, checked to hold, and SIGCONT; the proxy's hold with
  // CHAOS_TARGETS=shared), the state database restarted.
  const faults = result.faults.join('\n');
  const frozen = process.env.CHAOS_TARGETS === 'shared'
    ? [/mariadb target reachable again/, /postgres target reachable again/]
    : [/mariadb target frozen for \d+ s: SIGSTOP to mariadbd .* in state T/, /postgres target frozen for \d+ s: SIGSTOP to the postmaster .* in state T/, /mariadb target reachable again: SIGCONT/, /postgres target reachable again: SIGCONT/];
  for (const fault of [/kill -9 web\d; up again in \d+ ms/, /kill -9 worker\d; up again in \d+ ms/, /Redis flushed/, /Redis restarted/, ...frozen, /state database started again/]) {
    expect(faults).toMatch(fault);
  }
  expect(code).toBe(0);
}, 300_000);
