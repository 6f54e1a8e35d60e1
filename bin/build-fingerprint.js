// What the compiled dist/ was built from: every non-test file under src/ (path, size, mtime) and
// tsconfig.json, hashed. bin/build.js stores it; bin/start.js runs dist/ only when it still matches.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The files of src/ that the build reads (tests are not compiled). */
export function sourceFiles(srcDir) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !entry.name.endsWith('.test.ts')) files.push(path);
    }
  };
  walk(srcDir);
  return files.sort();
}

export function fingerprint(root) {
  const hash = createHash('sha256');
  for (const path of [...sourceFiles(join(root, 'src')), join(root, 'tsconfig.json')]) {
    const { size, mtimeMs } = statSync(path);
    hash.update(`${relative(root, path)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/**
 * Whether dist/ was built from the src/ that is here now (bin/start.js and bin/dbaccess.js run it
 * then; otherwise src/ through tsx, and the second value says dist/ exists but is stale).
 */
export function distIsCurrent(root) {
  let built;
  try {
    built = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8')).fingerprint;
  } catch {
    return { current: false, stale: false };
  }
  const current = built === fingerprint(root);
  return { current, stale: !current };
}
