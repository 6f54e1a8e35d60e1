import type pg from 'pg';
import { escapeLiteral } from 'pg';
import { INSTALLATION_ID, UNKNOWN_INSTALLATION } from '../../../installation/installation-id.js';

/** The building blocks of the provider's SQL: who made a role, and the literals every statement shares. */

/**
 * The comment of every role this provider creates starts with this, followed by the install id
 * (roleMarker). A retried provision only ALTERs, and revoke only drops, a role carrying this install's
 * marker: a name collision must never rewrite or drop somebody's real account, nor another install's
 * user. A role with this text alone was made before install ids existed: it is adopted by the install
 * that holds its lease (revocation, extension and a retried provision accept it), and never dropped by
 * the reconciler, which cannot know whose it is.
 */
export const ROLE_MARKER = 'dbaccess temporary user';
/** The same for access groups (grants.ts, postgresAccessGroup): NOLOGIN roles that only hold privileges. */
export const GROUP_MARKER = 'dbaccess access group';

export function checkInstall(install: string): string {
  if (!INSTALLATION_ID.test(install) && install !== UNKNOWN_INSTALLATION) throw new TypeError('An install id is 8 characters of [a-z2-7].');
  return install;
}
/** The comment on this install's users. */
export const roleMarker = (install: string) => `${ROLE_MARKER} ${checkInstall(install)}`;
/** The comment on this install's access groups. */
export const groupMarker = (install: string) => `${GROUP_MARKER} ${checkInstall(install)}`;
/**
 * What separates a group's marker from the fingerprint of the scope it was last granted on
 * (grantable.ts, postgresCatalogQuery): `dbaccess access group <install> scope <md5>`.
 */
export const SCOPE_SEPARATOR = ' scope ';
/** The comment of an access group after its grants: its marker and the fingerprint they were made for. */
export const groupComment = (install: string, fingerprint: string) => {
  if (!/^[0-9a-f]{32}$/.test(fingerprint)) throw new TypeError('A scope fingerprint is an md5 in hex.');
  return `${groupMarker(install)}${SCOPE_SEPARATOR}${fingerprint}`;
};

/** Grant changes of concurrent roles on one database collide ("tuple concurrently updated"): one at a time. */
export const GRANTS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dbaccess:grants'))";

/** Raised by the revoke guard (postgresRevokeStart) for a role dbaccess did not create. */
export const NOT_OURS_SQLSTATE = 'DBA01';
/** Raised by the group guard (postgresGroupGuard) for an access group that is not ours, or not as we left it. */
export const GROUP_NOT_OURS_SQLSTATE = 'DBA02';

/**
 * The comment on a role, as shobj_description() gives it, without that function's cost (a SQL
 * function, planned on every call).
 */
export const MARKER_OF = (oid: string) => `(SELECT description FROM pg_shdescription WHERE objoid = ${oid} AND classoid = 'pg_authid'::regclass)`;
/** Whether the role `oid` is a user of this install, or one made before install ids (adopted through its lease). Never null. */
export const USER_IS_OURS = (oid: string, install: string) => `coalesce(${MARKER_OF(oid)} IN (${escapeLiteral(roleMarker(install))}, ${escapeLiteral(ROLE_MARKER)}), false)`;
/** The marker of an access group `oid`, without the fingerprint its comment may carry after it. */
export const GROUP_MARKER_OF = (oid: string) => `split_part(${MARKER_OF(oid)}, ${escapeLiteral(SCOPE_SEPARATOR)}, 1)`;
/** The fingerprint in the comment of the access group `oid` ('' when it has none). */
export const GROUP_FINGERPRINT_OF = (oid: string) => `split_part(${MARKER_OF(oid)}, ${escapeLiteral(SCOPE_SEPARATOR)}, 2)`;
/** Whether the role `oid` is an access group of this install (fingerprint or not), or one made before install ids (left by an adopted user). */
export const GROUP_IS_OURS = (oid: string, install: string) => `coalesce(${GROUP_MARKER_OF(oid)} IN (${escapeLiteral(groupMarker(install))}, ${escapeLiteral(GROUP_MARKER)}), false)`;
/** Whether the role `oid` is a temporary user of any install: a group with one in it is not empty. */
export const ANY_DBACCESS_USER = (oid: string) => `coalesce(starts_with(${MARKER_OF(oid)}, ${escapeLiteral(ROLE_MARKER)}), false)`;

/** The databases (text[]) where the role `oid` owns objects or holds privileges: each is cleaned before DROP ROLE. */
export const touchedDatabases = (oid: string) => `ARRAY(SELECT DISTINCT d.datname::text FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
                   WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = ${oid} AND d.datallowconn ORDER BY 1)`;

/** An oid[] literal; each oid is checked to be a number, as it is inlined. */
export function oidArray(oids: string[]): string {
  if (oids.some((oid) => !/^[0-9]+$/.test(oid))) throw new TypeError('Role oids are non-negative integers.');
  return `ARRAY[${oids.join(', ')}]::oid[]`;
}

/** A text[] literal of the names: ARRAY['a', 'b']::text[], every element through escapeLiteral. */
export function textArray(names: string[]): string {
  return `ARRAY[${names.map((name) => escapeLiteral(name)).join(', ')}]::text[]`;
}

/** The last result of a simple query that may carry several statements. */
export function lastResult<R extends pg.QueryResultRow>(result: pg.QueryResult<R> | Array<pg.QueryResult<R>>): pg.QueryResult<R> {
  return Array.isArray(result) ? result[result.length - 1]! : result;
}
