import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The tenant the current work belongs to, carried across awaits. The state database's row-level
 * security reads it (`dbaccess.tenant_id`), so a query made for one tenant cannot see or change
 * another's rows even if its own WHERE clause forgot the tenant. Background work that spans
 * tenants (jobs, the sweep, metrics) runs as the system, `*`.
 */
const storage = new AsyncLocalStorage<string>();

export const SYSTEM_SCOPE = '*';

/**
 * Runs `work` in a tenant's scope. It is awaited inside the scope: drizzle's query builders are
 * lazy thenables that would otherwise run in the caller's scope when awaited outside.
 */
export function withTenant<T>(tenantId: string, work: () => PromiseLike<T>): Promise<T> {
  return storage.run(tenantId, async () => await work());
}

export function asSystem<T>(work: () => PromiseLike<T>): Promise<T> {
  return storage.run(SYSTEM_SCOPE, async () => await work());
}

/** The scope of the running code; outside any scope, the system's. */
export const currentScope = (): string => storage.getStore() ?? SYSTEM_SCOPE;
