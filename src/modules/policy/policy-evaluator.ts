import { formatDuration } from '../../lib/time.js';
import { reasonProblem } from '../access-requests/reason-quality.js';
import type { ScopeItem } from '../credentials/scope.js';
import { RISK_LEVELS, type RiskLevel } from '../risk/risk-types.js';
import {
  approverIds,
  type PlatformApprovers,
  mfaSchema,
  type AutoApproveRule,
  type Environment,
  type Matcher,
  type Mfa,
  type Policy,
  type PolicyConfig,
  type Principal,
  type ReasonQuality,
  type RoleName,
  type Roles,
  type WindowRef,
} from './policy-schema.js';
import { describeWindow, isWithinWindow, localTime, nextOpening, type TimeWindow } from './time-window.js';

/**
 * Roles, approval policies and contextual rules, evaluated as pure functions. Every answer carries
 * the rule that decided it and words for the person who reads it: what happened, and how to comply.
 */

// ---- inputs -----------------------------------------------------------------------------------

/** A person as chat knows them; slackGroups are the Slack user groups they belong to. */
export interface Person {
  slackUserId?: string | undefined;
  email?: string | undefined;
  slackGroups: readonly string[];
}

/** The parts of a catalog database entry policy reads (a DatabaseEntry fits). */
/**
 * A chat identity as the policy sees it: Slack people by user id, Teams people (and anyone the
 * platform names by address) by email.
 */
export const personOf = (externalUserId: string, slackGroups: readonly string[] = []): Person =>
  externalUserId.includes('@') ? { email: externalUserId.toLowerCase(), slackGroups } : { slackUserId: externalUserId, slackGroups };

/** Who a tenant's chat user is as the policy sees them; a platform directory adds email and groups. */
export type PersonResolver = (tenantId: string, externalUserId: string) => Promise<Person>;

export interface PolicyDatabase {
  id: string;
  environment: Environment;
  tags: readonly string[];
  engine: string;
  levels?: readonly string[] | undefined;
  /** The catalog's limit for this database, in seconds. */
  maxDuration?: number | undefined;
  approvers?: PlatformApprovers | undefined;
}

export interface ActiveLease {
  databaseId: string;
  environment: Environment;
  level: string;
  tags?: readonly string[] | undefined;
}

export interface RequestContext {
  requester: Person;
  database: PolicyDatabase;
  level: string;
  durationSeconds: number;
  scope: readonly ScopeItem[];
  reason: string;
  ticket?: string | null | undefined;
  /** Undefined while no rating exists yet: nothing auto-approves and step-up is asked for. */
  risk?: RiskLevel | undefined;
  now: Date;
  /** The requester's leases that are active now (for an extension, leave out the one it extends). */
  activeLeases: readonly ActiveLease[];
  /** MySQL and MariaDB: the host the requester will connect from, when known. */
  sourceHost?: string | undefined;
  /** The requester asks for break-glass: access now, approvers told at once. */
  breakGlass?: boolean | undefined;
}

// ---- outputs ----------------------------------------------------------------------------------

export type RuleOutcome = 'pass' | 'refuse' | 'info';

/** One rule's say on a request. `fired`: the rule applied to this request (matched it). */
export interface RuleResult {
  rule: string;
  fired: boolean;
  outcome: RuleOutcome;
  explanation: string;
}

export interface Refusal {
  rule: string;
  message: string;
  howToComply: string;
}

/** Who approves, with named groups expanded to what chat can resolve. */
export interface ApproverSet {
  users: string[];
  slackGroups: string[];
  emails: string[];
  /** Group names of roles.groups the policy names, for display. */
  groups: string[];
}

export interface RequestDecision {
  outcome: 'refuse' | 'auto-approve' | 'needs-approval';
  policy: string;
  quorum: number;
  approvers: ApproverSet;
  mfaRequired: boolean;
  rules: RuleResult[];
  /** An auto-approve rule's name, or `break-glass`. */
  autoApprovedBy?: string;
  /** The first refusing rule; every refusing rule is in `rules`. */
  refusal?: Refusal;
  breakGlass: boolean;
  /** The longest duration allowed for this request, when any limit applies. */
  maxDurationSeconds?: number;
  /** MySQL and MariaDB: host patterns the temporary user must be created for, when a rule restricts them. */
  hostPatterns?: string[];
  pendingTimeoutSeconds: number;
}

export type Permission =
  | { allowed: true; rule: string; explanation: string }
  | ({ allowed: false } & Refusal);

export interface ResolvedRoles {
  roles: RoleName[];
  /** Groups of roles.groups the person belongs to. */
  groups: string[];
  /** Policies (or `default`) that name the person as an approver. */
  approves: string[];
  /** False when the configuration says nothing about the person. */
  known: boolean;
  explanation: string;
}

interface ApprovalProgress {
  policy: string;
  quorum: number;
  /** Counted approvals: distinct, never the requester's own. */
  approvals: string[];
  /** `1 of 2 approvals: <@U0ALICE>`. */
  progress: string;
}
export type ApprovalCheck =
  | (ApprovalProgress & { allowed: true; completesQuorum: boolean; mfaRequired: boolean; explanation: string })
  | (ApprovalProgress & { allowed: false } & Refusal);

// ---- roles ------------------------------------------------------------------------------------

type Groups = Roles['groups'];
const groupsOf = (config: PolicyConfig): Groups => config.roles?.groups ?? {};

