import { z } from 'zod';
import { parseDuration } from '../lib/time.js';
import { onCallSchema } from './oncall-schema.js';
import { TRACKERS } from './integrations/trackers.js';
import { checkPolicyTiming, policyTimingShape } from './policy-timing-schema.js';
import { isTimeZone, parseDayToken, parseHourRange, type HourRange, type TimeWindow } from '../lib/time-window.js';
import { DIRECTORY_PROVIDERS, type DirectoryProvider } from './integrations/directory-common.js';

/**
 * Catalog sections for roles, approval policies and contextual rules, written by hand by a small
 * team. Every section is optional: without them the catalog's approvers approve everything with a
 * quorum of 1, anyone may request, and no rule beyond the form's own checks applies.
 *
 * The policy module evaluates them (src/modules/policy); the schema lives in config, which every layer
 * reads and which reads no module. policy-config.ts turns a catalog into the evaluator's view, and
 * policy-checks.ts checks the references between sections.
 */

export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const ROLE_NAMES = ['requester', 'approver', 'admin', 'auditor'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
/** Risk ratings, lowest first: policies name them (maxRisk, mfa.minRisk), the analyzers produce them. */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

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
  /** A group of an identity provider (integrations:), its members matched by email. */
  | { kind: 'directoryGroup'; provider: DirectoryProvider; id: string }
  /** The requester's manager, as an identity provider knows them (approvers only). */
  | { kind: 'manager'; provider: DirectoryProvider }
  | { kind: 'everyone' };

const PRINCIPAL_HELP = 'must be a Slack user id (U…), a Slack user group id (S…), an email, a group name under roles.groups, okta:/google:/entra:<group> or manager:<provider>';
/** `okta:00g1abc`, `google:dbas@acme.test`, `entra:<object id>`: a provider's group; `manager:okta`. */
const DIRECTORY_PRINCIPAL = new RegExp(`^(${DIRECTORY_PROVIDERS.join('|')}|manager):(.+)$`);
/** Okta ids, Entra object ids, Google group addresses (or ids). */
const directoryGroupId = z.string().min(1).max(200).regex(/^[A-Za-z0-9._@+-]+$/, 'must be the group id (Okta 00g…, Entra object id) or the Google group address');

/** Strings are classified by shape: `U…`/`W…` user, `S…` user group, `a@b.c` email, lower-case: group. */
function principalSchema(allowEveryone: boolean) {
  return z.preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      const text = value.trim();
      if (text === '*' && allowEveryone) return { everyone: true };
      const directory = DIRECTORY_PRINCIPAL.exec(text);
      if (directory) return directory[1] === 'manager' ? { manager: directory[2] } : { [directory[1]!]: directory[2] };
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
        okta: directoryGroupId.optional(),
        google: directoryGroupId.optional(),
        entra: directoryGroupId.optional(),
        manager: z.enum(DIRECTORY_PROVIDERS, { error: `must be manager:${DIRECTORY_PROVIDERS.join(', manager:')}` }).optional(),
      })
      .refine((entry) => Object.values(entry).filter((value) => value !== undefined).length === 1, 'write exactly one of user, slackGroup, email, group, okta, google, entra or manager')
      .transform((entry): Principal => {
        for (const provider of DIRECTORY_PROVIDERS) {
          const id = entry[provider];
          if (id) return { kind: 'directoryGroup', provider, id };
        }
        if (entry.manager) return { kind: 'manager', provider: entry.manager };
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
  /** Only whoever is on call right now (PagerDuty, incident.io): see oncall-schema.ts. */
  onCall: onCallSchema.optional(),
});

const breakGlassSchema = z
  .strictObject({
    allowed: z.boolean().default(false),
    who: listOf(principal, 100).optional(),
    /** Break-glass access lasts at most this long. */
    maxDuration: duration.default(3600),
  })
  .refine((value) => !value.allowed || value.who !== undefined, { message: 'break-glass that is allowed needs who (the people who may use it)', path: ['who'] });

/**
 * Approve with changes (a lower level, part of the scope, a shorter time): never wider than asked,
 * whatever is written here. `false` (or `allowed: false`): approvers approve or deny as asked.
 * `noteRequired`: environments (or `true`, all) where the approver must say why to the requester.
 */
export const approveWithChangesSchema = z.preprocess(
  (value) => (typeof value === 'boolean' ? { allowed: value } : value),
  z.strictObject({
    allowed: z.boolean().default(true),
    noteRequired: z
      .union([z.boolean(), listOf(z.enum(ENVIRONMENTS), ENVIRONMENTS.length)])
      .default(false)
      .transform((value): Environment[] => (value === true ? [...ENVIRONMENTS] : value === false ? [] : [...new Set(value)])),
  }),
);
export type ApproveWithChanges = z.output<typeof approveWithChangesSchema>;

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
  approveWithChanges: approveWithChangesSchema.prefault({}),
  /** When access starts: the lease clock, the wait for a first login, the approval's lifetime. */
  ...policyTimingShape,
}).superRefine(checkPolicyTiming);

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
  ticket: listOf(z.strictObject({
    ...matcherShape, required: z.boolean().default(true), pattern: ticketPattern.optional(),
    // Checked live with the tracker after submission (modules/tickets): it must exist and be open.
    verify: z.enum(TRACKERS).optional(),
    /** With verify: the ticket must also be assigned to the requester. */
    assigned: z.boolean().optional(),
  }), 50)
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
