import { escapeIdentifier, escapeLiteral } from 'pg';
import { withTimeout } from '../../../../lib/async.js';
import { badInput, conflict, targetUnavailable } from '../../../../lib/errors.js';
import type { CredentialProvider } from '../../credential-types.js';
import { where } from '../../target-text.js';
import { checkUsername, run } from './failure.js';
import { type CatalogObject, planGrants, postgresCatalogQuery, privilegeNeeds } from './grantable.js';
import { EMPTY_GROUPS_QUERY } from './group-statements.js';
import { ROLE_MARKER, USER_IS_OURS, checkInstall, groupMarker, roleMarker } from './markers.js';
import { createPools } from './pool.js';
import { createProvisioner } from './provision.js';
import { createRevoker } from './revoke.js';
import { schemaNames, terminateSessions } from './sessions.js';
import { KILL_SESSIONS_QUERY, USERS_QUERY } from './statements.js';

export { withDatabase } from './pool.js';
export { GROUP_MARKER, ROLE_MARKER, groupMarker, roleMarker } from './markers.js';

const PING_TIMEOUT_MS = 3_000;

/**
 * Temporary users on PostgreSQL: roles marked with this install's id, whose grants are held by a
 * shared access group, revoked in batches per target. `installId`: this install's id (the state
 * database's), carried by every role the provider creates; it touches no role that carries another
 * install's.
 */
export function createPostgresProvider(options: { installId: string; poolSize?: number | undefined; idleMillis?: number | undefined }): CredentialProvider {
  const install = checkInstall(options.installId);
  const pools = createPools(options);
  const { poolFor } = pools;
  const revoker = createRevoker({ install, pools });
  const provision = createProvisioner({ install, pools });

  return {
    provision,

    async revoke(target, username) {
      checkUsername(username);
      return revoker.revoke(target, username);
    },

    async extend(target, username, expiresAt) {
      checkUsername(username);
      if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
      await run(target, `Extending ${username}`, async () => {
        const admin = poolFor(target);
        const found = await admin.query<{ ours: boolean }>(`SELECT ${USER_IS_OURS('r.oid', install)} AS ours FROM pg_roles r WHERE r.rolname = $1`, [username]);
        if (!found.rows[0]?.ours) throw conflict(`${username} on ${target.entry.id} does not exist or was not created by this dbaccess install.`);
        // Only the expiry moves: same password, open sessions untouched.
        await admin.query(`ALTER ROLE ${escapeIdentifier(username)} VALID UNTIL ${escapeLiteral(expiresAt.toISOString())}`);
      });
    },

    async sessionCount(target, username) {
      checkUsername(username);
      return run(target, `Looking for sessions of ${username}`, async () => {
        // By the role's oid (the function under pg_stat_activity, as revocation looks them up).
        const { rows } = await poolFor(target).query<{ count: number }>(
          'SELECT count(*)::int AS count FROM pg_stat_get_activity(NULL) a WHERE a.usesysid = to_regrole(quote_ident($1))::oid AND a.pid <> pg_backend_pid()',
          [username],
        );
        return rows[0]?.count ?? 0;
      });
    },

    async killSessions(target, username) {
      checkUsername(username);
      return run(target, `Ending the sessions of ${username}`, async () => {
        const admin = poolFor(target);
        // One round trip when there is nothing to wait for: the look-up and the termination together.
        const found = (await admin.query<{ oid: string | null; pids: number[] }>(KILL_SESSIONS_QUERY, [username])).rows[0]!;
        const killed = new Set<number>(found.pids);
        // Terminated backends take a moment to exit: wait, by the same criterion, until none is left.
        if (killed.size > 0) for (const pid of await terminateSessions(target, admin, found.oid, username)) killed.add(pid);
        return killed.size;
      });
    },

    async listUsers(target, prefixes) {
      // An empty prefix would list every role, the admin's included, to a reconciler that revokes them.
      if (prefixes.length === 0 || prefixes.some((prefix) => prefix.length === 0)) throw badInput('listUsers needs non-empty prefixes.');
      return run(target, 'Listing users', async () => {
        // starts_with compares literally; LIKE would need `_` and `%` escaped. Only users by their
        // marker: access groups (another marker) go with the lease of their last member.
        const { rows } = await poolFor(target).query<{ rolname: string; ours: boolean }>(USERS_QUERY, [prefixes, roleMarker(install), ROLE_MARKER]);
        return { ours: rows.filter((row) => row.ours).map((row) => row.rolname), legacy: rows.filter((row) => !row.ours).map((row) => row.rolname) };
      });
    },

    async dropEmptyGroups(target, prefixes) {
      if (prefixes.length === 0 || prefixes.some((prefix) => prefix.length === 0)) throw badInput('dropEmptyGroups needs non-empty prefixes.');
      return run(target, 'Dropping access groups without members', async () => {
        const admin = await poolFor(target).connect();
        let broken: Error | undefined;
        try {
          const { rows } = await admin.query<{ oid: string; name: string }>(EMPTY_GROUPS_QUERY, [prefixes, groupMarker(install)]);
          if (rows.length === 0) return [];
          const oids = rows.map(({ oid }) => oid);
          await revoker.dropEmptyGroups(target, admin, oids).catch(async (error: unknown) => {
            await admin.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
            throw error;
          });
          // A group a new member joined in the meantime was rightly kept.
          const left = await admin.query<{ oid: string }>('SELECT oid::text AS oid FROM pg_roles WHERE oid = ANY ($1::oid[])', [oids]);
          const kept = new Set(left.rows.map(({ oid }) => oid));
          return rows.filter(({ oid }) => !kept.has(oid)).map(({ name }) => name);
        } finally {
          admin.release(broken);
        }
      });
    },

    async listObjects(target, scope) {
      return run(target, 'Reading the catalog', async () => {
        const db = poolFor(target);
        const schemas = await schemaNames(db);
        const { rows: tables } = await db.query<{ schema: string; table: string }>(
          `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1::text[]) ORDER BY 1, 2`,
          [schemas],
        );
        const columns: Record<string, string[]> = {};
        for (const item of scope.filter((candidate) => candidate.table && candidate.columns)) {
          const { rows } = await db.query<{ name: string }>(
            `SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
            [item.schema, item.table],
          );
          columns[`${item.schema}.${item.table}`] = rows.map((row) => row.name);
        }
        return { schemas, tables, columns };
      });
    },

    async grantable(target, request) {
      return run(target, 'Reading what the admin can grant', async () => {
        const { rows } = await poolFor(target).query<CatalogObject>(postgresCatalogQuery(privilegeNeeds(request.level, request.privileges), request.scope));
        const plan = planGrants(request.scope, rows);
        return { leftOut: plan.leftOut, nothingGrantable: Boolean(plan.refusal) || plan.nothingNamed };
      });
    },

    async listSchemas(target) {
      return run(target, 'Listing schemas', () => schemaNames(poolFor(target)));
    },

    async ping(target) {
      await run(target, 'Ping', () =>
        withTimeout(poolFor(target).query('SELECT 1'), PING_TIMEOUT_MS, () =>
          targetUnavailable(`Cannot reach ${where(target)}: no answer within ${PING_TIMEOUT_MS / 1000} s.`),
        ),
      );
    },

    async close() {
      revoker.clear();
      await pools.close();
    },
  };
}
