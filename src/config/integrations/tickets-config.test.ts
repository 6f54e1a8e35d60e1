import { describe, expect, it } from 'vitest';
import { validateCatalog } from '../catalog.js';

const base = `approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL }
`;
const problems = (text: string) => {
  const result = validateCatalog(text, 'dbaccess.yaml');
  return result.ok ? [] : result.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
};

describe('integrations for tickets that bind, in the catalog', () => {
  it('reads Jira, Linear and GitHub with their defaults', () => {
    const result = validateCatalog(`${base}integrations:
  jira: { url: "https://acme.atlassian.net/", email: bot@acme.test, token: env:JIRA_TOKEN }
  linear: { apiKey: "vault:secret/data/linear#key" }
  github: { token: env:GITHUB_TOKEN, repository: acme/ops, people: { U0ALICE: alice-gh } }
rules:
  ticket:
    - { levels: [write, admin], verify: jira, assigned: true }
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { integrations, rules } = result.catalogs.sections[0]!.view.catalog;
    expect(integrations.jira).toMatchObject({ url: 'https://acme.atlassian.net', pollEvery: 60, people: {} });
    expect(integrations.linear!.url).toBe('https://api.linear.app');
    expect(integrations.github!.url).toBe('https://api.github.com');
    expect(rules.ticket[0]).toMatchObject({ verify: 'jira', assigned: true, required: true });
  });

  it('says where a token is written in clear, on its line', () => {
    expect(problems(`${base}integrations:\n  jira:\n    url: https://acme.atlassian.net\n    token: ATATT3xFfGF0secret\n`)).toEqual([
      '8:12 integrations.jira.token: must be a reference such as env:ORDERS_ADMIN_URL or vault:secret/data/orders#url, never the secret itself',
    ]);
  });

  it('refuses a rule that verifies with a tracker the catalog does not configure, or asks for assignment without verifying', () => {
    expect(problems(`${base}rules:\n  ticket:\n    - { levels: [admin], verify: linear }\n    - { levels: [read], assigned: true }\n`)).toEqual([
      '7:34 rules.ticket.0.verify: verify: linear needs integrations.linear (its URL and token) in this catalog',
      '8:35 rules.ticket.1.assigned: assigned: true needs verify (jira, linear or github): assignment can only be checked with the tracker',
    ]);
  });

  it('refuses an unknown tracker, an unknown field and a poll interval that is not a duration', () => {
    const found = problems(`${base}integrations:\n  jira: { url: "https://a.atlassian.net", token: env:T, pollEvery: often, colour: blue }\nrules:\n  ticket: [{ verify: trello }]\n`);
    expect(found.join('\n')).toMatch(/integrations\.jira\.pollEvery: must be a duration such as 30s/);
    expect(found.join('\n')).toMatch(/integrations\.jira: Unrecognized key: "colour"/i);
    expect(found.join('\n')).toMatch(/rules\.ticket\.0\.verify: Invalid option/i);
  });
});
