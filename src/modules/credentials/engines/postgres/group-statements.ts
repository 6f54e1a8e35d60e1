import { escapeLiteral } from 'pg';
import {
  ANY_DBACCESS_USER, GRANTS_LOCK, GROUP_IS_OURS, GROUP_MARKER_OF, GROUP_NOT_OURS_SQLSTATE, checkInstall, groupMarker, oidArray, textArray, touchedDatabases,
} from './markers.js';

/**
 * The SQL of access groups (grants.ts, postgresAccessGroup): NOLOGIN roles that hold a grant's
 * privileges for the users in them, created under the grants lock, dropped with their last member.
 */

/**
 * This install's access group names as regrole prints them (grants.ts, postgresAccessGroup),
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
export function groupsOf(oid: string, batch: string, install: string): string {
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
export function emptyGroupsOf(groups: string[]): string {
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
export const EMPTY_GROUPS_QUERY = `SELECT r.oid::text AS oid, r.rolname AS name FROM pg_roles r
  WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE starts_with(r.rolname, p)) AND ${GROUP_MARKER_OF('r.oid')} = $2
    AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid AND ${ANY_DBACCESS_USER('m.member')})`;

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
         coalesce(${GROUP_MARKER_OF('r.oid')} = ${escapeLiteral(groupMarker(install))}, false) AS ours
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
export function dropUsersAndEmptyGroups(install: string, usernames: string[]): string {
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
