import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCatalog } from '../../config/catalog.js';
import { policyConfig, type PolicyConfig } from '../../config/policy-config.js';
import { RISK_LEVELS, policySectionsSchema } from '../../config/policy-schema.js';
import { isRichText, renderRich, type InlineRenderer, type RichText } from '../../lib/rich-text.js';
import * as policy from './policy-evaluator.js';
import type { Person, PolicyDatabase, RequestContext, RequestDecision } from './policy-evaluator.js';

/**
 * The evaluator answers in rich text; the expectations below read it as Slack shows it (a mention for
 * a person, backticks for code), so each one says what an approver or requester sees.
 */
const SLACKISH = {
  text: (part) => part.text,
  strong: (part) => `*${part.text}*`,
  code: (part) => `\`${part.text}\``,
  person: (part) => `<@${part.id}>`,
  group: (part) => `<!subteam^${part.id}>`,
  link: (part) => `<${part.url}|${part.text}>`,
} satisfies InlineRenderer;
type Shown<T> = T extends RichText ? string : T extends readonly (infer U)[] ? Shown<U>[] : T extends object ? { [K in keyof T]: Shown<T[K]> } : T;
function shown<T>(value: T): Shown<T> {
  if (isRichText(value)) return renderRich(value, SLACKISH) as Shown<T>;
  if (Array.isArray(value)) return value.map(shown) as Shown<T>;
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shown(inner)])) as Shown<T>;
  }
  return value as Shown<T>;
}
const canApprove = (...args: Parameters<typeof policy.canApprove>) => shown(policy.canApprove(...args));
const canRequest = (...args: Parameters<typeof policy.canRequest>) => shown(policy.canRequest(...args));
const evaluateRequest = (...args: Parameters<typeof policy.evaluateRequest>) => shown(policy.evaluateRequest(...args));
const explainPolicy = (...args: Parameters<typeof policy.explainPolicy>) => shown(policy.explainPolicy(...args));
const resolveRoles = (...args: Parameters<typeof policy.resolveRoles>) => shown(policy.resolveRoles(...args));

/** The catalog sections as a team would write them; tests read them through the real schema. */
const TEAM_YAML = String.raw`
timezone: Europe/Berlin
roles:
  admins: [U0ADMIN]
  auditors: [{ email: audit@acme.test }]
  groups:
    dbas: { members: [U0ALICE, U0BOB, { slackGroup: S0DBAS }] }
    leads: [U0ALICE, U0LEAD]
    engineers: { members: [{ slackGroup: S0ENG }, dev@acme.test] }
  requesters:
    - { who: [engineers], databases: [orders, shop, analytics], levels: [read, write] }
    - { who: [dbas, leads], databases: ['*'], levels: ['*'] }
policies:
  - name: production
    environments: [production]
    approvers: [dbas]
    breakGlass: { allowed: true, who: [dbas], maxDuration: 1h }
  - name: production-changes
    environments: [production]
    levels: [write, admin]
    approvers: [leads]
    quorum: 2
    pendingTimeout: 2h
    breakGlass: { allowed: true, who: [leads] }
  - name: orders
    databases: [orders]
    levels: [write, admin]
    approvers: [leads, U0CAROL]
    quorum: 2
  - name: staging
    environments: [staging]
    approvers: [U0ALICE, U0CAROL]
    mfa: never
    autoApprove:
      - { name: staging-reads, levels: [read], maxRisk: low, maxDuration: 1h, window: business-hours }
rules:
  windows:
    night-batch: { days: mon-fri, hours: '22:00-06:00' }
  onlyDuring:
    - { environments: [production], levels: [admin], window: business-hours }
    - { databases: [shop], levels: [write], window: night-batch }
  maxDuration:
    - { environments: [production], levels: [admin], max: 1h }
    - { levels: [write], max: 4h }
  ticket:
    - { environments: [production], levels: [write, admin], pattern: '[A-Z]+-\d+' }
  maxActiveLeases: 2
  reasonQuality:
    - { environments: [production], min: detailed }
  sourceHosts:
    - { databases: [shop], allowed: ['10.0.%', bastion.acme.test] }
`;

const CATALOG_APPROVER = 'U0APPROVER';

/** A PolicyConfig from YAML sections, next to a catalog whose top-level approver is U0APPROVER. */
function configFrom(yamlText: string, databases: PolicyDatabase[] = Object.values(DATABASES)): PolicyConfig {
  const sections = policySectionsSchema.parse(parse(yamlText) ?? {});
  return policyConfig({
    approvers: { slack: { users: [CATALOG_APPROVER] } },
    settings: { pendingTimeout: 3600 },
    databases,
    ...sections,
  });
}

const HOUR = 3600;
const DATABASES = {
  orders: { id: 'orders', engine: 'postgres', environment: 'production', tags: ['pii'], maxDuration: 8 * HOUR, levels: ['read', 'write', 'admin'] },
  shop: { id: 'shop', engine: 'mysql', environment: 'production', tags: [], maxDuration: 8 * HOUR, levels: ['read', 'write', 'admin'] },
  analytics: { id: 'analytics', engine: 'postgres', environment: 'staging', tags: [], maxDuration: 8 * HOUR, levels: ['read', 'write'] },
  legacy: { id: 'legacy', engine: 'postgres', environment: 'development', tags: [], maxDuration: 8 * HOUR },
} satisfies Record<string, PolicyDatabase>;

const PEOPLE = {
  alice: { slackUserId: 'U0ALICE', slackGroups: [] },
  bob: { slackUserId: 'U0BOB', slackGroups: ['S0DBAS'] },
  dbaByGroup: { slackUserId: 'U0DAN', slackGroups: ['S0DBAS'] },
  lead: { slackUserId: 'U0LEAD', slackGroups: [] },
  carol: { slackUserId: 'U0CAROL', slackGroups: [] },
  erin: { slackUserId: 'U0ERIN', email: 'erin@acme.test', slackGroups: ['S0ENG'] },
  dev: { slackUserId: 'U0DEV', email: 'Dev@Acme.test', slackGroups: [] },
  admin: { slackUserId: 'U0ADMIN', slackGroups: [] },
  auditor: { slackUserId: 'U0AUDIT', email: 'Audit@acme.test', slackGroups: [] },
  stranger: { slackUserId: 'U0NOBODY', slackGroups: [] },
} satisfies Record<string, Person>;

