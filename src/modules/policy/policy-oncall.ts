import { onCallKey, PROVIDER_NAMES, type OnCallRule } from '../../config/oncall-schema.js';
import { joinRich, rich, type RichText, type RichValue } from '../../lib/rich-text.js';
import { formatTime } from '../../lib/time.js';
import { orWords } from './policy-words.js';
import type { OnCallAnswers, OnCallShift } from './policy-oncall-types.js';

export type { OnCallAnswers, OnCallFacts, OnCallShift, OpenIncident } from './policy-oncall-types.js';

/**
 * What a provider said about the requester, and the pure verdict of an on-call rule on it: on call
 * (with the evidence shown on the card), not on call (and why), or not known (the provider could not
 * be asked: the request goes to its approvers, and the card says so).
 */

export type OnCallVerdict =
  | { kind: 'on-call'; evidence: RichText }
  | { kind: 'miss'; miss: RichValue }
  | { kind: 'unknown'; miss: RichValue; notice: RichText };

const provider = (rule: OnCallRule) => PROVIDER_NAMES[rule.provider];

function shiftWords(shift: OnCallShift, now: Date): string {
  const level = shift.escalationLevel !== undefined ? ` (level ${shift.escalationLevel})` : '';
  return `on call for ${shift.name}${level} ${shift.until ? `until ${formatTime(shift.until, now)}` : 'with no end'}`;
}

export function onCallVerdict(rule: OnCallRule, answers: OnCallAnswers | undefined, now: Date): OnCallVerdict {
  const facts = answers?.[onCallKey(rule)];
  if (!facts) return { kind: 'miss', miss: `on-call is checked once the request is taken` };
  if (!facts.reachable) {
    return {
      kind: 'unknown',
      miss: `${provider(rule)} could not be asked who is on call (${facts.problem})`,
      notice: rich`On-call not checked: ${provider(rule)} ${facts.problem}. An approver decides.`,
    };
  }
  if (!facts.email) return { kind: 'miss', miss: `your email is not known here, so ${provider(rule)} cannot be asked whether you are on call` };
  if (!facts.known) return { kind: 'miss', miss: `${provider(rule)} has no user with the email ${facts.email}` };
  if (facts.shifts.length === 0) return { kind: 'miss', miss: `you are not on call for ${describeTargets(rule)} now (${provider(rule)})` };
  const max = rule.maxEscalationLevel;
  const counted = max === undefined ? facts.shifts : facts.shifts.filter((shift) => (shift.escalationLevel ?? 1) <= max);
  if (counted.length === 0) {
    const lowest = Math.min(...facts.shifts.map((shift) => shift.escalationLevel ?? 1));
    return { kind: 'miss', miss: `you are on call at escalation level ${lowest}, above ${max}` };
  }
  // The shift that lasts longest is the evidence: it is what keeps the person on call.
  const shift = [...counted].sort((a, b) => (b.until?.getTime() ?? Infinity) - (a.until?.getTime() ?? Infinity))[0]!;
  if (rule.incidentOpen) {
    const incident = facts.incidents?.[0];
    if (!incident) return { kind: 'miss', miss: `no incident is open${rule.services ? ` on ${orWords(rule.services)}` : ''} (${provider(rule)})` };
    return { kind: 'on-call', evidence: rich`${shiftWords(shift, now)}; incident ${incident.label} open (${provider(rule)})` };
  }
  return { kind: 'on-call', evidence: rich`${shiftWords(shift, now)} (${provider(rule)})` };
}

/** `schedule PABC123 or escalation policy PEP1` */
function describeTargets(rule: OnCallRule): string {
  const parts = [
    ...(rule.schedules ? [`schedule ${orWords(rule.schedules)}`] : []),
    ...(rule.escalationPolicies ? [`escalation policy ${orWords(rule.escalationPolicies)}`] : []),
  ];
  return parts.join(' within ');
}

/** `whoever is on call for schedule PABC123 (PagerDuty), escalation level 1 at most, only while an incident is open` */
export function describeOnCall(rule: OnCallRule): RichText {
  const parts: RichValue[] = [`whoever is on call for ${describeTargets(rule)} (${provider(rule)}, checked live)`];
  if (rule.maxEscalationLevel !== undefined) parts.push(`escalation level ${rule.maxEscalationLevel} at most`);
  if (rule.incidentOpen) parts.push(`only while an incident is open${rule.services ? ` on service ${orWords(rule.services)}` : ''}`);
  return joinRich(parts);
}
