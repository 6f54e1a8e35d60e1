import { describe, expect, it } from 'vitest';
import { parseCatalog, parseCatalogSet } from './catalog.js';

const valid = `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
databases:
  - id: orders
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: orders
    environment: production
    admin: env:ORDERS_ADMIN_URL
    maxDuration: 4h
`;

describe('catalog', () => {
  it('reads the documented shape with defaults', () => {
    const view = parseCatalog(valid);
    const orders = view.database('orders')!;
    expect(orders.maxDuration).toBe(4 * 3600);
    expect(orders.levels).toEqual(['read', 'write', 'admin']);
    expect(view.approversFor(orders).slack?.users).toEqual(['U0ALICE', 'U0BOB']);
    expect(view.catalog.settings).toEqual({ pendingTimeout: 3600, minDuration: 300, userPrefix: 'dba_' });
  });

  it('lets a database override the approvers', () => {
    const text = valid + `    approvers:\n      slack: { channel: C0DBAS, users: [U0CAROL] }\n`;
    const view = parseCatalog(text);
    expect(view.approversFor(view.database('orders')!).slack).toEqual({ channel: 'C0DBAS', users: ['U0CAROL'] });
  });

  it.each([
    ['a bad duration', valid.replace('maxDuration: 4h', 'maxDuration: forever'), 'test.yaml:11:18: databases.0.maxDuration: must be a duration'],
    ['an inline secret', valid.replace('env:ORDERS_ADMIN_URL', 'postgresql://admin:pw@db/orders'), 'test.yaml:10:12: databases.0.admin: must be a reference'],
    ['an engine that is no name', valid.replace('engine: postgres', 'engine: Oracle!'), 'test.yaml:5:13: databases.0.engine'],
    ['a misspelt key', valid.replace('port: 5433', 'prot: 5433'), 'test.yaml:4:5: databases.0'],
    ['a missing approvers section', valid.split('\n').slice(2).join('\n'), 'test.yaml:1:1: approvers'],
  ])('names the file, line and column of %s', (_what, text, message) => {
    expect(() => parseCatalog(text, 'test.yaml')).toThrow(message);
  });

  it('bounds MySQL scopes with databases:, checked with their line', () => {
    const mysql = valid.replace('engine: postgres', 'engine: mariadb').replace('port: 5433', 'port: 3306');
    expect(parseCatalog(`${mysql}    databases: [orders, orders_archive]\n`).database('orders')!.databases).toEqual(['orders', 'orders_archive']);
    expect(parseCatalog(mysql).database('orders')!.databases).toBeUndefined();
    expect(() => parseCatalog(`${mysql}    databases: [orders, orders]\n`, 'm.yaml')).toThrow(/m.yaml:12:\d+: databases.0.databases.1: "orders" is listed twice/);
    expect(() => parseCatalog(`${mysql}    databases: []\n`, 'm.yaml')).toThrow(/m.yaml:12:\d+: databases.0.databases/);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseCatalog('approvers:\n  slack: [unclosed\n', 'broken.yaml')).toThrow(/^broken.yaml:\d+:\d+: YAML syntax error/);
  });

  it('refuses duplicate database ids', () => {
    const twice = valid + valid.split('\n').slice(3).join('\n');
    expect(() => parseCatalog(twice, 'dup.yaml')).toThrow(/dup.yaml:12:\d+: databases.1.id: duplicate database id "orders"/);
  });
});

describe('custom levels', () => {
  const withLevels = (levels: string, custom: string) =>
    valid.replace('    maxDuration: 4h\n', `    maxDuration: 4h\n    levels: ${levels}\n`).replace('databases:', `customLevels:\n${custom}databases:`);

  it('defines a named level with its own privileges, counted for risk like the built-in it resembles', () => {
    const view = parseCatalog(withLevels('[read, support]', '  support: { description: Fix customer rows, privileges: [SELECT, UPDATE] }\n  auditor: { privileges: [SELECT] }\n'));
    expect(view.level('support')).toEqual({ name: 'support', builtIn: false, privileges: ['SELECT', 'UPDATE'], riskAs: 'write', description: 'Fix customer rows' });
    expect(view.level('auditor')?.riskAs).toBe('read');
    expect(view.level('read')).toMatchObject({ builtIn: true, riskAs: 'read' });
    expect(view.level('nope')).toBeUndefined();
    expect(view.database('orders')!.levels).toEqual(['read', 'support']);
  });

  it('refuses unknown levels, unknown privileges and built-in names, with their line', () => {
    expect(() => parseCatalog(withLevels('[read, suport]', '  support: { privileges: [SELECT] }\n'), 'c.yaml')).toThrow(/c.yaml:\d+:\d+: databases.0.levels: "suport" is neither read, write, admin nor a level under customLevels/);
    expect(() => parseCatalog(withLevels('[read]', '  support: { privileges: [SELECT, GRANT] }\n'), 'c.yaml')).toThrow(/customLevels.support.privileges.1/);
    expect(() => parseCatalog(withLevels('[read]', '  write: { privileges: [SELECT] }\n'), 'c.yaml')).toThrow(/a custom level cannot reuse a built-in name/);
  });
});

