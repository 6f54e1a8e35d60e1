/**
 * Memory and connections over time (issue 21, item 6): every 5 s, the RSS of each dbaccess process
 * (VmRSS of /proc/<pid>/status) and the state database's connections, counted per application_name
 * (pg_stat_activity) and per process kind (each connection's client port matched to its owning process
 * with `ss`). The report gives least-squares slopes: MB/min and connections/min.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type pg from 'pg';

const run = promisify(execFile);

export const SAMPLE_EVERY_MS = 5000;
/** A process's first minute (module loading, JIT, pools filling) is left out of its slope. */
export const WARM_UP_MS = 60_000;

export interface ProcessRef { name: string; mode: 'web' | 'worker'; pid: number; startedAt: number }

interface Sample { at: number; value: number }

/** Least-squares slope of value against time, per minute; undefined with fewer than 3 points. */
export function slopePerMinute(samples: Sample[]): number | undefined {
  if (samples.length < 3) return undefined;
  const n = samples.length;
  const x = samples.map((s) => (s.at - samples[0]!.at) / 60_000);
  const meanX = x.reduce((a, b) => a + b, 0) / n;
  const meanY = samples.reduce((a, s) => a + s.value, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (x[i]! - meanX) * (samples[i]!.value - meanY);
    den += (x[i]! - meanX) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** Local port -> owning pid of the TCP connections to `port` on loopback. */
async function socketOwners(port: number): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  try {
    const { stdout } = await run('ss', ['-Htnp', 'state', 'established', `( dport = :${port} )`]);
    for (const line of stdout.split('\n')) {
      const local = /^\S+\s+\S+\s+\S+:(\d+)\s/.exec(line)?.[1];
      const pid = /pid=(\d+)/.exec(line)?.[1];
      if (local && pid) owners.set(Number(local), Number(pid));
    }
  } catch {
    // ss missing or refused: the per-kind connection counts stay empty, the per-application ones remain.
  }
  return owners;
}

export function startSampler(processes: () => ProcessRef[], state: pg.Pool, statePort: number) {
  /** RSS series per process instance (a process killed and restarted is a new instance). */
  const rss = new Map<string, { ref: ProcessRef; samples: Sample[] }>();
  /** Connection counts per application_name and per process kind, one point per sample. */
  const byApplication = new Map<string, Sample[]>();
  const byKind = new Map<string, Sample[]>();
  let samples = 0;
  let stopped = false;
  const once = async () => {
    const at = Date.now();
    const refs = processes();
    for (const ref of refs) {
      const value = rssMb(ref.pid);
      if (value === undefined) continue;
      const key = `${ref.name}:${ref.pid}`;
      const entry = rss.get(key) ?? { ref, samples: [] };
      entry.samples.push({ at, value });
      rss.set(key, entry);
    }
    const { rows } = await state.query<{ application_name: string; client_port: number | null; n: number }>(
      "SELECT application_name, client_port, count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1, 2");
    const apps = new Map<string, number>();
    for (const row of rows) apps.set(row.application_name || '(none)', (apps.get(row.application_name || '(none)') ?? 0) + row.n);
    for (const name of new Set([...apps.keys(), ...byApplication.keys()])) {
      const series = byApplication.get(name) ?? [];
      series.push({ at, value: apps.get(name) ?? 0 });
      byApplication.set(name, series);
    }
    const owners = await socketOwners(statePort);
    const kindOf = new Map(refs.map((ref) => [ref.pid, ref.mode]));
    const kinds = new Map<string, number>([['web', 0], ['worker', 0]]);
    for (const row of rows) {
      const kind = row.client_port !== null ? kindOf.get(owners.get(row.client_port) ?? -1) : undefined;
      if (kind) kinds.set(kind, kinds.get(kind)! + row.n);
    }
    for (const [kind, value] of kinds) {
      const series = byKind.get(kind) ?? [];
      series.push({ at, value });
      byKind.set(kind, series);
    }
    samples += 1;
  };
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + SAMPLE_EVERY_MS;
      await once().catch(() => undefined);
      while (!stopped && Date.now() < next) await new Promise((resolve) => setTimeout(resolve, Math.min(250, next - Date.now())));
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
    },
    /**
     * Slopes per process kind. RSS: the slope of each process instance that lived past its first minute
     * with at least 6 samples after it, then their median, min and max across instances of the kind.
     * Connections: the slope of the kind's total (all its processes' connections) over the run.
     */
    report() {
      const kinds = ['web', 'worker'] as const;
      type Memory = { instances: number; mbPerMinMedian?: number; mbPerMinMin?: number; mbPerMinMax?: number; rssMbLastMean?: number };
      type Connections = { perMin?: number; first?: number; last?: number; max: number };
      const memory: Record<string, Memory> = Object.fromEntries(kinds.map((kind) => {
        const slopes: number[] = [];
        const last: number[] = [];
        for (const { ref, samples: series } of rss.values()) {
          if (ref.mode !== kind) continue;
          const warm = series.filter((s) => s.at - ref.startedAt >= WARM_UP_MS);
          const slope = warm.length >= 6 ? slopePerMinute(warm) : undefined;
          if (slope !== undefined) slopes.push(slope);
          if (series.length) last.push(series.at(-1)!.value);
        }
        slopes.sort((a, b) => a - b);
        return [kind, {
          instances: slopes.length,
          mbPerMinMedian: round(slopes[Math.floor(slopes.length / 2)]),
          mbPerMinMin: round(slopes[0]),
          mbPerMinMax: round(slopes.at(-1)),
          rssMbLastMean: round(last.length ? last.reduce((a, b) => a + b, 0) / last.length : undefined, 1),
        }];
      }));
      const connections: Record<string, Connections> = Object.fromEntries([...byKind].map(([kind, series]) => [kind, {
        perMin: round(slopePerMinute(series)), first: series[0]?.value, last: series.at(-1)?.value, max: Math.max(...series.map((s) => s.value)),
      }]));
      const applications: Record<string, Connections> = Object.fromEntries([...byApplication].map(([name, series]) => [name, {
        perMin: round(slopePerMinute(series)), first: series[0]?.value, last: series.at(-1)?.value, max: Math.max(...series.map((s) => s.value)),
      }]));
      return { samples, everyMs: SAMPLE_EVERY_MS, memory, connections, applications };
    },
  };
}

function round(value: number | undefined, digits = 3): number | undefined {
  return value === undefined ? undefined : Number(value.toFixed(digits));
}
