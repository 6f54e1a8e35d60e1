import { z } from 'zod';
import { parseDuration } from '../../lib/time.js';
import { RISK_LEVELS } from '../risk/risk-types.js';
import { isTimeZone, parseDayToken, parseHourRange, type HourRange, type TimeWindow } from './time-window.js';

/**
 * Catalog sections for roles, approval policies and contextual rules, written by hand by a small
 * team. Every section is optional: without them the catalog's approvers approve everything with a
 * quorum of 1, anyone may request, and no rule beyond the form's own checks applies.
 *
 * Deliberately no runtime import from config/catalog.ts: the catalog imports this file, and an ESM
 * cycle would read its constants before they exist.
 */

export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const ROLE_NAMES = ['requester', 'approver', 'admin', 'auditor'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

// ---- building blocks ------------------------------------------------------------------------

/** A single value where a list is expected reads as a list of one (`levels: read`). */
const listOf = <T extends z.ZodType>(item: T, max: number, min = 1) =>
  z.preprocess((value) => (value === undefined || Array.isArray(value) ? value : [value]), z.array(item).min(min).max(max));

const duration = z
  .string()
  .max(20)
  .refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 30m, 4h or 1h30m')
  .transform((text) => parseDuration(text)!);

const NAME = /^[a-z][a-z0-9_-]{0,39}$/;
const name = (what: string) => z.string().max(40).regex(NAME, `must be a ${what}: 1-40 lower-case letters, digits, _ or -, starting with a letter`);
const groupName = name('group name');
const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;
const SLACK_GROUP = /^S[A-Z0-9]{2,20}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,60}$/;
const slackUserId = z.string().max(21).regex(SLACK_USER, 'must be a Slack user id such as U0ALICE');
const slackGroupId = z.string().max(21).regex(SLACK_GROUP, 'must be a Slack user group id such as S0DBAS');
const email = z.string().max(254).regex(EMAIL, 'must be an email address such as audit@acme.test');

export const timezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin or UTC');

/** Somebody, or some people: a Slack user, a Slack user group, an email, or a group under roles.groups. */
export type Principal =
  | { kind: 'user'; id: string }
  | { kind: 'slackGroup'; id: string }
  | { kind: 'email'; address: string }
  | { kind: 'group'; name: string }
  | { kind: 'everyone' };

const PRINCIPAL_HELP = 'must be a Slack user id (U…), a Slack user group id (S…), an email, or a group name under roles.groups';

/** Strings are classified by shape: `U…`/`W…` user, `S…` user group, `a@b.c` email, lower-case: group. */
function principalSchema(allowEveryone: boolean) {
  return z.preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      const text = value.trim();
      if (text === '*' && allowEveryone) return { everyone: true };
      if (SLACK_USER.test(text)) return { user: text };
      if (SLACK_GROUP.test(text)) return { slackGroup: text };
      if (text.includes('@')) return { email: text };
      return { group: text };
    },
    z
      .strictObject({
        user: slackUserId.optional(),
        slackGroup: slackGroupId.optional(),
        email: email.optional(),
        group: z.string().max(40).regex(NAME, PRINCIPAL_HELP).optional(),
        everyone: z.literal(true).optional(),
      })
      .refine((entry) => Object.values(entry).filter((value) => value !== undefined).length === 1, 'write exactly one of user, slackGroup, email or group')
      .transform((entry): Principal => {
        if (entry.user) return { kind: 'user', id: entry.user };
        if (entry.slackGroup) return { kind: 'slackGroup', id: entry.slackGroup };
        if (entry.email) return { kind: 'email', address: entry.email.toLowerCase() };
        if (entry.group) return { kind: 'group', name: entry.group };
        return { kind: 'everyone' };
      }),
  );
}
export const principal = principalSchema(false);
/** Requesters may be everyone (`'*'`); approvers, admins and auditors may not. */
const principalOrEveryone = principalSchema(true);

/** `'*'` anywhere in a matcher list means "any", the same as leaving the field out. */
const anyOf = <T extends z.ZodType<string>>(item: T) =>
  listOf(z.union([z.literal('*'), item]), 100).transform((list) => (list.includes('*') ? undefined : (list as string[])));

