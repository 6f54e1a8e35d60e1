import { rulesSchema, type Policy, type Roles, type Rules } from './policy-schema.js';
import type { DirectoryProvider } from './integrations/directory-common.js';
import type { Integrations } from './integrations-schema.js';

/** An identity provider the catalog configures, as `/dbaccess policy` tells it: where, and how long answers are kept. */
export interface DirectorySummary {
  provider: DirectoryProvider;
  /** The org URL, Entra tenant id or Google admin's domain. */
  where: string;
  cacheSeconds: number;
}

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
  /** Identity providers under integrations: (groups and managers named as okta:…, manager:okta). */
  directories?: DirectorySummary[] | undefined;
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
    // On-call providers know people by email (onCall rules, oncall-schema.ts).
    if ((value as { onCall?: unknown }).onCall !== undefined) found.emails = true;
    // Identity-provider groups and managers match people by email.
    if (kind === 'email' || kind === 'directoryGroup' || kind === 'manager') found.emails = true;
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
  integrations?: Integrations | undefined;
}

function directoriesOf(integrations: Integrations | undefined): DirectorySummary[] {
  const list: DirectorySummary[] = [];
  if (integrations?.okta) list.push({ provider: 'okta', where: new URL(integrations.okta.url).host, cacheSeconds: integrations.okta.cacheFor });
  if (integrations?.google) list.push({ provider: 'google', where: integrations.google.subject.split('@')[1]!, cacheSeconds: integrations.google.cacheFor });
  if (integrations?.entra) list.push({ provider: 'entra', where: `tenant ${integrations.entra.tenantId}`, cacheSeconds: integrations.entra.cacheFor });
  return list;
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
    ...(catalog.integrations && directoriesOf(catalog.integrations).length > 0 ? { directories: directoriesOf(catalog.integrations) } : {}),
  };
}
