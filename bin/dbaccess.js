#!/usr/bin/env node
// The `dbaccess` command (package.json "bin"; `npx dbaccess <command>`). dbaccess runs its TypeScript
// through tsx, a production dependency: nothing is compiled, here or in the Docker image.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
