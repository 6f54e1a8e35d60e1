import { SANDBOX_ADMIN_REFERENCE, catalogFor } from '../app/sandbox.js';
import type { BuiltInCatalog } from '../config/config-check.js';

/** Where the server says its sandbox catalog comes from (app/container.ts names it the same). */
export const SANDBOX_SOURCE = 'sandbox (built in)';

/** What the server serves with no catalog file and no DATABASE_URL: the CLI checks and uses the same. */
export const SANDBOX_CATALOG: BuiltInCatalog = {
  source: SANDBOX_SOURCE,
  name: 'the built-in sandbox catalog',
  text: catalogFor,
  references: [SANDBOX_ADMIN_REFERENCE],
};
