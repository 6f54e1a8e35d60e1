import type { Queue } from 'bullmq';

/**
 * Makes room for the sweep's job `jobId`, whatever an earlier job with that id left behind; true when
 * the job must be added (again). BullMQ ignores an add whose id exists, so without this a job that
 * failed for good (kept under its id), or one left `active` by a worker that died, would block the
 * sweep until BullMQ's stalled check, or for ever.
 *
 * - missing: add it.
 * - waiting (or prioritized): it will run; nothing to do.
 * - delayed: a retry waiting out its backoff (at most 30 s) is left alone; a first run scheduled for
 *   later (a revocation planned for an expiry that has since been brought forward) is promoted to now.
 * - active, failed or completed: removed and added again, except that BullMQ refuses to remove a job
 *   whose lock a live worker holds (renewed every lockDuration / 2, see queue.ts): that one is running.
 *   A dead worker's job is taken over once its lock expires, at most lockDuration after the death.
 *
 * Races with another sweep or with the job itself can at worst add a job whose work is already done;
 * every job is safe to run twice. The same on both backends: each refuses to remove a locked job.
 */
export async function clearForTakeOver(queue: Queue, jobId: string): Promise<boolean> {
  const state = await queue.getJobState(jobId);
  switch (state) {
    case 'unknown':
      return true;
    case 'delayed': {
      const job = await queue.getJob(jobId);
      // Promotion fails if the job moved on meanwhile (it then runs anyway).
      if (job && job.attemptsMade === 0) await job.promote().catch(() => {});
      return false;
    }
    case 'active':
    case 'failed':
    case 'completed':
      return (await queue.remove(jobId)) === 1;
    default:
      return false;
  }
}
