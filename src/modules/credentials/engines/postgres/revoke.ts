import { conflict, targetUnavailable } from '../../../../lib/errors.js';
import type { RevokeResult, Target } from '../../credential-types.js';
import { where } from '../../target-text.js';
import { run } from './failure.js';
import { postgresDropEmptyGroups } from './group-statements.js';
import { NOT_OURS_SQLSTATE, lastResult, touchedDatabases } from './markers.js';
import type { GatedPool, Pools, Queryable } from './pool.js';
import { terminateSessions } from './sessions.js';
import { postgresDropOwned, postgresRevokeFinish, postgresRevokeFinishMany, postgresRevokeStart, postgresRevokeStartMany } from './statements.js';

/** Revocations of one target sent together at most (see revokeInBatches). */
const MAX_BATCH = 50;

/**
 * Revocation: one user in two round trips (postgresRevokeStart, postgresRevokeFinish), or, when many
 * of one target are due at once, a batch of them in two round trips for all.
 */
export function createRevoker({ install, pools }: { install: string; pools: Pick<Pools, 'poolFor' | 'inDatabase'> }) {
  const { poolFor, inDatabase } = pools;

  /** Revokes one user (see postgresRevokeStart and postgresRevokeFinish). */
  function revokeOne(target: Target, username: string): Promise<RevokeResult> {
    return run(target, `Revoking ${username}`, async () => {
      const admin = await poolFor(target).connect();
      let broken: Error | undefined;
      /** A failed string leaves its transaction aborted; the connection goes back clean or not at all. */
      const rollback = () =>
        admin.query('ROLLBACK').then(
          () => undefined,
          (error: Error) => {
            broken = error;
          },
        );
      try {
        // Round trip 1: ours? -> NOLOGIN (committed) -> terminate every session.
        let role: { oid: string | null; touched: string[]; killed: number[]; groups: string[]; lastMember: boolean };
        try {
          role = lastResult(await admin.query<typeof role>(postgresRevokeStart(install, username))).rows[0]!;
        } catch (error) {
          await rollback();
          if ((error as { code?: unknown }).code === NOT_OURS_SQLSTATE) {
            throw conflict(`The role ${username} on ${target.entry.id} was not created by this dbaccess install; it was left untouched.`);
          }
          throw error;
        }
        if (role.oid === null) return { existed: false, sessionsKilled: 0 };
        const oid = role.oid;
        const killed = new Set<number>(role.killed);
        // Terminated backends take a moment to exit: wait until they are really gone.
        if (killed.size > 0) for (const pid of await terminateSessions(target, admin, oid, username)) killed.add(pid);

        let touched = role.touched;
        for (let attempt = 1; ; attempt++) {
          let check: { left: boolean; pids: number[]; emptyGroups: string[] };
          try {
            // Objects and privileges in every other database the role touched, or DROP ROLE fails (2BP01).
            for (const database of touched.filter((name) => name !== target.entry.database)) {
              await inDatabase(target, database, admin, (db) => db.query(postgresDropOwned(username)));
            }
            // Round trip 2: objects, privileges and the role in the target's database; then verify.
            check = lastResult(await admin.query<typeof check>(postgresRevokeFinish(install, username, oid, role))).rows[0]!;
          } catch (error) {
            await rollback();
            // Dropped meanwhile by someone else (a second process revoking the same user, a person):
            // what was asked is done.
            if ((error as { code?: unknown }).code === '42704' && !broken && !(await stillThere(admin, oid))) {
              return { existed: true, sessionsKilled: killed.size };
            }
            // A session that lived long enough to create something elsewhere: look again, once.
            if ((error as { code?: unknown }).code !== '2BP01' || attempt >= 2 || broken) throw error;
            const again = await admin.query<{ touched: string[] }>(`SELECT ${touchedDatabases('$1::oid')} AS touched`, [oid]);
            touched = again.rows[0]!.touched;
            continue;
          }
          // A session that slipped in during authentication would still run under the dropped role's id.
          if (check.pids.length > 0) {
            for (const pid of check.pids) killed.add(pid);
            for (const pid of await terminateSessions(target, admin, oid, username)) killed.add(pid);
          }
          if (check.left) throw targetUnavailable(`${username} still exists on ${where(target)} after DROP ROLE; revocation will be retried.`);
          await dropEmptyGroups(target, admin, check.emptyGroups).catch(async () => rollback());
          return { existed: true, sessionsKilled: killed.size };
        }
      } finally {
        admin.release(broken);
      }
    });
  }

  async function stillThere(admin: Queryable, oid: string): Promise<boolean> {
    const { rows } = await admin.query<{ there: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE oid = $1::oid) AS there', [oid]);
    return rows[0]!.there;
  }

  /**
   * Round trip 3, rarely: access groups left without a dbaccess user (their last two members were
   * revoked at the same time, each seeing the other; or the group owns objects in another database,
   * which are then reassigned and dropped there, as a user's are). The user is gone either way; a
   * failure here leaves a group that lends nothing, for the reconciler.
   */
  async function dropEmptyGroups(target: Target, admin: Queryable, groups: string[]): Promise<void> {
    if (groups.length === 0) return;
    const kept = lastResult(await admin.query<{ oid: string; name: string; touched: string[] }>(postgresDropEmptyGroups(install, groups))).rows;
    if (kept.length === 0) return;
    for (const group of kept) {
      for (const database of group.touched.filter((name) => name !== target.entry.database)) {
        await inDatabase(target, database, admin, (db) => db.query(postgresDropOwned(group.name)));
      }
    }
    const still = lastResult(await admin.query<{ name: string }>(postgresDropEmptyGroups(install, kept.map(({ oid }) => oid)))).rows;
    if (still.length > 0) {
      throw targetUnavailable(`The access group ${still[0]!.name} on ${where(target)} still owns objects after they were reassigned; it lends nothing, and the reconciler will try again.`);
    }
  }

  /**
   * Revokes many users of one target in two round trips (see postgresRevokeStartMany and
   * postgresRevokeFinishMany): sessions waited out and other databases cleaned per user, as for one.
   * Throws when the batch as a whole fails; the caller then revokes them one by one.
   */
  async function revokeMany(target: Target, usernames: string[]): Promise<Map<string, RevokeResult | Error>> {
    const admin = await poolFor(target).connect();
    let broken: Error | undefined;
    try {
      let started: Array<{ username: string; oid: string | null; touched: string[]; killed: number[]; groups: string[]; lastMember: boolean }>;
      try {
        started = lastResult(await admin.query<(typeof started)[number]>(postgresRevokeStartMany(install, usernames))).rows;
      } catch (error) {
        await admin.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      }
      const results = new Map<string, RevokeResult | Error>();
      const live: Array<{ username: string; oid: string; killed: Set<number>; groups: string[]; lastMember: boolean }> = [];
      for (const row of started) {
        if (row.oid === null) {
          results.set(row.username, { existed: false, sessionsKilled: 0 });
          continue;
        }
        const killed = new Set<number>(row.killed);
        if (killed.size > 0) for (const pid of await terminateSessions(target, admin, row.oid, row.username)) killed.add(pid);
        for (const database of row.touched.filter((name) => name !== target.entry.database)) {
          await inDatabase(target, database, admin, (db) => db.query(postgresDropOwned(row.username)));
        }
        live.push({ username: row.username, oid: row.oid, killed, groups: row.groups, lastMember: row.lastMember });
      }
      if (live.length === 0) return results;
      let checked: Array<{ username: string; left: boolean; pids: number[]; emptyGroups: string[] }>;
      try {
        checked = lastResult(await admin.query<(typeof checked)[number]>(postgresRevokeFinishMany(install, live))).rows;
      } catch (error) {
        await admin.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      }
      for (const row of checked) {
        const user = live.find((candidate) => candidate.username === row.username)!;
        if (row.pids.length > 0) {
          for (const pid of row.pids) user.killed.add(pid);
          for (const pid of await terminateSessions(target, admin, user.oid, user.username)) user.killed.add(pid);
        }
        results.set(
          user.username,
          row.left ? targetUnavailable(`${user.username} still exists on ${where(target)} after DROP ROLE; revocation will be retried.`) : { existed: true, sessionsKilled: user.killed.size },
        );
      }
      await dropEmptyGroups(target, admin, checked[0]?.emptyGroups ?? []).catch(async () => {
        await admin.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      });
      return results;
    } finally {
      admin.release(broken);
    }
  }

  /**
   * Revocations of one target queue here: as many run at once as the target's pool has connections,
   * and each connection takes every revocation waiting (up to MAX_BATCH) in one batch. A lone
   * revocation goes straight through; a mass expiry costs the target two transactions per batch
   * instead of two per user. A batch that fails as a whole is retried one by one, so each user gets
   * its own outcome.
   */
  const queues = new Map<GatedPool, { waiting: Array<{ username: string; done: (result: RevokeResult | Error) => void }>; running: number; size: number }>();

  function revokeInBatches(target: Target, username: string): Promise<RevokeResult> {
    const gated = poolFor(target);
    let queue = queues.get(gated);
    if (!queue) {
      queue = { waiting: [], running: 0, size: gated.size };
      queues.set(gated, queue);
    }
    const line = queue;
    return new Promise<RevokeResult>((resolve, reject) => {
      line.waiting.push({ username, done: (result) => (result instanceof Error ? reject(result) : resolve(result)) });
      pump(target, line);
    });
  }

  function pump(target: Target, queue: NonNullable<ReturnType<typeof queues.get>>): void {
    while (queue.running < queue.size && queue.waiting.length > 0) {
      const items = queue.waiting.splice(0, MAX_BATCH);
      queue.running++;
      void revokeItems(target, items).finally(() => {
        queue.running--;
        pump(target, queue);
      });
    }
  }

  async function revokeItems(target: Target, items: Array<{ username: string; done: (result: RevokeResult | Error) => void }>): Promise<void> {
    const names = [...new Set(items.map((item) => item.username))];
    const outcome = async (username: string) => revokeOne(target, username).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    let results: Map<string, RevokeResult | Error>;
    if (names.length === 1) {
      results = new Map([[names[0]!, await outcome(names[0]!)]]);
    } else {
      results = await run(target, `Revoking ${names.length} users`, () => revokeMany(target, names)).catch(async () => {
        const one = new Map<string, RevokeResult | Error>();
        for (const name of names) one.set(name, await outcome(name));
        return one;
      });
    }
    for (const item of items) item.done(results.get(item.username) ?? new Error(`No outcome for ${item.username}`));
  }

  return {
    revoke: revokeInBatches,
    dropEmptyGroups,
    /** Forgets the queues (the pools they belong to are closed). */
    clear: () => queues.clear(),
  };
}
