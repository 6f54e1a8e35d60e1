import { sleep } from '../../../../lib/async.js';
import { targetUnavailable } from '../../../../lib/errors.js';
import type { Target } from '../../credential-types.js';
import { where } from '../../target-text.js';
import type { Queryable } from './pool.js';

/** How long revocation waits for terminated sessions to disappear before it gives up (and is retried). */
const SESSION_WAIT_MS = 10_000;
const POLL_MS = 50;

export async function schemaNames(db: Queryable): Promise<string[]> {
  // starts_with, not LIKE 'pg_%': in LIKE the underscore is a wildcard and would hide e.g. "pgsales".
  const { rows } = await db.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
      WHERE NOT starts_with(nspname, 'pg_') AND nspname <> 'information_schema'
      ORDER BY nspname`,
  );
  return rows.map((row) => row.nspname);
}

/**
 * Terminates every backend of the role and waits until none is left; returns the pids seen. By oid
 * when the role exists; when it is already gone, every session left without a role.
 */
export async function terminateSessions(target: Target, db: Queryable, oid: string | null, username: string): Promise<Set<number>> {
  const seen = new Set<number>();
  const deadline = Date.now() + SESSION_WAIT_MS;
  let attempt = 0;
  for (;;) {
    const { rows } = await db.query<{ pid: number }>(
      `SELECT pid, pg_terminate_backend(pid) AS terminated
         FROM pg_stat_get_activity(NULL)
        WHERE pid <> pg_backend_pid()
          AND (usesysid = $1::oid
               -- Once a role is dropped (by Vault, say) its sessions lose their name: only an oid
               -- that no role has any more is left. Such a session can only be an orphan.
               OR ($1 IS NULL AND usesysid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = usesysid)))`,
      [oid],
    );
    if (rows.length === 0) return seen;
    for (const row of rows) seen.add(row.pid);
    if (Date.now() > deadline) {
      throw targetUnavailable(
        `${rows.length} session(s) of ${username} on ${where(target)} were still running ${SESSION_WAIT_MS / 1000} s after being terminated; the user can no longer log in, and revocation will be retried.`,
      );
    }
    // Backends usually exit within milliseconds: look again soon, then less often.
    await sleep(Math.min(POLL_MS, 5 * 2 ** Math.min(attempt++, 4)));
  }
}
