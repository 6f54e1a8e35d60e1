import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkPolicySections } from './policy-checks.js';
import { policySectionsSchema } from './policy-schema.js';

const read = (yamlText: string) => policySectionsSchema.parse(parse(yamlText) ?? {});
const problemsOf = (yamlText: string) => {
  const result = policySectionsSchema.safeParse(parse(yamlText));
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};
const KNOWN = { databaseIds: ['orders', 'shop'], levels: ['read', 'write', 'admin', 'reporting'] };

describe('policy sections schema', () => {
  it('leaves a catalog without the sections as it is', () => {
    const sections = read('');
    expect(sections).toMatchObject({ timezone: 'UTC', policies: [] });
    expect(sections.roles).toBeUndefined();
    expect(sections.rules).toEqual({ windows: {}, onlyDuring: [], maxDuration: [], ticket: [], maxActiveLeases: [], reasonQuality: [], sourceHosts: [] });
  });

  it('reads people by the shape of what is written', () => {
    const { roles } = read(`
roles:
  admins: [U0ADMIN, W0ENTERPRISE]
  auditors: [{ email: Audit@Acme.test }, audit-team]
  groups:
    audit-team: [S0AUDIT, owner@acme.test]
  requesters:
    - { who: '*', levels: read }
`);
    expect(roles?.admins).toEqual([{ kind: 'user', id: 'U0ADMIN' }, { kind: 'user', id: 'W0ENTERPRISE' }]);
    expect(roles?.auditors).toEqual([{ kind: 'email', address: 'audit@acme.test' }, { kind: 'group', name: 'audit-team' }]);
    expect(roles?.groups['audit-team']?.members).toEqual([{ kind: 'slackGroup', id: 'S0AUDIT' }, { kind: 'email', address: 'owner@acme.test' }]);
    expect(roles?.requesters).toEqual([{ who: [{ kind: 'everyone' }], levels: ['read'] }]);
  });

  it('reads shorthands: single values, "*", durations, mfa, numbers for lists', () => {
    const sections = read(String.raw`
policies:
  - name: everything
    databases: ['*']
    levels: write
    approvers: U0ALICE
    mfa: always
    pendingTimeout: 30m
    autoApprove: { levels: [read], maxDuration: 1h30m, window: { days: [sat, sun], hours: ['10:00-12:00', '14:00-16:00'], timezone: Europe/Berlin } }
rules:
  maxActiveLeases: 3
  reasonQuality: detailed
  ticket: { pattern: '[A-Z]+-\d+', required: false }
`);
    const [policy] = sections.policies;
    expect(policy).toMatchObject({
      databases: undefined,
      levels: ['write'],
      approvers: [{ kind: 'user', id: 'U0ALICE' }],
      quorum: 1,
      mfa: { minRisk: 'low', always: [{}] },
      pendingTimeout: 1800,
      breakGlass: { allowed: false, maxDuration: 3600 },
    });
    expect(policy?.autoApprove).toEqual([
      {
        levels: ['read'],
        maxRisk: 'low',
        maxDuration: 5400,
        window: { days: [0, 6], hours: [{ start: 600, end: 720 }, { start: 840, end: 960 }], timezone: 'Europe/Berlin' },
      },
    ]);
    expect(sections.rules.maxActiveLeases).toEqual([{ max: 3 }]);
    expect(sections.rules.reasonQuality).toEqual([{ min: 'detailed' }]);
    expect(sections.rules.ticket).toEqual([{ pattern: '[A-Z]+-\\d+', required: false }]);
  });

  it('defaults step-up to High risk and production admin', () => {
    expect(read('policies: [{ name: p, approvers: [U0A1] }]').policies[0]?.mfa).toEqual({
      minRisk: 'high',
      always: [{ environments: ['production'], levels: ['admin'] }],
    });
  });

  it('reads identity-provider groups and managers by their prefix', () => {
    const { policies } = read(`
policies:
  - name: p
    approvers: [okta:00g1abc, 'google:DBAs@acme.test', entra:0c7f1e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6, manager:okta, { entra: g-2 }, { manager: google }]
`);
    expect(policies[0]?.approvers).toEqual([
      { kind: 'directoryGroup', provider: 'okta', id: '00g1abc' },
      { kind: 'directoryGroup', provider: 'google', id: 'DBAs@acme.test' },
      { kind: 'directoryGroup', provider: 'entra', id: '0c7f1e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6' },
      { kind: 'manager', provider: 'okta' },
      { kind: 'directoryGroup', provider: 'entra', id: 'g-2' },
      { kind: 'manager', provider: 'google' },
    ]);
    expect(problemsOf('policies: [{ name: p, approvers: [manager:slack] }]')).toEqual([expect.stringMatching(/^policies\.0\.approvers\.0\.manager: must be manager:okta, manager:google, manager:entra/)]);
    expect(problemsOf("policies: [{ name: p, approvers: ['okta:00g 1'] }]")).toEqual([expect.stringMatching(/^policies\.0\.approvers\.0\.okta: must be the group id/)]);
  });

  it.each([
    ['roles: { admins: [Bob Smith] }', 'roles.admins.0.group: must be a Slack user id (U…), a Slack user group id (S…), an email, a group name under roles.groups, okta:/google:/entra:<group> or manager:<provider>'],
    ["policies: [{ name: p, approvers: ['*'] }]", 'policies.0.approvers.0.group: must be a Slack user id (U…), a Slack user group id (S…), an email, a group name under roles.groups, okta:/google:/entra:<group> or manager:<provider>'],
    ['policies: [{ name: p, approvers: [{ user: U0A1, email: a@b.cd }] }]', 'policies.0.approvers.0: write exactly one of user, slackGroup, email, group, okta, google, entra or manager'],
    ['policies: [{ name: p, approvers: [U0A1], quorum: 0 }]', 'policies.0.quorum: Too small: expected number to be >=1'],
    ['policies: [{ name: p, approvers: [U0A1], breakGlass: { allowed: true } }]', 'policies.0.breakGlass.who: break-glass that is allowed needs who (the people who may use it)'],
    ['policies: [{ name: p, approvers: [U0A1], pendingTimeout: soon }]', 'policies.0.pendingTimeout: must be a duration such as 30m, 4h or 1h30m'],
    ['policies: [{ name: p, approvers: [U0A1], environments: [prod] }]', expect.stringMatching(/^policies\.0\.environments\.0: /)],
    ['timezone: Mars/Olympus', 'timezone: must be an IANA time zone such as Europe/Berlin or UTC'],
    ["rules: { windows: { late: { hours: '25:00-06:00' } } }", 'rules.windows.late.hours.0: must be hours such as 09:00-18:00, or 22:00-06:00 for overnight'],
    ['rules: { windows: { late: { days: [someday] } } }', 'rules.windows.late.days.0: must be a day such as mon, a range such as mon-fri, weekdays, weekends or daily'],
    ["rules: { ticket: [{ pattern: '[A-Z' }] }", 'rules.ticket.0.pattern: must be a regular expression such as [A-Z]+-\\d+'],
    ["rules: { sourceHosts: [{ allowed: ['10.0.0.1; DROP'] }] }", 'rules.sourceHosts.0.allowed.0: must be a host name, address or pattern such as 10.0.%'],
    ['rules: { reasonQuality: excellent }', expect.stringMatching(/^rules\.reasonQuality\.0\.min: /)],
    ['rules: { maxActiveLeases: 0 }', 'rules.maxActiveLeases.0.max: Too small: expected number to be >=1'],
    ['rules: { unknownRule: 1 }', expect.stringMatching(/Unrecognized key/)],
  ])('refuses %s', (yamlText, problem) => {
    expect(problemsOf(yamlText)).toContainEqual(problem);
  });

  it('bounds every string', () => {
    expect(problemsOf(`roles: { groups: { g: { description: '${'x'.repeat(201)}', members: [U0A1] } } }`)).toHaveLength(1);
    expect(problemsOf(`roles: { admins: ['${'a'.repeat(300)}@acme.test'] }`)).toContainEqual(expect.stringMatching(/^roles\.admins\.0\.email: Too big/));
  });
});