function matchesPrincipal(person: Person, principal: Principal, groups: Groups, visited: Set<string> = new Set()): boolean {
  switch (principal.kind) {
    case 'everyone':
      return true;
    case 'user':
      return person.slackUserId === principal.id;
    case 'slackGroup':
      return person.slackGroups.includes(principal.id);
    case 'email':
      return person.email !== undefined && person.email.toLowerCase() === principal.address;
    case 'group': {
      if (visited.has(principal.name) || !Object.hasOwn(groups, principal.name)) return false;
      visited.add(principal.name);
      return groups[principal.name]!.members.some((member) => matchesPrincipal(person, member, groups, visited));
    }
  }
}
const matchesAny = (person: Person, list: readonly Principal[] | undefined, groups: Groups) =>
  (list ?? []).some((principal) => matchesPrincipal(person, principal, groups));

const samePerson = (a: Person, b: Person) =>
  (a.slackUserId !== undefined && a.slackUserId === b.slackUserId) ||
  (a.email !== undefined && b.email !== undefined && a.email.toLowerCase() === b.email.toLowerCase());

/** The id approvals are recorded under. */
const personId = (person: Person) => person.slackUserId ?? person.email?.toLowerCase();

export function resolveRoles(person: Person, config: PolicyConfig): ResolvedRoles {
  const groups = groupsOf(config);
  const memberOf = Object.keys(groups).filter((name) => matchesPrincipal(person, { kind: 'group', name }, groups));
  const roles: RoleName[] = [];
  const requesters = config.roles?.requesters;
  if (!requesters || requesters.some((entry) => matchesAny(person, entry.who, groups))) roles.push('requester');

  const approves = config.policies.filter((policy) => matchesAny(person, policy.approvers, groups)).map((policy) => policy.name);
  const defaultApprovers = [...config.defaultApprovers, ...Object.values(config.databaseApprovers).flat()];
  if ((person.slackUserId && defaultApprovers.includes(person.slackUserId)) || (person.email && defaultApprovers.includes(person.email.toLowerCase()))) approves.push('default');
  if (approves.length > 0) roles.push('approver');
  if (matchesAny(person, config.roles?.admins, groups)) roles.push('admin');
  if (matchesAny(person, config.roles?.auditors, groups)) roles.push('auditor');

  const known = roles.length > 0 || memberOf.length > 0;
  const who = describePerson(person);
  const explanation = !known
    ? `${who} has no role here.`
    : `${who}: ${roles.length > 0 ? roles.join(', ') : 'no role'}${memberOf.length > 0 ? `; member of ${andWords(memberOf)}` : ''}${
        approves.length > 0 ? `; approves under ${andWords(approves.map(quoted))}` : ''
      }.`;
  return { roles, groups: memberOf, approves, known, explanation };
}

export function canRequest(person: Person, database: PolicyDatabase, level: string, config: PolicyConfig): Permission {
  const requesters = config.roles?.requesters;
  if (!requesters) return { allowed: true, rule: 'requester', explanation: 'Anyone may request access (no roles.requesters in the catalog).' };
  const groups = groupsOf(config);
  const askAdmin = `Ask an admin (${adminMentions(config)})`;
  const theirs = requesters.map((entry, index) => ({ entry, index })).filter(({ entry }) => matchesAny(person, entry.who, groups));
  if (theirs.length === 0) {
    return {
      allowed: false,
      rule: 'requester',
      message: `${describePerson(person)} is not set up to request database access.`,
      howToComply: `${askAdmin} to add you to roles.requesters.`,
    };
  }
  const grant = theirs.find(({ entry }) => matchesDatabase(entry, database) && matchesLevel(entry, level));
  if (grant) {
    return {
      allowed: true,
      rule: 'requester',
      explanation: `Allowed by roles.requesters[${grant.index}]: ${andWords(grant.entry.who.map(mention))} may request ${describeGrant(grant.entry)}.`,
    };
  }
  return {
    allowed: false,
    rule: 'requester',
    message: `You may not request ${level} on ${database.id}.`,
    howToComply: `You may request ${theirs.map(({ entry }) => describeGrant(entry)).join('; ')}. ${askAdmin} for more.`,
  };
}

// ---- policies ---------------------------------------------------------------------------------

interface EffectivePolicy {
  name: string;
  approvers: Principal[];
  quorum: number;
  mfa: Mfa;
  autoApprove: AutoApproveRule[];
  breakGlass: Policy['breakGlass'];
  pendingTimeoutSeconds: number;
  isDefault: boolean;
}

interface PolicyChoice {
  policy: EffectivePolicy;
  explanation: string;
}

const DEFAULT_MFA: Mfa = mfaSchema.parse({});

/**
 * The most specific matching policy: one naming databases beats one naming tags, which beats one
 * naming environments; naming levels breaks a tie between those. Equally specific policies: the
 * first in the file wins. No match: the default policy (the catalog's approvers, quorum 1).
 */