const levelName = z.string().max(31).regex(/^[a-z][a-z0-9_-]{0,30}$/, 'must be read, write, admin or a custom level name');
const tag = z.string().min(1).max(40);

/** Which requests an entry is about; a field left out (or `'*'`) matches anything. */
const matcherShape = {
  databases: anyOf(name('database id')).optional(),
  environments: anyOf(z.enum(ENVIRONMENTS)).optional(),
  /** The database carries at least one of these tags. */
  tags: anyOf(tag).optional(),
  levels: anyOf(levelName).optional(),
};

export interface Matcher {
  databases?: string[] | undefined;
  environments?: string[] | undefined;
  tags?: string[] | undefined;
  levels?: string[] | undefined;
}

const riskLevel = z.enum(RISK_LEVELS);

// ---- time windows ---------------------------------------------------------------------------

const dayToken = z.string().max(20).refine((text) => parseDayToken(text) !== undefined, 'must be a day such as mon, a range such as mon-fri, weekdays, weekends or daily');
const hourRange = z
  .string()
  .max(20)
  .refine((text) => parseHourRange(text) !== undefined, 'must be hours such as 09:00-18:00, or 22:00-06:00 for overnight')
  .transform((text): HourRange => parseHourRange(text)!);

export const windowSchema = z.strictObject({
  days: listOf(dayToken, 7)
    .prefault(['daily'])
    .transform((tokens) => [...new Set(tokens.flatMap((token) => parseDayToken(token)!))].sort((a, b) => a - b)),
  hours: listOf(hourRange, 10).prefault(['00:00-24:00']),
  timezone: timezoneSchema.optional(),
}) satisfies z.ZodType<TimeWindow>;

/** A window by its name under rules.windows (or the built-in business-hours), or written in place. */
const windowRef = z.union([name('window name'), windowSchema]);
export type WindowRef = z.output<typeof windowRef>;

// ---- roles ----------------------------------------------------------------------------------

const groupSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { members: value } : value),
  z.strictObject({
    description: z.string().max(200).optional(),
    /** Users, Slack user groups, emails, or other groups of this section. */
    members: z.array(principal).min(1).max(500),
  }),
);

const requesterSchema = z.strictObject({
  who: listOf(principalOrEveryone, 100),
  ...matcherShape,
});

export const rolesSchema = z.strictObject({
  admins: listOf(principal, 100, 0).optional().transform((list) => list ?? []),
  auditors: listOf(principal, 100, 0).optional().transform((list) => list ?? []),
  groups: z.record(groupName, groupSchema).default({}),
  /**
   * Who may request what. Left out: anyone may request anything the catalog offers. Given: only what
   * an entry allows (admins included; being an admin is not a grant).
   */
  requesters: z.array(requesterSchema).max(200).optional(),
});

// ---- policies -------------------------------------------------------------------------------

const mfaMatcher = z.strictObject(matcherShape);

/**
 * When step-up is needed. `always` and `never` are shorthands; by default at High and Critical risk
 * and for every production admin request.
 */
export const mfaSchema = z.preprocess(
  (value) => {
    if (value === 'always') return { minRisk: 'low', always: [{}] };
    if (value === 'never') return { minRisk: 'never', always: [] };
    return value;
  },
  z.strictObject({
    /** Step-up at this risk and above; `never`: risk alone never asks for it. */
    minRisk: z.union([riskLevel, z.literal('never')]).default('high'),
    /** Requests that need step-up whatever their risk. */
    always: z.array(mfaMatcher).max(20).prefault([{ environments: ['production'], levels: ['admin'] }]),
  }),
);

const autoApproveSchema = z.strictObject({
  name: name('rule name').optional(),
  ...matcherShape,
  /** Only these people (by default anyone who may request it). */
  who: listOf(principal, 100).optional(),
  /** The highest risk rating that still auto-approves. */
  maxRisk: riskLevel.default('low'),
  maxDuration: duration.optional(),
  window: windowRef.optional(),
  /** Only requests limited to schemas or tables. */
  scoped: z.boolean().optional(),
});

const breakGlassSchema = z
  .strictObject({
    allowed: z.boolean().default(false),
    who: listOf(principal, 100).optional(),
    /** Break-glass access lasts at most this long. */
    maxDuration: duration.default(3600),
  })
  .refine((value) => !value.allowed || value.who !== undefined, { message: 'break-glass that is allowed needs who (the people who may use it)', path: ['who'] });

