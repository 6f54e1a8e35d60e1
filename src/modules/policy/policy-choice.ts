import { approverIds, type PolicyConfig } from '../../config/policy-config.js';
import { mfaSchema, RISK_LEVELS, type ApproveWithChanges, type AutoApproveRule, type Mfa, type Policy, type Principal, type RiskLevel } from '../../config/policy-schema.js';
import { group, joinRich, orList, rich, type RichText, type RichValue } from '../../lib/rich-text.js';
import type { ApproverSet, PolicyDatabase } from './policy-types.js';
import { andWords, describeMatch, directoryKey, label, matchesDatabase, matchesLevel, mention, mentionId, quoted, specificity, unique, type Groups } from './policy-words.js';

/** Which policy governs a request, who its approvers are, and whether it asks for step-up. */

export interface EffectivePolicy {
  name: string;
  approvers: Principal[];
  quorum: number;
  mfa: Mfa;
  autoApprove: AutoApproveRule[];
  breakGlass: Policy['breakGlass'];
  pendingTimeoutSeconds: number;
  isDefault: boolean;
  approveWithChanges: ApproveWithChanges;
}

interface PolicyChoice {
  policy: EffectivePolicy;
  explanation: RichText;
}

const DEFAULT_MFA: Mfa = mfaSchema.parse({});

/**
 * The most specific matching policy: one naming databases beats one naming tags, which beats one
 * naming environments; naming levels breaks a tie between those. Equally specific policies: the
 * first in the file wins. No match: the default policy (the catalog's approvers, quorum 1).
 */
export function choosePolicy(database: PolicyDatabase, level: string, config: PolicyConfig): PolicyChoice {
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
        approveWithChanges: { allowed: true, noteRequired: [] },
      },
      explanation: rich`No policy matches ${level} on ${database.id}: the catalog's approvers decide, 1 approval needed.`,
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
    explanation: rich`Policy "${chosen.name}" applies to ${level} on ${database.id} (${describeMatch(chosen)})${notes.map((note) => `; ${note}`).join('')}.`,
  };
}

export function expandApprovers(list: readonly Principal[], groups: Groups): ApproverSet {
  const set: ApproverSet = { users: [], slackGroups: [], emails: [], groups: [] };
  const visited = new Set<string>();
  const add = (principal: Principal, top: boolean) => {
    if (principal.kind === 'user') set.users.push(principal.id);
    else if (principal.kind === 'slackGroup') set.slackGroups.push(principal.id);
    else if (principal.kind === 'email') set.emails.push(principal.address);
    else if (principal.kind === 'directoryGroup') (set.directory ??= []).push(directoryKey(principal));
    else if (principal.kind === 'manager') (set.directory ??= []).push(`manager:${principal.provider}`);
    else if (principal.kind === 'group' && !visited.has(principal.name)) {
      visited.add(principal.name);
      if (top) set.groups.push(principal.name);
      const members = Object.hasOwn(groups, principal.name) ? groups[principal.name] : undefined;
      for (const member of members?.members ?? []) add(member, false);
    }
  };
  for (const principal of list) add(principal, true);
  return { users: unique(set.users), slackGroups: unique(set.slackGroups), emails: unique(set.emails), groups: set.groups, ...(set.directory ? { directory: unique(set.directory) } : {}) };
}

/** `leads (@alice, @lead) or dbas`: a named group with the people it holds. */
export function describeApprovers(policy: EffectivePolicy, groups: Groups): RichValue {
  if (policy.approvers.length === 0) return 'nobody (no approvers configured)';
  return orList(
    policy.approvers.map((principal) => {
      if (principal.kind !== 'group') return mention(principal);
      const members = expandApprovers([principal], groups);
      const inside = [...members.users.map(mentionId), ...members.slackGroups.map(group), ...members.emails, ...(members.directory ?? [])];
      return inside.length > 0 ? rich`${principal.name} (${joinRich(inside)})` : principal.name;
    }),
  );
}

export function mfaFor(policy: EffectivePolicy, database: PolicyDatabase, level: string, risk: RiskLevel | undefined): { required: boolean; explanation: RichText } {
  const always = policy.mfa.always.find((matcher) => matchesDatabase(matcher, database) && matchesLevel(matcher, level));
  if (always) return { required: true, explanation: rich`Step-up (MFA) required: policy "${policy.name}" asks for it on ${describeMatch(always, 'requests')}.` };
  const { minRisk } = policy.mfa;
  if (minRisk === 'never') return { required: false, explanation: rich`No step-up: policy "${policy.name}" does not ask for it.` };
  if (risk === undefined) return { required: true, explanation: rich`Step-up (MFA) required until the risk is rated.` };
  const required = RISK_LEVELS.indexOf(risk) >= RISK_LEVELS.indexOf(minRisk);
  return {
    required,
    explanation: required
      ? rich`Step-up (MFA) required: risk ${label(risk)} is at or above ${label(minRisk)}.`
      : rich`No step-up: risk ${label(risk)} is below ${label(minRisk)}.`,
  };
}
