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
    expect(view.approversFor(orders).slack.users).toEqual(['U0ALICE', 'U0BOB']);
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