function choosePolicy(database: PolicyDatabase, level: string, config: PolicyConfig): PolicyChoice {
  const matching = config.policies.filter((policy) => matchesDatabase(policy, database) && matchesLevel(policy, level));
  let best: Policy | undefined;
  for (const policy of matching) if (!best || specificity(policy) > specificity(best)) best = policy;
  if (!best) {
    const users = (database.approvers && approverIds(database.approvers)) ?? config.databaseApprovers[database.id] ?? config.defaultApprovers;
    return {
      policy: {
        name: 'default',
        // Slack approvers by user id, Teams approvers by email.
        approvers: users.map((id) => (id.includes('@') ? { kind: 'email', address: id } : { kind: 'user', id })),
        quorum: 1,
        mfa: DEFAULT_MFA,
        autoApprove: [],
        breakGlass: { allowed: false, maxDuration: 3600 },
        pendingTimeoutSeconds: config.pendingTimeoutSeconds,
        isDefault: true,
      },
      explanation: `No policy matches ${level} on ${database.id}: the catalog's approvers decide, 1 approval needed.`,
    };
  }
  const chosen = best;
  const broader = matching.filter((policy) => specificity(policy) < specificity(chosen)).map((policy) => quoted(policy.name));
  const later = matching.filter((policy) => policy !== chosen && specificity(policy) === specificity(chosen)).map((policy) => quoted(policy.name));
  const notes = [
    broader.length > 0 ? `${andWords(broader)} ${broader.length === 1 ? 'matches' : 'match'} too but ${broader.length === 1 ? 'is' : 'are'} broader` : '',
    later.length > 0 ? `${andWords(later)} ${later.length === 1 ? 'is' : 'are'} as specific but ${later.length === 1 ? 'comes' : 'come'} later in the file` : '',
  ].filter(Boolean);
  return {
    policy: { ...chosen, pendingTimeoutSeconds: chosen.pendingTimeout ?? config.pendingTimeoutSeconds, isDefault: false },
    explanation: `Policy "${chosen.name}" applies to ${level} on ${database.id} (${describeMatch(chosen)})${notes.map((note) => `; ${note}`).join('')}.`,
  };
}

const specificity = (matcher: Matcher) =>
  (matcher.databases ? 8 : 0) + (matcher.tags ? 4 : 0) + (matcher.environments ? 2 : 0) + (matcher.levels ? 1 : 0);

function expandApprovers(list: readonly Principal[], groups: Groups): ApproverSet {
  const set: ApproverSet = { users: [], slackGroups: [], emails: [], groups: [] };
  const visited = new Set<string>();
  const add = (principal: Principal, top: boolean) => {
    if (principal.kind === 'user') set.users.push(principal.id);
    else if (principal.kind === 'slackGroup') set.slackGroups.push(principal.id);
    else if (principal.kind === 'email') set.emails.push(principal.address);
    else if (principal.kind === 'group' && !visited.has(principal.name)) {
      visited.add(principal.name);
      if (top) set.groups.push(principal.name);
      const group = Object.hasOwn(groups, principal.name) ? groups[principal.name] : undefined;
      for (const member of group?.members ?? []) add(member, false);
    }
  };
  for (const principal of list) add(principal, true);
  return { users: unique(set.users), slackGroups: unique(set.slackGroups), emails: unique(set.emails), groups: set.groups };
}

function mfaFor(policy: EffectivePolicy, database: PolicyDatabase, level: string, risk: RiskLevel | undefined): { required: boolean; explanation: string } {
  const always = policy.mfa.always.find((matcher) => matchesDatabase(matcher, database) && matchesLevel(matcher, level));
  if (always) return { required: true, explanation: `Step-up (MFA) required: policy "${policy.name}" asks for it on ${describeMatch(always, 'requests')}.` };
  const { minRisk } = policy.mfa;
  if (minRisk === 'never') return { required: false, explanation: `No step-up: policy "${policy.name}" does not ask for it.` };
  if (risk === undefined) return { required: true, explanation: 'Step-up (MFA) required until the risk is rated.' };
  const required = RISK_LEVELS.indexOf(risk) >= RISK_LEVELS.indexOf(minRisk);
  return {
    required,
    explanation: required
      ? `Step-up (MFA) required: risk ${label(risk)} is at or above ${label(minRisk)}.`
      : `No step-up: risk ${label(risk)} is below ${label(minRisk)}.`,
  };
}

// ---- requests ---------------------------------------------------------------------------------

