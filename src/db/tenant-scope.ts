import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The tenant the current work belongs to, carried across awaits. The state database's row-level
 * security reads it (`dbaccess.tenant_id`), so a query made for one tenant cannot see or change
 * another's rows even if its own WHERE clause forgot the tenant.
 *
 * No scope means no rows: a query made outside `withTenant` and `asSystem` is sent with an empty
 * scope, and row-level security shows it nothing and refuses its writes. Work that spans tenants
 * (jobs, the sweep, metrics, the CLI) enters the system's scope, `*`, explicitly and by name.
 */
export interface Scope {
  /** A tenant id, or SYSTEM_SCOPE. */
  readonly tenant: string;
  /** Why the system's scope was entered (`job:revoke`, `metrics`, `cli:leases`); undefined in a tenant's. */
  readonly system?: string;
}

const storage = new AsyncLocalStorage<Scope>();

export const SYSTEM_SCOPE = '*';
/** What the server is told outside any scope: matches no tenant. */
export const NO_SCOPE = '';

/**
 * Runs `work` in a tenant's scope. It is awaited inside the scope: drizzle's query builders are
 * lazy thenables that would otherwise run in the caller's scope when awaited outside.
 */
export function withTenant<T>(tenantId: string, work: () => PromiseLike<T>): Promise<T> {
  // The system's scope is entered by name only, and an empty id would be no scope at all.
  if (!tenantId || tenantId === SYSTEM_SCOPE) return Promise.reject(new Error(`withTenant needs a tenant id, got ${JSON.stringify(tenantId)}`));
  return inScope({ tenant: tenantId }, work);
}

/** Runs `work` as the system, which sees every tenant; `reason` names who does so (`sweep`, `job:revoke`). */
export function asSystem<T>(reason: string, work: () => PromiseLike<T>): Promise<T> {
  return inScope({ tenant: SYSTEM_SCOPE, system: reason }, work);
}

/** Runs `work` again in a scope read earlier with currentScope() (work handed to a later turn). */
export function inScope<T>(scope: Scope | undefined, work: () => PromiseLike<T>): Promise<T> {
  if (!scope) return storage.exit(async () => await work());
  return storage.run(scope, async () => await work());
}

/** The scope of the running code; undefined outside any. */
export const currentScope = (): Scope | undefined => storage.getStore();

/** The value of `dbaccess.tenant_id` for the running code: its tenant, `*`, or NO_SCOPE outside any. */
export const scopeSetting = (): string => storage.getStore()?.tenant ?? NO_SCOPE;
