/**
 * How adapters (chat, HTTP, jobs, the CLI) put their work in a tenant's scope, or the system's by
 * name: through the tenants module, not the database client underneath it (a layer rule that
 * .dependency-cruiser.cjs checks). Row-level security on the state database reads this scope; see
 * src/db/tenant-scope.ts for how it is carried and sent.
 */
export { asSystem, withTenant } from '../../db/tenant-scope.js';
