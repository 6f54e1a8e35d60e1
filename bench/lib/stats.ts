/** Percentiles and the result rows the bench prints and saves. */

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  return {
    n,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: n === 0 ? Number.NaN : Math.max(...samples),
    mean: n === 0 ? Number.NaN : samples.reduce((a, b) => a + b, 0) / n,
  };
}

export type Verdict = 'pass' | 'FAIL' | 'info';

/**
 * The bench's one verdict rule (bench/README.md and the README's Benchmarks state it in these words):
 * a figure against a baseline (a floor: the same statements sent as directly as they can be) is judged
 * on the ratio of the medians, p50 over p50; the p99 ratio is reported and not judged (on a shared
 * 2-core machine the second-slowest of a few hundred round trips lands on either side of 1). A latency
 * target is judged at the percentile it names (`p99 < 100 ms` at p99), and every sample must succeed.
 */
export function againstFloor(subject: Summary, floor: Summary, limit: number): { ratio: number; p99Ratio: number; pass: boolean } {
  const ratio = subject.p50 / floor.p50;
  return { ratio, p99Ratio: subject.p99 / floor.p99, pass: subject.n > 0 && floor.n > 0 && ratio <= limit };
}

export interface ResultRow {
  scenario: string;
  backend: 'redis' | 'postgres';
  /** What was measured, in words (the table shows it under the scenario). */
  metric: string;
  n: number;
  /** Milliseconds; NaN when not applicable. */
  p50: number;
  p99: number;
  max: number;
  /** The target in words, or '-' for an informational row. */
  target: string;
  verdict: Verdict;
  /** Anything else worth keeping: failures, breakdowns, counts. */
  notes?: string;
  extra?: Record<string, unknown>;
}

export const ms = (value: number): string => (Number.isNaN(value) ? '-' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value.toFixed(value < 10 ? 1 : 0)} ms`);

/** A fixed-width text table. */
export function table(rows: readonly ResultRow[]): string {
  const header = ['scenario', 'backend', 'metric', 'n', 'p50', 'p99', 'max', 'target', 'result'];
  const body = rows.map((row) => [row.scenario, row.backend, row.metric, String(row.n), ms(row.p50), ms(row.p99), ms(row.max), row.target, row.verdict]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((line) => line[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column >= 3 && column <= 6 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ');
  const out = [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)];
  const notes = rows.filter((row) => row.notes).map((row) => `  ${row.scenario}/${row.backend} ${row.metric}: ${row.notes}`);
  return [...out, ...(notes.length > 0 ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** One figure over the repetitions of a run (BENCH_REPEAT=k): the median and range of each of its numbers. */
export interface Repeated {
  scenario: string;
  backend: ResultRow['backend'];
  metric: string;
  target: string;
  /** Runs that gave the figure, and how many of them passed by the one rule. */
  runs: number;
  passes: number;
  n: number;
  p50: { median: number; min: number; max: number };
  p99: { median: number; min: number; max: number };
  max: { median: number; min: number; max: number };
}

const spread = (values: number[]) => {
  const seen = values.filter((value) => !Number.isNaN(value));
  if (seen.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...seen].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  // The median proper (the mean of the middle two for an even count: of 2 runs, their mean, not the lower).
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
};

/** Groups the rows of k runs by scenario, backend and metric (in the order they first appear). */
export function repeatSummary(runs: readonly (readonly ResultRow[])[]): Repeated[] {
  const groups = new Map<string, ResultRow[]>();
  for (const run of runs) {
    for (const row of run) {
      const key = `${row.scenario}\u0000${row.backend}\u0000${row.metric}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
  }
  return [...groups.values()].map((rows) => ({
    scenario: rows[0]!.scenario,
    backend: rows[0]!.backend,
    metric: rows[0]!.metric,
    target: rows[0]!.target,
    runs: rows.length,
    passes: rows.filter((row) => row.verdict === 'pass').length,
    n: rows.reduce((sum, row) => sum + row.n, 0),
    p50: spread(rows.map((row) => row.p50)),
    p99: spread(rows.map((row) => row.p99)),
    max: spread(rows.map((row) => row.max)),
  }));
}

export function repeatTable(repeated: readonly Repeated[]): string {
  const cell = (x: { median: number; min: number; max: number }) => (Number.isNaN(x.median) ? '-' : `${ms(x.median)} [${ms(x.min)}-${ms(x.max)}]`);
  const header = ['scenario', 'metric', 'runs', 'n (all runs)', 'p50', 'p99', 'max', 'target', 'passed'];
  const body = repeated.map((r) => [r.scenario, r.metric, String(r.runs), String(r.n), cell(r.p50), cell(r.p99), cell(r.max), r.target, r.target === '-' ? '-' : `${r.passes}/${r.runs}`]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((line) => line[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}
