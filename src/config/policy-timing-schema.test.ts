import { describe, expect, it } from 'vitest';
import { parseCatalog } from './catalog.js';
import { explainPolicy } from '../modules/policy/policy-explain.js';
import { renderRich } from '../lib/rich-text.js';

const catalog = (policy: string) => `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
policies:
  - name: maintenance
    databases: [orders]
    approvers: [U0ALICE, U0BOB]
${policy}databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL, maxDuration: 4h }
  - { id: shop, engine: mariadb, host: 127.0.0.1, port: 3306, database: shop, environment: staging, admin: env:SHOP_ADMIN_URL, maxDuration: 4h }
`;
const words = (text: Parameters<typeof renderRich>[0]) => renderRich(text, {
  text: (part) => part.text, strong: (part) => part.text, code: (part) => part.text, person: (part) => `@${part.id}`, group: (part) => `@${part.id}`, link: (part) => part.text,
});
const explained = (yaml: string, databaseId: string) => {
  const view = parseCatalog(yaml);
  return explainPolicy(view.database(databaseId)!, undefined, view.policy).map(words).join('\n');
};

describe('policy timing: clock, maxWait, approvalLifetime', () => {
  it('reads the fields and says them in plain words in /dbaccess policy, per database', () => {
    const yaml = catalog('    clock: first-login\n    maxWait: 2h\n    approvalLifetime: 12h\n');
    const orders = explained(yaml, 'orders');
    expect(orders).toContain('Clock: the approved time starts at the first connection, which must come within 2 h of the start; no connection by then and the access ends unused.');
    expect(orders).toContain('Approvals last 12 h: a scheduled start must fall within that, and an approved request not started by then lapses');
    // The other database falls to the default policy, which sets none of it: nothing is said.
    expect(explained(yaml, 'shop')).not.toContain('Clock:');
    // An approval lifetime alone: the clock at approval, said so.
    const lifetime = explained(catalog('    approvalLifetime: 2d\n'), 'orders');
    expect(lifetime).toContain('Clock: the approved time starts at approval, or at the requested start time for scheduled access.');
    expect(lifetime).toContain('Approvals last 2 days');
  });

  it.each([
    ['a clock that does not exist', '    clock: at-lunch\n', 'test.yaml:7:12: policies.0.clock: must be approval'],
    ['a maxWait without the first-login clock', '    maxWait: 2h\n', 'test.yaml:7:14: policies.0.maxWait: maxWait applies only with clock: first-login'],
    ['a maxWait that is no duration', '    clock: first-login\n    maxWait: soon\n', 'test.yaml:8:14: policies.0.maxWait: must be a duration'],
    ['an approval lifetime beyond 30 days', '    approvalLifetime: 90d\n', 'test.yaml:7:23: policies.0.approvalLifetime: must be at most 30d'],
  ])('refuses %s, with its line', (_what, policy, message) => {
    expect(() => parseCatalog(catalog(policy), 'test.yaml')).toThrow(message);
  });
});
