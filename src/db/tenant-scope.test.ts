import { describe, expect, it } from 'vitest';
import { asSystem, currentScope, inScope, scopeSetting, SYSTEM_SCOPE, withTenant } from './tenant-scope.js';

describe('tenant scope', () => {
  it('is no scope at all outside withTenant and asSystem', () => {
    expect(currentScope()).toBeUndefined();
    expect(scopeSetting()).toBe('');
  });

  it('carries a tenant, or the system with its reason, across awaits', async () => {
    await withTenant('tenant-a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(scopeSetting()).toBe('tenant-a');
    });
    await asSystem('sweep', async () => {
      await Promise.resolve();
      expect(currentScope()).toEqual({ tenant: SYSTEM_SCOPE, system: 'sweep' });
      expect(scopeSetting()).toBe('*');
    });
    expect(scopeSetting()).toBe('');
  });

  it('enters the system scope only by name: withTenant refuses `*` and an empty id', async () => {
    await expect(withTenant('*', async () => 1)).rejects.toThrow(/needs a tenant id/);
    await expect(withTenant('', async () => 1)).rejects.toThrow(/needs a tenant id/);
  });

  it('runs later work in a scope read earlier, or in none', async () => {
    const scope = await withTenant('tenant-b', async () => currentScope());
    expect(await inScope(scope, async () => scopeSetting())).toBe('tenant-b');
    expect(await withTenant('tenant-b', () => inScope(undefined, async () => scopeSetting()))).toBe('');
  });
});
