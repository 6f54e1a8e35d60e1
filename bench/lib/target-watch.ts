import pg from 'pg';
import { SERVICES } from '../../test/support/services.js';

export interface Watched {
  username: string;
  /** Backend pid of the requester's open session. */
  pid: number;
  expiresAt: number;
}

export interface Observed {
  /** Date.now() when a poll first came back without the role in pg_roles. */
  roleGoneAt: number;
  /** Date.now() when a poll first came back without the session's backend in pg_stat_activity. */
  sessionGoneAt: number;
}

/**
 * Watches the target cluster for roles being dropped and sessions being killed: one poll every
 * `intervalMs` for everything watched, on one connection of its own. A time is the moment the answer
 * came back, so it over-states the lag by at most one interval plus one round trip.
 */
export class TargetWatch {
  private readonly entries = new Map<string, Watched & Partial<Observed> & { resolve: (o: Observed) => void }>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  polls = 0;

  constructor(private readonly prefix: string, private readonly intervalMs = 20) {}

  async start(): Promise<void> {
    this.client = new pg.Client({ connectionString: SERVICES.targetPg, application_name: 'dbaccess-bench-watch' });
    this.client.on('error', () => {});
    await this.client.connect();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  watch(item: Watched): Promise<Observed> {
    return new Promise((resolve) => this.entries.set(item.username, { ...item, resolve }));
  }

  private async poll(): Promise<void> {
    if (this.polling || this.entries.size === 0 || !this.client) return;
    this.polling = true;
    try {
      const pids = [...this.entries.values()].map((entry) => entry.pid);
      const [roles, sessions] = await Promise.all([
        this.client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [this.prefix]),
        this.client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids]),
      ]);
      const at = Date.now();
      this.polls += 1;
      const liveRoles = new Set(roles.rows.map((row) => row.rolname));
      const livePids = new Set(sessions.rows.map((row) => row.pid));
      for (const [name, entry] of this.entries) {
        if (entry.roleGoneAt === undefined && !liveRoles.has(name)) entry.roleGoneAt = at;
        if (entry.sessionGoneAt === undefined && !livePids.has(entry.pid)) entry.sessionGoneAt = at;
        if (entry.roleGoneAt !== undefined && entry.sessionGoneAt !== undefined) {
          this.entries.delete(name);
          entry.resolve({ roleGoneAt: entry.roleGoneAt, sessionGoneAt: entry.sessionGoneAt });
        }
      }
    } catch {
      // a failed poll is simply retried at the next tick
    } finally {
      this.polling = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.client?.end().catch(() => {});
  }
}