/** Wednesday 25 March 2026, 11:00 in Berlin (CET, UTC+1). */
const WEDNESDAY_11_BERLIN = new Date('2026-03-25T10:00:00Z');

const GOOD_REASON = 'Investigate the failed payout batch from last night for OPS-1234';

/** A read on staging by an engineer, during business hours, that passes every rule. */
function request(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    requester: PEOPLE.erin,
    database: DATABASES.analytics,
    level: 'read',
    durationSeconds: 1800,
    scope: [],
    reason: GOOD_REASON,
    ticket: 'OPS-1234',
    risk: 'low',
    now: WEDNESDAY_11_BERLIN,
    activeLeases: [],
    ...overrides,
  };
}

const config = configFrom(TEAM_YAML);
const ruleOf = (decision: Shown<RequestDecision>, name: string) => decision.rules.find((rule) => rule.rule === name);

describe('resolveRoles', () => {
  it.each([
    ['alice, listed in two groups', PEOPLE.alice, ['requester', 'approver'], ['dbas', 'leads']],
    ['a DBA through the Slack user group', PEOPLE.dbaByGroup, ['requester', 'approver'], ['dbas']],
    ['an engineer through the Slack user group', PEOPLE.erin, ['requester'], ['engineers']],
    ['an engineer by email, whatever its case', PEOPLE.dev, ['requester'], ['engineers']],
    ['an admin, who is not a requester by being admin', PEOPLE.admin, ['admin'], []],
    ['an auditor by email', PEOPLE.auditor, ['auditor'], []],
    ['a stranger', PEOPLE.stranger, [], []],
  ] as const)('%s', (_, person, roles, groups) => {
    const resolved = resolveRoles(person, config);
    expect(resolved.roles).toEqual(roles);
    expect(resolved.groups).toEqual(groups);
    expect(resolved.known).toBe(roles.length > 0);
  });

  it('says which policies a person approves under', () => {
    expect(resolveRoles(PEOPLE.carol, config)).toMatchObject({
      approves: ['orders', 'staging'],
      explanation: '<@U0CAROL>: approver; approves under "orders" and "staging".',
    });
    expect(resolveRoles(PEOPLE.stranger, config).explanation).toBe('<@U0NOBODY> has no role here.');
  });
});

describe('canRequest', () => {
  it('tells an unknown person to ask an admin', () => {
    expect(canRequest(PEOPLE.stranger, DATABASES.orders, 'read', config)).toEqual({
      allowed: false,
      rule: 'requester',
      message: '<@U0NOBODY> is not set up to request database access.',
      howToComply: 'Ask an admin (<@U0ADMIN>) to add you to roles.requesters.',
    });
  });

  it('refuses a level the requester may not ask for, and says what they may', () => {
    expect(canRequest(PEOPLE.erin, DATABASES.orders, 'admin', config)).toEqual({
      allowed: false,
      rule: 'requester',
      message: 'You may not request admin on orders.',
      howToComply: 'You may request read or write on orders, shop and analytics. Ask an admin (<@U0ADMIN>) for more.',
    });
    expect(canRequest(PEOPLE.erin, DATABASES.legacy, 'read', config)).toMatchObject({ allowed: false, message: 'You may not request read on legacy.' });
  });

  it('allows what an entry grants, naming the entry', () => {
    expect(canRequest(PEOPLE.erin, DATABASES.shop, 'write', config)).toEqual({
      allowed: true,
      rule: 'requester',
      explanation: 'Allowed by roles.requesters[0]: engineers may request read or write on orders, shop and analytics.',
    });
    expect(canRequest(PEOPLE.lead, DATABASES.legacy, 'admin', config)).toMatchObject({ allowed: true, explanation: expect.stringContaining('roles.requesters[1]') });
  });

  it('refuses the admin role itself: being an admin is not a grant', () => {
    expect(canRequest(PEOPLE.admin, DATABASES.legacy, 'read', config).allowed).toBe(false);
  });
});

/** Production write requests by an engineer that pass every rule unless a case changes them. */
const productionWrite = (overrides: Partial<RequestContext> = {}) => request({ database: DATABASES.orders, level: 'write', ...overrides });
const FRIDAY_23_BERLIN = new Date('2026-03-27T22:00:00Z');
const WEDNESDAY_20_BERLIN = new Date('2026-03-25T19:00:00Z');

