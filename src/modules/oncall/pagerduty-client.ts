import { z } from 'zod';
import type { OnCallRule } from '../../config/oncall-schema.js';
import type { OnCallShift, OpenIncident } from '../policy/policy-oncall.js';
import { getJson, ProviderUnreachable, withList } from './oncall-http.js';

/** PagerDuty REST API v2: users by email, current on-calls, open incidents. */

const reference = z.object({ id: z.string().max(64), summary: z.string().max(500).optional() }).passthrough();
const usersAnswer = z.object({ users: z.array(z.object({ id: z.string().max(64), email: z.string().max(254) }).passthrough()).max(1000) });
const oncallsAnswer = z.object({
  oncalls: z.array(
    z.object({
      user: reference,
      schedule: reference.nullable().optional(),
      escalation_policy: reference,
      escalation_level: z.number().int(),
      start: z.string().max(64).nullable().optional(),
      end: z.string().max(64).nullable().optional(),
    }).passthrough(),
  ).max(1000),
});
const incidentsAnswer = z.object({
  incidents: z.array(z.object({ id: z.string().max(64), incident_number: z.number().int(), title: z.string().max(1000).default(''), service: reference.optional() }).passthrough()).max(1000),
});

export interface PagerDutyAccount {
  apiUrl: string;
  token: string;
  timeoutSeconds: number;
}

export function createPagerDutyClient(account: PagerDutyAccount, fetchImpl: typeof fetch = fetch) {
  const headers = { Authorization: `Token token=${account.token}`, Accept: 'application/vnd.pagerduty+json;version=2' };
  const url = (path: string) => new URL(path, account.apiUrl.replace(/\/?$/, '/'));
  const get = async <T>(target: URL, schema: z.ZodType<T>): Promise<T> => {
    const parsed = schema.safeParse(await getJson(target, headers, account.timeoutSeconds, fetchImpl));
    if (!parsed.success) throw new ProviderUnreachable('answered in a shape we do not understand');
    return parsed.data;
  };

  return {
    /** The PagerDuty user with this email (the query matches names too: the email must be equal). */
    async userIdByEmail(email: string): Promise<string | undefined> {
      const target = url('users');
      target.searchParams.set('query', email);
      target.searchParams.set('limit', '25');
      const { users } = await get(target, usersAnswer);
      return users.find((user) => user.email.toLowerCase() === email.toLowerCase())?.id;
    },
    /** The user's on-calls right now on the rule's schedules and escalation policies. */
    async shiftsOf(userId: string, rule: OnCallRule): Promise<OnCallShift[]> {
      const target = url('oncalls');
      withList(target, 'user_ids[]', [userId]);
      withList(target, 'schedule_ids[]', rule.schedules);
      withList(target, 'escalation_policy_ids[]', rule.escalationPolicies);
      target.searchParams.set('time_zone', 'UTC');
      const { oncalls } = await get(target, oncallsAnswer);
      return oncalls
        .filter((entry) => entry.user.id === userId)
        .filter((entry) => !rule.schedules || (entry.schedule && rule.schedules.includes(entry.schedule.id)))
        .filter((entry) => !rule.escalationPolicies || rule.escalationPolicies.includes(entry.escalation_policy.id))
        .map((entry) => ({
          name: entry.schedule?.summary ?? entry.escalation_policy.summary ?? entry.schedule?.id ?? entry.escalation_policy.id,
          scheduleId: entry.schedule?.id,
          escalationPolicyId: entry.escalation_policy.id,
          escalationLevel: entry.escalation_level,
          until: entry.end ? new Date(entry.end) : undefined,
        }));
    },
    /** Triggered or acknowledged incidents (of the services, when named), newest first as PagerDuty lists them. */
    async openIncidents(services: readonly string[] | undefined): Promise<OpenIncident[]> {
      const target = url('incidents');
      withList(target, 'statuses[]', ['triggered', 'acknowledged']);
      withList(target, 'service_ids[]', services);
      const { incidents } = await get(target, incidentsAnswer);
      return incidents
        .filter((incident) => !services || (incident.service && services.includes(incident.service.id)))
        .map((incident) => ({ label: `#${incident.incident_number}`, title: incident.title }));
    },
  };
}