export function evaluateRequest(ctx: RequestContext, config: PolicyConfig): RequestDecision {
  const { database, level, requester } = ctx;
  const groups = groupsOf(config);
  const rules: RuleResult[] = [];
  const refusals: Refusal[] = [];
  const record = (rule: string, fired: boolean, outcome: RuleOutcome, explanation: string) => rules.push({ rule, fired, outcome, explanation });
  const refuse = (rule: string, message: string, howToComply: string) => {
    record(rule, true, 'refuse', message);
    refusals.push({ rule, message, howToComply });
  };
  const askAdmin = `ask an admin (${adminMentions(config)})`;

  const permission = canRequest(requester, database, level, config);
  if (permission.allowed) record('requester', config.roles?.requesters !== undefined, 'pass', permission.explanation);
  else refuse(permission.rule, permission.message, permission.howToComply);

  const { policy, explanation: policyExplanation } = choosePolicy(database, level, config);
  record('policy', !policy.isDefault, 'info', policyExplanation);

  // Break-glass skips approval and time windows, never the rest.
  let breakGlass = false;
  if (ctx.breakGlass) {
    if (!policy.breakGlass.allowed) {
      refuse('break-glass', `Break-glass is not allowed for ${level} on ${database.id} (policy "${policy.name}").`, `Submit a normal request; ${describeApprovers(policy, groups)} will decide.`);
    } else if (!matchesAny(requester, policy.breakGlass.who, groups)) {
      refuse(
        'break-glass',
        `Only ${andWords((policy.breakGlass.who ?? []).map(mention))} may use break-glass on ${database.id}.`,
        `Submit a normal request, or ask one of them to act.`,
      );
    } else {
      breakGlass = true;
      record(
        'break-glass',
        true,
        'pass',
        `Break-glass: access without waiting for approval, at most ${formatDuration(policy.breakGlass.maxDuration)}, with step-up; approvers are told at once.`,
      );
    }
  }

  const windows = windowsOf(config);
  const windowRules = config.rules.onlyDuring.filter((entry) => matchesRequest(entry, database, level));
  if (windowRules.length === 0) record('time-window', false, 'pass', 'No time window applies.');
  for (const entry of windowRules) {
    const window = resolveWindow(entry.window, windows);
    const what = describeMatch(entry, 'requests');
    if (!window.definition) {
      refuse('time-window', `The window "${window.label}" for ${what} is not defined.`, `${capitalize(askAdmin)} to define it under rules.windows.`);
      continue;
    }
    const where = describeWindow(window.definition, config.timezone);
    const now = localTime(ctx.now, window.definition.timezone ?? config.timezone).text;
    if (isWithinWindow(window.definition, ctx.now, config.timezone)) {
      record('time-window', true, 'pass', `Within ${window.label}: ${where}; it is ${now} there.`);
    } else if (breakGlass) {
      record('time-window', true, 'info', `Outside ${window.label} (${where}; it is ${now} there), but break-glass is not bound to windows.`);
    } else {
      const next = nextOpening(window.definition, ctx.now, config.timezone);
      refuse(
        'time-window',
        `${capitalize(what)} are allowed only ${where}; it is ${now} there.`,
        `Ask again${next ? ` from ${next.text} (${window.definition.timezone ?? config.timezone})` : ' inside the window'}${
          policy.breakGlass.allowed ? ', or use break-glass if this is an emergency and you may' : ''
        }.`,
      );
    }
  }

  const limits: Array<{ seconds: number; source: string }> = [];
  if (database.maxDuration !== undefined) limits.push({ seconds: database.maxDuration, source: `the limit of ${database.id}` });
  for (const entry of config.rules.maxDuration.filter((rule) => matchesRequest(rule, database, level))) {
    limits.push({ seconds: entry.max, source: `the limit for ${describeMatch(entry, 'requests')}` });
  }
  if (breakGlass) limits.push({ seconds: policy.breakGlass.maxDuration, source: 'the break-glass limit' });
  const limit = limits.reduce<(typeof limits)[number] | undefined>((shortest, entry) => (!shortest || entry.seconds < shortest.seconds ? entry : shortest), undefined);
  if (!limit) record('max-duration', false, 'pass', 'No duration limit applies.');
  else if (ctx.durationSeconds > limit.seconds) {
    refuse(
      'max-duration',
      `${formatDuration(ctx.durationSeconds)} is longer than ${limit.source}, ${formatDuration(limit.seconds)}.`,
      `Ask for ${formatDuration(limit.seconds)} or less, and extend later if you need more.`,
    );
  } else record('max-duration', true, 'pass', `${formatDuration(ctx.durationSeconds)} is within ${limit.source}, ${formatDuration(limit.seconds)}.`);

  const ticket = ctx.ticket?.trim() || undefined;
  const ticketRules = config.rules.ticket.filter((entry) => matchesRequest(entry, database, level));
  const requiredBy = ticketRules.find((entry) => entry.required);
  const patterns = unique(ticketRules.flatMap((entry) => (entry.pattern ? [entry.pattern] : [])));
  const failed = ticket ? patterns.find((pattern) => !ticketMatches(pattern, ticket)) : undefined;
  if (ticketRules.length === 0 || (!ticket && !requiredBy)) record('ticket', ticketRules.length > 0, 'pass', 'No ticket needed.');
  else if (!ticket) {
    refuse(
      'ticket',
      `A ticket is required for ${describeMatch(requiredBy!, 'requests')}.`,
      `Add the ticket this work belongs to${patterns.length > 0 ? `, written as ${orWords(patterns.map(code))}` : ''}.`,
    );
  } else if (failed) {
    refuse('ticket', `The ticket "${ticket}" does not match ${code(failed)}.`, `Write the ticket id the way your tracker shows it, matching ${code(failed)} (e.g. OPS-1234).`);
  } else record('ticket', true, 'pass', patterns.length > 0 ? `Ticket ${ticket} matches ${andWords(patterns.map(code))}.` : `Ticket ${ticket} given.`);

  const leaseRules = config.rules.maxActiveLeases.filter((entry) => matchesRequest(entry, database, level));
  if (leaseRules.length === 0) record('max-active-leases', false, 'pass', 'No limit on active leases.');
  for (const entry of leaseRules) {
    const counted = ctx.activeLeases.filter((lease) => matchesRequest(entry, { id: lease.databaseId, environment: lease.environment, tags: lease.tags ?? [] }, lease.level));
    const scope = specificity(entry) === 0 ? '' : ` for ${describeMatch(entry, 'requests')}`;
    if (counted.length >= entry.max) {
      refuse(
        'max-active-leases',
        `You already have ${counted.length} active lease${counted.length === 1 ? '' : 's'}${scope} (${counted.map((lease) => `${lease.level} on ${lease.databaseId}`).join(', ')}); at most ${entry.max} at a time.`,
        'End one you no longer need, then ask again.',
      );
    } else record('max-active-leases', true, 'pass', `${counted.length} of at most ${entry.max} active leases${scope}.`);
  }

  const qualityRules = config.rules.reasonQuality.filter((entry) => matchesRequest(entry, database, level));
  const quality: ReasonQuality = qualityRules.some((entry) => entry.min === 'detailed') ? 'detailed' : 'basic';
  const weakness = reasonWeakness(ctx.reason, quality);
  if (weakness) refuse('reason-quality', `The reason is too ${quality === 'detailed' ? 'short for this request' : 'weak'}.`, weakness);
  else record('reason-quality', true, 'pass', quality === 'detailed' ? 'The reason says what and why in a sentence.' : 'The reason reads as a reason.');

  let hostPatterns: string[] | undefined;
  const hostRule = config.rules.sourceHosts.find((entry) => matchesRequest(entry, database, level));
  if (!hostRule) record('source-host', false, 'pass', 'No source-host restriction.');
  else if (database.engine !== 'mysql' && database.engine !== 'mariadb') {
    record('source-host', false, 'info', `Source hosts are restricted on MySQL and MariaDB only; ${database.id} is ${database.engine}.`);
  } else if (ctx.sourceHost === undefined) {
    hostPatterns = hostRule.allowed;
    record('source-host', true, 'info', `The temporary user may connect only from ${andWords(hostRule.allowed)}.`);
  } else if (hostAllowed(ctx.sourceHost, hostRule.allowed)) {
    hostPatterns = [ctx.sourceHost];
    record('source-host', true, 'pass', `Connecting from ${ctx.sourceHost} is allowed (${orWords(hostRule.allowed)}).`);
  } else {
    refuse(
      'source-host',
      `Connecting to ${database.id} from ${ctx.sourceHost} is not allowed.`,
      `Connect from ${orWords(hostRule.allowed)} (for instance through the bastion).`,
    );
  }

  const mfa = breakGlass ? { required: true, explanation: 'Step-up (MFA) required: break-glass always asks for it.' } : mfaFor(policy, database, level, ctx.risk);
  record('mfa', mfa.required, 'info', mfa.explanation);

  let autoApprovedBy: string | undefined;
  if (!breakGlass) {
    policy.autoApprove.forEach((rule, index) => {
      const name = rule.name ?? `${policy.name}#${index + 1}`;
      const misses = autoApproveMisses(rule, ctx, config, windows);
      if (misses.length === 0 && !autoApprovedBy) {
        autoApprovedBy = name;
        record(`auto-approve:${name}`, true, 'pass', `Auto-approved by "${name}": ${describeAutoApprove(rule, config, windows)}.`);
      } else if (misses.length === 0) {
        record(`auto-approve:${name}`, true, 'info', `"${name}" matches too, but "${autoApprovedBy}" comes first.`);
      } else record(`auto-approve:${name}`, false, 'info', `Not auto-approved by "${name}": ${misses.join('; ')}.`);
    });
  }

  // A request nobody but the requester could approve would wait until it expires: say so now.
  const approvers = expandApprovers(policy.approvers, groups);
  if (!breakGlass && !autoApprovedBy && approvers.slackGroups.length > 0) {
    record('approvers-available', false, 'info', 'Not counted: Slack user groups among the approvers hide how many people they are.');
  } else if (!breakGlass && !autoApprovedBy) {
    const others = [...approvers.users.filter((id) => id !== requester.slackUserId), ...approvers.emails.filter((address) => address !== requester.email?.toLowerCase())];
    if (others.length < policy.quorum) {
      refuse(
        'approvers-available',
        `Policy "${policy.name}" needs ${approvalCount(policy.quorum)} from people other than you; ${others.length === 0 ? 'nobody else is' : `only ${andWords(others.map(mentionId))} ${others.length === 1 ? 'is' : 'are'}`} listed.`,
        `${capitalize(askAdmin)} to add approvers to policy "${policy.name}".`,
      );
    } else record('approvers-available', true, 'pass', `${others.length} approver${others.length === 1 ? '' : 's'} besides you for ${approvalCount(policy.quorum)}.`);
  }

  const refusal = refusals[0];
  const outcome = refusal ? 'refuse' : breakGlass || autoApprovedBy ? 'auto-approve' : 'needs-approval';
  return {
    outcome,
    policy: policy.name,
    quorum: policy.quorum,
    approvers,
    mfaRequired: mfa.required,
    rules,
    ...(outcome === 'auto-approve' ? { autoApprovedBy: breakGlass ? 'break-glass' : autoApprovedBy! } : {}),
    ...(refusal ? { refusal } : {}),
    breakGlass: breakGlass && !refusal,
    ...(limit ? { maxDurationSeconds: limit.seconds } : {}),
    ...(hostPatterns ? { hostPatterns } : {}),
    pendingTimeoutSeconds: policy.pendingTimeoutSeconds,
  };
}

