import pg, { escapeIdentifier, escapeLiteral } from 'pg';
import { type AppError, badInput, configError, conflict, isAppError, targetUnavailable } from '../../lib/errors.js';
import { sleep, withTimeout } from '../../lib/async.js';
import { networkReason, scrubTarget, where } from './target-text.js';
import type { CredentialProvider, ProvisionSpec, RevokeResult, Target } from './credential-types.js';
import { postgresAccessGroup, postgresAccessStatements } from './grant-mapping.js';
import { scramSha256Verifier } from './scram.js';
import { type CatalogObject, planGrants, postgresCatalogQuery, privilegeNeeds } from './postgres-grantable.js';
import { postgresCaptureCheckQuery, postgresRoleCaptureReset, postgresRoleCaptureStatements } from '../capture/postgres-capture-sql.js';
import { INSTALLATION_ID, UNKNOWN_INSTALLATION } from '../installation/installation-id.js';

const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 3_000;
/** How long revocation waits for terminated sessions to disappear before it gives up (and is retried). */
const SESSION_WAIT_MS = 10_000;
const POLL_MS = 50;
/** Revocations of one target sent together at most (see revokeInBatches). */
const MAX_BATCH = 50;
/** PostgreSQL silently truncates longer names, which would hand out a different user than the one recorded. */
const MAX_IDENTIFIER_BYTES = 63;
/**
 * The comment of every role this provider creates starts with this, followed by the install id
 * (roleMarker). A retried provision only ALTERs, and revoke only drops, a role carrying this install's
 * marker: a name collision must never rewrite or drop somebody's real account, nor another install's
 * user. A role with this text alone was made before install ids existed: it is adopted by the install
 * that holds its lease (revocation, extension and a retried provision accept it), and never dropped by
 * the reconciler, which cannot know whose it is.
 */
export const ROLE_MARKER = 'dbaccess temporary user';
/** The same for access groups (grant-mapping.ts, postgresAccessGroup): NOLOGIN roles that only hold privileges. */
export const GROUP_MARKER = 'dbaccess access group';

function checkInstall(install: string): string {
  if (!INSTALLATION_ID.test(install) && install !== UNKNOWN_INSTALLATION) throw new TypeError('An install id is 8 characters of [a-z2-7].');
  return install;
}
/** The comment on this install's users. */
export const roleMarker = (install: string) => `${ROLE_MARKER} ${checkInstall(install)}`;
/** The comment on this install's access groups. */
export const groupMarker = (install: string) => `${GROUP_MARKER} ${checkInstall(install)}`;

/** A client or the gated pool: anything that runs one statement. */
type Queryable = { query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> };

