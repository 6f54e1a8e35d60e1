import { escapeIdentifier, escapeLiteral } from 'pg';
import { dropUsersAndEmptyGroups, emptyGroupsOf, groupsOf } from './group-statements.js';
import {
  GRANTS_LOCK, GROUP_FINGERPRINT_OF, GROUP_IS_OURS, GROUP_MARKER_OF, MARKER_OF, NOT_OURS_SQLSTATE, USER_IS_OURS, groupMarker, oidArray, roleMarker, textArray, touchedDatabases,
} from './markers.js';

/*
 * Sessions are looked up in pg_stat_get_activity(NULL), the function under the pg_stat_activity view
 * (which joins pg_database and pg_authid as well): the same backends, pid and usesysid, at a third of
 * the cost per look-up.
 *
 * Each round trip costs more than the statements it carries, so provision and revoke send their
 * statements as a few simple-query strings: one string is one round trip, statements run in order,
 * and the first error stops the rest. Simple queries take no bind parameters: every name and value
 * below goes through escapeIdentifier / escapeLiteral (format('%I') inside the DO block).
 */

/**
 * Provision, round trip 1: opens the transaction, takes this user's lock (two attempts of one job
 * must not both CREATE the role) and reads, under it, what the rest depends on: the third result
 * has one row: adminSuper, exists, ours (this install's or adopted), marked (this install's),
 * roleSuper, schemas, version, groupState, groupFingerprint, otherGroups. `check`, a query of one row with a
 * column `problem` (the capture check), rides along as the fourth.
 */
export function postgresProvisionStart(install: string, username: string, check?: string, group?: string, catalog?: string): string {
  const name = escapeLiteral(username);
  const groupName = escapeLiteral(group ?? '');
  return [
    'BEGIN',
    `SELECT pg_advisory_xact_lock(hashtext(${escapeLiteral(`dbaccess:role:${username}`)}))`,
    `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS "adminSuper",
            r.oid IS NOT NULL AS exists,
            ${USER_IS_OURS('r.oid', install)} AS ours,
            coalesce(${MARKER_OF('r.oid')} = ${escapeLiteral(roleMarker(install))}, false) AS marked,
            coalesce(r.rolsuper, false) AS "roleSuper",
            -- starts_with, not LIKE 'pg_%': in LIKE the underscore is a wildcard and would hide e.g. "pgsales".
            ARRAY(SELECT nspname::text FROM pg_namespace
                   WHERE NOT starts_with(nspname, 'pg_') AND nspname <> 'information_schema' ORDER BY nspname) AS schemas,
            current_setting('server_version_num')::int AS version,
            -- The access group: missing, this install's as dbaccess left it, or anything else (refused).
            (SELECT CASE WHEN g.oid IS NULL THEN 'missing'
                         WHEN coalesce(${GROUP_MARKER_OF('g.oid')} = ${escapeLiteral(groupMarker(install))}, false)
                              AND NOT (g.rolsuper OR g.rolcanlogin OR g.rolcreaterole OR g.rolcreatedb OR g.rolreplication OR g.rolbypassrls)
                              AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = g.oid) THEN 'ours'
                         ELSE 'foreign' END
               FROM (SELECT 1) AS one LEFT JOIN pg_roles g ON g.rolname = ${groupName}) AS "groupState",
            -- The fingerprint of the scope the group was last granted on ('' for none).
            coalesce((SELECT ${GROUP_FINGERPRINT_OF('g.oid')} FROM pg_roles g WHERE g.rolname = ${groupName}), '') AS "groupFingerprint",
            -- Other access groups a retried user is in (its grant changed).
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid AND g.rolname <> ${groupName} AND ${GROUP_IS_OURS('g.oid', install)}) AS "otherGroups"
       FROM (SELECT 1) AS one LEFT JOIN pg_roles r ON r.rolname = ${name}`,
    ...(check ? [check] : []),
    // What the admin can grant in the scope (grantable.ts): the last result.
    ...(catalog ? [catalog] : []),
  ].join(';\n');
}


/**
 * PL/pgSQL for the role named v_name (v_role: record): refuses it (SQLSTATE NOT_OURS_SQLSTATE) unless
 * this install made it (or it predates install ids: its lease is ours, see ROLE_MARKER), blocks its
 * logins, and makes a non-superuser admin a member (REASSIGN/DROP OWNED need it). `absent` is what to do when there is no such role (RETURN, or CONTINUE in a loop).
 */
const roleGuard = (absent: 'RETURN' | 'CONTINUE', install: string) => `-- Two revocations of one role (two processes) wait for each other here: two ALTER ROLE of the
  -- same role at once fail with "tuple concurrently updated".
  PERFORM pg_advisory_xact_lock(hashtext('dbaccess:role:' || v_name)); -- as roleLocks
  -- pg_has_role is always true for a superuser: only a non-superuser admin is made a member.
  SELECT r.oid, r.rolsuper, ${USER_IS_OURS('r.oid', install)} AS ours,
         pg_has_role(current_user, r.oid, 'USAGE') AS member
    INTO v_role FROM pg_roles r WHERE r.rolname = v_name;
  IF NOT FOUND THEN
    ${absent};
  END IF;
  IF NOT v_role.ours OR v_role.rolsuper THEN
    RAISE EXCEPTION 'the role was not created by dbaccess' USING ERRCODE = '${NOT_OURS_SQLSTATE}';
  END IF;
  -- No new logins. DROP ROLE alone would leave open sessions running.
  EXECUTE format('ALTER ROLE %I NOLOGIN', v_name);
  -- A non-superuser admin may only reassign and drop what belongs to roles it is a member of.
  IF NOT v_role.member THEN
    EXECUTE format('GRANT %I TO CURRENT_USER', v_name);
  END IF;`;