describe('evaluateRequest: refusals, each with its rule and how to comply', () => {
  it.each<{ name: string; ctx: RequestContext; rule: string; message: string; howToComply: string | RegExp }>([
    {
      name: 'unknown person',
      ctx: request({ requester: PEOPLE.stranger }),
      rule: 'requester',
      message: '<@U0NOBODY> is not set up to request database access.',
      howToComply: 'Ask an admin (<@U0ADMIN>) to add you to roles.requesters.',
    },
    {
      name: 'requester not allowed that level',
      ctx: request({ database: DATABASES.orders, level: 'admin' }),
      rule: 'requester',
      message: 'You may not request admin on orders.',
      howToComply: 'You may request read or write on orders, shop and analytics. Ask an admin (<@U0ADMIN>) for more.',
    },
    {
      name: 'production write without ticket',
      ctx: productionWrite({ ticket: null }),
      rule: 'ticket',
      message: 'A ticket is required for write or admin requests on production databases.',
      howToComply: 'Add the ticket this work belongs to, written as `[A-Z]+-\\d+`.',
    },
    {
      name: 'production write with an empty ticket',
      ctx: productionWrite({ ticket: '   ' }),
      rule: 'ticket',
      message: 'A ticket is required for write or admin requests on production databases.',
      howToComply: /^Add the ticket/,
    },
    {
      name: 'ticket pattern mismatch',
      ctx: productionWrite({ ticket: 'fix-payouts' }),
      rule: 'ticket',
      message: 'The ticket "fix-payouts" does not match `[A-Z]+-\\d+`.',
      howToComply: 'Write the ticket id the way your tracker shows it, matching `[A-Z]+-\\d+` (e.g. OPS-1234).',
    },
    {
      name: 'ticket pattern must match the whole ticket',
      ctx: productionWrite({ ticket: 'https://jira.acme.test/browse/OPS-1234' }),
      rule: 'ticket',
      message: 'The ticket "https://jira.acme.test/browse/OPS-1234" does not match `[A-Z]+-\\d+`.',
      howToComply: /matching/,
    },
    {
      name: 'over the max duration for admin on production',
      ctx: request({ requester: PEOPLE.alice, database: DATABASES.orders, level: 'admin', durationSeconds: 7200 }),
      rule: 'max-duration',
      message: '2h is longer than the limit for admin requests on production databases, 1h.',
      howToComply: 'Ask for 1h or less, and extend later if you need more.',
    },
    {
      name: 'over the max duration for write anywhere',
      ctx: request({ level: 'write', durationSeconds: 5 * 3600 }),
      rule: 'max-duration',
      message: '5h is longer than the limit for write requests, 4h.',
      howToComply: 'Ask for 4h or less, and extend later if you need more.',
    },
    {
      name: "over the database's own max duration",
      ctx: request({ requester: PEOPLE.alice, database: DATABASES.legacy, durationSeconds: 9 * 3600 }),
      rule: 'max-duration',
      message: '9h is longer than the limit of legacy, 8h.',
      howToComply: 'Ask for 8h or less, and extend later if you need more.',
    },
    {
      name: 'outside the time window',
      ctx: request({ requester: PEOPLE.alice, database: DATABASES.orders, level: 'admin', now: WEDNESDAY_20_BERLIN }),
      rule: 'time-window',
      message: 'Admin requests on production databases are allowed only Mon-Fri 09:00-18:00 (Europe/Berlin); it is Wed 20:00 there.',
      howToComply: 'Ask again from Thu 09:00 (Europe/Berlin).',
    },
    {
      name: 'outside an overnight window, where break-glass exists',
      ctx: request({ database: DATABASES.shop, level: 'write' }),
      rule: 'time-window',
      message: 'Write requests on shop are allowed only Mon-Fri 22:00-06:00 (overnight, Europe/Berlin); it is Wed 11:00 there.',
      howToComply: 'Ask again from Wed 22:00 (Europe/Berlin), or use break-glass if this is an emergency and you may.',
    },
    {
      name: 'too many concurrent leases',
      ctx: request({
        activeLeases: [
          { databaseId: 'orders', environment: 'production', level: 'read' },
          { databaseId: 'shop', environment: 'production', level: 'write' },
        ],
      }),
      rule: 'max-active-leases',
      message: 'You already have 2 active leases (read on orders, write on shop); at most 2 at a time.',
      howToComply: 'End one you no longer need, then ask again.',
    },
    {
      name: 'weak reason (placeholder)',
      ctx: request({ reason: 'asdf asdf qwer zxcv' }),
      rule: 'reason-quality',
      message: 'The reason is too weak.',
      howToComply: 'That reason looks like a placeholder; say what you will do.',
    },
    {
      name: 'reason too short where a detailed one is required',
      ctx: request({ database: DATABASES.orders, reason: 'Check the orders table' }),
      rule: 'reason-quality',
      message: 'The reason is too short for this request.',
      howToComply: /at least 4 words/,
    },
    {
      name: 'MySQL source host not allowed',
      ctx: request({ database: DATABASES.shop, sourceHost: '203.0.113.9' }),
      rule: 'source-host',
      message: 'Connecting to shop from 203.0.113.9 is not allowed.',
      howToComply: 'Connect from 10.0.% or bastion.acme.test (for instance through the bastion).',
    },
    {
      name: 'MySQL source host pattern wider than allowed',
      ctx: request({ database: DATABASES.shop, sourceHost: '10.%' }),
      rule: 'source-host',
      message: 'Connecting to shop from 10.% is not allowed.',
      howToComply: /^Connect from/,
    },
    {
      name: 'nobody but the requester could approve',
      ctx: productionWrite({ requester: PEOPLE.alice, database: DATABASES.shop, now: FRIDAY_23_BERLIN }),
      rule: 'approvers-available',
      message: 'Policy "production-changes" needs 2 approvals from people other than you; only <@U0LEAD> is listed.',
      howToComply: 'Ask an admin (<@U0ADMIN>) to add approvers to policy "production-changes".',
    },
  ])('$name', ({ ctx, rule, message, howToComply }) => {
    const decision = evaluateRequest(ctx, config);
    expect(decision.outcome).toBe('refuse');
    expect(decision.autoApprovedBy).toBeUndefined();
    expect(decision.refusal).toEqual({ rule, message, howToComply: expect.any(String) });
    if (typeof howToComply === 'string') expect(decision.refusal?.howToComply).toBe(howToComply);
    else expect(decision.refusal?.howToComply).toMatch(howToComply);
    expect(decision.rules).toContainEqual({ rule, fired: true, outcome: 'refuse', explanation: message });
  });

  it('records every refusing rule, not only the first', () => {
    const decision = evaluateRequest(request({ database: DATABASES.shop, level: 'write', ticket: null, reason: 'Check the orders table' }), config);
    expect(decision.rules.filter((rule) => rule.outcome === 'refuse').map((rule) => rule.rule)).toEqual(['time-window', 'ticket', 'reason-quality']);
    expect(decision.refusal?.rule).toBe('time-window');
  });

  it('lets a well-formed production write through to approvers, with every rule explained', () => {
    const decision = evaluateRequest(productionWrite(), config);
    expect(decision).toMatchObject({
      outcome: 'needs-approval',
      policy: 'orders',
      quorum: 2,
      approvers: { users: ['U0ALICE', 'U0LEAD', 'U0CAROL'], slackGroups: [], emails: [], groups: ['leads'] },
      mfaRequired: false,
      maxDurationSeconds: 4 * 3600,
      pendingTimeoutSeconds: 3600,
    });
    expect(decision.refusal).toBeUndefined();
    expect(decision.rules.map((rule) => [rule.rule, rule.fired, rule.outcome])).toEqual([
      ['requester', true, 'pass'],
      ['policy', true, 'info'],
      ['time-window', false, 'pass'],
      ['max-duration', true, 'pass'],
      ['ticket', true, 'pass'],
      ['max-active-leases', true, 'pass'],
      ['reason-quality', true, 'pass'],
      ['source-host', false, 'pass'],
      ['mfa', false, 'info'],
      ['approvers-available', true, 'pass'],
    ]);
    expect(ruleOf(decision, 'ticket')?.explanation).toBe('Ticket OPS-1234 matches `[A-Z]+-\\d+`.');
    expect(ruleOf(decision, 'max-duration')?.explanation).toBe('30m is within the limit for write requests, 4h.');
  });

  it('allows a MySQL source host inside the allowed patterns, and otherwise passes the patterns on', () => {
    const inside = evaluateRequest(request({ database: DATABASES.shop, sourceHost: 'BASTION.acme.test' }), config);
    expect(inside.outcome).toBe('needs-approval');
    expect(inside.hostPatterns).toEqual(['BASTION.acme.test']);
    expect(evaluateRequest(request({ database: DATABASES.shop, sourceHost: '10.0.4.2' }), config).hostPatterns).toEqual(['10.0.4.2']);
    const unknown = evaluateRequest(request({ database: DATABASES.shop }), config);
    expect(unknown.hostPatterns).toEqual(['10.0.%', 'bastion.acme.test']);
    expect(ruleOf(unknown, 'source-host')).toEqual({
      rule: 'source-host',
      fired: true,
      outcome: 'info',
      explanation: 'The temporary user may connect only from 10.0.% and bastion.acme.test.',
    });
  });
});

