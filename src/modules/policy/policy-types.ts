import type { DirectoryProvider } from '../../config/integrations/directory-common.js';
import type { PlatformApprovers } from '../../config/policy-config.js';
import type { Environment, RiskLevel, RoleName } from '../../config/policy-schema.js';
import type { RichText } from '../../lib/rich-text.js';
import type { ScopeItem } from '../credentials/scope.js';
import type { OnCallAnswers } from './policy-oncall-types.js';

/**
 * What the policy evaluator reads and answers. Every answer carries the rule that decided it and words
 * for the person who reads it, as rich text: people as ids, names and patterns as code, never markup.
 */

// ---- inputs -----------------------------------------------------------------------------------

/** A person as chat knows them; slackGroups are the Slack user groups they belong to. */
export interface Person {
  slackUserId?: string | undefined;
  email?: string | undefined;
  slackGroups: readonly string[];
  /** Identity-provider groups the catalog names that this person is in, as `okta:<id>` (modules/directory-groups). */
  directoryGroups?: readonly string[] | undefined;
  /** Their manager's email per identity provider, where the catalog names `manager:<provider>`. */
  managers?: Readonly<Partial<Record<DirectoryProvider, string>>> | undefined;
  /** Why a provider could not answer for them: roles and approvals through it are withheld, and these say why. */
  directoryProblems?: readonly string[] | undefined;
}

/**
 * A chat identity as the policy sees it: Slack people by user id, Teams people (and anyone the
 * platform names by address) by email.
 */
export const personOf = (externalUserId: string, slackGroups: readonly string[] = []): Person =>
  externalUserId.includes('@') ? { email: externalUserId.toLowerCase(), slackGroups } : { slackUserId: externalUserId, slackGroups };

/** Who a tenant's chat user is as the policy sees them; a platform directory adds email and groups. */
export type PersonResolver = (tenantId: string, externalUserId: string) => Promise<Person>;

/** The parts of a catalog database entry policy reads (a DatabaseEntry fits). */
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
  /** What on-call providers said about the requester (asked after the request is taken); none: not asked. */
  onCall?: OnCallAnswers | undefined;
}

// ---- outputs ----------------------------------------------------------------------------------

export type RuleOutcome = 'pass' | 'refuse' | 'info';

/** One rule's say on a request. `fired`: the rule applied to this request (matched it). */
export interface RuleResult {
  rule: string;
  fired: boolean;
  outcome: RuleOutcome;
  explanation: RichText;
}

export interface Refusal {
  rule: string;
  message: RichText;
  howToComply: RichText;
}

/** Who approves, with named groups expanded to what chat can resolve. */
export interface ApproverSet {
  users: string[];
  slackGroups: string[];
  emails: string[];
  /** Group names of roles.groups the policy names, for display. */
  groups: string[];
  /** Identity-provider groups (`okta:<id>`) and managers (`manager:okta`) among them, when any. */
  directory?: string[];
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
  | { allowed: true; rule: string; explanation: RichText }
  | ({ allowed: false } & Refusal);

export interface ResolvedRoles {
  roles: RoleName[];
  /** Groups of roles.groups the person belongs to. */
  groups: string[];
  /** Policies (or `default`) that name the person as an approver. */
  approves: string[];
  /** False when the configuration says nothing about the person. */
  known: boolean;
  explanation: RichText;
}

export interface ApprovalProgress {
  policy: string;
  quorum: number;
  /** Counted approvals: distinct, never the requester's own. */
  approvals: string[];
  /** `1 of 2 approvals: ` and the approvers as people. */
  progress: RichText;
}
export type ApprovalCheck =
  | (ApprovalProgress & { allowed: true; completesQuorum: boolean; mfaRequired: boolean; explanation: RichText; via?: string | undefined })
  | (ApprovalProgress & { allowed: false } & Refusal);
