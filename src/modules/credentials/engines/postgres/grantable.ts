import { escapeLiteral } from 'pg';
import type { AccessLevel } from '../../../../config/catalog.js';
import { tablePrivileges } from '../../grant-mapping.js';
import { formatName, type ScopeItem } from '../../scope.js';

/**
 * What a grant on a real PostgreSQL database can include. An admin that is not a superuser (every
 * managed database) can grant only what it owns, what its roles own, or what it holds WITH GRANT
 * OPTION; extension objects made by a superuser, tables of other owners and schemas without grant
 * option are left out, by name and with the reason, instead of making the whole grant fail.
 *
 * An object is in the grantable set when the admin holds every privilege the level needs on it with
 * grant option (has_*_privilege ... WITH GRANT OPTION: ownership and membership included); a schema
 * when it holds USAGE (and CREATE for admin) so; the database when it holds CONNECT so.
 */

/** What the level needs on each kind of object; empty: that kind is not granted at all. */
export interface PrivilegeNeeds {
  database: string[];
  schema: string[];
  table: string[];
  sequence: string[];
  function: string[];
}

const ALL_TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

export function privilegeNeeds(level: AccessLevel, privileges: string[] = []): PrivilegeNeeds {
  const table = tablePrivileges(level, privileges);
  const admin = level === 'admin';
  const inserts = level === 'write' || (!admin && table.includes('INSERT'));
  return {
    database: admin ? ['CONNECT', 'TEMPORARY'] : ['CONNECT'],
    schema: admin ? ['USAGE', 'CREATE'] : ['USAGE'],
    table: admin ? ALL_TABLE_PRIVILEGES : table.split(', '),
    sequence: admin ? ['USAGE', 'SELECT', 'UPDATE'] : inserts ? ['USAGE', 'SELECT'] : [],
    function: admin ? ['EXECUTE'] : [],
  };
}

/** One object of the scope as the catalog query reports it. */
export interface CatalogObject {
  /** `scope`: one row whose name is the scope's fingerprint (see postgresCatalogQuery). */
  kind: 'database' | 'schema' | 'table' | 'sequence' | 'function' | 'scope';
  schema: string;
  name: string;
  /** For functions: `"schema"."name"(argument types)`, as GRANT ... ON FUNCTION takes it. */
  signature?: string | null;
  owner: string;
  /** The extension the object belongs to (pg_depend deptype 'e'), if any. */
  extension: string | null;
  grantable: boolean;
}

const list = (values: string[]) => `ARRAY[${values.map((value) => escapeLiteral(value)).join(', ')}]::text[]`;
/** True when the admin holds each privilege WITH GRANT OPTION; `check` is has_X_privilege with the object. */
const holdsAll = (privileges: string[], check: (privilege: string) => string) =>
  privileges.length === 0 ? 'true' : privileges.map((privilege) => check(escapeLiteral(`${privilege} WITH GRANT OPTION`))).join(' AND ');

/**
 * One query (simple protocol: every value inlined through escapeLiteral) over the catalog of the
 * connected database: the database itself, the schemas of the scope (every schema for an empty
 * scope) and their tables, sequences and functions as the level needs them, each with its owner,
 * extension and whether the admin can grant it. To keep the answer small, the objects of a schema
 * come back only when one of them (or the schema) cannot be granted, or when the scope names them.
 * Columns: kind, schema, name, signature, owner, extension, grantable.
 *
 * The last row (kind `scope`) carries the scope's fingerprint in `name`: an md5 over every schema and
 * object the query looked at (oid, kind, owner, whether the admin can grant it) and the database's
 * grantability. It is the same as long as nothing in the scope is created, dropped, re-owned or
 * changes grantability, and our own grants do not change it (they give privileges, not grant
 * options), so the access group keeps it in its comment and is granted again only when it differs
 * (provision.ts).
 */
