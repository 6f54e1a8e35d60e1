import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { badInput, configError, conflict } from '../../../../lib/errors.js';
import { postgresCaptureCheckQuery, postgresRoleCaptureReset, postgresRoleCaptureStatements } from './capture-sql.js';
import type { ProvisionResult, ProvisionSpec, Target } from '../../credential-types.js';
import { scrubTarget, where } from '../../target-text.js';
import { checkSpec, checkUsername, run } from './failure.js';
import { type CatalogObject, planGrants, postgresCatalogQuery, privilegeNeeds, scopeFingerprint } from './grantable.js';
import { postgresAccessGroup, postgresAccessStatements } from './grants.js';
import { postgresGroupGuard, postgresJoinGroup } from './group-statements.js';
import { GRANTS_LOCK, GROUP_NOT_OURS_SQLSTATE, groupComment, roleMarker } from './markers.js';
import type { Pools } from './pool.js';
import { scramSha256Verifier } from './scram.js';
import { postgresProvisionStart, resetStatements } from './statements.js';

/**
 * Creates the user with exactly the spec's grants, or brings an existing one of this install (a
 * retried job) to exactly that spec: the role, its access group and its grants in one transaction.
 */
export function createProvisioner({ install, pools }: { install: string; pools: Pick<Pools, 'poolFor'> }) {
  const { poolFor } = pools;
  return async function provision(target: Target, spec: ProvisionSpec): Promise<ProvisionResult> {
    checkUsername(spec.username);
    checkSpec(target, spec);
    // PBKDF2 runs on libuv's thread pool: computed while the first round trip is on the wire.
    const verifierPending = scramSha256Verifier(spec.password);
    verifierPending.catch(() => {});
    const user = escapeIdentifier(spec.username);

    return run(target, `Provisioning ${spec.username}`, async () => {
      // Roles are cluster-wide, so the role and the grants share one session in the target's
      // database and one transaction: a failing grant leaves neither a role nor half its grants.
      const client = await poolFor(target).connect();
      let broken: Error | undefined;
      // GRANT without the right to grant is only a warning (01007) and grants nothing: treat it as failure.
      const notGranted: string[] = [];
      const onNotice = (notice: { code?: string | undefined; message?: string | undefined }) => {
        if (notice.code === '01007') notGranted.push(notice.message ?? 'no privileges were granted');
      };
      client.on('notice', onNotice);
      let committed = false;
      const prefix = spec.prefix ?? 'dba_';
      const group = postgresAccessGroup({ prefix, install, database: target.entry.database, level: spec.level, privileges: spec.privileges, scope: spec.scope });
      let groupState: 'missing' | 'ours' | 'foreign' | undefined;
      let leftOut: string[] = [];
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            notGranted.length = 0;
            // Round trip 1: BEGIN, this user's lock, and what exists (the role, the schemas, the access group; what capture needs).
            const captureCheck = spec.capture !== undefined ? postgresCaptureCheckQuery(spec.capture) : undefined;
            const catalogQuery = postgresCatalogQuery(privilegeNeeds(spec.level, spec.privileges), spec.scope);
            const results = (await client.query(postgresProvisionStart(install, spec.username, captureCheck, group, catalogQuery))) as unknown as pg.QueryResult[];
            const state = results[2]!.rows[0] as {
              adminSuper: boolean; exists: boolean; ours: boolean; marked: boolean; roleSuper: boolean; schemas: string[];
              version: number; groupState: 'missing' | 'ours' | 'foreign'; groupFingerprint: string; otherGroups: string[];
            };
            groupState = group ? state.groupState : undefined;
            if (state.exists && (!state.ours || state.roleSuper)) {
              throw conflict(`A role named ${spec.username} already exists on ${target.entry.id} and was not created by this dbaccess install; it was left untouched.`);
            }
            if (groupState === 'foreign') throw Object.assign(new Error('the access group is not ours'), { code: GROUP_NOT_OURS_SQLSTATE });
            // Query capture is set on the role itself, in the same transaction: no user without it.
            const problem = captureCheck ? (results[3]!.rows[0] as { problem: string | null } | undefined)?.problem : null;
            if (problem) throw configError(`Statements on ${where(target)} cannot be recorded with ${spec.capture}: ${problem}.`);
            const catalog = results.at(-1)!.rows as CatalogObject[];
            const plan = planGrants(spec.scope, catalog);
            // Nothing of what was asked can be granted: a permanent refusal, with what was left out and why.
            if (plan.refusal || plan.nothingNamed) throw badInput(`Nothing in this scope can be granted on ${where(target)}: ${plan.leftOut.join('; ')}.`);
            leftOut = plan.leftOut;
            const verifier = await verifierPending;
            const access = postgresAccessStatements({
              plan: plan.schemas,
              prefix,
              install,
              level: spec.level,
              privileges: spec.privileges,
              scope: spec.scope,
              database: target.entry.database,
              username: spec.username,
              schemas: state.schemas,
            });
            const attributes = [
              'LOGIN',
              `PASSWORD ${escapeLiteral(verifier)}`,
              `VALID UNTIL ${escapeLiteral(spec.expiresAt.toISOString())}`,
              `CONNECTION LIMIT ${target.entry.connectionLimit}`,
              // A member uses its group's privileges without SET ROLE; a user without a group is a member of nothing.
              `NOSUPERUSER NOCREATEDB NOCREATEROLE ${access.group ? 'INHERIT' : 'NOINHERIT'} NOREPLICATION NOBYPASSRLS`,
            ].join(' ');

            const statements: string[] = [];
            // Grant changes on one database are serialized (concurrent ones fail with "tuple concurrently updated").
            // A missing group is created by the guard (which checks again under the lock).
            const batch = [GRANTS_LOCK, ...(access.group && groupState === 'missing' ? [postgresGroupGuard(install, access.group)] : [])];
            if (state.exists) {
              // A retried job: bring the role to exactly this spec, dropping privileges an earlier spec gave.
              batch.push(`ALTER ROLE ${user} ${attributes}`);
              // A user made before install ids (its lease is ours): it gets this install's marker.
              if (!state.marked) batch.push(`COMMENT ON ROLE ${user} IS ${escapeLiteral(roleMarker(install))}`);
              statements.push(...resetStatements(target.entry.database, user, state.schemas));
            } else {
              batch.push(`CREATE ROLE ${user} ${attributes}`, `COMMENT ON ROLE ${user} IS ${escapeLiteral(roleMarker(install))}`);
            }
            statements.push(...access.grants, ...(access.membership ? [access.membership] : []));
            if (spec.capture !== undefined) {
              statements.push(...(state.exists ? [postgresRoleCaptureReset(user)] : []), ...postgresRoleCaptureStatements(spec.capture, user));
            }
            // An access group of ours already granted on this very scope (the same objects, owners and
            // grantability: grantable.ts) is only joined: its grants stand, and granting again writes a
            // catalog row per object. Any other is granted, and keeps the fingerprint it was granted for.
            const fingerprint = access.group ? scopeFingerprint(catalog) : undefined;
            const regrant = !access.group || groupState !== 'ours' || state.groupFingerprint !== fingerprint;
            const grants = new Set(access.grants);
            // From PostgreSQL 16 the membership comes without SET ROLE; a retried user in another group
            // leaves it (a block). The audit records the plain GRANT.
            const join = (membership: string) =>
              state.otherGroups.length > 0 ? postgresJoinGroup(install, spec.username, access.group!) : state.version >= 160000 ? `${membership} WITH INHERIT TRUE, SET FALSE` : membership;
            batch.push(
              ...statements.flatMap((statement) => {
                if (grants.has(statement)) return regrant ? [statement] : [];
                if (statement !== access.membership) return [statement];
                const stamp = regrant ? [`COMMENT ON ROLE ${escapeIdentifier(access.group!)} IS ${escapeLiteral(groupComment(install, fingerprint!))}`] : [];
                return [...stamp, join(statement)];
              }),
            );
            // A retried user whose grant no longer uses a group (admin) leaves the ones it was in.
            if (!access.group) batch.push(...state.otherGroups.map((other) => `REVOKE ${escapeIdentifier(other)} FROM ${user}`));
            // A superuser grants as the owner, who always holds every grant option: no 01007 can come,
            // so the COMMIT rides along; nor can it when no object is granted (a reused group: a role
            // membership fails outright or not at all). Any other admin's grants are checked before committing.
            const commitNow = state.adminSuper || !regrant;
            // Round trip 2 (and 3 for a non-superuser admin).
            await client.query(commitNow ? [...batch, 'COMMIT'].join(';\n') : batch.join(';\n'));
            committed = commitNow;
            if (notGranted.length > 0) {
              throw configError(
                `The admin account of ${where(target)} may not grant this (${scrubTarget(target, notGranted[0]!)}). Give it ownership or grant options on the objects in scope.`,
              );
            }
            if (!committed) {
              await client.query('COMMIT');
              committed = true;
            }
            return { statements, leftOut };
          } catch (error) {
            if (!committed) {
              await client.query('ROLLBACK').catch((rollbackError: Error) => {
                broken = rollbackError;
              });
            }
            if ((error as { code?: unknown }).code === GROUP_NOT_OURS_SQLSTATE) {
              throw conflict(`A role named ${group} exists on ${target.entry.id} but is not an access group dbaccess made, or was changed (a login, an attribute, a membership); nothing was granted.`);
            }
            // The group was dropped (its last member revoked) between the two round trips: once more.
            if ((error as { code?: unknown }).code === '42704' && groupState === 'ours' && attempt === 1 && !broken) continue;
            throw error;
          }
        }
      } finally {
        client.off('notice', onNotice);
        client.release(broken);
      }
    });
  };
}
