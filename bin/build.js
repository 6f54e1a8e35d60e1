#!/usr/bin/env node
// `npm run build`, and the package's `prepare` script (so `npm ci` runs it): src/ compiled to dist/
// file by file with esbuild (no bundle, no type check: `npm run lint` does that), the console's static
// files copied beside. `npm start` (bin/start.js) runs dist/ while it matches src/, else src/ through tsx.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint, sourceFiles } from './build-fingerprint.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
if (!existsSync(src)) {
  // An install of the dependencies alone (the Docker image's first stage): nothing to build.
  process.exit(0);
}
const started = Date.now();
const built = fingerprint(root); // before reading: a file changed during the build makes dist/ stale
const files = sourceFiles(src);
const { build } = await import('esbuild');
rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')),
  outdir: dist,
  outbase: src,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
for (const file of files.filter((name) => !name.endsWith('.ts'))) {
  const target = join(dist, relative(src, file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
}
writeFileSync(join(dist, 'build.json'), `${JSON.stringify({ fingerprint: built, builtAt: new Date().toISOString() })}\n`);
process.stderr.write(`dbaccess: compiled ${files.length} files of src/ into dist/ in ${Date.now() - started} ms\n`);
