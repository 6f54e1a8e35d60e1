import { describe, expect, it } from 'vitest';
import { explainPolicy } from '../modules/policy/policy-evaluator.js';
import { parseCatalog } from './catalog.js';

/** `approveWithChanges:` in a policy: its shorthands, its line-precise errors, and `/dbaccess policy` in words. */

const catalog = (policy: string) => `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
policies:
  - name: prod
    databases: [orders]
    approvers: [U0ALICE, U0BOB]
${policy}databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL }
  - { id: reports, engine: postgres, host: 127.0.0.1, port: 5433, database: reports, environment: staging, admin: env:REPORTS_ADMIN_URL }
`;
const shown = (lines: ReturnType<typeof explainPolicy>) => lines.map((line) => line.parts.map((part) => ('text' in part ? part.text : `@${part.id}`)).join(''));

describe('approveWithChanges in the catalog', () => {
  it('is allowed with an optional note by default; false forbids it; noteRequired names environments or true', () => {
    expect(parseCatalog(catalog('')).policy.policies[0]!.approveWithChanges).toEqual({ allowed: true, noteRequired: [] });
    expect(parseCatalog(catalog('    approveWithChanges: false\n')).policy.policies[0]!.approveWithChanges).toEqual({ allowed: false, noteRequired: [] });
    expect(parseCatalog(catalog('    approveWithChanges: { noteRequired: [production] }\n')).policy.policies[0]!.approveWithChanges).toEqual({ allowed: true, noteRequired: ['production'] });
    expect(parseCatalog(catalog('    approveWithChanges: { noteRequired: true }\n')).policy.policies[0]!.approveWithChanges).toEqual({ allowed: true, noteRequired: ['production', 'staging', 'development'] });
  });

  it.each([
    ['an unknown environment', '    approveWithChanges: { noteRequired: [prod] }\n', 'test.yaml:7:'],
    ['a misspelt key', '    approveWithChanges: { notesRequired: true }\n', 'test.yaml:7:'],
    ['a wider option that does not exist', '    approveWithChanges: { allowWider: true }\n', 'test.yaml:7:'],
  ])('names the line of %s', (_what, policy, where) => {
    expect(() => parseCatalog(catalog(policy), 'test.yaml')).toThrow(where);
    expect(() => parseCatalog(catalog(policy), 'test.yaml')).toThrow(/approveWithChanges/);
  });

  it('is said in plain words by /dbaccess policy', () => {
    const required = parseCatalog(catalog('    approveWithChanges: { noteRequired: [production] }\n'));
    expect(shown(explainPolicy(required.database('orders')!, undefined, required.policy))).toContain(
      '  Approve with changes: approvers may grant a lower level, part of the scope or a shorter time, never more than asked; a note to the requester is required here (production).',
    );
    const forbidden = parseCatalog(catalog('    approveWithChanges: false\n'));
    expect(shown(explainPolicy(forbidden.database('orders')!, undefined, forbidden.policy))).toContain('  Approve with changes: not allowed; approvers approve as asked or deny.');
    // The other database has no policy of its own: the default allows it, a note optional.
    expect(shown(explainPolicy(forbidden.database('reports')!, undefined, forbidden.policy))).toContain(
      '  Approve with changes: approvers may grant a lower level, part of the scope or a shorter time, never more than asked; a note to the requester is optional.',
    );
  });
});
