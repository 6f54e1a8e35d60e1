import { asSystem, currentScope } from '../../src/db/tenant-scope.js';

/**
 * A service whose methods run in the system's scope when the caller chose none, as the jobs that
 * call them do (outside a scope the state database shows nothing). A call the test makes inside
 * withTenant keeps that tenant's scope.
 */
export function asJobs<T extends object>(service: T): T {
  return new Proxy(service, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (currentScope() ? value.apply(target, args) : asSystem('test', async () => value.apply(target, args)));
    },
  });
}
