import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { isAppError } from '../lib/errors.js';
import { scrubSecrets } from '../lib/logger.js';

/** Exit codes of every command: 0 all good, 1 problems found (or nothing done), 2 a usage mistake. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;

/**
 * The person an operator command names (`offboard`, `signout`): an email or a chat id, checked, or
 * undefined after the usage mistake was said.
 */
export function personArgument(given: string | undefined, io: CliIo, command: string, usage: string): string | undefined {
  const who = (given ?? '').trim();
  if (/^[A-Za-z0-9._%+@-]{2,200}$/.test(who)) return who;
  io.err(`dbaccess ${command}: give the person's email or chat id.\nUsage: ${usage}`);
  return undefined;
}

/** Who runs an operator command, for the audit log (`cli:<name>`): the OS user name, in safe characters. */
export function operatorName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40) || 'operator';
  } catch {
    return 'operator';
  }
}

/** Where a command writes: results on stdout, progress and prompts on stderr. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** stderr is a terminal: progress may redraw a status line there. */
  interactive: boolean;
  /** Replaces the status line on a terminal (empty clears it); nothing elsewhere. */
  status(text: string): void;
  /** One line from stdin after showing the question; undefined at end of input. `hidden`: not echoed on a terminal. */
  ask(question: string, options?: { hidden?: boolean }): Promise<string | undefined>;
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    interactive: Boolean(process.stderr.isTTY),
    status: (text) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
    },
    ask: (question, options) =>
      new Promise((resolve) => {
        process.stderr.write(question);
        if (options?.hidden && process.stdin.isTTY) {
          readHidden().then(resolve, () => resolve(undefined));
          return;
        }
        const lines = createInterface({ input: process.stdin, terminal: false });
        let answered = false;
        lines.once('line', (line) => {
          answered = true;
          lines.close();
          resolve(line.trim());
        });
        lines.once('close', () => {
          if (!answered) resolve(undefined);
        });
      }),
  };
}

/**
 * A line typed on the terminal without echo (an MFA or recovery code): raw mode, so that nothing
 * typed is shown; Backspace erases, Ctrl-C stops the command (exit 130), Ctrl-D ends the input.
 */
function readHidden(): Promise<string | undefined> {
  const stdin = process.stdin;
  return new Promise((resolve) => {
    let typed = '';
    const done = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(typed.trim());
        if (char === '\x04') return done(typed ? typed.trim() : undefined);
        if (char === '\x03') {
          stdin.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (char === '\x7f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress of `total` steps: each finished step prints its own line, counted `[n/N]`, on stdout as it
 * completes. On a terminal a spinner on stderr shows what is still running in between.
 */
export function startProgress(io: CliIo, total: number, label: string) {
  let done = 0;
  let frame = 0;
  const running = new Set<string>();
  const clear = () => io.status('');
  const draw = () => {
    if (!io.interactive) return;
    const names = [...running];
    const what = names.length > 0 ? `: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}` : '';
    io.status(`${SPINNER[frame++ % SPINNER.length]} ${label} ${done}/${total}${what}`);
  };
  const timer = io.interactive ? setInterval(draw, 80) : undefined;
  timer?.unref();
  return {
    started(name: string) {
      running.add(name);
      draw();
    },
    /** Prints a finished step's lines, the first one prefixed with its count. */
    finished(name: string, lines: string[]) {
      running.delete(name);
      done += 1;
      clear();
      const count = `[${String(done).padStart(String(total).length)}/${total}]`;
      lines.forEach((line, index) => io.out(index === 0 ? `${count} ${line}` : `${' '.repeat(count.length)} ${line}`));
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

/** Runs `work` over `items`, at most `limit` at a time, in any order of completion. */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/** Plain columns, padded to the widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

/** "in 42m", "2h 5m ago" */
export function relativeTime(at: Date, now = new Date()): string {
  const seconds = Math.round((at.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** 2026-11-29 10:40 UTC */
export const utc = (at: Date) => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** An error as an operator should read it: our own messages as written, others without secrets. */
export function operatorMessage(error: unknown): string {
  if (isAppError(error)) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return scrubSecrets(message).replace(/\s+/g, ' ').slice(0, 300) || 'unknown error';
}