function autoApproveMisses(rule: AutoApproveRule, ctx: RequestContext, config: PolicyConfig, windows: Record<string, TimeWindow>): string[] {
  const misses: string[] = [];
  const { database, level } = ctx;
  if (rule.levels && !rule.levels.includes(level)) misses.push(`only for ${orWords(rule.levels)}, not ${level}`);
  if (rule.databases && !rule.databases.includes(database.id)) misses.push(`only on ${orWords(rule.databases)}`);
  if (rule.environments && !rule.environments.includes(database.environment)) misses.push(`only on ${orWords(rule.environments)}, not ${database.environment}`);
  if (rule.tags && !rule.tags.some((tag) => database.tags.includes(tag))) misses.push(`only on databases tagged ${orWords(rule.tags)}`);
  if (rule.who && !matchesAny(ctx.requester, rule.who, groupsOf(config))) misses.push(`only for ${orWords(rule.who.map(mention))}`);
  if (ctx.risk === undefined) misses.push('the risk is not rated yet');
  else if (RISK_LEVELS.indexOf(ctx.risk) > RISK_LEVELS.indexOf(rule.maxRisk)) misses.push(`risk ${label(ctx.risk)} is above ${label(rule.maxRisk)}`);
  if (rule.maxDuration !== undefined && ctx.durationSeconds > rule.maxDuration) {
    misses.push(`${formatDuration(ctx.durationSeconds)} is longer than ${formatDuration(rule.maxDuration)}`);
  }
  if (rule.window !== undefined) {
    const window = resolveWindow(rule.window, windows);
    if (!window.definition) misses.push(`the window "${window.label}" is not defined`);
    else if (!isWithinWindow(window.definition, ctx.now, config.timezone)) {
      misses.push(`outside ${window.label} (${describeWindow(window.definition, config.timezone)}; it is ${localTime(ctx.now, window.definition.timezone ?? config.timezone).text} there)`);
    }
  }
  if (rule.scoped && ctx.scope.length === 0) misses.push('only for requests limited to schemas or tables');
  return misses;
}

