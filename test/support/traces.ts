import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where a secret could be left on a machine: the files under a folder, and every process's command line. */

/** Every file under a folder, recursively, with its content and mode. */
export function filesUnder(folder: string): Array<{ path: string; content: string; mode: number }> {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, content: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777 };
    });
}

/** The command lines of every process on the machine that can be read. */
export function commandLines(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')];
    } catch {
      return [];
    }
  });
}