describe('evaluateRequest: time windows', () => {
  /** Write requests on shop: only Mon-Fri 22:00-06:00 Berlin; an overnight range belongs to the day it starts. */
  it.each([
    ['Wed 11:00 CET', '2026-03-25T10:00:00Z', 'refuse'],
    ['Fri 23:00 CET', '2026-03-27T22:00:00Z', 'pass'],
    ['Sat 03:00 CET, the Friday night still', '2026-03-28T02:00:00Z', 'pass'],
    ['Sat 23:00 CET', '2026-03-28T22:00:00Z', 'refuse'],
    ['Mon 03:00 CEST, Sunday night is not in the window', '2026-03-30T01:00:00Z', 'refuse'],
    ['Mon 22:30 CEST', '2026-03-30T20:30:00Z', 'pass'],
    ['Tue 05:59 CEST', '2026-03-31T03:59:00Z', 'pass'],
    ['Tue 06:00 CEST', '2026-03-31T04:00:00Z', 'refuse'],
  ])('overnight window at %s: %s', (_, iso, outcome) => {
    const decision = evaluateRequest(request({ database: DATABASES.shop, level: 'write', now: new Date(iso) }), config);
    expect(ruleOf(decision, 'time-window')?.outcome).toBe(outcome);
  });

  /** A daily 01:00-04:00 window on the day Berlin moves from CET to CEST (02:00 -> 03:00). */
  const dstConfig = configFrom(String.raw`
timezone: Europe/Berlin
rules:
  onlyDuring:
    - { databases: [legacy], window: { days: daily, hours: '01:00-04:00' } }
`);
  it.each([
    ['Sat 03:30 CET', '2026-03-28T02:30:00Z', 'pass', 'Sat 03:30'],
    ['Sun 01:30 CET, before the change', '2026-03-29T00:30:00Z', 'pass', 'Sun 01:30'],
    ['Sun 03:30 CEST, after the change', '2026-03-29T01:30:00Z', 'pass', 'Sun 03:30'],
    ['Sun 04:30 CEST (a fixed UTC+1 would say 03:30)', '2026-03-29T02:30:00Z', 'refuse', 'Sun 04:30'],
    ['Sun 02:30 CEST, before falling back in October', '2026-10-25T00:30:00Z', 'pass', 'Sun 02:30'],
    ['Sun 02:30 CET, the hour again', '2026-10-25T01:30:00Z', 'pass', 'Sun 02:30'],
    ['Sun 04:30 CET', '2026-10-25T03:30:00Z', 'refuse', 'Sun 04:30'],
  ])('DST day at %s: %s', (_, iso, outcome, local) => {
    const decision = evaluateRequest(request({ requester: PEOPLE.stranger, database: DATABASES.legacy, now: new Date(iso) }), dstConfig);
    const rule = ruleOf(decision, 'time-window');
    expect(rule?.outcome).toBe(outcome);
    expect(rule?.explanation).toContain(`it is ${local} there`);
  });

  it('names when a refused window opens next, across the change to summer time', () => {
    const decision = evaluateRequest(request({ requester: PEOPLE.stranger, database: DATABASES.legacy, now: new Date('2026-03-29T02:30:00Z') }), dstConfig);
    expect(decision.refusal?.howToComply).toBe('Ask again from Mon 01:00 (Europe/Berlin).');
  });
});

