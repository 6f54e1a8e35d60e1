import { startDouble, type OnCallDouble } from './fake-oncall-server.js';

/**
 * PagerDuty's REST API v2 on loopback, for what dbaccess reads (as documented on
 * developer.pagerduty.com): `GET /users?query=` (matches email or name), `GET /oncalls` filtered by
 * `user_ids[]`, `schedule_ids[]`, `escalation_policy_ids[]` (each list narrows; ids within a list are
 * alternatives), current on-calls when no window is given, with `user`, `schedule` (null for a direct
 * escalation rule), `escalation_policy` references, `escalation_level`, `start`, `end`; and `GET
 * /incidents` by `statuses[]` and `service_ids[]`. Auth: `Authorization: Token token=<key>`, else 401
 * `{"error":{"message":"Invalid Credentials","code":2006}}`. Lists come wrapped with limit/offset/more/total.
 */

export interface PdUser { id: string; name: string; email: string }
export interface PdOnCall {
  userId: string;
  schedule?: { id: string; name: string } | undefined;
  policy: { id: string; name: string };
  level: number;
  start: Date;
  /** Undefined: always on call. */
  end?: Date | undefined;
}
export interface PdIncident { id: string; number: number; title: string; status: 'triggered' | 'acknowledged' | 'resolved'; serviceId: string }

export interface FakePagerDuty extends OnCallDouble {
  users: PdUser[];
  oncalls: PdOnCall[];
  incidents: PdIncident[];
  /** The double's clock for "now" (default the real one). */
  now: () => Date;
  callsTo(path: string): OnCallDouble['calls'];
}

const reference = (type: string, id: string, summary: string) => ({ id, type: `${type}_reference`, summary, self: `https://api.pagerduty.com/${type}s/${id}`, html_url: `https://acme.pagerduty.com/${type}s/${id}` });
const page = <T>(key: string, items: T[]) => ({ [key]: items, limit: 25, offset: 0, more: false, total: null });

export async function startFakePagerDuty({ token }: { token: string }): Promise<FakePagerDuty> {
  const state = { users: [] as PdUser[], oncalls: [] as PdOnCall[], incidents: [] as PdIncident[], now: () => new Date() };
  const double = await startDouble((call) => {
    if (call.authorization !== `Token token=${token}`) return { status: 401, body: { error: { message: 'Invalid Credentials', code: 2006 } } };
    if (call.path === '/users') {
      const query = (call.query.get('query') ?? '').toLowerCase();
      const users = fake.users.filter((user) => user.email.toLowerCase().includes(query) || user.name.toLowerCase().includes(query));
      return { status: 200, body: page('users', users.map((user) => ({ ...reference('user', user.id, user.name), type: 'user', name: user.name, email: user.email, time_zone: 'Etc/UTC' }))) };
    }
    if (call.path === '/oncalls') {
      const now = fake.now();
      const users = call.query.getAll('user_ids[]');
      const schedules = call.query.getAll('schedule_ids[]');
      const policies = call.query.getAll('escalation_policy_ids[]');
      const found = fake.oncalls
        .filter((entry) => entry.start <= now && (!entry.end || entry.end > now))
        .filter((entry) => users.length === 0 || users.includes(entry.userId))
        .filter((entry) => schedules.length === 0 || (entry.schedule && schedules.includes(entry.schedule.id)))
        .filter((entry) => policies.length === 0 || policies.includes(entry.policy.id));
      return {
        status: 200,
        body: page('oncalls', found.map((entry) => {
          const user = fake.users.find((candidate) => candidate.id === entry.userId);
          return {
            user: reference('user', entry.userId, user?.name ?? entry.userId),
            schedule: entry.schedule ? reference('schedule', entry.schedule.id, entry.schedule.name) : null,
            escalation_policy: reference('escalation_policy', entry.policy.id, entry.policy.name),
            escalation_level: entry.level,
            start: entry.start.toISOString(),
            end: entry.end ? entry.end.toISOString() : null,
          };
        })),
      };
    }
    if (call.path === '/incidents') {
      const statuses = call.query.getAll('statuses[]');
      const services = call.query.getAll('service_ids[]');
      const found = fake.incidents
        .filter((incident) => statuses.length === 0 || statuses.includes(incident.status))
        .filter((incident) => services.length === 0 || services.includes(incident.serviceId));
      return {
        status: 200,
        body: page('incidents', found.map((incident) => ({
          ...reference('incident', incident.id, `[#${incident.number}] ${incident.title}`), type: 'incident',
          incident_number: incident.number, title: incident.title, status: incident.status, urgency: 'high',
          service: reference('service', incident.serviceId, incident.serviceId), created_at: new Date(fake.now().getTime() - 600_000).toISOString(),
        }))),
      };
    }
    return { status: 404, body: { error: { message: 'Not Found', code: 2100 } } };
  });
  const fake: FakePagerDuty = Object.assign(double, state, {
    callsTo: (path: string) => double.calls.filter((call) => call.path === path),
  });
  return fake;
}