describe('checkPolicySections', () => {
  it('accepts a consistent configuration', () => {
    const sections = read(`
roles:
  groups:
    dbas: [U0ALICE, U0BOB]
    leads: [U0CAROL, dbas]
  requesters: [{ who: [leads], databases: [orders], levels: [read, reporting] }]
policies:
  - { name: prod, databases: [orders], approvers: [leads], quorum: 3, autoApprove: [{ levels: [read], window: business-hours }] }
`);
    expect(checkPolicySections(sections, KNOWN)).toEqual([]);
  });

  it('names every reference that does not resolve, with its path', () => {
    const sections = read(`
roles:
  admins: [operators]
  groups:
    a: [b]
    b: [a]
  requesters: [{ who: [a], databases: [billing], levels: [superuser] }]
policies:
  - { name: prod, environments: [production], approvers: [U0ALICE, U0BOB], quorum: 3 }
  - { name: prod, environments: [production], approvers: [dbas], autoApprove: [{ window: lunch }] }
  - { name: slack, approvers: [S0DBAS], quorum: 5 }
rules:
  onlyDuring: [{ window: nights }]
`);
    expect(checkPolicySections(sections, KNOWN)).toEqual([
      { path: ['roles', 'groups', 'a'], message: 'groups contain each other: a -> b -> a' },
      { path: ['roles', 'groups', 'b'], message: 'groups contain each other: b -> a -> b' },
      { path: ['roles', 'admins', 0], message: '"operators" is not a group under roles.groups (nor a Slack id or an email)' },
      { path: ['roles', 'requesters', 0, 'databases', 0], message: '"billing" is not a database of the catalog' },
      { path: ['roles', 'requesters', 0, 'levels', 0], message: '"superuser" is neither read, write, admin nor a level under customLevels' },
      { path: ['policies', 0, 'quorum'], message: 'quorum 3 needs at least 3 approvers; 2 listed' },
      { path: ['policies', 1, 'name'], message: 'duplicate policy name "prod"' },
      { path: ['policies', 1, 'approvers', 0], message: '"dbas" is not a group under roles.groups (nor a Slack id or an email)' },
      { path: ['policies', 1, 'autoApprove', 0, 'window'], message: '"lunch" is not a window under rules.windows' },
      { path: ['policies', 1], message: 'matches exactly what policy "prod" matches, which comes first, so it never applies' },
      { path: ['rules', 'onlyDuring', 0, 'window'], message: '"nights" is not a window under rules.windows' },
    ]);
  });
});