/** The connection URL with its database replaced; other parts (user, password, host, options) kept. */
export function withDatabase(url: string, database: string): string {
  // pg decodes the path with decodeURI, which leaves %2F, %3F and %23 encoded: such names cannot round-trip.
  if (database.length === 0 || /[/?#]/.test(database)) {
    throw configError(`The database name "${database.slice(0, 63)}" cannot be put in a connection URL (it is empty or contains /, ? or #).`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError('An admin connection string is not a valid URL (expected postgresql://user:password@host:port/database).');
  }
  parsed.pathname = `/${encodeURI(database)}`;
  return parsed.toString();
}

/**
 * A pool whose callers wait in line here rather than in pg-pool, whose wait counts against the
 * connection timeout: a thousand revocations at once on one target queue up instead of failing as
 * "cannot reach". Each operation holds one connection for all its statements.
 */
class GatedPool {
  private waiting: Array<() => void> = [];
  private inUse = 0;
  constructor(readonly pool: pg.Pool, readonly size: number) {}

  async connect(): Promise<pg.PoolClient> {
    if (this.inUse >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inUse++;
    try {
      const client = await this.pool.connect();
      const release = client.release.bind(client);
      let released = false;
      client.release = (error?: Error | boolean) => {
        if (!released) {
          released = true;
          this.inUse--;
          this.waiting.shift()?.();
        }
        return release(error);
      };
      return client;
    } catch (error) {
      this.inUse--;
      this.waiting.shift()?.();
      throw error;
    }
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await this.connect();
    try {
      return await client.query<R>(text, values);
    } finally {
      client.release();
    }
  }
}

/** Grant changes of concurrent roles on one database collide ("tuple concurrently updated"): one at a time. */
const GRANTS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dbaccess:grants'))";

/** Raised by the revoke guard (postgresRevokeStart) for a role dbaccess did not create. */
export const NOT_OURS_SQLSTATE = 'DBA01';
/** Raised by the group guard (postgresGroupGuard) for an access group that is not ours, or not as we left it. */
export const GROUP_NOT_OURS_SQLSTATE = 'DBA02';

/**
 * The comment on a role, as shobj_description() gives it, without that function's cost (a SQL
 * function, planned on every call).
 */
const MARKER_OF = (oid: string) => `(SELECT description FROM pg_shdescription WHERE objoid = ${oid} AND classoid = 'pg_authid'::regclass)`;
/** Whether the role `oid` is a user of this install, or one made before install ids (adopted through its lease). Never null. */
const USER_IS_OURS = (oid: string, install: string) => `coalesce(${MARKER_OF(oid)} IN (${escapeLiteral(roleMarker(install))}, ${escapeLiteral(ROLE_MARKER)}), false)`;
/** Whether the role `oid` is an access group of this install, or one made before install ids (left by an adopted user). */
const GROUP_IS_OURS = (oid: string, install: string) => `coalesce(${MARKER_OF(oid)} IN (${escapeLiteral(groupMarker(install))}, ${escapeLiteral(GROUP_MARKER)}), false)`;
/** Whether the role `oid` is a temporary user of any install: a group with one in it is not empty. */
const ANY_DBACCESS_USER = (oid: string) => `coalesce(starts_with(${MARKER_OF(oid)}, ${escapeLiteral(ROLE_MARKER)}), false)`;

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
 * roleSuper, schemas. `check`, a query of one row with a
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
                         WHEN coalesce(${MARKER_OF('g.oid')} = ${escapeLiteral(groupMarker(install))}, false)
                              AND NOT (g.rolsuper OR g.rolcanlogin OR g.rolcreaterole OR g.rolcreatedb OR g.rolreplication OR g.rolbypassrls)
                              AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = g.oid) THEN 'ours'
                         ELSE 'foreign' END
               FROM (SELECT 1) AS one LEFT JOIN pg_roles g ON g.rolname = ${groupName}) AS "groupState",
            -- Other access groups a retried user is in (its grant changed).
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid AND g.rolname <> ${groupName} AND ${GROUP_IS_OURS('g.oid', install)}) AS "otherGroups"
       FROM (SELECT 1) AS one LEFT JOIN pg_roles r ON r.rolname = ${name}`,
    ...(check ? [check] : []),
    // What the admin can grant in the scope (postgres-grantable.ts): the last result.
    ...(catalog ? [catalog] : []),
  ].join(';\n');
}

/** The databases (text[]) where the role `oid` owns objects or holds privileges: each is cleaned before DROP ROLE. */
const touchedDatabases = (oid: string) => `ARRAY(SELECT DISTINCT d.datname::text FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
                   WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = ${oid} AND d.datallowconn ORDER BY 1)`;

/**
 * PL/pgSQL for the role named v_name (v_role: record): refuses it (SQLSTATE NOT_OURS_SQLSTATE) unless
 * this install made it (or it predates install ids: its lease is ours, see ROLE_MARKER), blocks its
 * logins, and makes a non-superuser admin a member (REASSIGN/DROP OWNED need it). `absent` is what to do when there is no such role (RETURN, or CONTINUE in a loop).
 */
const roleGuard = (absent: 'RETURN' | 'CONTINUE', install: string) => `-- pg_has_role is always true for a superuser: only a non-superuser admin is made a member.
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
 * This install's access group names as regrole prints them (grant-mapping.ts, postgresAccessGroup),
 * and those made before install ids (an adopted user may be in one); the blocks that drop one check
 * its marker. Another install's groups never match.
 */
const groupName = (install: string) => escapeLiteral(`grp_(${checkInstall(install)}_)?[0-9a-f]{16}$`);

/**
 * Two columns for the revoke of the user `oid` (one of the users `batch`, oid[]): `groups`, the
 * access groups it is in (oids), and `lastMember`, whether one of them has no member outside the
 * batch (the drop then takes the group along, under the lock). By name and regrole, not the marker
 * (a join per member): this runs on every revocation.
 */
