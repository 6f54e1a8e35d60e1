import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of dbaccess's package.json, whether this code runs from src/ (tsx) or from a chunk of
 * the bundle in dist/ (bin/build.js), which sit at different depths: paths to migrations/, the
 * console's files and package.json start here, not at the importing file.
 */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dir === dirname(dir)) throw new Error(`No package.json above ${from}.`);
  }
}
