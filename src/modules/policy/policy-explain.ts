import { restrictsSourceHosts } from '../credentials/engines/registry.js';
import { DIRECTORY_LABELS } from '../../config/integrations/directory-common.js';
import type { PolicyConfig } from '../../config/policy-config.js';
import type { Matcher } from '../../config/policy-schema.js';
import { code, joinRich, orList, rich, type RichText, type RichValue } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import { describeWindow } from '../../lib/time-window.js';
import { choosePolicy, describeApprovers, type EffectivePolicy } from './policy-choice.js';
import { canRequest, resolveRoles } from './policy-roles.js';
import { boundTicketWords, describeAutoApprove } from './policy-rules.js';
import { explainTiming, timingFor } from './policy-timing.js';
import type { Person, PolicyDatabase } from './policy-types.js';
import {
  adminMentions, andWords, approvalCount, describeMatch, describePerson, groupsOf, label, matchesAny, matchesDatabase, matchesLevel, mention, orWords,
  resolveWindow, specificity, unique, windowsOf,
} from './policy-words.js';

const BUILT_IN_LEVELS = ['read', 'write', 'admin'];

/** Lines for `/dbaccess policy <database> [@user]`: who approves, quorum, step-up, auto-approval, limits. */
export function explainPolicy(database: PolicyDatabase, person: Person | undefined, config: PolicyConfig): RichText[] {
  const groups = groupsOf(config);
  const windows = windowsOf(config);
  const levels = [...(database.levels ?? BUILT_IN_LEVELS)];
  const lines = [rich`${database.id} (${database.environment}${database.tags.length > 0 ? `, tagged ${andWords([...database.tags])}` : ''}):`];

  const byPolicy = new Map<string, { policy: EffectivePolicy; levels: string[] }>();
  for (const level of levels) {
    const { policy } = choosePolicy(database, level, config);
    const entry = byPolicy.get(policy.name) ?? { policy, levels: [] };
    entry.levels.push(level);
    byPolicy.set(policy.name, entry);
  }
  for (const { policy, levels: policyLevels } of byPolicy.values()) {
    lines.push(
      rich`• ${andWords(policyLevels)}: policy "${policy.name}": ${approvalCount(policy.quorum)} from ${describeApprovers(policy, groups)}, never the requester's own; unanswered requests expire after ${formatDuration(policy.pendingTimeoutSeconds)}.`,
    );
    const always = policy.mfa.always.filter((matcher) => matchesDatabase(matcher, database) && policyLevels.some((level) => matchesLevel(matcher, level)));
    const byRisk = policy.mfa.minRisk === 'never' ? undefined : `at ${label(policy.mfa.minRisk)} risk or above`;
    const alwaysText = always.length > 0 ? `always for ${always.map((matcher) => describeMatch(matcher, 'requests')).join(' and ')}` : undefined;
    lines.push(rich`  Step-up (MFA): ${[byRisk, alwaysText].filter(Boolean).join('; ') || 'never'}.`);
    const auto = policy.autoApprove.filter((rule) => matchesDatabase(rule, database) && policyLevels.some((level) => matchesLevel(rule, level)));
    lines.push(
      auto.length === 0
        ? rich`  Auto-approval: none.`
        : rich`  Auto-approves: ${joinRich(auto.map((rule, index) => rich`${describeAutoApprove(rule, config, windows)} ("${rule.name ?? `${policy.name}#${index + 1}`}")`), '; ')}.`,
    );
    lines.push(
      policy.breakGlass.allowed
        ? rich`  Break-glass: ${orList((policy.breakGlass.who ?? []).map(mention))}, at most ${formatDuration(policy.breakGlass.maxDuration)}, with step-up; approvers are told at once.`
        : rich`  Break-glass: not allowed.`,
    );
    lines.push(approveWithChangesLine(policy, database.environment));
    // Said where the policy sets it (the defaults are in the README): the clock and the approval's lifetime.
    const timing = timingFor(database, policyLevels[0]!, config);
    if (timing.configured) lines.push(...explainTiming(timing));
  }

  for (const directory of config.directories ?? []) {
    lines.push(
      rich`Groups from ${DIRECTORY_LABELS[directory.provider]} (${directory.where}): asked live, answers kept ${formatDuration(directory.cacheSeconds)}; members are matched by email. If it cannot be reached, nobody gains a role or approves through it until it answers.`,
    );
  }

  const applies = <T extends Matcher>(list: readonly T[]) => list.filter((entry) => matchesDatabase(entry, database) && levels.some((level) => matchesLevel(entry, level)));
  const forLevels = (entry: Matcher) => (entry.levels ? `${orWords(entry.levels)}: ` : '');

  const onlyDuring = applies(config.rules.onlyDuring).map((entry) => {
    const window = resolveWindow(entry.window, windows);
    return `${forLevels(entry)}only ${window.definition ? describeWindow(window.definition, config.timezone) : `during ${window.label}`}`;
  });
  if (onlyDuring.length > 0) lines.push(rich`Time windows: ${onlyDuring.join('; ')}.`);

  const durations = applies(config.rules.maxDuration).map((entry) => `${forLevels(entry)}at most ${formatDuration(entry.max)}`);
  if (database.maxDuration !== undefined) durations.unshift(`at most ${formatDuration(database.maxDuration)}`);
  if (durations.length > 0) lines.push(rich`Durations: ${durations.join('; ')}.`);

  const tickets = applies(config.rules.ticket).map(
    (entry) => rich`${entry.required ? 'required' : 'optional'} for ${entry.levels ? orWords(entry.levels) : 'every level'}${entry.pattern ? rich`, written as ${code(entry.pattern)}` : ''}${entry.verify ? rich`, ${boundTicketWords(entry.verify, entry.assigned === true)}` : ''}`,
  );
  if (tickets.length > 0) lines.push(rich`Ticket: ${joinRich(tickets, '; ')}.`);

  const leases = applies(config.rules.maxActiveLeases).map((entry) => `at most ${entry.max}${specificity(entry) === 0 ? '' : ` for ${describeMatch(entry, 'requests')}`}`);
  if (leases.length > 0) lines.push(rich`Active leases per person: ${leases.join('; ')}.`);

  const detailed = applies(config.rules.reasonQuality).filter((entry) => entry.min === 'detailed');
  lines.push(
    detailed.length > 0
      ? rich`Reason: a sentence of at least 4 words${detailed.some((entry) => entry.levels) ? ` for ${orWords(unique(detailed.flatMap((entry) => entry.levels ?? levels)))}` : ''}.`
      : rich`Reason: a few words that say why.`,
  );

  if (restrictsSourceHosts(database)) {
    const hosts = config.rules.sourceHosts.find((entry) => matchesDatabase(entry, database));
    if (hosts) lines.push(rich`Source hosts: only ${orWords(hosts.allowed)}.`);
  }

  if (person) {
    const roles = resolveRoles(person, config);
    const allowed = levels.filter((level) => canRequest(person, database, level, config).allowed);
    const approves = [...byPolicy.values()].filter(({ policy }) => matchesAny(person, policy.approvers, groups)).flatMap((entry) => entry.levels);
    const parts: RichValue[] = [
      allowed.length > 0 ? `may request ${orWords(allowed)} here` : rich`may not request access here; ask an admin (${adminMentions(config)})`,
      approves.length > 0 ? `approves ${andWords(approves)} requests of others` : 'does not approve here',
    ];
    if (roles.roles.includes('admin')) parts.push('is an admin');
    if (roles.roles.includes('auditor')) parts.push('is an auditor');
    lines.push(rich`${describePerson(person)}: ${joinRich(parts, '; ')}.`);
    // Roles through an identity provider that did not answer are withheld: say so, not just "may not".
    for (const problem of person.directoryProblems ?? []) lines.push(rich`${problem}`);
  }
  return lines;
}

/** Approve with changes in plain words: whether approvers may narrow, and whether they must say why here. */
function approveWithChangesLine(policy: EffectivePolicy, environment: string): RichText {
  const { allowed, noteRequired } = policy.approveWithChanges;
  if (!allowed) return rich`  Approve with changes: not allowed; approvers approve as asked or deny.`;
  const note = noteRequired.includes(environment as never)
    ? `a note to the requester is required here (${environment})`
    : noteRequired.length > 0 ? `a note is optional here (required on ${andWords(noteRequired)})` : 'a note to the requester is optional';
  return rich`  Approve with changes: approvers may grant a lower level, part of the scope or a shorter time, never more than asked; ${note}.`;
}
