/**
 * Where the machine's CPU went while the load ran: how many cores the suite's own process (the load,
 * the fake Slack, the proxy), the dbaccess processes, the servers the suite started (state PostgreSQL,
 * Redis, the target servers) and everything else used, from /proc. Tells a load the machine cannot
 * carry from one dbaccess cannot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks a second (USER_HZ): 100 on Linux. */
const TICKS = 100;

interface Proc { ppid: number; ticks: number }

function processes(): Map<number, Proc> {
  const all = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command's closing parenthesis: state ppid ... utime(14) stime(15) cutime(16)
      // cstime(17), counted from 1. A server's children that ended (a closed connection's backend) are in
      // its cutime; the suite's are the dbaccess processes it killed, left out (they are not its own work).
      const pid = Number(entry);
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const children = pid === process.pid ? 0 : Number(fields[13]) + Number(fields[14]);
      all.set(pid, { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + children });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return all;
}

/** Busy and total ticks of the whole machine (all cores). */
function machine(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const idle = ticks[3]! + ticks[4]!;
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

type Kind = 'suite' | 'web' | 'worker' | 'servers' | 'other';

function byKind(all: Map<number, Proc>, apps: Map<number, 'web' | 'worker'>): Map<number, Kind> {
  const kinds = new Map<number, Kind>();
  const kindOf = (pid: number): Kind => {
    const known = kinds.get(pid);
    if (known) return known;
    let kind: Kind = 'other';
    if (pid === process.pid) kind = 'suite';
    else if (apps.has(pid)) kind = apps.get(pid)!;
    else {
      const parent = all.get(pid)?.ppid;
      // Descendants of an app process count as it; other descendants of the suite are its servers.
      if (parent !== undefined && parent > 1 && all.has(parent)) {
        const up = kindOf(parent);
        kind = up === 'suite' ? 'servers' : up;
      }
    }
    kinds.set(pid, kind);
    return kind;
  };
  for (const pid of all.keys()) kindOf(pid);
  return kinds;
}

/**
 * Starts counting now; `stop` gives the cores each kind used on average since. Not counted: processes
 * that died meanwhile without a parent that outlived them here (a killed dbaccess process), and the kernel.
 */
export function startCpuCount(apps: () => Array<{ pid: number; mode: 'web' | 'worker' }>) {
  const begun = { at: Date.now(), machine: machine(), procs: processes() };
  return {
    stop() {
      const seconds = (Date.now() - begun.at) / 1000;
      const now = machine();
      const procs = processes();
      const kinds = byKind(procs, new Map(apps().map((app) => [app.pid, app.mode])));
      const used: Record<Kind, number> = { suite: 0, web: 0, worker: 0, servers: 0, other: 0 };
      for (const [pid, proc] of procs) used[kinds.get(pid) ?? 'other'] += proc.ticks - (begun.procs.get(pid)?.ticks ?? 0);
      const cores = (ticks: number) => Number((ticks / TICKS / seconds).toFixed(2));
      return {
        seconds: Math.round(seconds),
        cores: os.cpus().length,
        busyCores: Number(((now.busy - begun.machine.busy) / (now.total - begun.machine.total) * os.cpus().length).toFixed(2)),
        byKind: Object.fromEntries(Object.entries(used).map(([kind, ticks]) => [kind, cores(ticks)])) as Record<Kind, number>,
      };
    },
  };
}