export const policySchema = z.strictObject({
  name: name('policy name'),
  description: z.string().max(200).optional(),
  ...matcherShape,
  approvers: listOf(principal, 100),
  /** Distinct approvers needed, never counting the requester. */
  quorum: z.number().int().min(1).max(10).default(1),
  mfa: mfaSchema.prefault({}),
  autoApprove: listOf(autoApproveSchema, 20, 0).optional().transform((list) => list ?? []),
  breakGlass: breakGlassSchema.prefault({}),
  /** Unset: the catalog's settings.pendingTimeout. */
  pendingTimeout: duration.optional(),
});

export const policiesSchema = z.array(policySchema).max(200);

// ---- contextual rules -----------------------------------------------------------------------

export const REASON_QUALITIES = ['basic', 'detailed'] as const;
export type ReasonQuality = (typeof REASON_QUALITIES)[number];

const ticketPattern = z
  .string()
  .min(1)
  .max(200)
  .refine((text) => {
    try {
      new RegExp(text, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'must be a regular expression such as [A-Z]+-\\d+');

/** Lower-cased: MySQL and MariaDB store account hosts in lower case. */
const hostPattern = z.string().min(1).max(255).regex(/^[A-Za-z0-9.%_:-]+$/, 'must be a host name, address or pattern such as 10.0.%').transform((host) => host.toLowerCase());

export const rulesSchema = z.strictObject({
  /** Named windows for onlyDuring and autoApprove; business-hours exists unless redefined. */
  windows: z.record(name('window name'), windowSchema).default({}),
  /** Requests an entry matches are allowed only inside its window. */
  onlyDuring: listOf(z.strictObject({ ...matcherShape, window: windowRef }), 50).optional().transform((list) => list ?? []),
  /** The shortest limit of all matching entries (and the database's maxDuration) applies. */
  maxDuration: listOf(z.strictObject({ ...matcherShape, max: duration }), 50).optional().transform((list) => list ?? []),
  /** The whole ticket must match the pattern; write `.*[A-Z]+-\d+` to accept links. */
  ticket: listOf(z.strictObject({ ...matcherShape, required: z.boolean().default(true), pattern: ticketPattern.optional() }), 50)
    .optional()
    .transform((list) => list ?? []),
  /** Active leases a person may hold at once: a number, or entries counting matching leases. */
  maxActiveLeases: z
    .preprocess(
      (value) => (typeof value === 'number' ? [{ max: value }] : value),
      listOf(z.strictObject({ ...matcherShape, max: z.number().int().min(1).max(100) }), 50),
    )
    .optional()
    .transform((list) => list ?? []),
  /** `basic` is the form's own check; `detailed` asks for a sentence. A level, or entries per request kind. */
  reasonQuality: z
    .preprocess(
      (value) => (typeof value === 'string' ? [{ min: value }] : value),
      listOf(z.strictObject({ ...matcherShape, min: z.enum(REASON_QUALITIES) }), 50),
    )
    .optional()
    .transform((list) => list ?? []),
  /** MySQL and MariaDB: hosts the temporary user may connect from; the first matching entry applies. */
  sourceHosts: listOf(z.strictObject({ ...matcherShape, allowed: listOf(hostPattern, 50) }), 50)
    .optional()
    .transform((list) => list ?? []),
});

/** The sections to add to the catalog schema (spread into its strictObject). */
export const policySectionsShape = {
  /** Default time zone of windows. */
  timezone: timezoneSchema.default('UTC'),
  roles: rolesSchema.optional(),
  policies: policiesSchema.default([]),
  rules: rulesSchema.prefault({}),
};
export const policySectionsSchema = z.strictObject(policySectionsShape);

export type Roles = z.output<typeof rolesSchema>;
export type Policy = z.output<typeof policySchema>;
export type AutoApproveRule = Policy['autoApprove'][number];
export type Mfa = Policy['mfa'];
export type Rules = z.output<typeof rulesSchema>;
export type PolicySections = z.output<typeof policySectionsSchema>;

// ---- the evaluator's view of the catalog ----------------------------------------------------

/** Everything the evaluator reads; build it with policyConfig(catalog). */
export interface PolicyConfig {
  timezone: string;
  roles: Roles | undefined;
  policies: Policy[];
  rules: Rules;
  /** The catalog's top-level approvers: the default policy's approvers. */
  defaultApprovers: string[];
  /** Databases that name their own approvers (the default policy uses them there). */
  databaseApprovers: Record<string, string[]>;
  pendingTimeoutSeconds: number;
}

/**
 * Whether the catalog names anyone by email or by Slack user group (roles, groups, policies, rules),
 * so that a Slack workspace is asked for emails and group members only when they matter.
 */
export function namesPeopleBy(config: Pick<PolicyConfig, 'roles' | 'policies' | 'rules'>): { emails: boolean; groups: boolean } {
  const found = { emails: false, groups: false };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    const kind = (value as { kind?: unknown }).kind;
    if (kind === 'email') found.emails = true;
    else if (kind === 'slackGroup') found.groups = true;
    else Object.values(value).forEach(walk);
  };
  walk([config.roles, config.policies, config.rules]);
  return found;
}

/** Approvers on each platform: Slack user ids, Teams users by email. */
export interface PlatformApprovers {
  slack?: { users: string[] } | undefined;
  teams?: { users: string[] } | undefined;
}

/** Everyone a catalog's approvers section names, on every platform. */
export const approverIds = (approvers: PlatformApprovers): string[] => [...(approvers.slack?.users ?? []), ...(approvers.teams?.users ?? []).map((email) => email.toLowerCase())];

export interface PolicyCatalogInput {
  approvers: PlatformApprovers;
  settings: { pendingTimeout: number };
  databases: ReadonlyArray<{ id: string; approvers?: PlatformApprovers | undefined }>;
  timezone?: string | undefined;
  roles?: Roles | undefined;
  policies?: Policy[] | undefined;
  rules?: Rules | undefined;
}

export function policyConfig(catalog: PolicyCatalogInput): PolicyConfig {
  const databaseApprovers: Record<string, string[]> = {};
  for (const database of catalog.databases) {
    if (database.approvers) databaseApprovers[database.id] = approverIds(database.approvers);
  }
  return {
    timezone: catalog.timezone ?? 'UTC',
    roles: catalog.roles,
    policies: catalog.policies ?? [],
    rules: catalog.rules ?? rulesSchema.parse({}),
    defaultApprovers: approverIds(catalog.approvers),
    databaseApprovers,
    pendingTimeoutSeconds: catalog.settings.pendingTimeout,
  };
}

// ---- references between sections and to the catalog ----------------------------------------

export interface PolicyProblem {
  /** Path in the catalog, for catalog.ts to turn into line:column. */
  path: Array<string | number>;
  message: string;
}

/**
 * Checks what a schema cannot: names that must exist (groups, windows, databases, levels), group
 * cycles, duplicate policy names, policies that can never win, quorums no one can reach.
 */
export function checkPolicySections(
  sections: Pick<PolicySections, 'roles' | 'policies' | 'rules'>,
  known: { databaseIds: readonly string[]; levels: readonly string[] },
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const groups = sections.roles?.groups ?? {};
  const windows = new Set(['business-hours', ...Object.keys(sections.rules.windows)]);

  const checkPrincipals = (list: Principal[] | undefined, path: Array<string | number>) => {
    list?.forEach((entry, index) => {
      if (entry.kind === 'group' && !Object.hasOwn(groups, entry.name)) {
        problems.push({ path: [...path, index], message: `"${entry.name}" is not a group under roles.groups (nor a Slack id or an email)` });
      }
    });
  };
  const checkMatcher = (matcher: Matcher, path: Array<string | number>) => {
    matcher.databases?.forEach((id, index) => {
      if (!known.databaseIds.includes(id)) problems.push({ path: [...path, 'databases', index], message: `"${id}" is not a database of the catalog` });
    });
    matcher.levels?.forEach((level, index) => {
      if (!known.levels.includes(level)) problems.push({ path: [...path, 'levels', index], message: `"${level}" is neither read, write, admin nor a level under customLevels` });
    });
  };
  const checkWindow = (window: WindowRef | undefined, path: Array<string | number>) => {
    if (typeof window === 'string' && !windows.has(window)) problems.push({ path, message: `"${window}" is not a window under rules.windows` });
  };

  for (const [groupKey, group] of Object.entries(groups)) {
    checkPrincipals(group.members, ['roles', 'groups', groupKey, 'members']);
    const cycle = findCycle(groupKey, groups, []);
    if (cycle) problems.push({ path: ['roles', 'groups', groupKey], message: `groups contain each other: ${cycle.join(' -> ')}` });
  }
  checkPrincipals(sections.roles?.admins, ['roles', 'admins']);
  checkPrincipals(sections.roles?.auditors, ['roles', 'auditors']);
  sections.roles?.requesters?.forEach((entry, index) => {
    checkPrincipals(entry.who, ['roles', 'requesters', index, 'who']);
    checkMatcher(entry, ['roles', 'requesters', index]);
  });

  const seen = new Map<string, number>();
  sections.policies.forEach((policy, index) => {
    const path = ['policies', index];
    if (seen.has(policy.name)) problems.push({ path: [...path, 'name'], message: `duplicate policy name "${policy.name}"` });
    seen.set(policy.name, index);
    checkMatcher(policy, path);
    checkPrincipals(policy.approvers, [...path, 'approvers']);
    checkPrincipals(policy.breakGlass.who, [...path, 'breakGlass', 'who']);
    policy.mfa.always.forEach((matcher, mfaIndex) => checkMatcher(matcher, [...path, 'mfa', 'always', mfaIndex]));
    policy.autoApprove.forEach((rule, ruleIndex) => {
      checkMatcher(rule, [...path, 'autoApprove', ruleIndex]);
      checkPrincipals(rule.who, [...path, 'autoApprove', ruleIndex, 'who']);
      checkWindow(rule.window, [...path, 'autoApprove', ruleIndex, 'window']);
    });
    const earlier = sections.policies.slice(0, index).find((other) => sameMatch(other, policy));
    if (earlier) problems.push({ path, message: `matches exactly what policy "${earlier.name}" matches, which comes first, so it never applies` });
    const people = staticPeople(policy.approvers, groups);
    if (people && people.size < policy.quorum) {
      problems.push({ path: [...path, 'quorum'], message: `quorum ${policy.quorum} needs at least ${policy.quorum} approvers; ${people.size} listed` });
    }
  });

  const rules = sections.rules;
  for (const key of ['onlyDuring', 'maxDuration', 'ticket', 'maxActiveLeases', 'reasonQuality', 'sourceHosts'] as const) {
    rules[key].forEach((entry, index) => checkMatcher(entry, ['rules', key, index]));
  }
  rules.onlyDuring.forEach((entry, index) => checkWindow(entry.window, ['rules', 'onlyDuring', index, 'window']));
  return problems;
}

function findCycle(start: string, groups: Roles['groups'], trail: string[]): string[] | undefined {
  if (trail.includes(start)) return trail[0] === start ? [...trail, start] : undefined;
  const group = Object.hasOwn(groups, start) ? groups[start] : undefined;
  for (const member of group?.members ?? []) {
    if (member.kind !== 'group') continue;
    const cycle = findCycle(member.name, groups, [...trail, start]);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The people a list names, when it names only people (a Slack user group hides how many). */
function staticPeople(list: Principal[], groups: Roles['groups'], visited = new Set<string>()): Set<string> | undefined {
  const people = new Set<string>();
  for (const entry of list) {
    if (entry.kind === 'user') people.add(entry.id);
    else if (entry.kind === 'email') people.add(entry.address);
    else if (entry.kind === 'group') {
      if (visited.has(entry.name)) continue;
      visited.add(entry.name);
      const group = Object.hasOwn(groups, entry.name) ? groups[entry.name] : undefined;
      if (!group) return undefined;
      const inner = staticPeople(group.members, groups, visited);
      if (!inner) return undefined;
      for (const person of inner) people.add(person);
    } else return undefined;
  }
  return people;
}

const key = (list: string[] | undefined) => (list ? [...list].sort().join(',') : '*');
function sameMatch(a: Matcher, b: Matcher): boolean {
  return (['databases', 'environments', 'tags', 'levels'] as const).every((field) => key(a[field]) === key(b[field]));
}