function describeAutoApprove(rule: AutoApproveRule, config: PolicyConfig, windows: Record<string, TimeWindow>): string {
  const parts = [describeMatch(rule, 'requests'), `risk up to ${label(rule.maxRisk)}`];
  if (rule.who) parts.push(`for ${orWords(rule.who.map(mention))}`);
  if (rule.maxDuration !== undefined) parts.push(`up to ${formatDuration(rule.maxDuration)}`);
  if (rule.window !== undefined) {
    const window = resolveWindow(rule.window, windows);
    parts.push(`during ${window.label}${window.definition ? ` (${describeWindow(window.definition, config.timezone)})` : ''}`);
  }
  if (rule.scoped) parts.push('limited to schemas or tables');
  return parts.join(', ');
}

function reasonWeakness(reason: string, quality: ReasonQuality): string | undefined {
  const basic = reasonProblem(reason);
  if (basic || quality === 'basic') return basic;
  const words = reason.trim().split(/\s+/).filter((word) => /[\p{L}\p{N}]{2,}/u.test(word));
  const letters = reason.replace(/[^\p{L}\p{N}]/gu, '').length;
  if (words.length < 4 || letters < 25) {
    return 'Say what you will do and why in a sentence of at least 4 words, e.g. "Fix the duplicate invoices of customer 4411 for OPS-1234".';
  }
  return undefined;
}

const ticketPatterns = new Map<string, RegExp>();
function ticketMatches(pattern: string, ticket: string): boolean {
  let regex = ticketPatterns.get(pattern);
  if (!regex) {
    regex = new RegExp(`^(?:${pattern})$`, 'u');
    ticketPatterns.set(pattern, regex);
  }
  return regex.test(ticket);
}

/** MySQL host matching: `%` any run, `_` one character, case-insensitive; a requested pattern must be listed as is. */
function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (/[%_]/.test(host)) return allowed.some((pattern) => pattern.toLowerCase() === host.toLowerCase());
  return allowed.some((pattern) => {
    const regex = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
    return new RegExp(`^${regex}$`, 'i').test(host);
  });
}

// ---- approvals --------------------------------------------------------------------------------

export function canApprove(approver: Person, ctx: RequestContext, existingApprovals: readonly string[], config: PolicyConfig): ApprovalCheck {
  const groups = groupsOf(config);
  const { policy } = choosePolicy(ctx.database, ctx.level, config);
  const requesterIds = [ctx.requester.slackUserId, ctx.requester.email?.toLowerCase()];
  const approvals = unique(existingApprovals).filter((id) => !requesterIds.includes(id) && !requesterIds.includes(id.toLowerCase()));
  const progressOf = (list: string[]): ApprovalProgress => ({
    policy: policy.name,
    quorum: policy.quorum,
    approvals: list,
    progress: `${list.length} of ${approvalCount(policy.quorum)}${list.length > 0 ? `: ${list.map(mentionId).join(', ')}` : ''}`,
  });
  const refused = (rule: string, message: string, howToComply: string): ApprovalCheck => ({ ...progressOf(approvals), allowed: false, rule, message, howToComply });

  if (samePerson(approver, ctx.requester)) {
    return refused('self-approval', 'You cannot approve your own request, even as one of its approvers.', `Another approver must: ${describeApprovers(policy, groups)}.`);
  }
  const id = personId(approver);
  if (!id || !matchesAny(approver, policy.approvers, groups)) {
    return refused(
      'not-an-approver',
      `Only ${describeApprovers(policy, groups)} can approve ${ctx.level} on ${ctx.database.id} (policy "${policy.name}").`,
      'Leave it to them, or ask an admin to add you to the policy.',
    );
  }
  if (approvals.some((existing) => existing === id || existing.toLowerCase() === approver.email?.toLowerCase())) {
    return refused('already-approved', 'You already approved this request; a different approver must give the next approval.', `Waiting for another approver: ${describeApprovers(policy, groups)}.`);
  }
  const after = [...approvals, id];
  const completesQuorum = after.length >= policy.quorum;
  const mfa = mfaFor(policy, ctx.database, ctx.level, ctx.risk);
  const progress = progressOf(after);
  return {
    ...progress,
    allowed: true,
    completesQuorum,
    mfaRequired: mfa.required,
    explanation: `${progress.progress}${completesQuorum ? '; approved.' : `; ${policy.quorum - after.length} more needed.`}`,
  };
}

