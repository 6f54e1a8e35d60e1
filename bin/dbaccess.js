#!/usr/bin/env node
// The `dbaccess` command (package.json "bin"; `npx dbaccess <command>`): the bundle in dist/ when it
// was built from the src/ here (bin/build.js), otherwise src/ through tsx (a production dependency;
// the Docker image has no dist/).
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from './build-fingerprint.js';

if (distIsCurrent(fileURLToPath(new URL('..', import.meta.url))).current) {
  await import('../dist/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