describe('evaluateRequest: auto-approval', () => {
  it('auto-approves a low-risk short read on staging in business hours', () => {
    const decision = evaluateRequest(request(), config);
    expect(decision).toMatchObject({ outcome: 'auto-approve', autoApprovedBy: 'staging-reads', policy: 'staging', mfaRequired: false });
    expect(ruleOf(decision, 'auto-approve:staging-reads')).toEqual({
      rule: 'auto-approve:staging-reads',
      fired: true,
      outcome: 'pass',
      explanation: 'Auto-approved by "staging-reads": read requests, risk up to Low, up to 1h, during business-hours (Mon-Fri 09:00-18:00 (Europe/Berlin)).',
    });
  });

  it.each<[string, Partial<RequestContext>, string]>([
    ['level', { level: 'write' }, 'only for read, not write'],
    ['risk above the maximum', { risk: 'medium' }, 'risk Medium is above Low'],
    ['risk not rated yet', { risk: undefined }, 'the risk is not rated yet'],
    ['duration', { durationSeconds: 7200 }, '2h is longer than 1h'],
    ['window (evening)', { now: WEDNESDAY_20_BERLIN }, 'outside business-hours (Mon-Fri 09:00-18:00 (Europe/Berlin); it is Wed 20:00 there)'],
    ['window (weekend)', { now: new Date('2026-03-28T10:00:00Z') }, 'it is Sat 11:00 there'],
  ])('does not auto-approve when the %s does not fit, and says why', (_, overrides, why) => {
    const decision = evaluateRequest(request(overrides), config);
    expect(decision.outcome).toBe('needs-approval');
    expect(decision.autoApprovedBy).toBeUndefined();
    expect(decision.approvers.users).toEqual(['U0ALICE', 'U0CAROL']);
    const rule = ruleOf(decision, 'auto-approve:staging-reads');
    expect(rule).toMatchObject({ fired: false, outcome: 'info' });
    expect(rule?.explanation).toContain(`Not auto-approved by "staging-reads": `);
    expect(rule?.explanation).toContain(why);
  });

  it('refuses nothing on the risk alone: the rating changes a refusal only through auto-approval (the form\'s check rates risk only then)', () => {
    // Alice alone approves staging: a request of hers needs auto-approval, which only a low risk gives.
    const alone = configFrom(`
policies:
  - name: staging
    environments: [staging]
    approvers: [U0ALICE]
    autoApprove:
      - { levels: [read], maxRisk: low }
`);
    const ctxs: Array<[RequestContext, PolicyConfig]> = [
      [request(), config],
      [productionWrite(), config],
      [productionWrite({ requester: PEOPLE.alice, database: DATABASES.shop, now: FRIDAY_23_BERLIN }), config],
      [request({ reason: 'asdf asdf qwer zxcv' }), config],
      [request({ level: 'admin', durationSeconds: 7200 }), config],
      [request({ requester: PEOPLE.alice }), alone],
      [request({ requester: PEOPLE.alice, level: 'write' }), alone],
    ];
    for (const [ctx, policyConfig] of ctxs) {
      const unrated = policy.evaluateRequest({ ...ctx, risk: undefined }, policyConfig);
      for (const risk of RISK_LEVELS) {
        const rated = policy.evaluateRequest({ ...ctx, risk }, policyConfig);
        if (unrated.refusal?.rule !== 'approvers-available') expect(rated.refusal?.rule).toBe(unrated.refusal?.rule);
      }
    }
    // Where it does matter, the rating decides: low is auto-approved, higher needs another approver.
    expect(policy.evaluateRequest({ ...request({ requester: PEOPLE.alice }), risk: undefined }, alone).refusal?.rule).toBe('approvers-available');
    expect(policy.evaluateRequest({ ...request({ requester: PEOPLE.alice }), risk: 'low' }, alone).outcome).toBe('auto-approve');
    expect(policy.evaluateRequest({ ...request({ requester: PEOPLE.alice }), risk: 'high' }, alone).refusal?.rule).toBe('approvers-available');
  });

  it('never auto-approves past a refusing rule', () => {
    const decision = evaluateRequest(request({ reason: 'asdf asdf qwer zxcv' }), config);
    expect(decision.outcome).toBe('refuse');
    expect(decision.autoApprovedBy).toBeUndefined();
  });

  it('checks who and scope, names unnamed rules by position, and takes the first rule that fits', () => {
    const custom = configFrom(`
roles:
  groups:
    oncall: [U0ERIN]
policies:
  - name: staging
    environments: [staging]
    approvers: [U0CAROL]
    autoApprove:
      - { who: [oncall], scoped: true, maxRisk: medium }
      - { levels: [read], maxRisk: medium }
`);
    const scoped = evaluateRequest(request({ scope: [{ schema: 'sales' }], risk: 'medium' }), custom);
    expect(scoped.autoApprovedBy).toBe('staging#1');
    expect(ruleOf(scoped, 'auto-approve:staging#2')?.explanation).toBe('"staging#2" matches too, but "staging#1" comes first.');
    const whole = evaluateRequest(request({ risk: 'medium' }), custom);
    expect(whole.autoApprovedBy).toBe('staging#2');
    expect(ruleOf(whole, 'auto-approve:staging#1')?.explanation).toContain('only for requests limited to schemas or tables');
    const other = evaluateRequest(request({ requester: PEOPLE.lead, level: 'write', scope: [{ schema: 'sales' }] }), custom);
    expect(other.outcome).toBe('needs-approval');
    expect(ruleOf(other, 'auto-approve:staging#1')?.explanation).toContain('only for oncall');
  });
});

describe('canApprove', () => {
  const shopWrite = request({ database: DATABASES.shop, level: 'write', now: FRIDAY_23_BERLIN });

  it('counts one of two approvals', () => {
    expect(canApprove(PEOPLE.lead, shopWrite, [], config)).toEqual({
      allowed: true,
      policy: 'production-changes',
      quorum: 2,
      approvals: ['U0LEAD'],
      progress: '1 of 2 approvals: <@U0LEAD>',
      completesQuorum: false,
      mfaRequired: false,
      explanation: '1 of 2 approvals: <@U0LEAD>; 1 more needed.',
    });
  });

  it('completes the quorum with a second, distinct approver', () => {
    expect(canApprove(PEOPLE.alice, shopWrite, ['U0LEAD'], config)).toMatchObject({
      allowed: true,
      completesQuorum: true,
      progress: '2 of 2 approvals: <@U0LEAD>, <@U0ALICE>',
      explanation: '2 of 2 approvals: <@U0LEAD>, <@U0ALICE>; approved.',
    });
  });

  it('refuses the same approver twice', () => {
    expect(canApprove(PEOPLE.lead, shopWrite, ['U0LEAD'], config)).toMatchObject({
      allowed: false,
      rule: 'already-approved',
      message: 'You already approved this request; a different approver must give the next approval.',
      progress: '1 of 2 approvals: <@U0LEAD>',
    });
  });

  it('refuses self-approval, also when the requester is in the approver group', () => {
    const own = { ...shopWrite, requester: PEOPLE.alice };
    expect(canApprove(PEOPLE.alice, own, [], config)).toMatchObject({
      allowed: false,
      rule: 'self-approval',
      message: 'You cannot approve your own request, even as one of its approvers.',
      howToComply: 'Another approver must: leads (<@U0ALICE>, <@U0LEAD>).',
    });
    // The same person known by email only.
    expect(canApprove({ email: 'dev@acme.test', slackGroups: [] }, { ...shopWrite, requester: PEOPLE.dev }, [], config)).toMatchObject({ rule: 'self-approval' });
  });

  it("never counts the requester's own approval toward the quorum", () => {
    expect(canApprove(PEOPLE.alice, shopWrite, ['U0ERIN', 'U0LEAD', 'U0LEAD'], config)).toMatchObject({
      allowed: true,
      completesQuorum: true,
      approvals: ['U0LEAD', 'U0ALICE'],
    });
  });

  it('refuses anyone who is not an approver of the policy', () => {
    expect(canApprove(PEOPLE.carol, shopWrite, [], config)).toMatchObject({
      allowed: false,
      rule: 'not-an-approver',
      message: 'Only leads (<@U0ALICE>, <@U0LEAD>) can approve write on shop (policy "production-changes").',
    });
    expect(canApprove(PEOPLE.admin, shopWrite, [], config)).toMatchObject({ rule: 'not-an-approver' });
  });

  it('accepts an approver through a Slack user group', () => {
    expect(canApprove(PEOPLE.dbaByGroup, request({ database: DATABASES.shop }), [], config)).toMatchObject({
      allowed: true,
      completesQuorum: true,
      progress: '1 of 1 approval: <@U0DAN>',
    });
  });

  it('asks the approver for step-up where the policy says', () => {
    expect(canApprove(PEOPLE.dbaByGroup, request({ database: DATABASES.shop, risk: 'critical' }), [], config)).toMatchObject({ allowed: true, mfaRequired: true });
  });
});