function groupsOf(oid: string, batch: string, install: string): string {
  return `ARRAY(SELECT m.roleid::text FROM pg_auth_members m WHERE m.member = ${oid} AND m.roleid::regrole::text ~ ${groupName(install)}) AS groups,
            EXISTS (SELECT 1 FROM pg_auth_members m
                     WHERE m.member = ${oid} AND m.roleid::regrole::text ~ ${groupName(install)}
                       AND NOT EXISTS (SELECT 1 FROM pg_auth_members o WHERE o.roleid = m.roleid AND o.member <> ALL (${batch}))) AS "lastMember"`;
}

/**
 * After a revoke: which of `groups` (oids) still exist with no member but the admin (a concurrent
 * revocation of the other member saw this one still there; objects in another database kept it).
 * One column: emptyGroups.
 */
function emptyGroupsOf(groups: string[]): string {
  if (groups.length === 0) return `'{}'::text[] AS "emptyGroups"`;
  return `ARRAY(SELECT g::text FROM unnest(${oidArray(groups)}) AS g
                 WHERE g::regrole::text <> g::text
                   AND NOT EXISTS (SELECT 1 FROM pg_auth_members o WHERE o.roleid = g AND o.member <> current_user::regrole)) AS "emptyGroups"`;
}

/**
 * Drops the access groups `groups` (oids) that, under the lock, still have no dbaccess user in them.
 * The last result lists those kept because they own objects in another database (made under SET
 * ROLE before PostgreSQL 16): oid, name, touched (the databases), to be cleaned there first.
 */
export function postgresDropEmptyGroups(install: string, groups: string[]): string {
  if (groups.length === 0) throw new TypeError('No group to drop.');
  const list = oidArray(groups);
  const body = `DECLARE
  v_groups oid[] := ${list};
  v_group record;
BEGIN
  ${dropEmptyGroupsBlock(install)}
END`;
  return [
    'BEGIN',
    GRANTS_LOCK,
    `DO ${escapeLiteral(body)}`,
    'COMMIT',
    `SELECT r.oid::text AS oid, r.rolname AS name,
            ${touchedDatabases('r.oid')} AS touched
       FROM pg_roles r
      WHERE r.oid = ANY (${list}) AND ${GROUP_IS_OURS('r.oid', install)}
        AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid AND ${ANY_DBACCESS_USER('m.member')})`,
  ].join(';\n');
}

/**
 * This install's access groups with one of the prefixes that no dbaccess user is in (for the
 * reconciler; groups made before install ids are nobody's to clean up here). Parameters: prefixes
 * (text[]), this install's group marker. Columns: oid, name.
 */
const EMPTY_GROUPS_QUERY = `SELECT r.oid::text AS oid, r.rolname AS name FROM pg_roles r
  WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE starts_with(r.rolname, p)) AND ${MARKER_OF('r.oid')} = $2
    AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid AND ${ANY_DBACCESS_USER('m.member')})`;
/**
 * Users with one of the prefixes that carry a dbaccess marker: this install's (ours) and those made
 * before install ids (legacy). Parameters: prefixes (text[]), this install's role marker, the old one.
 */
const USERS_QUERY = `SELECT r.rolname, d.description = $2 AS ours FROM pg_roles r
    JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
   WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE starts_with(r.rolname, p)) AND d.description IN ($2, $3)
   ORDER BY r.rolname`;

/**
 * Provision, under the grants lock: creates the access group if it does not exist; if it does, it
 * must be one this install made and still as it left it (no login or other attribute, a member of no
 * role), or SQLSTATE GROUP_NOT_OURS_SQLSTATE: a role someone made or changed under that name must
 * never lend its rights to a temporary user.
 */
export function postgresGroupGuard(install: string, group: string): string {
  const body = `DECLARE
  v_name text := ${escapeLiteral(group)};
  v_role record;
BEGIN
  SELECT r.oid, r.rolsuper OR r.rolcanlogin OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS powerful,
         coalesce(${MARKER_OF('r.oid')} = ${escapeLiteral(groupMarker(install))}, false) AS ours
    INTO v_role FROM pg_roles r WHERE r.rolname = v_name;
  IF NOT FOUND THEN
    EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', v_name);
    EXECUTE format('COMMENT ON ROLE %I IS %L', v_name, ${escapeLiteral(groupMarker(install))});
  ELSIF NOT v_role.ours OR v_role.powerful OR EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = v_role.oid) THEN
    RAISE EXCEPTION 'the access group % was not created by dbaccess or was changed', v_name USING ERRCODE = '${GROUP_NOT_OURS_SQLSTATE}';
  END IF;
END`;
  return `DO ${escapeLiteral(body)}`;
}

