import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sessionFile } from './cli-session.js';

/**
 * The `dbaccess connect` sessions open on this machine, per request: one empty file each, named by
 * the process id, beside the sign-in (`…/dbaccess/open/<request>/<pid>`). `--end-on-exit` ends the
 * access only when the session closing is the last one open here; a file left by a process that
 * died is not counted. Nothing secret is written.
 */
export function openSessions(environment: Record<string, string | undefined>, requestId: string) {
  const folder = join(dirname(sessionFile(environment)), 'open', requestId);
  const mine = join(folder, String(process.pid));
  return {
    enter(): void {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      writeFileSync(mine, '', { mode: 0o600 });
    },
    /** Leaves, and tells whether another session on the request is still open on this machine. */
    leave(): { othersOpen: number } {
      rmSync(mine, { force: true });
      let others: string[] = [];
      try {
        others = readdirSync(folder).filter((name) => /^\d+$/.test(name));
      } catch {
        return { othersOpen: 0 };
      }
      const alive = others.filter((pid) => {
        if (running(Number(pid))) return true;
        rmSync(join(folder, pid), { force: true });
        return false;
      });
      if (alive.length === 0) rmSync(folder, { recursive: true, force: true });
      return { othersOpen: alive.length };
    },
  };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