describe('MFA', () => {
  it.each<[string, Partial<RequestContext>, boolean, string]>([
    ['staging, policy without step-up, even at Critical', { risk: 'critical' }, false, 'No step-up: policy "staging" does not ask for it.'],
    ['production read at Low', { database: DATABASES.shop, risk: 'low' }, false, 'No step-up: risk Low is below High.'],
    ['production read at Medium', { database: DATABASES.shop, risk: 'medium' }, false, 'No step-up: risk Medium is below High.'],
    ['production read at High', { database: DATABASES.shop, risk: 'high' }, true, 'Step-up (MFA) required: risk High is at or above High.'],
    ['production read at Critical', { database: DATABASES.shop, risk: 'critical' }, true, 'Step-up (MFA) required: risk Critical is at or above High.'],
    ['production read not rated yet', { database: DATABASES.shop, risk: undefined }, true, 'Step-up (MFA) required until the risk is rated.'],
    [
      'production admin at Low',
      { database: DATABASES.shop, level: 'admin', risk: 'low' },
      true,
      'Step-up (MFA) required: policy "production-changes" asks for it on admin requests on production databases.',
    ],
    ['development admin at Low (default policy)', { database: DATABASES.legacy, level: 'admin', risk: 'low' }, false, 'No step-up: risk Low is below High.'],
  ])('%s', (_, overrides, required, explanation) => {
    const decision = evaluateRequest(request({ requester: PEOPLE.alice, ...overrides }), config);
    expect(decision.mfaRequired).toBe(required);
    expect(ruleOf(decision, 'mfa')).toEqual({ rule: 'mfa', fired: required, outcome: 'info', explanation });
  });

  it('reads the always and never shorthands', () => {
    const always = configFrom('policies: [{ name: all, approvers: [U0CAROL], mfa: always }]');
    expect(evaluateRequest(request({ requester: PEOPLE.alice }), always).mfaRequired).toBe(true);
    const never = configFrom('policies: [{ name: all, approvers: [U0CAROL], mfa: never }]');
    expect(evaluateRequest(request({ requester: PEOPLE.alice, database: DATABASES.shop, level: 'admin', risk: 'critical' }), never).mfaRequired).toBe(false);
  });
});

describe('break-glass', () => {
  it('lets an allowed person in at once, outside the window, with step-up and a short limit', () => {
    const decision = evaluateRequest(
      request({ requester: PEOPLE.lead, database: DATABASES.shop, level: 'admin', breakGlass: true, now: WEDNESDAY_20_BERLIN }),
      config,
    );
    expect(decision).toMatchObject({ outcome: 'auto-approve', autoApprovedBy: 'break-glass', breakGlass: true, mfaRequired: true, maxDurationSeconds: 3600 });
    expect(ruleOf(decision, 'break-glass')?.outcome).toBe('pass');
    expect(ruleOf(decision, 'time-window')).toMatchObject({ fired: true, outcome: 'info', explanation: expect.stringContaining('break-glass is not bound to windows') });
    expect(ruleOf(decision, 'mfa')?.explanation).toBe('Step-up (MFA) required: break-glass always asks for it.');
  });

  it.each<[string, Partial<RequestContext>, string, string]>([
    ['a person the policy does not name', { database: DATABASES.shop }, 'break-glass', 'Only dbas may use break-glass on shop.'],
    [
      'a policy without break-glass',
      { requester: PEOPLE.alice, database: DATABASES.orders, level: 'write' },
      'break-glass',
      'Break-glass is not allowed for write on orders (policy "orders").',
    ],
    ['longer than the break-glass limit', { requester: PEOPLE.alice, database: DATABASES.shop, durationSeconds: 7200 }, 'max-duration', '2h is longer than the break-glass limit, 1h.'],
    ['a ticket it still needs', { requester: PEOPLE.lead, database: DATABASES.shop, level: 'admin', ticket: null }, 'ticket', 'A ticket is required for write or admin requests on production databases.'],
  ])('refuses %s', (_, overrides, rule, message) => {
    const decision = evaluateRequest(request({ breakGlass: true, ...overrides }), config);
    expect(decision.outcome).toBe('refuse');
    expect(decision.breakGlass).toBe(false);
    expect(decision.refusal).toMatchObject({ rule, message });
  });
});

describe('policy choice', () => {
  it.each([
    ['a database beats environment and level', DATABASES.orders, 'write', 'orders', '"production" and "production-changes" match too but are broader'],
    ['environment alone', DATABASES.orders, 'read', 'production', undefined],
    ['environment and level beat environment', DATABASES.shop, 'write', 'production-changes', '"production" matches too but is broader'],
    ['staging', DATABASES.analytics, 'read', 'staging', undefined],
    ['no match: the default', DATABASES.legacy, 'read', 'default', undefined],
  ] as const)('%s', (_, database, level, policy, note) => {
    const decision = evaluateRequest(request({ requester: PEOPLE.alice, database, level, now: FRIDAY_23_BERLIN }), config);
    expect(decision.policy).toBe(policy);
    if (note) expect(ruleOf(decision, 'policy')?.explanation).toContain(note);
  });

  it('lets tags beat environments, and the first of equally specific policies win', () => {
    const custom = configFrom(`
policies:
  - { name: first, environments: [production], approvers: [U0CAROL] }
  - { name: second, environments: [production], levels: ['*'], approvers: [U0LEAD] }
  - { name: personal-data, tags: [pii], approvers: [U0ALICE] }
`);
    expect(evaluateRequest(request({ database: DATABASES.orders }), custom).policy).toBe('personal-data');
    const shop = evaluateRequest(request({ database: DATABASES.shop }), custom);
    expect(shop.policy).toBe('first');
    expect(ruleOf(shop, 'policy')?.explanation).toBe('Policy "first" applies to read on shop (any level on production databases); "second" is as specific but comes later in the file.');
  });
});

