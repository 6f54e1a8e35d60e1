import type { RowDataPacket } from 'mysql2/promise';
import { badInput, conflict, targetUnavailable } from '../../../../lib/errors.js';
import type { ProvisionResult, ProvisionSpec, Target } from '../../credential-types.js';
import { databasesOutside } from '../../scope-bounds.js';
import { where } from '../../target-text.js';
import { checkSpec, checkUsername, userLockName } from './connection.js';
import { type GrantOptionRow, MYSQL_GRANT_OPTIONS_QUERY, mysqlPlanGrants } from './grantable.js';
import {
  alterUserStatement, createByGrantStatement, createUserStatement, dropUserStatement, lockStatement, mariadbBlock, markStatements,
  mysqlGrantStatements, nativePasswordHash, releaseLockStatement, revokeAllStatement, unmarkedHost,
} from './grants.js';
import { scopeDatabases } from './scope.js';
import type { AdminSessions } from './session.js';

/**
 * Creates the user on every allowed host with exactly the spec's grants, or brings an existing one of
 * this install (a retried job) to exactly that spec. DDL cannot be rolled back: an attempt that fails
 * drops the accounts it created.
 */
export function createProvisioner(sessions: AdminSessions) {
  const { flavor, install, withAdmin, run, query, underUserLock } = sessions;
  return async function provision(target: Target, spec: ProvisionSpec): Promise<ProvisionResult> {
    checkUsername(target, spec.username, flavor);
    const hosts = checkSpec(target, spec);
    // The form refuses it; this holds even if the catalog narrowed the entry after the request.
    const outside = databasesOutside(target.entry.id, scopeDatabases(target.entry), spec.scope);
    if (outside) throw badInput(outside);
    const passwordHash = nativePasswordHash(spec.password);
    const limit = target.entry.connectionLimit;
    // The server accepts GRANT ... ON missing_db.* silently (it would start working once someone creates
    // the database): refuse instead. A database named only through its tables needs no look-up: a
    // GRANT on a table of a missing database is refused by the server itself (1146).
    const scope = spec.scope.length > 0 ? spec.scope : [{ schema: target.entry.database }];
    const databases = [...new Set(scope.filter((item) => item.table === undefined).map((item) => item.schema))];

    return run(
      target,
      `Provisioning ${spec.username}`,
      () =>
        withAdmin(target, async (db) => {
          // What the admin may grant (grantable.ts): databases without grant option are left out.
          const plan = mysqlPlanGrants({ ...spec, database: target.entry.database, flavor }, (await query<RowDataPacket[]>(db, MYSQL_GRANT_OPTIONS_QUERY)) as unknown as GrantOptionRow[]);
          if (plan.nothingGrantable) throw badInput(`Nothing in this scope can be granted on ${where(target)}: ${plan.leftOut.join('; ')}.`);
          return underUserLock(target, db, spec.username, databases, async (locked) => {
            const { accounts: existing, missing, wildcards } = locked;
            if (missing.length > 0) throw badInput(`The database ${missing[0]} does not exist on ${where(target)}.`);
            if (existing.some((account) => !account.ours || account.isRole)) {
              throw conflict(`A user named ${spec.username} already exists on ${target.entry.id} and was not created by this dbaccess install; it was left untouched.`);
            }
            if (existing.some((account) => account.locked)) {
              // Only revocation locks our accounts: never undo it.
              throw conflict(`${spec.username} on ${target.entry.id} is locked by a revocation; it was not re-enabled.`);
            }

            const statements: string[] = [];
            /** What to send, in order; `creates` is the host whose account the step creates. */
            const steps: Array<{ sql: string; creates?: string }> = [];
            const known = new Set(existing.map((account) => account.host.toLowerCase()));
            for (const [index, host] of hosts.entries()) {
              const account = { flavor, install, username: spec.username, host, passwordHash, maxUserConnections: limit };
              const grants = mysqlGrantStatements({
                level: spec.level,
                privileges: spec.privileges,
                scope: plan.scope,
                database: target.entry.database,
                username: spec.username,
                host,
                flavor,
                wildcardDatabaseNames: wildcards,
              });
              const isNew = !known.has(host.toLowerCase());
              let pending = grants;
              if (!isNew) {
                // A retried job: new password, and privileges an earlier spec gave are dropped.
                const reset = revokeAllStatement(spec.username, host);
                steps.push({ sql: alterUserStatement(account) }, { sql: reset });
                statements.push(reset);
              } else if (flavor === 'mariadb' && grants.length > 0) {
                // The account was checked absent under the lock: its first GRANT creates it.
                steps.push({ sql: createByGrantStatement(grants[0]!, account), creates: host });
                statements.push(grants[0]!);
                pending = grants.slice(1);
              } else {
                steps.push({ sql: createUserStatement(account), creates: host });
              }
              // A new account, or one made before install ids (its lease is ours): this install's marker.
              if (flavor === 'mariadb' && (isNew || !existing.find((other) => other.host.toLowerCase() === host.toLowerCase())?.marked)) {
                // MySQL 8 keeps the marker in the ATTRIBUTE of CREATE USER and ALTER USER.
                steps.push(...markStatements(install, spec.username, host, index).map((sql) => ({ sql })));
              }
              steps.push(...pending.map((grant) => ({ sql: grant })));
              statements.push(...pending);
            }
            // Hosts an earlier spec allowed and this one does not.
            const stale = existing.map((account) => account.host).filter((host) => !hosts.some((wanted) => wanted.toLowerCase() === host.toLowerCase()));
            if (stale.length > 0) steps.push({ sql: lockStatement(spec.username, stale) }, { sql: dropUserStatement(spec.username, stale) });

            const created: string[] = [];
            try {
              if (flavor === 'mariadb') {
                // One round trip for all of it, the lock's release included. A failure does not say
                // which accounts the block had created by then: drop (IF EXISTS) every one it would
                // create, all of them absent under the lock.
                created.push(...steps.flatMap((step) => (step.creates === undefined ? [] : [step.creates])));
                await query(db, mariadbBlock([...steps.map((step) => step.sql), releaseLockStatement(userLockName(spec.username))]));
                locked.released = true;
              } else {
                for (const step of steps) {
                  await query(db, step.sql);
                  if (step.creates !== undefined) created.push(step.creates);
                }
              }
              return { statements, leftOut: plan.leftOut };
            } catch (error) {
              // DDL cannot be rolled back: remove what this attempt created, so a failure leaves no
              // half-granted user behind. (Accounts of an earlier attempt stay for the retry.)
              if (created.length > 0) await query(db, dropUserStatement(spec.username, created)).catch(() => {});
              const unmarked = unmarkedHost(error);
              if (unmarked !== undefined) {
                throw targetUnavailable(`Could not mark ${spec.username}@${hosts[unmarked] ?? '?'} on ${where(target)} as a dbaccess user.`);
              }
              throw error;
            }
          });
        }),
      [passwordHash],
    );
  };
}