/**
 * PL/pgSQL that drops each access group of this install (or from before install ids) in `v_groups`
 * (oid[]) that no dbaccess user is a member of
 * any more, its objects and privileges first. A group that cannot be dropped (objects in another
 * database, made under SET ROLE) stays without members, lending nothing, until postgresDropEmptyGroups
 * has it cleaned there. The admin's membership (which REASSIGN OWNED needs) outlives a failed drop.
 */
const dropEmptyGroupsBlock = (install: string) => `FOR v_group IN SELECT r.oid, r.rolname FROM pg_roles r
                  WHERE r.oid = ANY (coalesce(v_groups, '{}')) AND ${GROUP_IS_OURS('r.oid', install)}
                    AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid AND ${ANY_DBACCESS_USER('m.member')}) LOOP
    -- pg_has_role is always true for a superuser.
    IF NOT pg_has_role(current_user, v_group.oid, 'USAGE') THEN
      EXECUTE format('GRANT %I TO CURRENT_USER', v_group.rolname);
    END IF;
    BEGIN
      EXECUTE format('REASSIGN OWNED BY %I TO CURRENT_USER', v_group.rolname);
      EXECUTE format('DROP OWNED BY %I', v_group.rolname);
      EXECUTE format('DROP ROLE %I', v_group.rolname);
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'access group % kept: it owns objects in another database', v_group.rolname;
    END;
  END LOOP;`;

/** PL/pgSQL: v_groups (oid[]) := the access groups the roles named in `names` (a text[] expression) are members of. */
const groupsOfUsers = (names: string, install: string) => `SELECT array_agg(DISTINCT m.roleid) INTO v_groups FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member
   WHERE u.rolname = ANY (${names}) AND ${GROUP_IS_OURS('m.roleid', install)}`;

/**
 * Provision: the user joins its access group and leaves any other (a retried job whose grant
 * changed; a group left empty is dropped). From PostgreSQL 16 without the right to SET ROLE to the
 * group: what the user creates stays its own, and is dropped with it.
 */
export function postgresJoinGroup(install: string, username: string, group: string): string {
  const body = `DECLARE
  v_name text := ${escapeLiteral(username)};
  v_target text := ${escapeLiteral(group)};
  v_groups oid[];
  v_group record;
BEGIN
  ${groupsOfUsers('ARRAY[v_name]', install)} AND m.roleid <> (SELECT oid FROM pg_roles WHERE rolname = v_target);
  FOR v_group IN SELECT rolname FROM pg_roles WHERE oid = ANY (coalesce(v_groups, '{}')) LOOP
    EXECUTE format('REVOKE %I FROM %I', v_group.rolname, v_name);
  END LOOP;
  ${dropEmptyGroupsBlock(install)}
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', v_target, v_name);
  ELSE
    EXECUTE format('GRANT %I TO %I', v_target, v_name);
  END IF;
END`;
  return `DO ${escapeLiteral(body)}`;
}

/** Revoke: drops the users, then each access group they were in that no dbaccess user is left in. */
function dropUsersAndEmptyGroups(install: string, usernames: string[]): string {
  const body = `DECLARE
  v_names text[] := ${textArray(usernames)};
  v_groups oid[];
  v_group record;
BEGIN
  ${groupsOfUsers('v_names', install)};
  FOR v_group IN SELECT unnest(v_names) AS rolname LOOP
    EXECUTE format('DROP ROLE IF EXISTS %I', v_group.rolname);
  END LOOP;
  ${dropEmptyGroupsBlock(install)}
END`;
  return `DO ${escapeLiteral(body)}`;
}

/** An oid[] literal; each oid is checked to be a number, as it is inlined. */
function oidArray(oids: string[]): string {
  if (oids.some((oid) => !/^[0-9]+$/.test(oid))) throw new TypeError('Role oids are non-negative integers.');
  return `ARRAY[${oids.join(', ')}]::oid[]`;
}

