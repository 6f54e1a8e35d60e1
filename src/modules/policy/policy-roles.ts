import type { PolicyConfig } from '../../config/policy-config.js';
import type { RoleName } from '../../config/policy-schema.js';
import { andList, rich } from '../../lib/rich-text.js';
import type { Permission, Person, PolicyDatabase, ResolvedRoles } from './policy-types.js';
import { adminMentions, andWords, describeGrant, describePerson, groupsOf, matchesAny, matchesDatabase, matchesLevel, matchesPrincipal, mention, quoted } from './policy-words.js';

/** Who a person is under roles: requester, approver, admin, auditor; and what they may request. */

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
    ? rich`${who} has no role here.`
    : rich`${who}: ${roles.length > 0 ? roles.join(', ') : 'no role'}${memberOf.length > 0 ? `; member of ${andWords(memberOf)}` : ''}${
        approves.length > 0 ? `; approves under ${andWords(approves.map(quoted))}` : ''
      }.`;
  return { roles, groups: memberOf, approves, known, explanation };
}

export function canRequest(person: Person, database: PolicyDatabase, level: string, config: PolicyConfig): Permission {
  const requesters = config.roles?.requesters;
  if (!requesters) return { allowed: true, rule: 'requester', explanation: rich`Anyone may request access (no roles.requesters in the catalog).` };
  const groups = groupsOf(config);
  const askAdmin = rich`Ask an admin (${adminMentions(config)})`;
  const theirs = requesters.map((entry, index) => ({ entry, index })).filter(({ entry }) => matchesAny(person, entry.who, groups));
  if (theirs.length === 0) {
    return {
      allowed: false,
      rule: 'requester',
      message: rich`${describePerson(person)} is not set up to request database access.${person.directoryProblems?.length ? ` ${person.directoryProblems.join(' ')}` : ''}`,
      howToComply: rich`${askAdmin} to add you to roles.requesters.`,
    };
  }
  const grant = theirs.find(({ entry }) => matchesDatabase(entry, database) && matchesLevel(entry, level));
  if (grant) {
    return {
      allowed: true,
      rule: 'requester',
      explanation: rich`Allowed by roles.requesters[${grant.index}]: ${andList(grant.entry.who.map(mention))} may request ${describeGrant(grant.entry)}.`,
    };
  }
  return {
    allowed: false,
    rule: 'requester',
    message: rich`You may not request ${level} on ${database.id}.`,
    howToComply: rich`You may request ${theirs.map(({ entry }) => describeGrant(entry)).join('; ')}. ${askAdmin} for more.`,
  };
}
