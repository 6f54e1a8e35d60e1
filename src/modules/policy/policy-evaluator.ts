import { restrictsSourceHosts } from '../credentials/engines/registry.js';
import type { PolicyConfig } from '../../config/policy-config.js';
import type { ReasonQuality } from '../../config/policy-schema.js';
import { andList, code, joinRich, orList, rich, type RichText } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import { describeWindow, isWithinWindow, localTime, nextOpening } from '../../lib/time-window.js';
import { choosePolicy, describeApprovers, expandApprovers, mfaFor } from './policy-choice.js';
import { canRequest } from './policy-roles.js';
import { onCallVerdict } from './policy-oncall.js';
import { autoApproveBaseMisses, autoApproveMisses, describeAutoApprove, hostAllowed, reasonWeakness, ticketMatches } from './policy-rules.js';
import type { ApprovalCheck, ApprovalProgress, Person, Refusal, RequestContext, RequestDecision, RuleOutcome, RuleResult } from './policy-types.js';
import {
  adminMentions, andWords, approvalCount, capitalize, describeMatch, groupsOf, matchesAny, matchesRequest, mention, mentionId, orWords, personId, resolveWindow,
  samePerson, specificity, unique, windowsOf, isRequestersManager, directoryKey, matchesPrincipal, type Groups,
} from './policy-words.js';
import type { Principal } from '../../config/policy-schema.js';
import { DIRECTORY_LABELS } from '../../config/integrations/directory-common.js';

/** For the audit: the identity-provider group an approval came through, when that is how (`okta:00g1`). */
function approvalBasis(approver: Person, list: readonly Principal[], groups: Groups): string | undefined {
  if (list.some((principal) => principal.kind !== 'directoryGroup' && matchesPrincipal(approver, principal, groups))) return undefined;
  const group = list.find((principal) => principal.kind === 'directoryGroup' && matchesPrincipal(approver, principal, groups));
  return group?.kind === 'directoryGroup' ? directoryKey(group) : undefined;
}

/**
 * Roles, approval policies and contextual rules, evaluated as pure functions. Every answer carries
 * the rule that decided it and words for the person who reads it: what happened, and how to comply,
 * as rich text (people as ids, never a platform's markup); each chat adapter renders it.
 */

export * from './policy-types.js';
export { canRequest, resolveRoles } from './policy-roles.js';
export { explainPolicy } from './policy-explain.js';
export { onCallVerdict, type OnCallAnswers, type OnCallFacts, type OnCallShift, type OpenIncident } from './policy-oncall.js';

// ---- requests ---------------------------------------------------------------------------------