/** A text[] literal of the names: ARRAY['a', 'b']::text[], every element through escapeLiteral. */
function textArray(names: string[]): string {
  return `ARRAY[${names.map((name) => escapeLiteral(name)).join(', ')}]::text[]`;
}

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
  return [
    ...dropOwnedStatements(user),
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
  const guard = `DECLARE
  v_names text[] := ${textArray(usernames)};
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
const KILL_SESSIONS_QUERY = `SELECT r.oid::text AS oid,
        ARRAY(SELECT t.pid FROM (SELECT a.pid, pg_terminate_backend(a.pid) AS terminated FROM pg_stat_get_activity(NULL) a
                                  WHERE a.pid <> pg_backend_pid()
                                    AND (a.usesysid = r.oid
                                         OR (r.oid IS NULL AND a.usesysid IS NOT NULL AND a.usesysid::regrole::text = a.usesysid::text))) AS t) AS pids
   FROM (SELECT to_regrole(quote_ident($1))::oid AS oid) AS r`;

/** The last result of a simple query that may carry several statements. */
function lastResult<R extends pg.QueryResultRow>(result: pg.QueryResult<R> | Array<pg.QueryResult<R>>): pg.QueryResult<R> {
  return Array.isArray(result) ? result[result.length - 1]! : result;
}

/**
 * `installId`: this install's id (the state database's), carried by every role the provider creates;
 * it touches no role that carries another install's.
 */
export function createPostgresProvider(options: { installId: string; poolSize?: number; idleMillis?: number }): CredentialProvider {
  const install = checkInstall(options.installId);
  const pools = new Map<string, GatedPool>();

  const connectionSettings = {
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'dbaccess',
  } as const;

  /** One small pool per target: the admin URL pointed at the target's database. */
  function poolFor(target: Target): GatedPool {
    const url = withDatabase(target.adminUrl, target.entry.database);
    let gated = pools.get(url);
    if (!gated) {
      const size = target.entry.poolSize ?? options.poolSize ?? 4;
      const pool = new pg.Pool({
        ...connectionSettings,
        connectionString: url,
        max: size,
        idleTimeoutMillis: options.idleMillis ?? 10_000,
        allowExitOnIdle: true,
      });
      // An idle connection closed by the server (restart, terminate, dropped database) is reported
      // here. The pool has already discarded it and opens a new one on the next checkout; without a
      // listener the event would crash the process.
      pool.on('error', () => {});
      gated = new GatedPool(pool, size);
      pools.set(url, gated);
    }
    return gated;
  }

  /** A short-lived admin session in another database of the same cluster (revocation only). */
  async function inDatabase<T>(target: Target, database: string, held: Queryable, work: (client: Queryable) => Promise<T>): Promise<T> {
    if (database === target.entry.database) return work(held);
    const client = new pg.Client({ ...connectionSettings, connectionString: withDatabase(target.adminUrl, database) });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async function run<T>(target: Target, action: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw describeFailure(target, action, error);
    }
  }

  async function schemaNames(db: Queryable): Promise<string[]> {
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
  async function terminateSessions(target: Target, db: Queryable, oid: string | null, username: string): Promise<Set<number>> {
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
          // Objects and privileges in every other database the role touched, or DROP ROLE fails (2BP01).
          for (const database of touched.filter((name) => name !== target.entry.database)) {
            await inDatabase(target, database, admin, (db) => db.query(postgresDropOwned(username)));
          }
          // Round trip 2: objects, privileges and the role in the target's database; then verify.
          let check: { left: boolean; pids: number[]; emptyGroups: string[] };
          try {
            check = lastResult(await admin.query<typeof check>(postgresRevokeFinish(install, username, oid, role))).rows[0]!;
          } catch (error) {
            await rollback();
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
    async provision(target, spec) {
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
                version: number; groupState: 'missing' | 'ours' | 'foreign'; otherGroups: string[];
              };
              groupState = group ? state.groupState : undefined;
              if (state.exists && (!state.ours || state.roleSuper)) {
                throw conflict(`A role named ${spec.username} already exists on ${target.entry.id} and was not created by this dbaccess install; it was left untouched.`);
              }
              if (groupState === 'foreign') throw Object.assign(new Error('the access group is not ours'), { code: GROUP_NOT_OURS_SQLSTATE });
              // Query capture is set on the role itself, in the same transaction: no user without it.
              const problem = captureCheck ? (results[3]!.rows[0] as { problem: string | null } | undefined)?.problem : null;
              if (problem) throw configError(`Statements on ${where(target)} cannot be recorded with ${spec.capture}: ${problem}.`);
              const plan = planGrants(spec.scope, results.at(-1)!.rows as CatalogObject[]);
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
              // From PostgreSQL 16 the membership comes without SET ROLE; a retried user in another group
              // leaves it (a block). The audit records the plain GRANT.
              const join = (membership: string) =>
                state.otherGroups.length > 0 ? postgresJoinGroup(install, spec.username, access.group!) : state.version >= 160000 ? `${membership} WITH INHERIT TRUE, SET FALSE` : membership;
              batch.push(...statements.map((statement) => (statement === access.membership ? join(statement) : statement)));
              // A retried user whose grant no longer uses a group (admin) leaves the ones it was in.
              if (!access.group) batch.push(...state.otherGroups.map((other) => `REVOKE ${escapeIdentifier(other)} FROM ${user}`));
              // A superuser grants as the owner, who always holds every grant option: no 01007 can come,
              // so the COMMIT rides along. Any other admin's grants are checked before committing.
              const commitNow = state.adminSuper;
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
    },

    async revoke(target, username) {
      checkUsername(username);
      return revokeInBatches(target, username);
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
          await dropEmptyGroups(target, admin, oids).catch(async (error: unknown) => {
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
      const all = [...pools.values()];
      pools.clear();
      queues.clear();
      await Promise.all(all.map((gated) => gated.pool.end().catch(() => {})));
    },
  };
}

/** Privileges an earlier spec may have given in the target database; run before re-granting. */
function resetStatements(database: string, user: string, schemas: string[]): string[] {
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

function checkUsername(username: string): void {
  if (username.length === 0 || Buffer.byteLength(username, 'utf8') > MAX_IDENTIFIER_BYTES || username.includes('\0')) {
    throw badInput(`A PostgreSQL user name must be 1-${MAX_IDENTIFIER_BYTES} bytes without NUL characters.`);
  }
}

function checkSpec(target: Target, spec: ProvisionSpec): void {
  if (!(spec.expiresAt instanceof Date) || Number.isNaN(spec.expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
  const limit = target.entry.connectionLimit;
  // Interpolated into DDL, so it must be a plain integer whatever the caller's types promise.
  if (!Number.isInteger(limit) || limit < 1) throw configError(`connectionLimit of ${target.entry.id} must be a positive integer.`);
}

/** Why a connection could not be made, in words, or undefined when the failure came later. */
function unreachableReason(code: string | undefined, message: string): string | undefined {
  const network = networkReason(code);
  if (network) return network;
  switch (code) {
    case '28P01':
    case '28000':
      return 'the admin login was refused (check the admin credentials)';
    case '3D000':
      return 'the database does not exist';
    case '53300':
      return 'too many connections';
    case '57P01':
    case '57P02':
    case '57P03':
      return 'the server is shutting down or starting up';
  }
  if (code?.startsWith('08')) return 'connection failure';
  if (/timeout/i.test(message) && /connect/i.test(message)) return 'connection timed out';
  if (/Connection terminated/i.test(message)) return 'connection closed unexpectedly';
  return undefined;
}

/** Driver and server errors as AppErrors that never carry the admin URL or its password. */
function describeFailure(target: Target, action: string, error: unknown): AppError {
  if (isAppError(error)) return error;
  const { code, message, detail } = (error ?? {}) as { code?: unknown; message?: unknown; detail?: unknown };
  const sqlState = typeof code === 'string' ? code : undefined;
  const text = typeof message === 'string' ? message : '';
  const reason = unreachableReason(sqlState, text);
  if (reason) return targetUnavailable(`Cannot reach ${where(target)}: ${reason}.`);
  const said = scrubTarget(target, [text, typeof detail === 'string' ? detail : ''].filter(Boolean).join(' ') || 'unknown error');
  // A scope naming a table or schema that does not exist will not get better with retries.
  if (sqlState === '42P01' || sqlState === '3F000' || sqlState === '42703' || sqlState === '42704') return badInput(`${action} on ${where(target)} failed: ${said}.`);
  // Permission denied will not get better with retries either: the admin account needs a privilege.
  if (sqlState === '42501') return configError(`The admin account of ${where(target)} lacks a privilege this needs (${said}).`);
  return targetUnavailable(`${action} on ${where(target)} failed: ${said}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}.`);
}