/**
 * Revoke, round trip 1. In one transaction, a guard checks that the role is ours (SQLSTATE
 * NOT_OURS_SQLSTATE otherwise: nothing is changed), blocks logins, and makes a non-superuser admin a
 * member (REASSIGN/DROP OWNED need it). Once that is committed, every session of the role is
 * terminated. The last result has one row: oid (null: no such role), touched (databases with
 * objects or privileges of the role), killed (pids signalled).
 */
export function postgresRevokeStart(install: string, username: string): string {
  const guard = `DECLARE
  v_name text := ${escapeLiteral(username)};
  v_role record;
BEGIN
  ${roleGuard('RETURN', install)}
END`;
  return [
    'BEGIN',
    `DO ${escapeLiteral(guard)}`,
    'COMMIT',
    // to_regrole rather than a join of the pg_roles view: the same oid, less to plan.
    `SELECT r.oid::text AS oid,
            ${touchedDatabases('r.oid')} AS touched,
            ARRAY(SELECT t.pid FROM (SELECT a.pid, pg_terminate_backend(a.pid) AS terminated FROM pg_stat_get_activity(NULL) a
                                      WHERE a.pid <> pg_backend_pid() AND a.usesysid = r.oid) AS t) AS killed,
            ${groupsOf('r.oid', 'ARRAY[r.oid]', install)}
       FROM (SELECT to_regrole(quote_ident(${escapeLiteral(username)}))::oid AS oid) AS r`,
  ].join(';\n');
}

/**
 * Users with one of the prefixes that carry a dbaccess marker: this install's (ours) and those made
 * before install ids (legacy). Parameters: prefixes (text[]), this install's role marker, the old one.
 */
export const USERS_QUERY = `SELECT r.rolname, d.description = $2 AS ours FROM pg_roles r
    JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
   WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE starts_with(r.rolname, p)) AND d.description IN ($2, $3)
   ORDER BY r.rolname`;


/**
 * The roles' revocation locks (see roleGuard), taken in name order: two processes revoking the same
 * role wait for each other, so neither changes the catalog row the other is changing.
 */
const roleLocks = (usernames: string[]) =>
  `SELECT count(pg_advisory_xact_lock(hashtext('dbaccess:role:' || n))) FROM unnest(${textArray([...usernames].sort())}) AS n`;

/** Under the grants lock, in one transaction: both or neither (then DROP ROLE fails on what is left, 2BP01). */
function dropOwnedStatements(user: string): string[] {
  return ['BEGIN', GRANTS_LOCK, `REASSIGN OWNED BY ${user} TO CURRENT_USER`, `DROP OWNED BY ${user}`];
}

/** Revoke in a database other than the target's: the role's objects and privileges there. */
export function postgresDropOwned(username: string): string {
  return [...dropOwnedStatements(escapeIdentifier(username)), 'COMMIT'].join(';\n');
}

/**
 * Revoke, round trip 2, in the target's database: objects and privileges, and the role, in one
 * transaction under the grants lock; then, after the commit, the verification: is a role of that
 * name left, and which sessions still run under the role's oid (terminated on sight). The last
 * result has one row: left, pids.
 */
export function postgresRevokeFinish(install: string, username: string, oid: string, access: { groups: string[]; lastMember: boolean } = { groups: [], lastMember: false }): string {
  if (!/^[0-9]+$/.test(oid)) throw new TypeError('A role oid is a non-negative integer.');
  const user = escapeIdentifier(username);
  const [begin, ...rest] = dropOwnedStatements(user);
  return [
    begin!,
    roleLocks([username]),
    ...rest,
    // The last member takes its group along (a block: it checks again under the lock); any other is a plain drop.
    access.lastMember ? dropUsersAndEmptyGroups(install, [username]) : `DROP ROLE IF EXISTS ${user}`,
    'COMMIT',
    `SELECT to_regrole(quote_ident(${escapeLiteral(username)})) IS NOT NULL AS left,
            ARRAY(SELECT t.pid FROM (SELECT a.pid, pg_terminate_backend(a.pid) AS terminated FROM pg_stat_get_activity(NULL) a
                                      WHERE a.pid <> pg_backend_pid() AND a.usesysid = ${oid}::oid) AS t) AS pids,
            ${emptyGroupsOf(access.groups)}`,
  ].join(';\n');
}

