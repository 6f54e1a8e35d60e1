import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCatalogSet, type CatalogSet } from '../../config/catalog.js';
import { configError, targetUnavailable } from '../../lib/errors.js';
import { createAdminAvailability } from './admin-availability.js';

/** A file of databases with the given admin references (one tenant, or two when `tenants` says so). */
function catalogOf(admins: Record<string, string>, source = '/etc/dbaccess/dbaccess.yaml'): CatalogSet {
  const entries = Object.entries(admins)
    .map(([id, admin]) => `  - { id: ${id}, engine: postgres, host: 127.0.0.1, port: 5432, database: ${id}, environment: staging, admin: "${admin}" }`)
    .join('\n');
  return parseCatalogSet(`approvers:\n  slack: { channel: C0APPROVALS, users: [U0ALICE] }\ndatabases:\n${entries}\n`, source);
}

const ids = (list: Array<{ databaseId: string }>) => list.map((problem) => problem.databaseId);

describe('admin availability', () => {
  it('says which env: references are missing or empty, in the words every surface shows', () => {
    const catalogs = catalogOf({ orders: 'env:ORDERS_ADMIN_URL', billing: 'env:BILLING_ADMIN_URL', shop: 'env:SHOP_ADMIN_URL' });
    const environment: Record<string, string> = { BILLING_ADMIN_URL: '', SHOP_ADMIN_URL: 'postgresql://admin@db/shop' };
    const availability = createAdminAvailability({ catalogs: () => catalogs, readEnvReference: (name) => environment[name], recheckMs: 60_000 });
    expect(availability.of('orders')).toEqual({
      databaseId: 'orders',
      problem: 'ORDERS_ADMIN_URL is not set',
      message: 'orders is unavailable: ORDERS_ADMIN_URL is not set. Set it to the admin connection URL and restart, or remove orders from dbaccess.yaml.',
    });
    expect(availability.of('billing')?.problem).toBe('BILLING_ADMIN_URL is empty');
    expect(availability.of('shop')).toBeUndefined();
    expect(ids(availability.all())).toEqual(['orders', 'billing']);
    expect(ids(availability.in(catalogs.sections[0]!.view))).toEqual(['orders', 'billing']);
  });

  it('follows the catalog: a reload that fixes, removes or adds a reference is seen at the next check', () => {
    let catalogs = catalogOf({ orders: 'env:UNSET', billing: 'env:ALSO_UNSET' });
    const availability = createAdminAvailability({ catalogs: () => catalogs, readEnvReference: (name) => (name === 'SET' ? 'postgresql://a@b/c' : undefined), recheckMs: 60_000 });
    expect(ids(availability.all())).toEqual(['orders', 'billing']);
    catalogs = catalogOf({ orders: 'env:SET', shop: 'env:UNSET' });
    availability.check();
    expect(ids(availability.all())).toEqual(['shop']);
    expect(availability.of('billing')).toBeUndefined();
  });

  it('says Vault is not configured without a call, and otherwise waits for what Vault says', async () => {
    const catalogs = catalogOf({ orders: 'vault:secret/data/orders#url' });
    const withoutVault = createAdminAvailability({ catalogs: () => catalogs, readEnvReference: () => undefined, recheckMs: 60_000 });
    expect(withoutVault.of('orders')?.message).toBe('orders is unavailable: its admin connection is read from Vault (vault:secret/data/orders#url), but Vault is not configured. Set VAULT_ADDR and VAULT_TOKEN and restart, or remove orders from dbaccess.yaml.');

    let vault: () => Promise<string> = async () => 'postgresql://admin@db/orders';
    const calls: string[] = [];
    const availability = createAdminAvailability({
      catalogs: () => catalogs, readEnvReference: () => undefined, recheckMs: 60_000,
      readVault: (path, field) => {
        calls.push(`${path}#${field}`);
        return vault();
      },
    });
    // Nothing is known before Vault answers: the database counts as available, and no call was made yet.
    expect(availability.of('orders')).toBeUndefined();
    expect(calls).toEqual([]);

    vault = async () => { throw configError('The Vault secret secret/data/orders does not exist (reference vault:secret/data/orders#url).'); };
    await availability.refresh();
    expect(calls).toEqual(['secret/data/orders#url']);
    expect(availability.of('orders')).toEqual({
      databaseId: 'orders',
      problem: 'its Vault secret cannot be read',
      message: 'orders is unavailable: The Vault secret secret/data/orders does not exist (reference vault:secret/data/orders#url). Fix it in Vault (dbaccess reads it again every 1m), or remove orders from dbaccess.yaml.',
    });

    // Vault down says nothing about the reference: the last word stands.
    vault = async () => { throw targetUnavailable('Vault at 127.0.0.1:8200 is unreachable (connection refused) when reading secret/data/orders.'); };
    await availability.refresh();
    expect(availability.of('orders')?.problem).toBe('its Vault secret cannot be read');

    vault = async () => 'postgresql://admin@db/orders';
    await availability.refresh();
    expect(availability.of('orders')).toBeUndefined();
  });

  it('marks exactly the databases whose variable is unset or empty, and names the variable (property)', () => {
    const variable = fc.constantFrom('A_URL', 'B_URL', 'C_URL', 'D_URL');
    fc.assert(fc.property(
      fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), variable), { minLength: 1, maxLength: 8, selector: ([id]) => id }),
      fc.dictionary(variable, fc.constantFrom('', 'postgresql://admin@db/x')),
      (entries, environment) => {
        const catalogs = catalogOf(Object.fromEntries(entries.map(([id, name]) => [id, `env:${name}`])));
        const availability = createAdminAvailability({ catalogs: () => catalogs, readEnvReference: (name) => environment[name], recheckMs: 60_000 });
        const broken = entries.filter(([, name]) => !environment[name]);
        expect(ids(availability.all())).toEqual(broken.map(([id]) => id));
        for (const [id, name] of broken) {
          expect(availability.of(id)!.message).toMatch(new RegExp(`^${id} is unavailable: ${name} is (not set|empty)\\. Set it to the admin connection URL and restart, or remove ${id} from dbaccess\\.yaml\\.$`));
        }
      },
    ));
  });
});
