import type { Matcher, PolicySections, Principal, Roles, WindowRef } from './policy-schema.js';

/** What the catalog schema cannot check about the policy sections: references, cycles, reachability. */

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
  known: { databaseIds: readonly string[]; levels: readonly string[]; directories?: readonly string[] },
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const groups = sections.roles?.groups ?? {};
  const windows = new Set(['business-hours', ...Object.keys(sections.rules.windows)]);

  const checkPrincipals = (list: Principal[] | undefined, path: Array<string | number>, approvers = false) => {
    list?.forEach((entry, index) => {
      if (entry.kind === 'group' && !Object.hasOwn(groups, entry.name)) {
        problems.push({ path: [...path, index], message: `"${entry.name}" is not a group under roles.groups (nor a Slack id or an email)` });
      }
      if ((entry.kind === 'directoryGroup' || entry.kind === 'manager') && !(known.directories ?? []).includes(entry.provider)) {
        problems.push({ path: [...path, index], message: `${entry.kind === 'manager' ? `manager:${entry.provider}` : `${entry.provider}:${entry.id}`} needs integrations.${entry.provider} (how to reach ${entry.provider})` });
      }
      if (entry.kind === 'manager' && !approvers) {
        problems.push({ path: [...path, index], message: `manager:${entry.provider} (the requester's manager) can only be named among a policy's approvers` });
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
    checkPrincipals(policy.approvers, [...path, 'approvers'], true);
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
