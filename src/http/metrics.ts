import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { asSystem } from '../modules/tenants/tenant-scope.js';

/**
 * Prometheus metrics. Gauges that describe stored state are read from the database at scrape time,
 * across tenants: as the system, by name (a scrape is no tenant's request).
 */
export function createMetrics(read: { requestsByState(): Promise<Array<{ state: string; count: number }>>; activeLeases(): Promise<number> }) {
  const registry = new Registry();
  new Gauge({
    name: 'dbaccess_requests',
    help: 'Access requests by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { state, count } of await asSystem('metrics', () => read.requestsByState())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'dbaccess_active_leases',
    help: 'Temporary database users that exist now',
    registers: [registry],
    async collect() {
      this.set(await asSystem('metrics', () => read.activeLeases()));
    },
  });
  const jobLatency = new Histogram({
    name: 'dbaccess_job_latency_seconds',
    help: 'From when a job was due to when it finished',
    labelNames: ['job', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const revocationFailures = new Counter({
    name: 'dbaccess_revocation_failures_total',
    help: 'Failed revocation attempts (each is retried)',
    registers: [registry],
  });
  return {
    registry,
    jobFinished(job: string, dueAt: number, ok: boolean) {
      jobLatency.observe({ job, outcome: ok ? 'completed' : 'failed' }, Math.max(0, Date.now() - dueAt) / 1000);
    },
    revocationFailed: () => revocationFailures.inc(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
