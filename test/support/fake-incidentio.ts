import { startDouble, type OnCallDouble } from './fake-oncall-server.js';

/**
 * incident.io's API v2 on loopback, for what dbaccess reads (api-docs.incident.io): `GET
 * /v2/schedules/{id}` (`{schedule: {id, name, timezone, …}}`, 404 when unknown), `GET
 * /v2/schedule_entries?schedule_id=&entry_window_start=&entry_window_end=` (`{schedule_entries:
 * {final, overrides, scheduled}, pagination_meta}`, entries with `start_at`, `end_at`, `user: {id,
 * name, email, role, slack_user_id}`; final = overrides applied) and `GET
 * /v2/incidents?status_category[one_of]=active` (`{incidents: [{id, reference: "INC-87", name,
 * incident_status: {category}}]}`). Auth: `Authorization: Bearer <key>`, else 401.
 */

export interface IoEntry { userId: string; name: string; email: string; start: Date; end: Date }
export interface IoSchedule { id: string; name: string; entries: IoEntry[] }
export interface IoIncident { id: string; reference: string; name: string; category: 'triage' | 'active' | 'post-incident' | 'closed' }

export interface FakeIncidentIo extends OnCallDouble {
  schedules: IoSchedule[];
  incidents: IoIncident[];
  callsTo(path: string): OnCallDouble['calls'];
}

export async function startFakeIncidentIo({ token }: { token: string }): Promise<FakeIncidentIo> {
  const double = await startDouble((call) => {
    if (call.authorization !== `Bearer ${token}`) return { status: 401, body: { type: 'authentication_error', status: 401, request_id: 'x', errors: [{ code: 'unauthenticated', message: 'Invalid API key' }] } };
    const scheduleMatch = /^\/v2\/schedules\/([^/]+)$/.exec(call.path);
    if (scheduleMatch) {
      const schedule = fake.schedules.find((candidate) => candidate.id === decodeURIComponent(scheduleMatch[1]!));
      if (!schedule) return { status: 404, body: { type: 'not_found', status: 404, errors: [{ code: 'not_found', message: 'Schedule not found' }] } };
      return { status: 200, body: { schedule: { id: schedule.id, name: schedule.name, timezone: 'UTC', created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', team_ids: [] } } };
    }
    if (call.path === '/v2/schedule_entries') {
      const schedule = fake.schedules.find((candidate) => candidate.id === call.query.get('schedule_id'));
      if (!schedule) return { status: 404, body: { type: 'not_found', status: 404, errors: [{ code: 'not_found', message: 'Schedule not found' }] } };
      const from = new Date(call.query.get('entry_window_start') ?? 0);
      const to = new Date(call.query.get('entry_window_end') ?? 8.64e15);
      const entries = schedule.entries.filter((entry) => entry.start < to && entry.end > from).map((entry) => ({
        entry_id: `${schedule.id}-${entry.userId}`, fingerprint: 'f', layer_id: 'L1', rotation_id: 'R1',
        start_at: entry.start.toISOString(), end_at: entry.end.toISOString(),
        user: { id: entry.userId, name: entry.name, email: entry.email, role: 'responder', slack_user_id: '' },
      }));
      return { status: 200, body: { schedule_entries: { final: entries, overrides: [], scheduled: entries }, pagination_meta: { after: null, after_url: null } } };
    }
    if (call.path === '/v2/incidents') {
      const categories = call.query.getAll('status_category[one_of]');
      const found = fake.incidents.filter((incident) => categories.length === 0 || categories.includes(incident.category));
      return {
        status: 200,
        body: {
          incidents: found.map((incident) => ({ id: incident.id, reference: incident.reference, name: incident.name, incident_status: { id: 's', name: incident.category, category: incident.category } })),
          pagination_meta: { after: null, page_size: 25, total_record_count: found.length },
        },
      };
    }
    return { status: 404, body: { type: 'not_found', status: 404, errors: [{ code: 'not_found', message: 'Not found' }] } };
  });
  const fake: FakeIncidentIo = Object.assign(double, { schedules: [] as IoSchedule[], incidents: [] as IoIncident[], callsTo: (path: string) => double.calls.filter((call) => call.path === path) });
  return fake;
}