const tenantsFile = `retention: { queries: 30d }
tenants:
  - name: acme
    slack: [T0ACME, T0ACMEEU]
    approvers:
      slack: { channel: C0ACME, users: [U0ALICE] }
    customLevels:
      analyst: { privileges: [SELECT] }
    databases:
      - { id: orders, engine: postgres, host: db1, port: 5432, database: orders, environment: production, admin: env:ORDERS_URL, levels: [read, analyst] }
  - name: globex
    slack: [T0GLOBEX]
    teams: [72F988BF-86F1-41AF-91AB-2D7CD011DB47]
    console: true
    approvers:
      slack: { channel: C0GLOBEX, users: [U0GINA] }
    settings: { userPrefix: gx_ }
    databases:
      - { id: ledger, engine: postgres, host: db1, port: 5432, database: ledger, environment: staging, admin: env:LEDGER_URL }
`;

describe('catalog with one section per tenant', () => {
  it('gives each workspace its own section, and an unnamed one nothing', () => {
    const catalogs = parseCatalogSet(tenantsFile, 'tenants.yaml');
    expect(catalogs.sections.map((section) => section.name)).toEqual(['acme', 'globex']);
    expect(catalogs.forTenant('slack', 'T0ACME').database('orders')?.host).toBe('db1');
    expect(catalogs.forTenant('slack', 'T0ACME').database('ledger')).toBeUndefined();
    expect(catalogs.forTenant('slack', 'T0ACMEEU').catalog.approvers.slack?.channel).toBe('C0ACME');
    expect(catalogs.forTenant('slack', 'T0GLOBEX').database('ledger')?.environment).toBe('staging');
    expect(catalogs.forTenant('teams', '72f988bf-86f1-41af-91ab-2d7cd011db47').database('ledger')).toBeDefined();
    expect(catalogs.forTenant('console', 'local').database('ledger')).toBeDefined();
    expect(catalogs.forTenant('slack', 'T0STRANGER').catalog.databases).toEqual([]);
    // Levels and settings are the section's own; retention is the file's, for every tenant.
    expect(catalogs.forTenant('slack', 'T0ACME').level('analyst')?.privileges).toEqual(['SELECT']);
    expect(catalogs.forTenant('slack', 'T0GLOBEX').level('analyst')).toBeUndefined();
    expect(catalogs.ofDatabase('ledger')?.catalog.settings.userPrefix).toBe('gx_');
    expect(catalogs.ofDatabase('orders')?.catalog.settings.userPrefix).toBe('dba_');
    expect(catalogs.forTenant('slack', 'T0GLOBEX').catalog.retention).toEqual(catalogs.forTenant('slack', 'T0ACME').catalog.retention);
    expect(catalogs.databases().map((db) => db.id)).toEqual(['orders', 'ledger']);
  });

  it('keeps a file without tenants: valid, serving every workspace', () => {
    const catalogs = parseCatalogSet(valid);
    expect(catalogs.forTenant('slack', 'T0ANYONE').database('orders')).toBeDefined();
    expect(catalogs.forTenant('teams', '72f988bf-86f1-41af-91ab-2d7cd011db47').database('orders')).toBeDefined();
  });

  it.each([
    ['a workspace in two sections', tenantsFile.replace('slack: [T0GLOBEX]', 'slack: [T0GLOBEX, T0ACME]'), 'tenants.yaml:12:23: tenants.1.slack.1: Slack workspace T0ACME is already in tenant "acme"'],
    ['one database id in two tenants', tenantsFile.replace('id: ledger', 'id: orders'), 'tenants.yaml:19:15: tenants.1.databases.0.id: database id "orders" is already in tenant "acme"'],
    ['overlapping user prefixes on one server', tenantsFile.replace('userPrefix: gx_', 'userPrefix: dba_x'), 'tenants.1.databases.0.host: db1:5432 is also a server of tenant "acme" with user prefix "dba_"'],
    ['a section that serves nobody', tenantsFile.replace('    slack: [T0GLOBEX]\n    teams: [72F988BF-86F1-41AF-91AB-2D7CD011DB47]\n    console: true\n', ''), 'tenants.1: name the workspaces this section serves'],
    ['retention inside a section', tenantsFile.replace('    settings: { userPrefix: gx_ }', '    retention: { queries: 1d }'), 'tenants.1'],
    ['a mistake deep in a section', tenantsFile.replace('environment: staging', 'environment: prod'), 'tenants.yaml:19:'],
    ['an unknown approver group in a section', tenantsFile.replace('    settings: { userPrefix: gx_ }', '    settings: { userPrefix: gx_ }\n    policies: [{ name: p, approvers: [ghosts] }]'), 'tenants.1.policies.0.approvers.0: "ghosts" is not a group'],
  ])('refuses %s, with the line', (_what, text, message) => {
    expect(() => parseCatalogSet(text, 'tenants.yaml')).toThrow(message);
  });

  it('parseCatalog, for one tenant, refuses a file of several', () => {
    expect(() => parseCatalog(tenantsFile, 'tenants.yaml')).toThrow(/one catalog per tenant/);
  });
});

describe('catalog host patterns', () => {
  it('keeps MySQL hosts in lower case, as the server stores them', () => {
    const view = parseCatalog(valid.replace('    maxDuration: 4h\n', "    maxDuration: 4h\n    allowedHosts: ['App-Server.Internal', '10.0.%']\n"));
    expect(view.database('orders')?.allowedHosts).toEqual(['app-server.internal', '10.0.%']);
  });
});