export function postgresCatalogQuery(needs: PrivilegeNeeds, scope: ScopeItem[]): string {
  const wholeSchemas = scope.length === 0 ? null : [...new Set(scope.filter((item) => !item.table).map((item) => item.schema))];
  const touched = [...new Set(scope.map((item) => item.schema))];
  const named = scope.filter((item) => item.table).map((item) => ({ schema: item.schema, table: item.table! }));
  // PostgreSQL 17 adds MAINTAIN to ALL PRIVILEGES; has_table_privilege of older servers does not know it.
  const maintain = needs.table.length === ALL_TABLE_PRIVILEGES.length
    ? ` AND (current_setting('server_version_num')::int < 170000 OR has_table_privilege(c.oid, 'MAINTAIN WITH GRANT OPTION'))`
    : '';
  const schemaFilter = scope.length === 0
    ? `NOT starts_with(n.nspname, 'pg_') AND n.nspname <> 'information_schema'`
    : `n.nspname = ANY (${list(touched)})`;
  const extensionOf = (classid: string, oid: string) =>
    `(SELECT e.extname::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
       WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' LIMIT 1)`;
  const namedCheck = named.length === 0
    ? 'false'
    : `EXISTS (SELECT 1 FROM unnest(${list(named.map((item) => item.schema))}, ${list(named.map((item) => item.table))}) AS u(sn, tn)
                  WHERE u.sn = s.schema AND u.tn = c.relname)`;
  // Owners' names, extensions and signatures only for the rows returned (a few), not for every object looked at.
  return `WITH d AS (
  SELECT d.datdba, (${holdsAll(needs.database, (p) => `has_database_privilege(d.oid, ${p})`)}) AS grantable
    FROM pg_database d WHERE d.datname = current_database()
), s AS (
  SELECT n.oid, n.nspname::text AS schema, n.nspowner AS owner,
         (${holdsAll(needs.schema, (p) => `has_schema_privilege(n.oid, ${p})`)}) AS grantable
    FROM pg_namespace n WHERE ${schemaFilter}
), o AS (
  SELECT 'table'::text AS kind, c.oid, s.schema, c.relname::text AS name, c.relowner AS owner,
         (${holdsAll(needs.table, (p) => `has_table_privilege(c.oid, ${p})`)}${maintain}) AS grantable,
         ${namedCheck} AS named,
         ${wholeSchemas === null ? 'true' : `s.schema = ANY (${list(wholeSchemas)})`} AS whole
    FROM pg_class c JOIN s ON s.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  UNION ALL
  SELECT 'sequence', c.oid, s.schema, c.relname::text, c.relowner,
         ${holdsAll(needs.sequence, (p) => `has_sequence_privilege(c.oid, ${p})`)}, false, true
    FROM pg_class c JOIN s ON s.oid = c.relnamespace WHERE c.relkind = 'S' AND ${needs.sequence.length > 0}
  UNION ALL
  SELECT 'function', p.oid, s.schema, p.proname::text, p.proowner,
         ${holdsAll(needs.function, (q) => `has_function_privilege(p.oid, ${q})`)}, false, true
    FROM pg_proc p JOIN s ON s.oid = p.pronamespace WHERE p.prokind IN ('f', 'a', 'w') AND ${needs.function.length > 0}
)
SELECT 'database' AS kind, '' AS schema, current_database()::text AS name, NULL AS signature,
       pg_get_userbyid(d.datdba)::text AS owner, NULL AS extension, d.grantable
  FROM d
UNION ALL
SELECT 'schema', s.schema, s.schema, NULL, pg_get_userbyid(s.owner)::text, ${extensionOf('pg_namespace', 's.oid')}, s.grantable FROM s
UNION ALL
SELECT o.kind, o.schema, o.name,
       CASE WHEN o.kind = 'function' THEN format('%I.%I(%s)', o.schema, o.name, pg_get_function_identity_arguments(o.oid)) END,
       pg_get_userbyid(o.owner)::text,
       CASE WHEN o.kind = 'function' THEN ${extensionOf('pg_proc', 'o.oid')} ELSE ${extensionOf('pg_class', 'o.oid')} END,
       o.grantable
  FROM o JOIN s ON s.schema = o.schema
 WHERE s.grantable AND (o.named OR (o.whole AND (o.schema, o.kind) IN (SELECT x.schema, x.kind FROM o x WHERE x.whole AND NOT x.grantable)))
UNION ALL
SELECT 'scope', '', md5(concat_ws(';', (SELECT string_agg(concat_ws(':', d.datdba, d.grantable), ',') FROM d),
                                 (SELECT string_agg(concat_ws(':', s.oid, s.owner, s.grantable), ',' ORDER BY s.oid) FROM s),
                                 (SELECT string_agg(concat_ws(':', o.kind, o.oid, o.owner, o.grantable), ',' ORDER BY o.kind, o.oid) FROM o))),
       NULL, '', NULL, true`;
}

