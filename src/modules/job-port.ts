/**
 * The jobs the domain asks for, as a port: each job's name and payload (ids only, never secrets) and
 * how to enqueue it. Modules depend on this type; src/jobs/job-catalog.ts implements it (its payload
 * schemas must produce exactly these types, or it does not compile) and the queue runs it.
 */

type RequestJob = { requestId: string };
type LeaseJob = { leaseId: string };
type NoPayload = Record<string, never>;

export interface JobPayloads {
  checkRequest: RequestJob;
  analyzeDraft: { analysisId: string };
  analyzeRequest: RequestJob;
  syncCard: RequestJob;
  notifyRequester: RequestJob;
  /** The requester is told what an approver changed, and why. */
  notifyChanges: RequestJob;
  provision: RequestJob;
  notifyExtended: LeaseJob;
  alertBreakGlass: RequestJob;
  deliver: LeaseJob;
  revoke: LeaseJob;
  /** The first-login clock: looks for a session of the lease's user (lease-timing.ts). */
  watchFirstLogin: LeaseJob;
  expireRequest: RequestJob;
  summarize: LeaseJob;
  /** The session summary as a comment on the request's verified ticket (modules/tickets). */
  ticketComment: LeaseJob;
  collectQueries: { databaseId: string };
  sweep: NoPayload;
  reconcile: NoPayload;
  exportAudit: NoPayload;
  checkpointAudit: NoPayload;
  purgeHistory: NoPayload;
  notifyOffboarded: {
    tenantId: string;
    userId: string;
    source: 'slack' | 'teams' | 'cli';
    ended: string[];
    cancelled: string[];
    failed: string[];
  };
}

export type JobName = keyof JobPayloads;
export type JobData<N extends JobName> = JobPayloads[N];

export interface EnqueueOptions {
  /** Deterministic id: a duplicate enqueue returns the existing job. No `:` allowed. */
  jobId?: string;
  delayMs?: number;
  /**
   * Runs after every job that is not `later` (BullMQ priority): what follows a revocation (the card,
   * the summary) waits while revocations are queued, so a mass expiry drops users first and tells people next.
   */
  later?: boolean;
  /**
   * The sweep's re-add (with `jobId`): acts whatever state an earlier job with this id is in. One that
   * is waiting, retrying after its backoff or running under a live worker is left alone; one scheduled
   * for later runs now; one that failed for good, finished, or was running under a worker that died
   * (its lock expired) is replaced by a new one. See src/jobs/take-over.ts.
   */
  takeOver?: boolean;
}

/** The check of a new request, and its first card job: one of each at a time, whoever adds it (the service or the sweep). */
export const checkJobId = (requestId: string) => `check-${requestId}`;
export const cardJobId = (requestId: string) => `card-${requestId}`;

export type Enqueue = <N extends JobName>(name: N, data: JobData<N>, options?: EnqueueOptions) => Promise<void>;

/** Jobs added together in one round trip (BullMQ addBulk): no `takeOver` (that looks at each job first). */
export type EnqueueMany = (jobs: Array<{ [N in JobName]: { name: N; data: JobData<N>; options?: Omit<EnqueueOptions, 'takeOver'> } }[JobName]>) => Promise<void>;
