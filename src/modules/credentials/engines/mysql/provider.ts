import type { RowDataPacket } from 'mysql2/promise';
import { withTimeout } from '../../../../lib/async.js';
import { badInput, conflict, targetUnavailable } from '../../../../lib/errors.js';
import type { CredentialProvider } from '../../credential-types.js';
import { where } from '../../target-text.js';
import { checkUsername } from './connection.js';
import { type GrantOptionRow, MYSQL_GRANT_OPTIONS_QUERY, mysqlPlanGrants } from './grantable.js';
import { SYSTEM_DATABASES, type MysqlFlavor, classifyUsers, listUsersQuery, sessionsQuery } from './grants.js';
import { createProvisioner } from './provision.js';
import { createRevoker } from './revoke.js';
import { scopeDatabases } from './scope.js';
import { createAdminSessions } from './session.js';

export { connectionOptions } from './connection.js';
export { maxUserNameLength, mysqlUserName, type MysqlFlavor } from './grants.js';

const PING_TIMEOUT_MS = 3_000;

/**
 * Temporary users on MySQL 8 and MariaDB 10.11. DROP USER and ACCOUNT LOCK both leave open sessions
 * running, so revocation is: lock every host's account -> kill every connection of the user name and
 * wait until none is left -> drop -> verify.
 */
export function createMysqlProvider(options: { flavor: MysqlFlavor; installId: string; poolSize?: number | undefined; idleMillis?: number | undefined }): CredentialProvider {
  const { flavor, installId: install } = options;
  const sessions = createAdminSessions(options);
  const { withAdmin, run, query, accountsOf, killAndWait, databaseNames } = sessions;

  return {
    provision: createProvisioner(sessions),
    revoke: createRevoker(sessions),

    async extend(target, username, expiresAt) {
      checkUsername(target, username, flavor);
      if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
      // MySQL and MariaDB have no VALID UNTIL: the expiry rests on the revoke job and the sweep. Only
      // check that the user is still there, is ours and is not being revoked.
      await run(target, `Extending ${username}`, () =>
        withAdmin(target, async (db) => {
          const accounts = await accountsOf(db, username);
          if (accounts.length === 0 || accounts.some((account) => !account.ours || account.isRole)) {
            throw conflict(`${username} on ${target.entry.id} does not exist or was not created by this dbaccess install.`);
          }
          if (accounts.some((account) => account.locked)) throw conflict(`${username} on ${target.entry.id} is being revoked.`);
        }),
      );
    },

    async sessionCount(target, username) {
      checkUsername(target, username, flavor);
      return run(target, `Looking for sessions of ${username}`, () =>
        withAdmin(target, async (db) => (await query<RowDataPacket[]>(db, sessionsQuery(), [username])).length),
      );
    },

    async killSessions(target, username) {
      checkUsername(target, username, flavor);
      // No marker check: Vault-issued users are killed through here too.
      return run(target, `Ending the sessions of ${username}`, () => withAdmin(target, async (db) => (await killAndWait(target, db, username)).size));
    },

    async listUsers(target, prefixes) {
      // An empty prefix would list every account, the admin's included, to a reconciler that revokes them.
      if (prefixes.length === 0 || prefixes.some((prefix) => prefix.length === 0)) throw badInput('listUsers needs non-empty prefixes.');
      return run(target, 'Listing users', () =>
        withAdmin(target, async (db) => {
          const listing = listUsersQuery(flavor, { install, prefixes });
          const rows = await query<RowDataPacket[]>(db, listing.sql, listing.values);
          return classifyUsers(rows.map((row) => ({ name: String(row.name), marker: String(row.marker) })), install);
        }),
      );
    },

    async listObjects(target, scope) {
      return run(target, 'Reading the catalog', () =>
        withAdmin(target, async (db) => {
          // Only the entry's databases: names of other databases on the server are not the asker's to see.
          const allowed = new Set(scopeDatabases(target.entry));
          const schemas = (await databaseNames(db)).filter((name) => allowed.has(name));
          const tables = (
            await query<RowDataPacket[]>(
              db,
              `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
                WHERE TABLE_SCHEMA IN (?) AND TABLE_SCHEMA NOT IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME`,
              [[...allowed], [...SYSTEM_DATABASES]],
            )
          ).map((row) => ({ schema: String(row.db), table: String(row.name) }));
          const columns: Record<string, string[]> = {};
          for (const item of scope.filter((candidate) => candidate.table !== undefined && candidate.columns)) {
            const rows = await query<RowDataPacket[]>(
              db,
              'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
              [item.schema, item.table],
            );
            columns[`${item.schema}.${item.table}`] = rows.map((row) => String(row.name));
          }
          return { schemas, tables, columns };
        }),
      );
    },

    async grantable(target, request) {
      return run(target, 'Reading what the admin can grant', () =>
        withAdmin(target, async (db) => {
          const plan = mysqlPlanGrants({ ...request, database: target.entry.database, flavor }, (await query<RowDataPacket[]>(db, MYSQL_GRANT_OPTIONS_QUERY)) as unknown as GrantOptionRow[]);
          return { leftOut: plan.leftOut, nothingGrantable: plan.nothingGrantable };
        }),
      );
    },

    async listSchemas(target) {
      return run(target, 'Listing databases', () => withAdmin(target, databaseNames));
    },

    async ping(target) {
      await run(target, 'Ping', () =>
        withTimeout(
          withAdmin(target, (db) => query(db, 'SELECT 1')),
          PING_TIMEOUT_MS,
          () => targetUnavailable(`Cannot reach ${where(target)}: no answer within ${PING_TIMEOUT_MS / 1000} s.`),
        ),
      );
    },

    close: () => sessions.close(),
  };
}
