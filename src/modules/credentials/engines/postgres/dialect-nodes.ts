import { asText, BOUNDLESS_LIMIT, isJson, list, objectsIn, ownKeys, REDUCING_AGGREGATES, type Json, type StatementKind } from '../../../analysis/sql-statements.js';
import { pgAlwaysFalse, pgAlwaysTrue, pgColumn, pgConjuncts, pgConst, pgJoinCondition, pgSameColumnEquality } from './dialect-conditions.js';

export { pgConst };

/** Reading libpg-query's trees: PostgreSQL's own grammar, as JSON. */

/**
 * Functions that read or write the server's files or send data elsewhere: the server's file functions,
 * adminpack's, large objects, dblink_*, the http extension's and pg_net's calls (`http_post`,
 * `net.http_get`), and RDS's export to S3.
 */
const FILE_FUNCTIONS = new Set([
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir', 'lo_export', 'lo_import',
  'pg_file_write', 'pg_file_rename', 'http', 'query_export_to_s3',
]);
export const readsFilesOrSendsData = (name: string): boolean => FILE_FUNCTIONS.has(name) || name.startsWith('dblink') || name.startsWith('http_');

/** `OBJECT_MATVIEW` -> `MATERIALIZED VIEW`. */
export function objectTypeWords(objtype: unknown): string {
  const name = (asText(objtype) ?? 'OBJECT').replace(/^OBJECT_/, '');
  return ({ MATVIEW: 'MATERIALIZED VIEW', FOREIGN_TABLE: 'FOREIGN TABLE' } as Record<string, string>)[name] ?? name.replace(/_/g, ' ');
}