export function evaluateRequest(ctx: RequestContext, config: PolicyConfig): RequestDecision {
  const { database, level, requester } = ctx;
  const groups = groupsOf(config);
  const rules: RuleResult[] = [];
  const refusals: Refusal[] = [];
  const record = (rule: string, fired: boolean, outcome: RuleOutcome, explanation: RichText) => rules.push({ rule, fired, outcome, explanation });
  const refuse = (rule: string, message: RichText, howToComply: RichText) => {
    record(rule, true, 'refuse', message);
    refusals.push({ rule, message, howToComply });
  };
  const askAdmin = rich`Ask an admin (${adminMentions(config)})`;

  const permission = canRequest(requester, database, level, config);
  if (permission.allowed) record('requester', config.roles?.requesters !== undefined, 'pass', permission.explanation);
  else refuse(permission.rule, permission.message, permission.howToComply);

  const { policy, explanation: policyExplanation } = choosePolicy(database, level, config);
  record('policy', !policy.isDefault, 'info', policyExplanation);

  // Break-glass skips approval and time windows, never the rest.
  let breakGlass = false;
  if (ctx.breakGlass) {
    if (!policy.breakGlass.allowed) {
      refuse('break-glass', rich`Break-glass is not allowed for ${level} on ${database.id} (policy "${policy.name}").`, rich`Submit a normal request; ${describeApprovers(policy, groups)} will decide.`);
    } else if (!matchesAny(requester, policy.breakGlass.who, groups)) {
      refuse(
        'break-glass',
        rich`Only ${andList((policy.breakGlass.who ?? []).map(mention))} may use break-glass on ${database.id}.`,
        rich`Submit a normal request, or ask one of them to act.`,
      );
    } else {
      breakGlass = true;
      record(
        'break-glass',
        true,
        'pass',
        rich`Break-glass: access without waiting for approval, at most ${formatDuration(policy.breakGlass.maxDuration)}, with step-up; approvers are told at once.`,
      );
    }
  }

  const windows = windowsOf(config);
  const windowRules = config.rules.onlyDuring.filter((entry) => matchesRequest(entry, database, level));
  if (windowRules.length === 0) record('time-window', false, 'pass', rich`No time window applies.`);
  for (const entry of windowRules) {
    const window = resolveWindow(entry.window, windows);
    const what = describeMatch(entry, 'requests');
    if (!window.definition) {
      refuse('time-window', rich`The window "${window.label}" for ${what} is not defined.`, rich`${askAdmin} to define it under rules.windows.`);
      continue;
    }
    const where = describeWindow(window.definition, config.timezone);
    const now = localTime(ctx.now, window.definition.timezone ?? config.timezone).text;
    if (isWithinWindow(window.definition, ctx.now, config.timezone)) {
      record('time-window', true, 'pass', rich`Within ${window.label}: ${where}; it is ${now} there.`);
    } else if (breakGlass) {
      record('time-window', true, 'info', rich`Outside ${window.label} (${where}; it is ${now} there), but break-glass is not bound to windows.`);
    } else {
      const next = nextOpening(window.definition, ctx.now, config.timezone);
      refuse(
        'time-window',
        rich`${capitalize(what)} are allowed only ${where}; it is ${now} there.`,
        rich`Ask again${next ? ` from ${next.text} (${window.definition.timezone ?? config.timezone})` : ' inside the window'}${
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
  if (!limit) record('max-duration', false, 'pass', rich`No duration limit applies.`);
  else if (ctx.durationSeconds > limit.seconds) {
    refuse(
      'max-duration',
      rich`${formatDuration(ctx.durationSeconds)} is longer than ${limit.source}, ${formatDuration(limit.seconds)}.`,
      rich`Ask for ${formatDuration(limit.seconds)} or less, and extend later if you need more.`,
    );
  } else record('max-duration', true, 'pass', rich`${formatDuration(ctx.durationSeconds)} is within ${limit.source}, ${formatDuration(limit.seconds)}.`);

  const ticket = ctx.ticket?.trim() || undefined;
  const ticketRules = config.rules.ticket.filter((entry) => matchesRequest(entry, database, level));
  const requiredBy = ticketRules.find((entry) => entry.required);
  const patterns = unique(ticketRules.flatMap((entry) => (entry.pattern ? [entry.pattern] : [])));
  const failed = ticket ? patterns.find((pattern) => !ticketMatches(pattern, ticket)) : undefined;
  if (ticketRules.length === 0 || (!ticket && !requiredBy)) record('ticket', ticketRules.length > 0, 'pass', rich`No ticket needed.`);
  else if (!ticket) {
    refuse(
      'ticket',
      rich`A ticket is required for ${describeMatch(requiredBy!, 'requests')}.`,
      rich`Add the ticket this work belongs to${patterns.length > 0 ? rich`, written as ${orList(patterns.map(code))}` : ''}.`,
    );
  } else if (failed) {
    refuse('ticket', rich`The ticket "${ticket}" does not match ${code(failed)}.`, rich`Write the ticket id the way your tracker shows it, matching ${code(failed)} (e.g. OPS-1234).`);
  } else record('ticket', true, 'pass', patterns.length > 0 ? rich`Ticket ${ticket} matches ${andList(patterns.map(code))}.` : rich`Ticket ${ticket} given.`);

  const leaseRules = config.rules.maxActiveLeases.filter((entry) => matchesRequest(entry, database, level));
  if (leaseRules.length === 0) record('max-active-leases', false, 'pass', rich`No limit on active leases.`);
  for (const entry of leaseRules) {
    const counted = ctx.activeLeases.filter((lease) => matchesRequest(entry, { id: lease.databaseId, environment: lease.environment, tags: lease.tags ?? [] }, lease.level));
    const scope = specificity(entry) === 0 ? '' : ` for ${describeMatch(entry, 'requests')}`;
    if (counted.length >= entry.max) {
      refuse(
        'max-active-leases',
        rich`You already have ${counted.length} active lease${counted.length === 1 ? '' : 's'}${scope} (${counted.map((lease) => `${lease.level} on ${lease.databaseId}`).join(', ')}); at most ${entry.max} at a time.`,
        rich`End one you no longer need, then ask again.`,
      );
    } else record('max-active-leases', true, 'pass', rich`${counted.length} of at most ${entry.max} active leases${scope}.`);
  }

  const qualityRules = config.rules.reasonQuality.filter((entry) => matchesRequest(entry, database, level));
  const quality: ReasonQuality = qualityRules.some((entry) => entry.min === 'detailed') ? 'detailed' : 'basic';
  const weakness = reasonWeakness(ctx.reason, quality);
  if (weakness) refuse('reason-quality', rich`The reason is too ${quality === 'detailed' ? 'short for this request' : 'weak'}.`, rich`${weakness}`);
  else record('reason-quality', true, 'pass', quality === 'detailed' ? rich`The reason says what and why in a sentence.` : rich`The reason reads as a reason.`);

  let hostPatterns: string[] | undefined;
  const hostRule = config.rules.sourceHosts.find((entry) => matchesRequest(entry, database, level));
  if (!hostRule) record('source-host', false, 'pass', rich`No source-host restriction.`);
  else if (!restrictsSourceHosts(database)) {
    record('source-host', false, 'info', rich`Source hosts cannot be restricted on ${database.engine}, the engine of ${database.id}.`);
  } else if (ctx.sourceHost === undefined) {
    hostPatterns = hostRule.allowed;
    record('source-host', true, 'info', rich`The temporary user may connect only from ${andWords(hostRule.allowed)}.`);
  } else if (hostAllowed(ctx.sourceHost, hostRule.allowed)) {
    hostPatterns = [ctx.sourceHost];
    record('source-host', true, 'pass', rich`Connecting from ${ctx.sourceHost} is allowed (${orWords(hostRule.allowed)}).`);
  } else {
    refuse(
      'source-host',
      rich`Connecting to ${database.id} from ${ctx.sourceHost} is not allowed.`,
      rich`Connect from ${orWords(hostRule.allowed)} (for instance through the bastion).`,
    );
  }

  const mfa = breakGlass ? { required: true, explanation: rich`Step-up (MFA) required: break-glass always asks for it.` } : mfaFor(policy, database, level, ctx.risk);
  record('mfa', mfa.required, 'info', mfa.explanation);

  let autoApprovedBy: string | undefined;
  if (!breakGlass) {
    policy.autoApprove.forEach((rule, index) => {
      const name = rule.name ?? `${policy.name}#${index + 1}`;
      const misses = autoApproveMisses(rule, ctx, config, windows);
      if (misses.length === 0 && !autoApprovedBy) {
        autoApprovedBy = name;
        record(`auto-approve:${name}`, true, 'pass', rich`Auto-approved by "${name}": ${describeAutoApprove(rule, config, windows)}.`);
        const onCall = rule.onCall && onCallVerdict(rule.onCall, ctx.onCall, ctx.now);
        if (onCall?.kind === 'on-call') record('on-call', true, 'pass', onCall.evidence);
      } else if (misses.length === 0) {
        record(`auto-approve:${name}`, true, 'info', rich`"${name}" matches too, but "${autoApprovedBy ?? ''}" comes first.`);
      } else record(`auto-approve:${name}`, false, 'info', rich`Not auto-approved by "${name}": ${joinRich(misses, '; ')}.`);
    });
    // On-call would have decided, but its provider could not be asked: the approvers are told why they are asked.
    const unknown = autoApprovedBy ? undefined : policy.autoApprove.flatMap((rule) => {
      const onCall = rule.onCall && onCallVerdict(rule.onCall, ctx.onCall, ctx.now);
      return onCall?.kind === 'unknown' && autoApproveBaseMisses(rule, ctx, config, windows).length === 0 ? [onCall.notice] : [];
    })[0];
    if (unknown) record('on-call-unknown', true, 'info', unknown);
  }

  // A request nobody but the requester could approve would wait until it expires: say so now.
  const approvers = expandApprovers(policy.approvers, groups);
  if (!breakGlass && !autoApprovedBy && approvers.slackGroups.length > 0) {
    record('approvers-available', false, 'info', rich`Not counted: Slack user groups among the approvers hide how many people they are.`);
  } else if (!breakGlass && !autoApprovedBy && approvers.directory) {
    // Only the requester's manager may approve, and none is known: the request would wait for nobody.
    const managers = policy.approvers.filter((principal) => principal.kind === 'manager');
    if (managers.length === policy.approvers.length && !managers.some((principal) => principal.kind === 'manager' && requester.managers?.[principal.provider])) {
      const problems = requester.directoryProblems ?? [];
      refuse(
        'approvers-available',
        rich`Policy "${policy.name}" is approved by your manager, and no manager is known for you${problems.length > 0 ? `: ${problems.join(' ')}` : ` in ${andWords(managers.map((principal) => (principal.kind === 'manager' ? DIRECTORY_LABELS[principal.provider] : '')))}.`}`,
        problems.length > 0 ? rich`Try again in a minute.` : rich`${askAdmin} to set your manager in the identity provider, or to add approvers to policy "${policy.name}".`,
      );
    } else record('approvers-available', false, 'info', rich`Not counted: identity-provider groups and managers among the approvers are resolved when someone decides.`);
  } else if (!breakGlass && !autoApprovedBy) {
    const others = [...approvers.users.filter((id) => id !== requester.slackUserId), ...approvers.emails.filter((address) => address !== requester.email?.toLowerCase())];
    if (others.length < policy.quorum) {
      refuse(
        'approvers-available',
        rich`Policy "${policy.name}" needs ${approvalCount(policy.quorum)} from people other than you; ${others.length === 0 ? 'nobody else is' : rich`only ${andList(others.map(mentionId))} ${others.length === 1 ? 'is' : 'are'}`} listed.`,
        rich`${askAdmin} to add approvers to policy "${policy.name}".`,
      );
    } else record('approvers-available', true, 'pass', rich`${others.length} approver${others.length === 1 ? '' : 's'} besides you for ${approvalCount(policy.quorum)}.`);
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
    progress: rich`${list.length} of ${approvalCount(policy.quorum)}${list.length > 0 ? rich`: ${joinRich(list.map(mentionId))}` : ''}`,
  });
  const refused = (rule: string, message: RichText, howToComply: RichText): ApprovalCheck => ({ ...progressOf(approvals), allowed: false, rule, message, howToComply });

  if (samePerson(approver, ctx.requester)) {
    return refused('self-approval', rich`You cannot approve your own request, even as one of its approvers.`, rich`Another approver must: ${describeApprovers(policy, groups)}.`);
  }
  const id = personId(approver);
  const viaManager = isRequestersManager(approver, ctx.requester, policy.approvers);
  if (!id || (!viaManager && !matchesAny(approver, policy.approvers, groups))) {
    // An identity provider that did not answer grants nobody anything: say so, rather than "not an approver".
    const problems = unique([...(approver.directoryProblems ?? []), ...(policy.approvers.some((p) => p.kind === 'manager') ? (ctx.requester.directoryProblems ?? []) : [])]);
    return refused(
      problems.length > 0 ? 'directory-unavailable' : 'not-an-approver',
      rich`Only ${describeApprovers(policy, groups)} can approve ${ctx.level} on ${ctx.database.id} (policy "${policy.name}").${problems.length > 0 ? ` ${problems.join(' ')}` : ''}`,
      problems.length > 0 ? rich`Try again in a minute; until the identity provider answers, only approvers named by Slack id or email can decide.` : rich`Leave it to them, or ask an admin to add you to the policy.`,
    );
  }
  if (approvals.some((existing) => existing === id || existing.toLowerCase() === approver.email?.toLowerCase())) {
    return refused('already-approved', rich`You already approved this request; a different approver must give the next approval.`, rich`Waiting for another approver: ${describeApprovers(policy, groups)}.`);
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
    explanation: rich`${progress.progress}${completesQuorum ? '; approved.' : `; ${policy.quorum - after.length} more needed.`}`,
    via: viaManager ?? approvalBasis(approver, policy.approvers, groups),
  };
}