/** The scope's fingerprint in what postgresCatalogQuery returned. */
export function scopeFingerprint(objects: CatalogObject[]): string {
  const row = objects.find((object) => object.kind === 'scope');
  if (!row || !/^[0-9a-f]{32}$/.test(row.name)) throw new TypeError('The catalog query returned no scope fingerprint.');
  return row.name;
}

/** What to grant per schema: `all` (ON ALL ... IN SCHEMA), or exactly these objects. */
export interface SchemaPlan {
  schema: string;
  tables: 'all' | string[];
  /** Named tables with columns (read only): granted column by column. */
  columns: Array<{ table: string; columns: string[] }>;
  sequences: 'all' | string[];
  functions: 'all' | string[];
}

export interface GrantPlan {
  /** Nothing at all can be granted (no CONNECT with grant option): the reason. */
  refusal?: string;
  schemas: SchemaPlan[];
  /** What the scope covers and is not granted, in words: `public.pg_stat_statements (owned by postgres, an extension)`. */
  leftOut: string[];
  /** True when every object the scope names itself (a table, a schema) is left out. */
  nothingNamed: boolean;
}

const why = (object: CatalogObject) => `owned by ${object.owner}${object.extension ? ', an extension' : ''}`;
const label = (object: CatalogObject) =>
  object.kind === 'schema' ? `schema ${formatName(object.name)}` : `${formatName(object.schema)}.${formatName(object.name)}${object.kind === 'function' ? '()' : ''}`;

/**
 * The grants of a scope given the catalog: every schema and object the admin can grant, and what is
 * left out, with why. `objects` is what postgresCatalogQuery returned.
 */
export function planGrants(scope: ScopeItem[], objects: CatalogObject[]): GrantPlan {
  const database = objects.find((object) => object.kind === 'database');
  if (database && !database.grantable) {
    const refusal = `the admin account may not grant CONNECT on database ${formatName(database.name)} (owned by ${database.owner}; no grant option)`;
    return { refusal, schemas: [], leftOut: [refusal], nothingNamed: true };
  }
  const schemaRows = new Map(objects.filter((object) => object.kind === 'schema').map((object) => [object.schema, object]));
  const leftOut: string[] = [];
  const schemas: SchemaPlan[] = [];
  const items: ScopeItem[] = scope.length > 0 ? scope : [...schemaRows.keys()].map((schema) => ({ schema }));
  let namedGranted = 0;
  for (const schema of [...new Set(items.map((item) => item.schema))]) {
    const row = schemaRows.get(schema);
    const inSchema = items.filter((item) => item.schema === schema);
    if (!row) continue; // does not exist: the scope check reports it
    if (!row.grantable) {
      leftOut.push(`${label(row)} (${why(row)}; no grant option on it)`);
      continue;
    }
    const of = (kind: CatalogObject['kind']) => objects.filter((object) => object.schema === schema && object.kind === kind);
    const excluded = (kind: CatalogObject['kind']) => of(kind).filter((object) => !object.grantable);
    const explicit = (kind: CatalogObject['kind']) => (excluded(kind).length === 0 ? 'all' as const : of(kind).filter((object) => object.grantable).map((object) => (kind === 'function' ? object.signature! : object.name)));
    for (const kind of ['table', 'sequence', 'function'] as const) for (const object of excluded(kind)) leftOut.push(`${label(object)} (${why(object)})`);
    const whole = inSchema.some((item) => !item.table);
    const tables = whole ? explicit('table') : inSchema.filter((item) => !item.columns && of('table').some((object) => object.name === item.table && object.grantable)).map((item) => item.table!);
    const columns = whole ? [] : inSchema.filter((item) => item.columns && of('table').some((object) => object.name === item.table && object.grantable)).map((item) => ({ table: item.table!, columns: item.columns! }));
    if (scope.length > 0) namedGranted += whole ? (tables === 'all' || tables.length > 0 ? 1 : 0) : tables.length + columns.length;
    schemas.push({ schema, tables, columns, sequences: explicit('sequence'), functions: explicit('function') });
  }
  const granted = schemas.some((plan) => plan.tables === 'all' || plan.tables.length > 0 || plan.columns.length > 0);
  return { schemas, leftOut: [...new Set(leftOut)].sort(), nothingNamed: scope.length > 0 ? namedGranted === 0 : !granted && leftOut.length > 0 };
}