describe('a catalog without roles, policies or rules', () => {
  const plain = configFrom('');

  it('lets anyone request, and the catalog approvers approve with quorum 1', () => {
    const decision = evaluateRequest(request({ requester: PEOPLE.stranger, database: DATABASES.orders, level: 'admin', ticket: null, reason: 'Fix the stuck migration lock' }), plain);
    expect(decision).toMatchObject({
      outcome: 'needs-approval',
      policy: 'default',
      quorum: 1,
      approvers: { users: [CATALOG_APPROVER], slackGroups: [], emails: [], groups: [] },
      pendingTimeoutSeconds: 3600,
      maxDurationSeconds: 8 * 3600,
    });
    expect(decision.refusal).toBeUndefined();
    expect(decision.rules.filter((rule) => rule.outcome === 'refuse')).toEqual([]);
    expect(ruleOf(decision, 'requester')?.explanation).toBe('Anyone may request access (no roles.requesters in the catalog).');
    expect(ruleOf(decision, 'policy')?.explanation).toBe("No policy matches admin on orders: the catalog's approvers decide, 1 approval needed.");
  });

  it("uses a database's own approvers where it names them", () => {
    const withOwn = { ...DATABASES.orders, approvers: { slack: { users: ['U0ORDERSDBA'] } } };
    expect(evaluateRequest(request({ database: withOwn }), plain).approvers.users).toEqual(['U0ORDERSDBA']);
  });

  it('keeps the default step-up: High and Critical risk, production admin', () => {
    expect(evaluateRequest(request({ database: DATABASES.orders, level: 'admin', risk: 'low' }), plain).mfaRequired).toBe(true);
    expect(evaluateRequest(request({ risk: 'high' }), plain).mfaRequired).toBe(true);
    expect(evaluateRequest(request({ risk: 'medium' }), plain).mfaRequired).toBe(false);
  });

  it('lets the catalog approver approve, and nobody else', () => {
    const approver: Person = { slackUserId: CATALOG_APPROVER, slackGroups: [] };
    expect(canApprove(approver, request(), [], plain)).toMatchObject({ allowed: true, completesQuorum: true, progress: '1 of 1 approval: <@U0APPROVER>' });
    expect(canApprove(PEOPLE.alice, request(), [], plain)).toMatchObject({ allowed: false, rule: 'not-an-approver' });
    expect(resolveRoles(approver, plain).roles).toEqual(['requester', 'approver']);
    expect(canRequest(PEOPLE.stranger, DATABASES.orders, 'admin', plain).allowed).toBe(true);
  });

  it('explains the default in words', () => {
    expect(explainPolicy(DATABASES.legacy, PEOPLE.stranger, plain)).toEqual([
      'legacy (development):',
      '• read, write and admin: policy "default": 1 approval from <@U0APPROVER>, never the requester\'s own; unanswered requests expire after 1h.',
      '  Step-up (MFA): at High risk or above.',
      '  Auto-approval: none.',
      '  Break-glass: not allowed.',
      '  Approve with changes: approvers may grant a lower level, part of the scope or a shorter time, never more than asked; a note to the requester is optional.',
      'Durations: at most 8h.',
      'Reason: a few words that say why.',
      '<@U0NOBODY>: may request read, write or admin here; does not approve here.',
    ]);
  });
});

