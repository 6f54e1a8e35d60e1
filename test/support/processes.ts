import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './app-harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface AppProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** stderr alone so far. */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Waits until the output contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A dbaccess process as an operator starts it (`node --import tsx <script>` in the repository), with
 * only the environment given here: `src/main.ts` for the app, `src/cli/migrate.ts` for `npm run migrate`.
 * A script of bin/ runs as the image runs it: `node <script>`, no loader (it brings its own).
 */
export function spawnApp(script: string, env: Record<string, string>, args: string[] = []): AppProcess {
  const loader = script.startsWith('bin/') ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...loader, script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    stderr: () => stderr,
    exited,
    async waitFor(text, timeoutMs = 60_000) {
      await waitUntil(
        () => {
          if (typeof text === 'string' ? output.includes(text) : text.test(output)) return true;
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the process ended (${child.exitCode ?? child.signalCode}): ${output.slice(-2000)}`);
          return false;
        },
        timeoutMs,
        `${String(text)} (output so far: ${output.slice(-1000)})`,
      );
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