// ---- explanations -----------------------------------------------------------------------------

const BUILT_IN_LEVELS = ['read', 'write', 'admin'];

/** Lines for `/dbaccess policy <database> [@user]`: who approves, quorum, step-up, auto-approval, limits. */
export function explainPolicy(database: PolicyDatabase, person: Person | undefined, config: PolicyConfig): string[] {
  const groups = groupsOf(config);
  const windows = windowsOf(config);
  const levels = [...(database.levels ?? BUILT_IN_LEVELS)];
  const lines = [`${database.id} (${database.environment}${database.tags.length > 0 ? `, tagged ${andWords([...database.tags])}` : ''}):`];

  const byPolicy = new Map<string, { policy: EffectivePolicy; levels: string[] }>();
  for (const level of levels) {
    const { policy } = choosePolicy(database, level, config);
    const entry = byPolicy.get(policy.name) ?? { policy, levels: [] };
    entry.levels.push(level);
    byPolicy.set(policy.name, entry);
  }
  for (const { policy, levels: policyLevels } of byPolicy.values()) {
    lines.push(
      `• ${andWords(policyLevels)}: policy "${policy.name}": ${approvalCount(policy.quorum)} from ${describeApprovers(policy, groups)}, never the requester's own; unanswered requests expire after ${formatDuration(policy.pendingTimeoutSeconds)}.`,
    );
    const always = policy.mfa.always.filter((matcher) => matchesDatabase(matcher, database) && policyLevels.some((level) => matchesLevel(matcher, level)));
    const byRisk = policy.mfa.minRisk === 'never' ? undefined : `at ${label(policy.mfa.minRisk)} risk or above`;
    const alwaysText = always.length > 0 ? `always for ${always.map((matcher) => describeMatch(matcher, 'requests')).join(' and ')}` : undefined;
    lines.push(`  Step-up (MFA): ${[byRisk, alwaysText].filter(Boolean).join('; ') || 'never'}.`);
    const auto = policy.autoApprove.filter((rule) => matchesDatabase(rule, database) && policyLevels.some((level) => matchesLevel(rule, level)));
    lines.push(
      auto.length === 0
        ? '  Auto-approval: none.'
        : `  Auto-approves: ${auto.map((rule, index) => `${describeAutoApprove(rule, config, windows)} ("${rule.name ?? `${policy.name}#${index + 1}`}")`).join('; ')}.`,
    );
    lines.push(
      policy.breakGlass.allowed
        ? `  Break-glass: ${orWords((policy.breakGlass.who ?? []).map(mention))}, at most ${formatDuration(policy.breakGlass.maxDuration)}, with step-up; approvers are told at once.`
        : '  Break-glass: not allowed.',
    );
  }

  const applies = <T extends Matcher>(list: readonly T[]) => list.filter((entry) => matchesDatabase(entry, database) && levels.some((level) => matchesLevel(entry, level)));
  const forLevels = (entry: Matcher) => (entry.levels ? `${orWords(entry.levels)}: ` : '');

  const onlyDuring = applies(config.rules.onlyDuring).map((entry) => {
    const window = resolveWindow(entry.window, windows);
    return `${forLevels(entry)}only ${window.definition ? describeWindow(window.definition, config.timezone) : `during ${window.label}`}`;
  });
  if (onlyDuring.length > 0) lines.push(`Time windows: ${onlyDuring.join('; ')}.`);

  const durations = applies(config.rules.maxDuration).map((entry) => `${forLevels(entry)}at most ${formatDuration(entry.max)}`);
  if (database.maxDuration !== undefined) durations.unshift(`at most ${formatDuration(database.maxDuration)}`);
  if (durations.length > 0) lines.push(`Durations: ${durations.join('; ')}.`);

  const tickets = applies(config.rules.ticket).map(
    (entry) => `${entry.required ? 'required' : 'optional'} for ${entry.levels ? orWords(entry.levels) : 'every level'}${entry.pattern ? `, written as ${code(entry.pattern)}` : ''}`,
  );
  if (tickets.length > 0) lines.push(`Ticket: ${tickets.join('; ')}.`);

  const leases = applies(config.rules.maxActiveLeases).map((entry) => `at most ${entry.max}${specificity(entry) === 0 ? '' : ` for ${describeMatch(entry, 'requests')}`}`);
  if (leases.length > 0) lines.push(`Active leases per person: ${leases.join('; ')}.`);

  const detailed = applies(config.rules.reasonQuality).filter((entry) => entry.min === 'detailed');
  lines.push(
    detailed.length > 0
      ? `Reason: a sentence of at least 4 words${detailed.some((entry) => entry.levels) ? ` for ${orWords(unique(detailed.flatMap((entry) => entry.levels ?? levels)))}` : ''}.`
      : 'Reason: a few words that say why.',
  );

  if (database.engine === 'mysql' || database.engine === 'mariadb') {
    const hosts = config.rules.sourceHosts.find((entry) => matchesDatabase(entry, database));
    if (hosts) lines.push(`Source hosts: only ${orWords(hosts.allowed)}.`);
  }

  if (person) {
    const who = describePerson(person);
    const roles = resolveRoles(person, config);
    const allowed = levels.filter((level) => canRequest(person, database, level, config).allowed);
    const approves = [...byPolicy.values()].filter(({ policy }) => matchesAny(person, policy.approvers, groups)).flatMap((entry) => entry.levels);
    const parts = [
      allowed.length > 0 ? `may request ${orWords(allowed)} here` : `may not request access here; ask an admin (${adminMentions(config)})`,
      approves.length > 0 ? `approves ${andWords(approves)} requests of others` : 'does not approve here',
    ];
    if (roles.roles.includes('admin')) parts.push('is an admin');
    if (roles.roles.includes('auditor')) parts.push('is an auditor');
    lines.push(`${who}: ${parts.join('; ')}.`);
  }
  return lines;
}

