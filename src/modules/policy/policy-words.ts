import { DIRECTORY_LABELS } from '../../config/integrations/directory-common.js';
import type { PolicyConfig } from '../../config/policy-config.js';
import type { Matcher, Principal, Roles, WindowRef } from '../../config/policy-schema.js';
import { andList, group, joinRich, orList, person, type RichValue } from '../../lib/rich-text.js';
import { BUSINESS_HOURS, type TimeWindow } from '../../lib/time-window.js';
import type { Person, PolicyDatabase } from './policy-types.js';

/**
 * Matching requests and people against catalog entries, and the words the explanations are made of.
 * People are rich-text parts (ids), never mentions written in a platform's syntax.
 */

export type Groups = Roles['groups'];
export const groupsOf = (config: PolicyConfig): Groups => config.roles?.groups ?? {};

// ---- people -----------------------------------------------------------------------------------

export function matchesPrincipal(who: Person, principal: Principal, groups: Groups, visited: Set<string> = new Set()): boolean {
  switch (principal.kind) {
    case 'everyone':
      return true;
    case 'user':
      return who.slackUserId === principal.id;
    case 'slackGroup':
      return who.slackGroups.includes(principal.id);
    case 'email':
      return who.email !== undefined && who.email.toLowerCase() === principal.address;
    case 'group': {
      if (visited.has(principal.name) || !Object.hasOwn(groups, principal.name)) return false;
      visited.add(principal.name);
      return groups[principal.name]!.members.some((member) => matchesPrincipal(who, member, groups, visited));
    }
    case 'directoryGroup':
      return who.directoryGroups?.includes(directoryKey(principal)) ?? false;
    case 'manager':
      // Whose manager depends on the request: canApprove asks isRequestersManager.
      return false;
  }
}
/** `okta:00g1abc`: how a provider's group is named in the catalog and in Person.directoryGroups. */
export const directoryKey = (principal: { provider: string; id: string }) => `${principal.provider}:${principal.id}`;

/** The approver is the requester's manager as a provider the list names knows them; never the requester. */
export function isRequestersManager(approver: Person, requester: Person, list: readonly Principal[]): string | undefined {
  if (!approver.email || samePerson(approver, requester)) return undefined;
  const email = approver.email.toLowerCase();
  const via = list.find((principal) => principal.kind === 'manager' && requester.managers?.[principal.provider]?.toLowerCase() === email);
  return via?.kind === 'manager' ? `manager:${via.provider}` : undefined;
}
export const matchesAny = (who: Person, list: readonly Principal[] | undefined, groups: Groups) =>
  (list ?? []).some((principal) => matchesPrincipal(who, principal, groups));

export const samePerson = (a: Person, b: Person) =>
  (a.slackUserId !== undefined && a.slackUserId === b.slackUserId) ||
  (a.email !== undefined && b.email !== undefined && a.email.toLowerCase() === b.email.toLowerCase());

/** The id approvals are recorded under. */
export const personId = (who: Person) => who.slackUserId ?? who.email?.toLowerCase();

/** A principal as people read it: a Slack user or user group as a mention, an email, a group's name. */
export function mention(principal: Principal): RichValue {
  switch (principal.kind) {
    case 'user':
      return person(principal.id);
    case 'slackGroup':
      return group(principal.id);
    case 'email':
      return principal.address;
    case 'group':
      return principal.name;
    case 'directoryGroup':
      return `${DIRECTORY_LABELS[principal.provider]} group ${principal.id}`;
    case 'manager':
      return `the requester's manager (per ${DIRECTORY_LABELS[principal.provider]})`;
    case 'everyone':
      return 'everyone';
  }
}
/** An approval's id: Slack users by id (a mention), Teams users by email (as written). */
export const mentionId = (id: string): RichValue => (id.includes('@') ? id : person(id));
export const describePerson = (who: Person): RichValue => (who.slackUserId ? person(who.slackUserId) : (who.email ?? 'This person'));

export function adminMentions(config: PolicyConfig): RichValue {
  const admins = config.roles?.admins ?? [];
  return admins.length > 0 ? joinRich(admins.map(mention)) : 'whoever runs dbaccess for your team';
}

// ---- requests ---------------------------------------------------------------------------------

export function matchesDatabase(matcher: Matcher, database: Pick<PolicyDatabase, 'id' | 'environment' | 'tags'>): boolean {
  return (
    (!matcher.databases || matcher.databases.includes(database.id)) &&
    (!matcher.environments || matcher.environments.includes(database.environment)) &&
    (!matcher.tags || matcher.tags.some((tag) => database.tags.includes(tag)))
  );
}
export const matchesLevel = (matcher: Matcher, level: string) => !matcher.levels || matcher.levels.includes(level);
export const matchesRequest = (matcher: Matcher, database: Pick<PolicyDatabase, 'id' | 'environment' | 'tags'>, level: string) =>
  matchesDatabase(matcher, database) && matchesLevel(matcher, level);

export const specificity = (matcher: Matcher) =>
  (matcher.databases ? 8 : 0) + (matcher.tags ? 4 : 0) + (matcher.environments ? 2 : 0) + (matcher.levels ? 1 : 0);

/**
 * `write or admin on production databases`; with a noun: `write or admin requests on production
 * databases`, or just `read requests` when the entry names no database.
 */
export function describeMatch(matcher: Matcher, noun?: string): string {
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
export const describeGrant = (matcher: Matcher) => `${matcher.levels ? orWords(matcher.levels) : 'any level'} on ${describeTarget(matcher)}`;

// ---- time windows -----------------------------------------------------------------------------

export const windowsOf = (config: PolicyConfig): Record<string, TimeWindow> => ({ 'business-hours': BUSINESS_HOURS, ...config.rules.windows });

/** The team's usual hours for the risk rating: the catalog's business-hours window in its time zone. */
export const usualHoursOf = (config: PolicyConfig) => ({ name: 'business-hours', window: windowsOf(config)['business-hours']!, timeZone: config.timezone });

export function resolveWindow(ref: WindowRef, windows: Record<string, TimeWindow>): { label: string; definition: TimeWindow | undefined } {
  if (typeof ref !== 'string') return { label: 'the window', definition: ref };
  return { label: ref, definition: Object.hasOwn(windows, ref) ? windows[ref] : undefined };
}

// ---- words ------------------------------------------------------------------------------------

export const approvalCount = (quorum: number) => `${quorum} approval${quorum === 1 ? '' : 's'}`;
export const label = (risk: string) => capitalize(risk);
export const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
export const quoted = (text: string) => `"${text}"`;
export const unique = <T>(list: readonly T[]) => [...new Set(list)];

function joinWords(items: readonly string[], last: string): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}
/** Plain words: `a, b and c`. For lists that hold people, andList and orList of rich-text. */
export const andWords = (items: readonly string[]) => joinWords(items, 'and');
export const orWords = (items: readonly string[]) => joinWords(items, 'or');
