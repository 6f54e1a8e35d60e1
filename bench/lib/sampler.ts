import { performance } from 'node:perf_hooks';
import pg from 'pg';

/**
 * A poor man's profiler for "where does the time go": samples pg_stat_activity on the state and the
 * target cluster every `intervalMs` and counts, per server, what the app's sessions are doing (active
 * on which statement, waiting on which lock or I/O, idle in a transaction); and measures how busy the
 * Node event loop (app, fake Slack and bench share it) was over the same period.
 */
export class ActivitySampler {
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private clients: Array<{ name: string; client: pg.Client; databases: string[] }> = [];
  private elu = performance.eventLoopUtilization();

  constructor(private readonly servers: Array<{ name: string; url: string }>, private readonly intervalMs = 100) {}

  async start(): Promise<void> {
    // pg_stat_activity shows the whole cluster: one session per cluster (host:port) reads all its databases.
    const clusters = new Map<string, { name: string; url: string; databases: string[] }>();
    for (const server of this.servers) {
      const url = new URL(server.url);
      const key = `${server.name}@${url.host}`;
      const cluster = clusters.get(key) ?? { name: server.name, url: server.url, databases: [] };
      cluster.databases.push(url.pathname.slice(1));
      clusters.set(key, cluster);
    }
    for (const cluster of clusters.values()) {
      const client = new pg.Client({ connectionString: cluster.url, application_name: 'dbaccess-bench-sampler' });
      client.on('error', () => {});
      await client.connect();
      this.clients.push({ name: cluster.name, client, databases: cluster.databases });
    }
    this.elu = performance.eventLoopUtilization();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const { name, client, databases } of this.clients) {
        const { rows } = await client.query<{ what: string; n: number }>(
          `SELECT concat_ws(' | ', state, nullif(concat_ws(':', wait_event_type, wait_event), ''),
                   CASE WHEN state = 'active' OR state LIKE 'idle in%' THEN left(regexp_replace(query, '\\s+', ' ', 'g'), 60) END) AS what,
                  count(*)::int AS n
             FROM pg_stat_activity
            WHERE application_name = 'dbaccess' AND datname = ANY($1::text[]) AND state IS NOT NULL AND state <> 'idle'
            GROUP BY 1`,
          [databases],
        );
        for (const row of rows) this.counts.set(`${name}: ${row.what}`, (this.counts.get(`${name}: ${row.what}`) ?? 0) + row.n);
      }
      this.samples += 1;
    } catch {
      // best effort
    } finally {
      this.busy = false;
    }
  }

  /** Average number of sessions in each (server, state, wait, statement), most first. */
  async stop(top = 8): Promise<{ samples: number; eventLoopUtilization: number; top: Array<{ what: string; avgSessions: number }> }> {
    if (this.timer) clearInterval(this.timer);
    const elu = performance.eventLoopUtilization(this.elu).utilization;
    await Promise.all(this.clients.map(({ client }) => client.end().catch(() => {})));
    const entries = [...this.counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    return {
      samples: this.samples,
      eventLoopUtilization: elu,
      top: entries.map(([what, n]) => ({ what, avgSessions: this.samples > 0 ? Number((n / this.samples).toFixed(2)) : 0 })),
    };
  }
}

export function describeProfile(profile: Awaited<ReturnType<ActivitySampler['stop']>>): string {
  const parts = profile.top.slice(0, 5).map((entry) => `${entry.avgSessions} x [${entry.what}]`);
  return `Node event loop ${(profile.eventLoopUtilization * 100).toFixed(0)}% busy; avg sessions: ${parts.join('; ') || 'none busy'}`;
}