describe("today's catalog, as parseCatalog reads it", () => {
  it('feeds the evaluator without any new section: catalog or database approvers, quorum 1', () => {
    const view = parseCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: orders, environment: production, admin: 'env:ORDERS_URL', maxDuration: 4h }
  - id: shop
    engine: mysql
    host: 127.0.0.1
    port: 3306
    database: shop
    environment: staging
    admin: 'env:SHOP_URL'
    approvers: { slack: { channel: C0SHOP, users: [U0CAROL] } }
`);
    const fromCatalog = policyConfig(view.catalog);
    const orders = view.database('orders')!;
    const decision = evaluateRequest(request({ requester: PEOPLE.stranger, database: orders, level: 'write', durationSeconds: 5 * 3600 }), fromCatalog);
    expect(decision).toMatchObject({ outcome: 'refuse', policy: 'default', quorum: 1, approvers: { users: ['U0ALICE', 'U0BOB'] } });
    expect(decision.refusal?.message).toBe('5h is longer than the limit of orders, 4h.');
    expect(canApprove(PEOPLE.alice, request({ requester: PEOPLE.bob, database: orders }), [], fromCatalog)).toMatchObject({ allowed: true, completesQuorum: true });
    expect(canApprove(PEOPLE.alice, request({ requester: PEOPLE.alice, database: orders }), [], fromCatalog)).toMatchObject({ rule: 'self-approval' });
    const shop = view.database('shop')!;
    expect(evaluateRequest(request({ database: shop }), fromCatalog).approvers.users).toEqual(['U0CAROL']);
    expect(resolveRoles({ slackUserId: 'U0CAROL', slackGroups: [] }, fromCatalog).approves).toEqual(['default']);
  });
});

describe('explainPolicy', () => {
  it('tells a requester what applies on a production MySQL database', () => {
    expect(explainPolicy(DATABASES.shop, PEOPLE.erin, config)).toEqual([
      'shop (production):',
      '• read: policy "production": 1 approval from dbas (<@U0ALICE>, <@U0BOB>, <!subteam^S0DBAS>), never the requester\'s own; unanswered requests expire after 1h.',
      '  Step-up (MFA): at High risk or above.',
      '  Auto-approval: none.',
      '  Break-glass: dbas, at most 1h, with step-up; approvers are told at once.',
      '  Approve with changes: approvers may grant a lower level, part of the scope or a shorter time, never more than asked; a note to the requester is optional.',
      '• write and admin: policy "production-changes": 2 approvals from leads (<@U0ALICE>, <@U0LEAD>), never the requester\'s own; unanswered requests expire after 2h.',
      '  Step-up (MFA): at High risk or above; always for admin requests on production databases.',
      '  Auto-approval: none.',
      '  Break-glass: leads, at most 1h, with step-up; approvers are told at once.',
      '  Approve with changes: approvers may grant a lower level, part of the scope or a shorter time, never more than asked; a note to the requester is optional.',
      'Time windows: admin: only Mon-Fri 09:00-18:00 (Europe/Berlin); write: only Mon-Fri 22:00-06:00 (overnight, Europe/Berlin).',
      'Durations: at most 8h; admin: at most 1h; write: at most 4h.',
      'Ticket: required for write or admin, written as `[A-Z]+-\\d+`.',
      'Active leases per person: at most 2.',
      'Reason: a sentence of at least 4 words.',
      'Source hosts: only 10.0.% or bastion.acme.test.',
      '<@U0ERIN>: may request read or write here; does not approve here.',
    ]);
  });

  it('tells an approver what they approve and what auto-approves', () => {
    const lines = explainPolicy(DATABASES.analytics, PEOPLE.alice, config);
    expect(lines).toContain(
      '  Auto-approves: read requests, risk up to Low, up to 1h, during business-hours (Mon-Fri 09:00-18:00 (Europe/Berlin)) ("staging-reads").',
    );
    expect(lines.at(-1)).toBe('<@U0ALICE>: may request read or write here; approves read and write requests of others.');
    expect(explainPolicy(DATABASES.analytics, PEOPLE.stranger, config).at(-1)).toBe(
      '<@U0NOBODY>: may not request access here; ask an admin (<@U0ADMIN>); does not approve here.',
    );
  });
});

describe('explanations as rich text', () => {
  /** Every rich text an answer holds, wherever it sits. */
  const texts = (value: unknown): RichText[] =>
    isRichText(value) ? [value] : Array.isArray(value) ? value.flatMap(texts) : typeof value === 'object' && value !== null ? Object.values(value).flatMap(texts) : [];

  it('name people as ids and patterns as code, with no platform markup in the words', () => {
    const answers = [
      policy.evaluateRequest(request({ requester: PEOPLE.stranger, database: DATABASES.shop, level: 'write', ticket: 'nope', breakGlass: true }), config),
      policy.canApprove(PEOPLE.carol, request({ database: DATABASES.shop, level: 'write' }), ['U0LEAD'], config),
      policy.canApprove(PEOPLE.alice, request({ database: DATABASES.shop, level: 'write', now: FRIDAY_23_BERLIN }), ['U0LEAD'], config),
      policy.explainPolicy(DATABASES.shop, PEOPLE.erin, config),
      policy.resolveRoles(PEOPLE.carol, config),
    ];
    const all = answers.flatMap(texts);
    const parts = all.flatMap((value) => value.parts);
    expect(parts.filter((part) => part.kind === 'text').map((part) => part.text).join('\n')).not.toMatch(/<@|<!|`|\[object Object\]/);
    expect(new Set(parts.flatMap((part) => (part.kind === 'person' ? [part.id] : [])))).toEqual(new Set(['U0NOBODY', 'U0ADMIN', 'U0ALICE', 'U0LEAD', 'U0BOB', 'U0ERIN', 'U0CAROL']));
    expect(parts).toContainEqual({ kind: 'group', id: 'S0DBAS' });
    expect(parts).toContainEqual({ kind: 'code', text: '[A-Z]+-\\d+' });
    // Plain data: stored in a request's policy snapshot and read back unchanged.
    expect(JSON.parse(JSON.stringify(all))).toEqual(all);
  });

  it('shows progress with the approvers as people', () => {
    const check = policy.canApprove(PEOPLE.alice, request({ database: DATABASES.shop, level: 'write', now: FRIDAY_23_BERLIN }), ['U0LEAD'], config);
    expect(check.progress.parts).toEqual([
      { kind: 'text', text: '2 of 2 approvals: ' },
      { kind: 'person', id: 'U0LEAD' },
      { kind: 'text', text: ', ' },
      { kind: 'person', id: 'U0ALICE' },
    ]);
  });
});

describe('identity-provider groups and managers', () => {
  const idp = configFrom(`
roles:
  requesters:
    - { who: [okta:00gdevs] }
policies:
  - { name: dbas, levels: [read], approvers: [okta:00gdbas] }
  - { name: managers, levels: [write], approvers: [manager:okta] }
`);
  const ann: Person = { email: 'ann@acme.test', slackGroups: [], directoryGroups: ['okta:00gdevs'], managers: { okta: 'bea@acme.test' } };
  const bea: Person = { email: 'bea@acme.test', slackGroups: [], directoryGroups: ['okta:00gdbas'] };
  const cid: Person = { email: 'cid@acme.test', slackGroups: [], directoryGroups: ['okta:00gdevs'] };

  it('gives roles and approvals through groups, and manager approval to the manager alone', () => {
    expect(canRequest(ann, DATABASES.orders, 'read', idp).allowed).toBe(true);
    expect(canRequest(bea, DATABASES.orders, 'read', idp).allowed).toBe(false);
    expect(canApprove(bea, request({ requester: ann, database: DATABASES.orders }), [], idp)).toMatchObject({ allowed: true, via: 'okta:00gdbas' });
    expect(canApprove(bea, request({ requester: ann, database: DATABASES.orders, level: 'write' }), [], idp)).toMatchObject({ allowed: true, via: 'manager:okta' });
    expect(canApprove(bea, request({ requester: cid, database: DATABASES.orders, level: 'write' }), [], idp)).toMatchObject({ allowed: false, rule: 'not-an-approver' });
  });

  it('refuses at submission a request only a manager could approve when none is known, and says why', () => {
    const decision = evaluateRequest(request({ requester: cid, database: DATABASES.orders, level: 'write', ticket: 'OPS-1' }), idp);
    expect(decision.refusal?.message).toBe('Policy "managers" is approved by your manager, and no manager is known for you in Okta.');
    const down = evaluateRequest(request({ requester: { ...cid, directoryProblems: ['Okta answered HTTP 503, so its groups and managers count for nobody right now.'] }, database: DATABASES.orders, level: 'write' }), idp);
    expect(down.refusal?.message).toBe('Policy "managers" is approved by your manager, and no manager is known for you: Okta answered HTTP 503, so its groups and managers count for nobody right now.');
    expect(evaluateRequest(request({ requester: ann, database: DATABASES.orders, level: 'write' }), idp).refusal).toBeUndefined();
  });
});
