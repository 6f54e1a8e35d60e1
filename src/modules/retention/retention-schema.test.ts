import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../config/catalog.js';

const base = `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5432, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL }
`;

describe('catalog retention', () => {
  it('keeps requests and decisions forever and query text 90 days by default', () => {
    expect(parseCatalog(base).catalog.retention).toEqual({ requests: null, decisions: null, leases: null, analyses: null, summaries: null, queries: 90 * 86400 });
  });

  it('reads forever and durations per kind', () => {
    const view = parseCatalog(`${base}retention:\n  requests: 730d\n  decisions: 730d\n  leases: 365d\n  analyses: 180d\n  summaries: 365d\n  queries: 30d\n`);
    expect(view.catalog.retention).toEqual({ requests: 730 * 86400, decisions: 730 * 86400, leases: 365 * 86400, analyses: 180 * 86400, summaries: 365 * 86400, queries: 30 * 86400 });
  });

  it.each([
    ['queries: 2h', /retention\.queries: must be forever or a duration of at least 1d/],
    ['queries: soon', /retention\.queries: must be forever or a duration/],
    ['requests: 365d', /retention\.decisions: cannot be kept longer than requests \(365d\)/],
    ['requests: 30d\n  decisions: 30d\n  leases: 30d\n  analyses: 30d\n  summaries: 30d', /retention\.queries: cannot be kept longer than leases \(30d\)/],
    ['tickets: 30d', /retention: Unrecognized key/],
  ])('refuses %j with the line', (yaml, message) => {
    expect(() => parseCatalog(`${base}retention:\n  ${yaml}\n`, 'dbaccess.yaml')).toThrow(message);
    expect(() => parseCatalog(`${base}retention:\n  ${yaml}\n`, 'dbaccess.yaml')).toThrow(/dbaccess\.yaml:\d+:\d+/);
  });
});
