import { z } from 'zod';
import type { JobPayloads } from '../modules/job-port.js';

const requestId = z.object({ requestId: z.string().regex(/^R[0-9A-Z]{9}$/) });
const leaseId = z.object({ leaseId: z.uuid() });
const analysisId = z.object({ analysisId: z.uuid() });
const none = z.object({}).strict();
const databaseId = z.object({ databaseId: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/) });

/** Never give up: revocation and card updates retry for as long as it takes (with alerts). */
// The PostgreSQL backend stores attempts as a 32-bit integer.
export const FOREVER = 2_147_483_647;

/**
 * Every job of the domain's port (src/modules/job-port.ts): payload schema (ids only, never secrets), attempts and how long one run may take.
 * Backoff is exponential from 1 s, capped at 30 s (see queue.ts).
 */
export const JOBS = {
  checkRequest: { schema: requestId, attempts: 10, timeoutMs: 30_000 },
  /** Model calls: bounded by their own timeout, so a few attempts with margin are enough. */
  analyzeDraft: { schema: analysisId, attempts: 3, timeoutMs: 30_000 },
  analyzeRequest: { schema: requestId, attempts: 5, timeoutMs: 30_000 },
  syncCard: { schema: requestId, attempts: 20, timeoutMs: 15_000 },
  notifyRequester: { schema: requestId, attempts: 10, timeoutMs: 15_000 },
  notifyChanges: { schema: requestId, attempts: 10, timeoutMs: 15_000 },
  provision: { schema: requestId, attempts: FOREVER, timeoutMs: 60_000 },
  notifyExtended: { schema: leaseId, attempts: 10, timeoutMs: 15_000 },
  alertBreakGlass: { schema: requestId, attempts: 20, timeoutMs: 15_000 },
  deliver: { schema: leaseId, attempts: 20, timeoutMs: 15_000 },
  revoke: { schema: leaseId, attempts: FOREVER, timeoutMs: 60_000 },
  /** One look at the target's sessions; the sweep asks again while the lease waits for its first login. */
  watchFirstLogin: { schema: leaseId, attempts: 1, timeoutMs: 15_000 },
  expireRequest: { schema: requestId, attempts: 10, timeoutMs: 15_000 },
  summarize: { schema: leaseId, attempts: 10, timeoutMs: 120_000 },
  ticketComment: { schema: leaseId, attempts: 10, timeoutMs: 30_000 },
  /** Reads a target's log for the statements of its temporary users; the sweep enqueues it again soon. */
  collectQueries: { schema: databaseId, attempts: 3, timeoutMs: 120_000 },
  sweep: { schema: none, attempts: 1, timeoutMs: 60_000 },
  reconcile: { schema: none, attempts: 1, timeoutMs: 300_000 },
  /** Streams new audit events to the configured sinks (file, SIEM endpoint); resumes from its cursors. */
  exportAudit: { schema: none, attempts: 1, timeoutMs: 60_000 },
  /** Signs each tenant's audit chain head (a checkpoint) when it moved. */
  checkpointAudit: { schema: none, attempts: 1, timeoutMs: 60_000 },
  /** Removes history past its retention (catalog `retention:`), recorded in the audit log. */
  purgeHistory: { schema: none, attempts: 3, timeoutMs: 300_000 },
  /** Tells the approvers that someone left and what was revoked and cancelled (ids only). */
  notifyOffboarded: {
    schema: z.object({
      tenantId: z.uuid(), userId: z.uuid(), source: z.enum(['slack', 'teams', 'cli']),
      ended: z.array(z.string().regex(/^R[0-9A-Z]{9}$/)).max(500), cancelled: z.array(z.string().regex(/^R[0-9A-Z]{9}$/)).max(500), failed: z.array(z.string().regex(/^R[0-9A-Z]{9}$/)).max(500),
    }),
    attempts: 10,
    timeoutMs: 15_000,
  },
} as const satisfies { [N in keyof JobPayloads]: { schema: z.ZodType<JobPayloads[N]>; attempts: number; timeoutMs: number } };

export type JobName = keyof typeof JOBS;
export type JobData<N extends JobName> = z.infer<(typeof JOBS)[N]['schema']>;

export type { Enqueue, EnqueueOptions } from '../modules/job-port.js';
