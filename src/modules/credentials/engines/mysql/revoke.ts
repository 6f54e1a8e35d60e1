import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { conflict, targetUnavailable } from '../../../../lib/errors.js';
import type { RevokeResult, Target } from '../../credential-types.js';
import { where } from '../../target-text.js';
import { ER_CANNOT_USER_REFERENCED_AS_DEFINER, checkUsername, errnoOf, userLockName } from './connection.js';
import { droppedCheckQuery, dropUserStatement, killUserStatement, lockStatement, mariadbBlock } from './grants.js';
import type { AdminSessions } from './session.js';

/**
 * Revocation. DROP USER and ACCOUNT LOCK both leave open sessions running, so it is: drop every
 * host's account (no new logins, and open sessions lose its privileges at once) -> kill every
 * connection of the user name and wait until none is left -> verify.
 */
export function createRevoker(sessions: AdminSessions) {
  const { flavor, withAdmin, run, query, underUserLock, killAndWait } = sessions;
  return async function revoke(target: Target, username: string): Promise<RevokeResult> {
    checkUsername(target, username, flavor);
    return run(target, `Revoking ${username}`, () =>
      withAdmin(target, (db) =>
        underUserLock(target, db, username, [], async (locked) => {
          const { accounts } = locked;
          if (accounts.length === 0) {
            // Already dropped (by an earlier attempt, or by hand); DROP USER leaves sessions running,
            // so end any that are left under the name.
            return { existed: false, sessionsKilled: (await killAndWait(target, db, username)).size };
          }
          if (accounts.some((account) => !account.ours || account.isRole)) {
            throw conflict(`The user ${username} on ${target.entry.id} was not created by this dbaccess install; it was left untouched.`);
          }
          const hosts = accounts.map((account) => account.host);

          // 1. Drop every host's account. That blocks new logins (and COM_CHANGE_USER into it) as
          //    ACCOUNT LOCK would, and more: open sessions lose the account's privileges at once
          //    (they are checked per statement), where a locked account keeps them until killed.
          //    On MariaDB the verification of step 2 rides in the same round trip (a block).
          const lockName = userLockName(username);
          let check: RowDataPacket | undefined;
          try {
            if (flavor === 'mariadb') {
              const results = await query<RowDataPacket[]>(db, mariadbBlock([dropUserStatement(username, hosts), droppedCheckQuery(flavor, { username, lockName })]));
              check = (results[0] as unknown as RowDataPacket[])[0];
            } else {
              await query(db, dropUserStatement(username, hosts));
            }
          } catch (error) {
            // Not dropped: still no new logins and no sessions, then the retry.
            await query(db, lockStatement(username, hosts)).catch(() => {});
            await killAndWait(target, db, username).catch(() => {});
            if (errnoOf(error) === ER_CANNOT_USER_REFERENCED_AS_DEFINER) {
              throw targetUnavailable(
                `${username} on ${where(target)} is locked and has no sessions left, but MySQL refuses to drop it because it is the DEFINER of stored objects (views, routines, triggers or events). Drop those objects, or give the admin account SET_USER_ID (8.0) or ALLOW_NONEXISTENT_DEFINER (8.2+); revocation will be retried.`,
              );
            }
            throw error;
          }
          // 2. Verify, in one look-up that also releases the user lock: no account left under the
          //    name, on any host, and no session (DROP USER leaves open sessions running): end those
          //    and wait until they are gone.
          check ??= (await query<RowDataPacket[]>(db, droppedCheckQuery(flavor), [username, username, lockName]))[0];
          locked.released = true;
          let killed = 0;
          if (check?.sessions) {
            const ended = flavor === 'mariadb' ? (await query<ResultSetHeader>(db, killUserStatement(username))).affectedRows : 0;
            killed = Math.max(ended, (await killAndWait(target, db, username)).size);
          }
          if (Number(check?.accounts ?? 0) > 0) {
            throw targetUnavailable(`${username} still exists on ${where(target)} after DROP USER; revocation will be retried.`);
          }
          return { existed: true, sessionsKilled: killed };
        }),
      ),
    );
  };
}