/** A CTE `k`: the sessions of the roles whose oid matches `oids` (a condition), terminated; per role its pids. */
const terminatedSessions = (oids: string) => `k AS (SELECT a.usesysid, array_agg(a.pid) AS pids, bool_and(pg_terminate_backend(a.pid)) AS signalled
                  FROM pg_stat_get_activity(NULL) a
                 WHERE a.pid <> pg_backend_pid() AND a.usesysid ${oids}
                 GROUP BY a.usesysid)`;

/**
 * Revoke of many users at once (a mass expiry on one target), round trip 1: what postgresRevokeStart
 * does for one, for each (one transaction, one commit; one user not ours refuses them all, and they go
 * one by one). One row per name: username, oid (null: no such role), touched, killed.
 */
export function postgresRevokeStartMany(install: string, usernames: string[]): string {
  // Sorted: two batches lock the roles they share in the same order (see roleGuard).
  const guard = `DECLARE
  v_names text[] := ${textArray([...usernames].sort())};
  v_name text;
  v_role record;
BEGIN
  FOREACH v_name IN ARRAY v_names LOOP
    ${roleGuard('CONTINUE', install)}
  END LOOP;
END`;
  return [
    'BEGIN',
    `DO ${escapeLiteral(guard)}`,
    'COMMIT',
    `WITH n AS (SELECT u.name, r.oid FROM unnest(${textArray(usernames)}) AS u(name) LEFT JOIN pg_roles r ON r.rolname = u.name),
          ${terminatedSessions('IN (SELECT oid FROM n WHERE oid IS NOT NULL)')}
     SELECT n.name AS username, n.oid::text AS oid,
            ${touchedDatabases('n.oid')} AS touched,
            coalesce((SELECT k.pids FROM k WHERE k.usesysid = n.oid), '{}') AS killed,
            ${groupsOf('n.oid', 'coalesce((SELECT array_agg(oid) FROM n WHERE oid IS NOT NULL), ARRAY[]::oid[])', install)}
       FROM n`,
  ].join(';\n');
}

/**
 * Revoke of many users at once, round trip 2: what postgresRevokeFinish does for one, for all of them
 * in one transaction under the grants lock (any failure: none is dropped, and they go one by one).
 * One row per user: username, left, pids.
 */
export function postgresRevokeFinishMany(install: string, users: Array<{ username: string; oid: string; groups?: string[]; lastMember?: boolean }>): string {
  if (users.length === 0) throw new TypeError('Nothing to revoke.');
  const list = users.map(({ username }) => escapeIdentifier(username)).join(', ');
  const oids = oidArray(users.map(({ oid }) => oid));
  return [
    'BEGIN',
    roleLocks(users.map(({ username }) => username)),
    GRANTS_LOCK,
    `REASSIGN OWNED BY ${list} TO CURRENT_USER`,
    `DROP OWNED BY ${list}`,
    users.some((user) => user.lastMember) ? dropUsersAndEmptyGroups(install, users.map(({ username }) => username)) : `DROP ROLE IF EXISTS ${list}`,
    'COMMIT',
    `WITH ${terminatedSessions(`= ANY (${oids})`)}
     SELECT u.name AS username, to_regrole(quote_ident(u.name)) IS NOT NULL AS left,
            coalesce((SELECT k.pids FROM k WHERE k.usesysid = u.oid), '{}') AS pids,
            ${emptyGroupsOf([...new Set(users.flatMap((user) => user.groups ?? []))])}
       FROM unnest(${textArray(users.map(({ username }) => username))}, ${oids}) AS u(name, oid)`,
  ].join(';\n');
}

/**
 * Sessions of a user, terminated in one round trip: by the role's oid when it exists; when it is
 * already gone (dropped by Vault, say), every session left without a role, which can only be an
 * orphan. Parameter: user name. One row: oid (or null), pids (signalled).
 */
// to_regrole and regrole's output (the bare number for an oid no role has) instead of two joins of
// the pg_roles view: the same answer for half the planning, which was most of this query's time.
export const KILL_SESSIONS_QUERY = `SELECT r.oid::text AS oid,
        ARRAY(SELECT t.pid FROM (SELECT a.pid, pg_terminate_backend(a.pid) AS terminated FROM pg_stat_get_activity(NULL) a
                                  WHERE a.pid <> pg_backend_pid()
                                    AND (a.usesysid = r.oid
                                         OR (r.oid IS NULL AND a.usesysid IS NOT NULL AND a.usesysid::regrole::text = a.usesysid::text))) AS t) AS pids
   FROM (SELECT to_regrole(quote_ident($1))::oid AS oid) AS r`;


/** Privileges an earlier spec may have given in the target database; run before re-granting. */
export function resetStatements(database: string, user: string, schemas: string[]): string[] {
  const statements = [`REVOKE ALL ON DATABASE ${escapeIdentifier(database)} FROM ${user}`];
  for (const schema of schemas) {
    const quoted = escapeIdentifier(schema);
    statements.push(
      `REVOKE ALL ON SCHEMA ${quoted} FROM ${user}`,
      `REVOKE ALL ON ALL TABLES IN SCHEMA ${quoted} FROM ${user}`,
      `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${quoted} FROM ${user}`,
      `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${quoted} FROM ${user}`,
    );
  }
  return statements;
}