export function pgFunctionName(call: Json): string {
  const parts = list(call.funcname).map((part) => (isJson(part) && isJson(part.String) ? asText(part.String.sval) : undefined));
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

/** The schema a call names (`hr` of `hr.salary_report(...)`), lower case; undefined when unqualified. */
export function pgFunctionSchema(call: Json): string | undefined {
  const parts = list(call.funcname).map((part) => (isJson(part) && isJson(part.String) ? asText(part.String.sval) : undefined));
  return parts.length > 1 ? parts[parts.length - 2]?.toLowerCase() : undefined;
}

/**
 * Whether a WHERE can tell the target's rows apart: it names a column of the target (unqualified, or
 * qualified by the target's name or alias), or a cursor position. One that names only constants, or
 * only the columns of other tables (`DELETE FROM orders USING customers c WHERE c.id = 9`), keeps
 * every row of the target or none, and bounds nothing. A condition that holds for no row is a bound.
 */
export function pgBoundsTarget(where: unknown, target: ReadonlySet<string>): boolean {
  const keys = ownKeys(target);
  if (where === undefined || pgAlwaysTrue(where, keys) || pgInItsWholeSelf(where, target)) return false;
  if (pgAlwaysFalse(where, keys)) return true;
  for (const object of objectsIn(where)) {
    if (isJson(object.CurrentOfExpr)) return true;
    if (!isJson(object.ColumnRef)) continue;
    const fields = list(object.ColumnRef.fields).map((field) => (isJson(field) && isJson(field.String) ? asText(field.String.sval)?.toLowerCase() : undefined));
    if (fields.length === 1) return true;
    const qualifier = fields[fields.length - 2];
    if (qualifier === undefined || target.has(qualifier)) return true;
  }
  return false;
}

/**
 * `id IN (SELECT id FROM <the target itself>)` with no WHERE that bounds the subquery: every row's key
 * is among every row's keys. A LIMIT there (`ctid IN (SELECT ctid FROM t LIMIT 10000)`, PostgreSQL's
 * DELETE ... LIMIT) picks rows, it does not say which.
 */
function pgInItsWholeSelf(where: unknown, target: ReadonlySet<string>): boolean {
  if (!isJson(where) || !isJson(where.SubLink) || where.SubLink.subLinkType !== 'ANY_SUBLINK') return false;
  const select = unwrapSelect(where.SubLink.subselect);
  const from = select ? list(select.fromClause) : [];
  const source = from.length === 1 && isJson(from[0]) && isJson(from[0].RangeVar) ? from[0].RangeVar : undefined;
  if (!select || !source || !target.has(String(source.relname).toLowerCase()) || !pgAlwaysTrue(select.whereClause) || select.groupClause || select.havingClause) return false;
  const targets = list(select.targetList).map((item) => (isJson(item) && isJson(item.ResTarget) ? pgColumn(item.ResTarget.val) : undefined));
  return targets.length === 1 && targets[0] !== undefined && targets[0] === pgColumn(where.SubLink.testexpr);
}

/** The names a statement's target table is known by in its WHERE: its name and its alias. */
export function pgTargetNames(relation: unknown): Set<string> {
  const names = new Set<string>();
  if (!isJson(relation)) return names;
  const name = asText(relation.relname)?.toLowerCase();
  if (name) names.add(name);
  const alias = isJson(relation.alias) ? asText(relation.alias.aliasname)?.toLowerCase() : undefined;
  if (alias) names.add(alias);
  return names;
}

export function pgStar(select: Json): boolean {
  if (select.op && select.op !== 'SETOP_NONE') return [select.larg, select.rarg].some((arm) => isJson(arm) && pgStar(arm));
  return list(select.targetList).some((target) => {
    const val = isJson(target) && isJson(target.ResTarget) ? target.ResTarget.val : undefined;
    return isJson(val) && isJson(val.ColumnRef) && list(val.ColumnRef.fields).some((field) => isJson(field) && 'A_Star' in field);
  });
}

/** A statement's own WITH queries by name, added to those of the statements around it. */
function withQueries(withClause: unknown, outer: ReadonlyMap<string, Json>): Map<string, Json> {
  const ctes = new Map(outer);
  for (const cte of list(isJson(withClause) ? withClause.ctes : undefined)) {
    const body = isJson(cte) && isJson(cte.CommonTableExpr) ? cte.CommonTableExpr : undefined;
    const query = body ? (unwrapSelect(body.ctequery) ?? returnedRows(body.ctequery)) : undefined;
    if (body && query && asText(body.ctename)) ctes.set(asText(body.ctename)!.toLowerCase(), query);
  }
  return ctes;
}

/**
 * The rows a data-modifying WITH query returns, as a query: an INSERT's are those of its VALUES list or
 * query; an UPDATE's or DELETE's those its WHERE picks from its table.
 */
function returnedRows(statement: unknown): Json | undefined {
  if (!isJson(statement)) return undefined;
  if (isJson(statement.InsertStmt)) return unwrapSelect(statement.InsertStmt.selectStmt);
  const change = isJson(statement.UpdateStmt) ? statement.UpdateStmt : isJson(statement.DeleteStmt) ? statement.DeleteStmt : undefined;
  return change && isJson(change.relation) ? { fromClause: [{ RangeVar: change.relation }], whereClause: change.whereClause } : undefined;
}

/**
 * UPDATE ... FROM and DELETE ... USING whose WHERE only pairs the target's rows with the other tables'
 * (`o.id = f.id`): they change as many rows as those tables pair with. Not when one of them is a
 * VALUES list, a bounded subquery or WITH query, or a function's rows; when they are all tables, the
 * session may have filled one by bounded reads (session-rules.ts decides, from `joinedOnly`).
 */
export function pgOnlyJoined(node: Json): boolean {
  const sources = [...list(node.fromClause), ...list(node.usingClause)].flatMap(rangeItems);
  const conditions = pgConjuncts(node.whereClause).filter((condition) => !pgAlwaysTrue(condition));
  if (sources.length === 0 || conditions.length === 0 || !conditions.every(pgJoinCondition)) return false;
  // The target joined to itself: rows paired with other rows (duplicates: `a.email = b.email AND a.id > b.id`)
  // are a condition on its rows; each row paired with itself (`a.id = b.id`) is every row.
  const target = isJson(node.relation) ? asText(node.relation.relname) : undefined;
  if (sources.some((item) => isJson(item.RangeVar) && item.RangeVar.relname === target) && !conditions.every(pgSameColumnEquality)) return false;
  const ctes = withQueries(node.withClause, new Map());
  const bounded = (item: Json): boolean => {
    if (isJson(item.RangeFunction)) return true;
    const query = isJson(item.RangeSubselect) ? unwrapSelect(item.RangeSubselect.subquery) : isJson(item.RangeVar) && item.RangeVar.schemaname === undefined ? ctes.get(String(item.RangeVar.relname).toLowerCase()) : undefined;
    return query !== undefined && !pgUnboundedSelect(query, ctes);
  };
  return !sources.some(bounded);
}

export function pgUnboundedSelect(select: Json, outer: ReadonlyMap<string, Json> = new Map()): boolean {
  // The statement's own WITH queries: a SELECT of them reads only what they read.
  const ctes = withQueries(select.withClause, outer);
  if (select.op && select.op !== 'SETOP_NONE') return [select.larg, select.rarg].some((arm) => isJson(arm) && pgUnboundedSelect(arm, ctes));
  const from = list(select.fromClause).flatMap(rangeItems);
  // Whether a FROM item gives every row of a table: a table does; a WITH query or a subquery only what
  // its own query reads; a sample of less than all of it does not; a function's rows are its own.
  const wholeSource = (item: Json): boolean => {
    if (isJson(item.RangeVar)) {
      const name = String(item.RangeVar.relname).toLowerCase();
      const query = item.RangeVar.schemaname === undefined ? ctes.get(name) : undefined;
      if (!query) return true;
      const inner = new Map(ctes);
      inner.delete(name); // a recursive CTE names itself: read its body without looping
      return pgUnboundedSelect(query, inner);
    }
    if (isJson(item.RangeSubselect)) {
      const query = unwrapSelect(item.RangeSubselect.subquery);
      return query ? pgUnboundedSelect(query, ctes) : true;
    }
    if (isJson(item.RangeTableSample)) {
      const percent = pgConst(list(item.RangeTableSample.args)[0]);
      return !(typeof percent === 'number' && percent < 100);
    }
    if (isJson(item.RangeFunction)) return false;
    return true;
  };
  if (!from.some(wholeSource)) return false;
  // A WHERE of constants alone (`WHERE NOT false`, `WHERE now() > '2020-01-01'`) keeps every row or none.
  if (!pgAlwaysTrue(select.whereClause) && (pgAlwaysFalse(select.whereClause) || hasColumn(select.whereClause))) return false;
  // A limit bounds the read even as a parameter (`LIMIT $1`, as pg_stat_statements writes it); LIMIT ALL does not, nor one of millions.
  const limit = isJson(select.limitCount) ? select.limitCount : undefined;
  const limitAll = isJson(limit?.A_Const) && limit.A_Const.isnull === true;
  const count = pgConst(limit);
  const boundless = limitAll || (typeof count === 'number' && count >= BOUNDLESS_LIMIT);
  if ((limit && !boundless) || select.groupClause || select.havingClause) return false;
  const targets = list(select.targetList).map((target) => (isJson(target) && isJson(target.ResTarget) ? target.ResTarget.val : undefined));
  return !(targets.length > 0 && targets.every(pgReducing) && targets.some(pgHasAggregate));
}

/** Whether a condition names any column, parameter or cursor (anything that can differ between rows or runs). */
const hasColumn = (where: unknown) => [...objectsIn(where)].some((object) => isJson(object.ColumnRef) || isJson(object.CurrentOfExpr) || isJson(object.ParamRef) || isJson(object.SubLink));

/** A reducing aggregate call (count, sum, percentile_cont...), not as a window (`count(*) OVER ()` is one value per row). */
const pgAggregate = (value: unknown): value is Json => isJson(value) && isJson(value.FuncCall) && value.FuncCall.over === undefined && REDUCING_AGGREGATES.has(pgFunctionName(value.FuncCall));
/**
 * A select-list expression that gives one value for the whole table: no column outside a reducing
 * aggregate (`coalesce(max(id), 0)`, `count(*) * 100.0 / 7`, `max(created_at)::date`).
 */
function pgReducing(value: unknown): boolean {
  if (pgAggregate(value)) return true;
  if (!isJson(value)) return true;
  if (isJson(value.ColumnRef) || isJson(value.SubLink)) return false;
  if (isJson(value.FuncCall) && value.FuncCall.over !== undefined) return false;
  return Object.values(value).every((child) => (Array.isArray(child) ? child.every(pgReducing) : typeof child === 'object' && child !== null ? pgReducing(child) : true));
}
function pgHasAggregate(value: unknown): boolean {
  if (pgAggregate(value)) return true;
  if (Array.isArray(value)) return value.some(pgHasAggregate);
  return isJson(value) && Object.values(value).some(pgHasAggregate);
}

/** The tables and subqueries of a FROM list, joins opened. */
function rangeItems(item: unknown): Json[] {
  if (!isJson(item)) return [];
  if (isJson(item.JoinExpr)) return [...rangeItems(item.JoinExpr.larg), ...rangeItems(item.JoinExpr.rarg)];
  return [item];
}

export function pgLimit(select: Json): number | undefined {
  const count = pgConst(select.limitCount);
  return typeof count === 'number' ? count : undefined;
}

export const unwrapSelect = (value: unknown): Json | undefined => (isJson(value) && isJson(value.SelectStmt) ? value.SelectStmt : undefined);

/** Node type -> command and kind for the statements that need no more than their name. */
export const PG_SIMPLE: Record<string, [StatementKind, string]> = {
  InsertStmt: ['insert', 'INSERT'],
  UpdateStmt: ['update', 'UPDATE'],
  DeleteStmt: ['delete', 'DELETE'],
  MergeStmt: ['update', 'MERGE'],
  CreateTableAsStmt: ['ddl', 'CREATE TABLE AS'],
  ViewStmt: ['ddl', 'CREATE VIEW'],
  IndexStmt: ['ddl', 'CREATE INDEX'],
  CreateSchemaStmt: ['ddl', 'CREATE SCHEMA'],
  CreateFunctionStmt: ['ddl', 'CREATE FUNCTION'],
  CreateExtensionStmt: ['ddl', 'CREATE EXTENSION'],
  CreateTrigStmt: ['ddl', 'CREATE TRIGGER'],
  CreateSeqStmt: ['ddl', 'CREATE SEQUENCE'],
  CreatedbStmt: ['ddl', 'CREATE DATABASE'],
  DropdbStmt: ['ddl', 'DROP DATABASE'],
  CommentStmt: ['ddl', 'COMMENT'],
  AlterSystemStmt: ['ddl', 'ALTER SYSTEM'],
  AlterDatabaseSetStmt: ['ddl', 'ALTER DATABASE SET'],
  RuleStmt: ['ddl', 'CREATE RULE'],
  // Recomputes the view's rows from its query: a change of data, not of the schema.
  RefreshMatViewStmt: ['utility', 'REFRESH MATERIALIZED VIEW'],
  CreateRoleStmt: ['dcl', 'CREATE ROLE'],
  AlterRoleStmt: ['dcl', 'ALTER ROLE'],
  AlterRoleSetStmt: ['dcl', 'ALTER ROLE SET'],
  DropRoleStmt: ['dcl', 'DROP ROLE'],
  AlterDefaultPrivilegesStmt: ['dcl', 'ALTER DEFAULT PRIVILEGES'],
  AlterOwnerStmt: ['dcl', 'ALTER OWNER'],
  ReassignOwnedStmt: ['dcl', 'REASSIGN OWNED'],
  DropOwnedStmt: ['dcl', 'DROP OWNED'],
  CreatePolicyStmt: ['dcl', 'CREATE POLICY'],
  AlterPolicyStmt: ['dcl', 'ALTER POLICY'],
  CreateUserMappingStmt: ['dcl', 'CREATE USER MAPPING'],
  AlterUserMappingStmt: ['dcl', 'ALTER USER MAPPING'],
  VariableShowStmt: ['utility', 'SHOW'],
  DoStmt: ['utility', 'DO'],
  CallStmt: ['utility', 'CALL'],
  ExecuteStmt: ['utility', 'EXECUTE'],
  LockStmt: ['utility', 'LOCK'],
  ClusterStmt: ['utility', 'CLUSTER'],
  ReindexStmt: ['utility', 'REINDEX'],
  CheckPointStmt: ['utility', 'CHECKPOINT'],
  LoadStmt: ['utility', 'LOAD'],
  DiscardStmt: ['utility', 'DISCARD'],
  ListenStmt: ['utility', 'LISTEN'],
  NotifyStmt: ['utility', 'NOTIFY'],
  FetchStmt: ['utility', 'FETCH'],
  ClosePortalStmt: ['utility', 'CLOSE'],
  DeallocateStmt: ['utility', 'DEALLOCATE'],
};


/** An unlisted node type: `CreateForeignTableStmt` -> ddl `CREATE FOREIGN TABLE`. */
export function fallbackKind(type: string): [StatementKind, string] {
  const command = type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  if (/Role|Grant|Owner|Policy|UserMapping/.test(type)) return ['dcl', command];
  if (/^(Create|Alter|Drop)/.test(type)) return ['ddl', command];
  return ['utility', command];
}
