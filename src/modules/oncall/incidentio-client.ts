import { z } from 'zod';
import type { OnCallRule } from '../../config/oncall-schema.js';
import type { OnCallShift, OpenIncident } from '../policy/policy-oncall.js';
import { getJson, ProviderUnreachable } from './oncall-http.js';

/** incident.io API v2: schedules, schedule entries (who is on call in a window), active incidents. */

const scheduleAnswer = z.object({ schedule: z.object({ id: z.string().max(64), name: z.string().max(500) }).passthrough() });
const entry = z.object({
  start_at: z.string().max(64),
  end_at: z.string().max(64),
  user: z.object({ id: z.string().max(64).optional(), email: z.string().max(254).optional() }).passthrough().nullable().optional(),
}).passthrough();
const entriesAnswer = z.object({ schedule_entries: z.object({ final: z.array(entry).max(1000).default([]) }).passthrough() });
const incidentsAnswer = z.object({
  incidents: z.array(z.object({ id: z.string().max(64), reference: z.string().max(64), name: z.string().max(1000).default('') }).passthrough()).max(1000),
});

export interface IncidentIoAccount {
  apiUrl: string;
  token: string;
  timeoutSeconds: number;
}

export function createIncidentIoClient(account: IncidentIoAccount, fetchImpl: typeof fetch = fetch) {
  const headers = { Authorization: `Bearer ${account.token}`, Accept: 'application/json' };
  const url = (path: string) => new URL(path, account.apiUrl.replace(/\/?$/, '/'));
  const get = async <T>(target: URL, schema: z.ZodType<T>): Promise<T> => {
    const parsed = schema.safeParse(await getJson(target, headers, account.timeoutSeconds, fetchImpl));
    if (!parsed.success) throw new ProviderUnreachable('answered in a shape we do not understand');
    return parsed.data;
  };

  return {
    async scheduleName(id: string): Promise<string> {
      return (await get(url(`v2/schedules/${encodeURIComponent(id)}`), scheduleAnswer)).schedule.name;
    },
    /** The person's shifts right now on the rule's schedules (the final entries: overrides applied). */
    async shiftsOf(email: string, rule: OnCallRule, now: Date, name: (id: string) => Promise<string>): Promise<OnCallShift[]> {
      const shifts = await Promise.all((rule.schedules ?? []).map(async (scheduleId) => {
        const target = url('v2/schedule_entries');
        target.searchParams.set('schedule_id', scheduleId);
        target.searchParams.set('entry_window_start', now.toISOString());
        target.searchParams.set('entry_window_end', new Date(now.getTime() + 1000).toISOString());
        const { schedule_entries } = await get(target, entriesAnswer);
        const mine = schedule_entries.final.filter((item) =>
          item.user?.email?.toLowerCase() === email.toLowerCase() && new Date(item.start_at) <= now && new Date(item.end_at) > now);
        if (mine.length === 0) return [];
        const scheduleName = await name(scheduleId);
        return mine.map((item): OnCallShift => ({ name: scheduleName, scheduleId, until: new Date(item.end_at) }));
      }));
      return shifts.flat();
    },
    async activeIncidents(): Promise<OpenIncident[]> {
      const target = url('v2/incidents');
      target.searchParams.set('status_category[one_of]', 'active');
      target.searchParams.set('page_size', '25');
      const { incidents } = await get(target, incidentsAnswer);
      return incidents.map((incident) => ({ label: incident.reference, title: incident.name }));
    },
  };
}
