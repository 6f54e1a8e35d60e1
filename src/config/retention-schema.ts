import { z } from 'zod';
import { formatDuration, parseDuration } from '../lib/time.js';

/**
 * What history is kept and for how long, per kind. `forever` keeps it; a duration (`90d`, `2y` is
 * written `730d`) removes what finished longer ago than that. A kind cannot outlive what it belongs
 * to: a request's purge takes its decisions, lease, analyses, statements and summary with it.
 */
export const RETENTION_KINDS = ['requests', 'decisions', 'leases', 'analyses', 'summaries', 'queries'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/** Seconds, or null for forever. */
export type Retention = Record<RetentionKind, number | null>;

/** The kind each kind belongs to: it can be kept at most as long as its parent. */
const PARENT: Partial<Record<RetentionKind, RetentionKind>> = {
  decisions: 'requests', leases: 'requests', analyses: 'requests', summaries: 'leases', queries: 'leases',
};

const MIN_SECONDS = 86_400;

const keep = z
  .union([z.number(), z.string().max(20)])
  .transform((value, ctx) => {
    const text = String(value).trim().toLowerCase();
    if (text === 'forever') return null;
    const seconds = parseDuration(text);
    if (seconds === undefined || seconds < MIN_SECONDS) {
      ctx.addIssue({ code: 'custom', message: 'must be forever or a duration of at least 1d, such as 90d or 365d' });
      return z.NEVER;
    }
    return seconds;
  });

export const DEFAULT_RETENTION: Retention = { requests: null, decisions: null, leases: null, analyses: null, summaries: null, queries: 90 * 86_400 };

export const retentionSchema = z
  .strictObject(Object.fromEntries(RETENTION_KINDS.map((kind) => [kind, keep.optional()])) as Record<RetentionKind, z.ZodOptional<typeof keep>>)
  .optional()
  .transform((given): Retention => ({ ...DEFAULT_RETENTION, ...Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined)) }))
  .superRefine((retention, ctx) => {
    for (const kind of RETENTION_KINDS) {
      const parent = PARENT[kind];
      if (!parent) continue;
      const own = retention[kind];
      const limit = retention[parent];
      if (limit !== null && (own === null || own > limit)) {
        ctx.addIssue({
          code: 'custom', path: [kind],
          message: `cannot be kept longer than ${parent} (${formatDuration(limit)}): purging a ${parent.replace(/s$/, '')} removes its ${kind}; shorten it or keep ${parent} longer`,
        });
      }
    }
  });

/** `forever` or `90d`, for messages and reports. */
export const describeRetention = (seconds: number | null) => (seconds === null ? 'forever' : formatDuration(seconds));
