import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalog, parseCatalog } from '../../../config/catalog.js';
import { catalogEngines } from './catalog-rules.js';

const parse = (text: string, source = 'test.yaml') => parseCatalog(text, source, catalogEngines);

const valid = `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
customLevels:
  cleanup: { privileges: [SELECT, TRUNCATE] }
databases:
  - id: orders
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: orders
    environment: production
    admin: env:ORDERS_ADMIN_URL
`;
const mariadb = valid.replace('engine: postgres', 'engine: mariadb').replace('port: 5433', 'port: 3306');
const vault = valid.replace('engine: postgres', 'engine: vault');

describe('shipped catalog example', () => {
  it('is valid, its engines included', () => {
    const view = parse(readFileSync(new URL('../../../../dbaccess.example.yaml', import.meta.url), 'utf8'));
    expect(view.database('orders')?.levels).toEqual(['read', 'write']);
  });

  it('a missing catalog file starts without databases instead of failing', () => {
    const catalogs = loadCatalog('/nonexistent/dbaccess.yaml', catalogEngines);
    expect(catalogs.source).toBeUndefined();
    expect(catalogs.databases()).toEqual([]);
    expect(catalogs.forTenant('slack', 'T0ANY').catalog.databases).toEqual([]);
  });
});

describe('what the engines check of catalog entries', () => {
  it('knows the engines of the registry, and says which, at the line and column of the engine', () => {
    expect(parse(valid).database('orders')!.engine).toBe('postgres');
    expect(() => parse(valid.replace('engine: postgres', 'engine: oracle'))).toThrow('test.yaml:7:13: databases.0.engine: must be one of postgres, mysql, mariadb, vault');
    // Without the engines (a module config cannot import), the catalog checks the name's shape only.
    expect(parseCatalog(valid.replace('engine: postgres', 'engine: oracle')).database('orders')!.engine).toBe('oracle');
  });

  it('a Vault entry needs its vault section, naming an engine that holds users; other entries have none', () => {
    expect(() => parse(vault)).toThrow(/test.yaml:7:\d+: databases.0: engine vault needs a vault section \(role, engine\)/);
    expect(parse(`${vault}    vault: { role: orders-read, engine: postgres }\n`).database('orders')!.vault).toEqual({ role: 'orders-read', mount: 'database', engine: 'postgres' });
    expect(() => parse(`${vault}    vault: { role: orders-read, engine: vault }\n`)).toThrow(/databases.0.vault.engine: must be one of postgres, mysql, mariadb$/);
    expect(() => parse(`${valid}    vault: { role: orders-read, engine: postgres }\n`)).toThrow(/test.yaml:7:\d+: databases.0: a vault section needs engine: vault/);
  });

  it('capture methods are the engine\'s', () => {
    expect(parse(`${valid}    capture: pgaudit\n`).database('orders')!.capture).toBe('pgaudit');
    expect(() => parse(`${mariadb}    capture: pgaudit\n`)).toThrow(/databases.0.capture: mariadb supports server_audit, general_log, none$/);
    expect(() => parse(`${vault}    vault: { role: r, engine: postgres }\n    capture: pgaudit\n`)).toThrow(/databases.0.capture: vault supports none \(Vault creates the users; capture is not supported there yet\)/);
  });

  it('a custom level lists only privileges the engine has', () => {
    expect(parse(`${valid}    levels: [read, cleanup]\n`).database('orders')!.levels).toEqual(['read', 'cleanup']);
    expect(() => parse(`${mariadb}    levels: [read, cleanup]\n`)).toThrow(/test.yaml:13:\d+: databases.0.levels: "cleanup" lists TRUNCATE, which mariadb does not have as a privilege/);
  });

  it('only engines whose accounts are server-wide list databases, and then their own among them', () => {
    expect(parse(`${mariadb}    databases: [orders, orders_archive]\n`).database('orders')!.databases).toEqual(['orders', 'orders_archive']);
    expect(() => parse(`${mariadb}    databases: [orders_archive]\n`, 'm.yaml')).toThrow(/m.yaml:13:\d+: databases.0.databases: must include the entry's own database "orders"/);
    expect(() => parse(`${valid}    databases: [orders]\n`, 'p.yaml')).toThrow(/p.yaml:13:\d+: databases.0.databases: only MySQL and MariaDB entries list databases; a postgres entry grants within its database/);
    expect(() => parse(`${vault}    vault: { role: r, engine: postgres }\n    databases: [orders]\n`)).toThrow(/a postgres entry grants within its database/);
    expect(parse(`${vault}    vault: { role: r, engine: mysql }\n    databases: [orders]\n`).database('orders')!.databases).toEqual(['orders']);
  });
});
