import { describe, expect, it } from 'vitest';
import { parseCatalog } from './catalog.js';

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
    ['an unknown engine', valid.replace('engine: postgres', 'engine: oracle'), 'test.yaml:5:13: databases.0.engine'],
    ['a misspelt key', valid.replace('port: 5433', 'prot: 5433'), 'test.yaml:4:5: databases.0'],
    ['a missing approvers section', valid.split('\n').slice(2).join('\n'), 'test.yaml:1:1: approvers'],
  ])('names the file, line and column of %s', (_what, text, message) => {
    expect(() => parseCatalog(text, 'test.yaml')).toThrow(message);
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
