import type { PolicyConfig } from '../../config/policy-config.js';
import { RISK_LEVELS, type AutoApproveRule, type ReasonQuality } from '../../config/policy-schema.js';
import { joinRich, orList, rich, type RichText, type RichValue } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import { describeWindow, isWithinWindow, localTime, type TimeWindow } from '../../lib/time-window.js';
import { reasonProblem } from '../access-requests/reason-quality.js';
import type { RequestContext } from './policy-types.js';
import { describeOnCall, onCallVerdict } from './policy-oncall.js';
import { describeMatch, groupsOf, label, matchesAny, mention, orWords, resolveWindow } from './policy-words.js';

/** The contextual rules' own checks: auto-approval, reason quality, tickets, source hosts. */

/** Why an auto-approve rule does not apply to a request; empty when it does. */
export function autoApproveMisses(rule: AutoApproveRule, ctx: RequestContext, config: PolicyConfig, windows: Record<string, TimeWindow>): RichValue[] {
  const misses = autoApproveBaseMisses(rule, ctx, config, windows);
  const onCall = rule.onCall && onCallVerdict(rule.onCall, ctx.onCall, ctx.now);
  if (onCall && onCall.kind !== 'on-call') misses.push(onCall.miss);
  return misses;
}

/** Everything an auto-approve rule checks but on-call (which asks a provider, after the request is taken). */
export function autoApproveBaseMisses(rule: AutoApproveRule, ctx: RequestContext, config: PolicyConfig, windows: Record<string, TimeWindow>): RichValue[] {
  const misses: RichValue[] = [];
  const { database, level } = ctx;
  if (rule.levels && !rule.levels.includes(level)) misses.push(`only for ${orWords(rule.levels)}, not ${level}`);
  if (rule.databases && !rule.databases.includes(database.id)) misses.push(`only on ${orWords(rule.databases)}`);
  if (rule.environments && !rule.environments.includes(database.environment)) misses.push(`only on ${orWords(rule.environments)}, not ${database.environment}`);
  if (rule.tags && !rule.tags.some((tag) => database.tags.includes(tag))) misses.push(`only on databases tagged ${orWords(rule.tags)}`);
  if (rule.who && !matchesAny(ctx.requester, rule.who, groupsOf(config))) misses.push(rich`only for ${orList(rule.who.map(mention))}`);
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

/** `read requests, risk up to Low, for @alice, up to 1h, during business-hours (…)`. */
export function describeAutoApprove(rule: AutoApproveRule, config: PolicyConfig, windows: Record<string, TimeWindow>): RichText {
  const parts: RichValue[] = [describeMatch(rule, 'requests'), `risk up to ${label(rule.maxRisk)}`];
  if (rule.who) parts.push(rich`for ${orList(rule.who.map(mention))}`);
  if (rule.maxDuration !== undefined) parts.push(`up to ${formatDuration(rule.maxDuration)}`);
  if (rule.window !== undefined) {
    const window = resolveWindow(rule.window, windows);
    parts.push(`during ${window.label}${window.definition ? ` (${describeWindow(window.definition, config.timezone)})` : ''}`);
  }
  if (rule.scoped) parts.push('limited to schemas or tables');
  if (rule.onCall) parts.push(rich`for ${describeOnCall(rule.onCall)}`);
  return joinRich(parts);
}

export function reasonWeakness(reason: string, quality: ReasonQuality): string | undefined {
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
export function ticketMatches(pattern: string, ticket: string): boolean {
  let regex = ticketPatterns.get(pattern);
  if (!regex) {
    regex = new RegExp(`^(?:${pattern})$`, 'u');
    ticketPatterns.set(pattern, regex);
  }
  return regex.test(ticket);
}

/** MySQL host matching: `%` any run, `_` one character, case-insensitive; a requested pattern must be listed as is. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (/[%_]/.test(host)) return allowed.some((pattern) => pattern.toLowerCase() === host.toLowerCase());
  return allowed.some((pattern) => {
    const regex = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
    return new RegExp(`^${regex}$`, 'i').test(host);
  });
}

const TRACKER_NAMES = { jira: 'Jira', linear: 'Linear', github: 'GitHub' } as const;

/** A rule that binds access to a ticket (rules.ticket with verify), in plain words for `/dbaccess policy`. */
export function boundTicketWords(tracker: keyof typeof TRACKER_NAMES, assigned: boolean): string {
  const name = TRACKER_NAMES[tracker];
  return `checked live in ${name} before approvers see the request (it must exist and be open${assigned ? ', and be assigned to the requester' : ''}; if ${name} cannot be reached the request is refused); the access ends when the ticket is closed, and the session summary is added to it as a comment`;
}
