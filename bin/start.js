#!/usr/bin/env node
// `npm start`: the compiled dist/ (bin/build.js, run by `npm ci`) when it was built from the src/ that
// is here now; otherwise the TypeScript of src/ through tsx, as before there was a build (slower start).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fingerprint } from './build-fingerprint.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../dist/build.json', import.meta.url), 'utf8')).fingerprint;
  } catch {
    return undefined;
  }
})();

if (built && built === fingerprint(root)) {
  await import('../dist/main.js');
} else {
  if (built) process.stderr.write('dbaccess: dist/ was built from other sources than src/: running src/ through tsx (npm run build makes the start faster)\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
