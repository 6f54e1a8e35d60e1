import { z } from 'zod';

/**
 * `onCall:` in an auto-approve rule: the rule approves only whoever is on call right now, as the
 * named provider says when the request is checked (after it is taken, never before), with the
 * rule's other limits (levels, environments, maxDuration, maxRisk) still applying. The provider's
 * account is configured once under `integrations:`.
 */

const ON_CALL_PROVIDERS = ['pagerduty', 'incidentio'] as const;
export type OnCallProvider = (typeof ON_CALL_PROVIDERS)[number];
export const PROVIDER_NAMES: Record<OnCallProvider, string> = { pagerduty: 'PagerDuty', incidentio: 'incident.io' };

const providerId = (what: string) => z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, `must be a ${what} id such as PABC123 (letters, digits, _ or -)`);
/** A single id where a list is expected reads as a list of one. */
const ids = (what: string) => z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(providerId(what)).min(1).max(20));

export const onCallSchema = z
  .strictObject({
    provider: z.enum(ON_CALL_PROVIDERS, 'must be pagerduty or incidentio (configured under integrations)'),
    /** Schedules whose current on-call counts (PagerDuty schedule ids, incident.io schedule ids). */
    schedules: ids('schedule').optional(),
    /** PagerDuty: escalation policies whose current on-call counts (any level, unless maxEscalationLevel). */
    escalationPolicies: ids('escalation policy').optional(),
    /** PagerDuty: the highest escalation level that counts (1: the first responder). */
    maxEscalationLevel: z.number().int().min(1).max(20).optional(),
    /** Only while an incident is open: PagerDuty triggered or acknowledged, incident.io active. */
    incidentOpen: z.boolean().default(false),
    /** PagerDuty: only incidents of these services count (by default any service's). */
    services: ids('service').optional(),
  })
  .superRefine((value, ctx) => {
    if (!value.schedules && !value.escalationPolicies) {
      ctx.addIssue({ code: 'custom', path: ['schedules'], message: 'name the schedules (or, on PagerDuty, escalationPolicies) whose on-call engineer is approved' });
    }
    if (value.provider === 'incidentio') {
      for (const key of ['escalationPolicies', 'maxEscalationLevel', 'services'] as const) {
        if (value[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is for PagerDuty; on incident.io name schedules` });
      }
      if (!value.schedules) ctx.addIssue({ code: 'custom', path: ['schedules'], message: 'name the incident.io schedules whose on-call engineer is approved' });
    }
    if (value.services && !value.incidentOpen) ctx.addIssue({ code: 'custom', path: ['services'], message: 'services only narrow incidentOpen: true; add it or remove services' });
  });

export type OnCallRule = z.output<typeof onCallSchema>;

/** A stable key for what a rule asks a provider (the same question is asked once per request). */
export const onCallKey = (rule: OnCallRule): string =>
  JSON.stringify([rule.provider, rule.schedules ?? [], rule.escalationPolicies ?? [], rule.incidentOpen ? rule.services ?? ['*'] : []]);
