#!/usr/bin/env node
// `npm start`: the bundle in dist/ (bin/build.js, run by `npm ci`) when it was built from the src/ that
// is here now; otherwise the TypeScript of src/ through tsx, as before there was a build (slower start).
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from './build-fingerprint.js';

const { current, stale } = distIsCurrent(fileURLToPath(new URL('..', import.meta.url)));
if (current) {
  await import('../dist/main.js');
} else {
  if (stale) process.stderr.write('dbaccess: dist/ was built from other sources than src/: running src/ through tsx (npm run build makes the start faster)\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
