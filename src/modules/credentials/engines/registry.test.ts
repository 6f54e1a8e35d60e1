import { describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../../config/catalog.js';
import { Secret } from '../../../lib/secret.js';
import { clientCommand, clientName, connectionUri, type Credentials } from '../credentials.js';
import { parseScope } from '../scope.js';
import {
  ENGINES, createProviders, engineNamed, engineOf, grantPreview, issuedByVault, outsideDatabases, restrictsSourceHosts, scopeDatabases, scopeRefusal, serverEngineOf,
} from './registry.js';

const entry = (fields: Partial<DatabaseEntry>) =>
  ({ id: 'orders', host: 'db', port: 5432, database: 'orders', allowedHosts: ['%'], legacyUserNames: false, capture: 'none', ...fields }) as DatabaseEntry;
const viaVault = (engine: string) => entry({ engine: 'vault', vault: { engine, role: 'orders-read', mount: 'database' } });

describe('the engine registry', () => {
  it('holds each engine once, by the name the catalog uses', () => {
    const names = ENGINES.map((engine) => engine.name);
    expect(names).toEqual(['postgres', 'mysql', 'mariadb', 'vault']);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(engineNamed(name).name).toBe(name);
    expect(() => engineNamed('oracle')).toThrow(/"oracle" is not a database engine dbaccess knows \(postgres, mysql, mariadb, vault\)/);
  });

  it('knows which server holds the users: the entry\'s own engine, or the one behind Vault', () => {
    expect(serverEngineOf(entry({ engine: 'mariadb' })).name).toBe('mariadb');
    expect(serverEngineOf(viaVault('postgres')).name).toBe('postgres');
    expect(serverEngineOf(viaVault('mysql')).name).toBe('mysql');
    expect(engineOf(viaVault('mysql')).name).toBe('vault');
    expect(() => serverEngineOf(entry({ engine: 'vault' }))).toThrow(/no vault section/);
    expect(issuedByVault(viaVault('postgres'))).toBe(true);
    expect(issuedByVault(entry({ engine: 'postgres' }))).toBe(false);
  });

  it('answers what callers used to switch on: source hosts, scope bounds, scopes Vault refuses', () => {
    expect(restrictsSourceHosts(entry({ engine: 'mysql' }))).toBe(true);
    expect(restrictsSourceHosts(entry({ engine: 'postgres' }))).toBe(false);
    expect(restrictsSourceHosts(viaVault('mysql'))).toBe(false);
    expect(scopeDatabases(entry({ engine: 'postgres' }))).toBeUndefined();
    expect(scopeDatabases(viaVault('mariadb'))).toEqual(['orders']);
    expect(outsideDatabases(entry({ engine: 'mysql', databases: ['orders', 'archive'] }), parseScope('archive.t, other'))).toBe(
      'other is not a database of orders. A scope on orders may name only orders, archive (or their tables).',
    );
    expect(scopeRefusal(viaVault('postgres'))).toBe("Vault's role orders-read decides what orders grants: leave the scope empty.");
    expect(scopeRefusal(entry({ engine: 'postgres' }))).toBeUndefined();
  });

  it('previews the grants as each engine runs them', () => {
    expect(grantPreview(viaVault('postgres'), 'read', [], [], 'dba_')).toEqual(['-- issued by Vault: the creation statements of role orders-read (mount database)']);
    expect(grantPreview(entry({ engine: 'mariadb', allowedHosts: ['10.0.%'] }), 'read', [], [], 'dba_', 'dba_x')).toEqual(["GRANT SELECT ON `orders`.* TO 'dba_x'@'10.0.%'"]);
    expect(grantPreview(entry({ engine: 'postgres' }), 'admin', [], [], 'dba_').at(0)).toBe('GRANT CONNECT, TEMPORARY ON DATABASE "orders" TO "<temporary user>"');
  });

  it('names new users as the engine allows, and Vault\'s placeholder as never made', () => {
    expect(engineOf(entry({ engine: 'postgres' })).userName(entry({ engine: 'postgres' }), 'dba_', 'abcdefghij')).toBe('dba_abcdefghij');
    const legacy = entry({ engine: 'mysql', legacyUserNames: true });
    expect(() => engineOf(legacy).userName(legacy, 'longprefix_', 'abcdefghij')).toThrow(/at most 16 characters/);
    const vault = engineOf(viaVault('postgres'));
    const placeholder = vault.userName(viaVault('postgres'), 'dba_', 'abcdefghij');
    expect(placeholder).toMatch(/^vault-pending-[a-z0-9]{12}$/);
    expect(vault.neverMade?.(placeholder)).toBe(true);
    expect(vault.neverMade?.('v-token-orders-read-x')).toBe(false);
  });

  it('makes one provider per engine; Vault ends sessions through the provider of the server behind it', async () => {
    const providers = createProviders({ installId: 'k3x7q2ab' });
    try {
      expect(providers.ofServer(viaVault('postgres'))).toBe(providers.of(entry({ engine: 'postgres' })));
      expect(providers.of(viaVault('postgres'))).not.toBe(providers.of(entry({ engine: 'postgres' })));
      // Without Vault configured, a Vault entry fails with what to set, not with a crash.
      await expect(providers.of(viaVault('postgres')).provision({ entry: viaVault('postgres'), adminUrl: '' }, { username: 'x', password: 'x', expiresAt: new Date(Date.now() + 60_000), level: 'read', scope: [] })).rejects.toThrow(
        'Vault is not configured: set VAULT_ADDR and VAULT_TOKEN.',
      );
    } finally {
      await providers.close();
    }
  });
});

describe('credentials as people connect with them', () => {
  const credentials = (protocol: string): Credentials => ({
    protocol, host: 'db.internal', port: 3306, database: 'shop floor', username: "dba_o'x", password: new Secret("p@ss w'rd/?#"), expiresAt: new Date(0),
  });

  it('PostgreSQL: a postgresql:// URI, every part escaped, and psql', () => {
    expect(connectionUri(credentials('postgres'))).toBe("postgresql://dba_o'x:p%40ss%20w'rd%2F%3F%23@db.internal:3306/shop%20floor");
    expect(clientCommand(credentials('postgres'))).toBe(`psql "${connectionUri(credentials('postgres'))}"`);
    expect(clientName(credentials('postgres'))).toBe('psql');
  });

  it('MySQL and MariaDB: a mysql:// URI, and the mysql client with shell-quoted arguments', () => {
    for (const protocol of ['mysql', 'mariadb']) {
      expect(connectionUri(credentials(protocol))).toBe("mysql://dba_o'x:p%40ss%20w'rd%2F%3F%23@db.internal:3306/shop%20floor");
      expect(clientCommand(credentials(protocol))).toBe(`mysql --host=db.internal --port=3306 --user='dba_o'\\''x' --password='p@ss w'\\''rd/?#' 'shop floor'`);
      expect(clientName(credentials(protocol))).toBe('mysql');
    }
  });
});