// ---- matching and words -----------------------------------------------------------------------

const BUSINESS_HOURS: TimeWindow = { days: [1, 2, 3, 4, 5], hours: [{ start: 9 * 60, end: 18 * 60 }] };
const windowsOf = (config: PolicyConfig): Record<string, TimeWindow> => ({ 'business-hours': BUSINESS_HOURS, ...config.rules.windows });

function resolveWindow(ref: WindowRef, windows: Record<string, TimeWindow>): { label: string; definition: TimeWindow | undefined } {
  if (typeof ref !== 'string') return { label: 'the window', definition: ref };
  return { label: ref, definition: Object.hasOwn(windows, ref) ? windows[ref] : undefined };
}

function matchesDatabase(matcher: Matcher, database: Pick<PolicyDatabase, 'id' | 'environment' | 'tags'>): boolean {
  return (
    (!matcher.databases || matcher.databases.includes(database.id)) &&
    (!matcher.environments || matcher.environments.includes(database.environment)) &&
    (!matcher.tags || matcher.tags.some((tag) => database.tags.includes(tag)))
  );
}
const matchesLevel = (matcher: Matcher, level: string) => !matcher.levels || matcher.levels.includes(level);
const matchesRequest = (matcher: Matcher, database: Pick<PolicyDatabase, 'id' | 'environment' | 'tags'>, level: string) =>
  matchesDatabase(matcher, database) && matchesLevel(matcher, level);

/**
 * `write or admin on production databases`; with a noun: `write or admin requests on production
 * databases`, or just `read requests` when the entry names no database.
 */
function describeMatch(matcher: Matcher, noun?: string): string {
  if (!noun) return `${matcher.levels ? orWords(matcher.levels) : 'any level'} on ${describeTarget(matcher)}`;
  const head = matcher.levels ? `${orWords(matcher.levels)} ${noun}` : `all ${noun}`;
  return matcher.databases || matcher.environments || matcher.tags ? `${head} on ${describeTarget(matcher)}` : head;
}

/** `orders and shop`, `production databases`, `databases tagged pii`, `any database`. */
function describeTarget(matcher: Matcher): string {
  const parts: string[] = [];
  if (matcher.databases) parts.push(andWords(matcher.databases));
  if (matcher.environments) parts.push(matcher.databases ? `(${orWords(matcher.environments)})` : `${orWords(matcher.environments)} databases`);
  if (matcher.tags) parts.push(matcher.databases || matcher.environments ? `tagged ${orWords(matcher.tags)}` : `databases tagged ${orWords(matcher.tags)}`);
  return parts.length > 0 ? parts.join(' ') : 'any database';
}

/** What a requesters entry grants: `read or write on orders and shop`. */
const describeGrant = (matcher: Matcher) => `${matcher.levels ? orWords(matcher.levels) : 'any level'} on ${describeTarget(matcher)}`;

function describeApprovers(policy: EffectivePolicy, groups: Groups): string {
  if (policy.approvers.length === 0) return 'nobody (no approvers configured)';
  return orWords(
    policy.approvers.map((principal) => {
      if (principal.kind !== 'group') return mention(principal);
      const members = expandApprovers([principal], groups);
      const inside = [...members.users.map(mentionId), ...members.slackGroups.map((id) => `<!subteam^${id}>`), ...members.emails];
      return inside.length > 0 ? `${principal.name} (${inside.join(', ')})` : principal.name;
    }),
  );
}

function mention(principal: Principal): string {
  switch (principal.kind) {
    case 'user':
      return `<@${principal.id}>`;
    case 'slackGroup':
      return `<!subteam^${principal.id}>`;
    case 'email':
      return principal.address;
    case 'group':
      return principal.name;
    case 'everyone':
      return 'everyone';
  }
}
const mentionId = (id: string) => (id.includes('@') ? id : `<@${id}>`);
const describePerson = (person: Person) => (person.slackUserId ? `<@${person.slackUserId}>` : (person.email ?? 'This person'));

function adminMentions(config: PolicyConfig): string {
  const admins = config.roles?.admins ?? [];
  return admins.length > 0 ? admins.map(mention).join(', ') : 'whoever runs dbaccess for your team';
}

const approvalCount = (quorum: number) => `${quorum} approval${quorum === 1 ? '' : 's'}`;
const label = (risk: string) => capitalize(risk);
const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const quoted = (text: string) => `"${text}"`;
const code = (text: string) => `\`${text}\``;
const unique = <T>(list: readonly T[]) => [...new Set(list)];

function joinWords(items: readonly string[], last: string): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}
const andWords = (items: readonly string[]) => joinWords(items, 'and');
const orWords = (items: readonly string[]) => joinWords(items, 'or');
