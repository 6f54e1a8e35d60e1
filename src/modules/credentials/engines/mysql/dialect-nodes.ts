import { asText, isJson, limitBounds, list, objectsIn, ownKeys, REDUCING_AGGREGATES, type Json } from '../../../analysis/sql-statements.js';
import { mysqlAlwaysFalse, mysqlAlwaysTrue, mysqlConjuncts, mysqlFunctionName, mysqlJoinCondition, mysqlSameColumnEquality } from './dialect-conditions.js';

export { mysqlFunctionName };

/** Reading node-sql-parser's trees: which rows a condition keeps, what a SELECT reads out. */

/** The database a call names (`hr` of `hr.list_salaries(...)`), lower case; undefined when unqualified. */
export function mysqlFunctionSchema(node: Json): string | undefined {
  return isJson(node.name) && isJson(node.name.schema) ? asText(node.name.schema.value)?.toLowerCase() : undefined;
}

/**
 * Whether a WHERE can tell the target's rows apart, as pgBoundsTarget reads it: it names a column of
 * a target table (unqualified, or by a target's name or alias). Constants alone, or only the columns
 * of another table of a multi-table UPDATE or DELETE, bound nothing.
 */
export function mysqlBoundsTarget(where: unknown, targets: ReadonlySet<string>): boolean {
  const keys = ownKeys(targets);
  if (where === null || where === undefined || mysqlAlwaysTrue(where, keys) || mysqlInItsWholeSelf(where, targets)) return false;
  if (mysqlAlwaysFalse(where, keys)) return true;
  for (const object of objectsIn(where)) {
    if (object.type === 'var' || object.type === 'param') return true;
    if (object.type !== 'column_ref') continue;
    const table = asText(object.table)?.toLowerCase();
    if (!table || targets.has(table)) return true;
  }
  return false;
}

/** The names (and aliases) of the tables an UPDATE sets or a DELETE deletes from. */
export function mysqlTargets(node: Json): Set<string> {
  const tables = list(node.table).filter(isJson);
  const setTables = new Set(list(node.set).map((item) => (isJson(item) ? asText(item.table)?.toLowerCase() : undefined)).filter((table): table is string => table !== undefined));
  const names = new Set<string>();
  for (const [index, table] of tables.entries()) {
    const [name, alias] = [asText(table.table)?.toLowerCase(), asText(table.as)?.toLowerCase()];
    // An UPDATE's targets are the tables its SET names (the first when it names none).
    if (node.type === 'update' && (setTables.size > 0 ? !(name && setTables.has(name)) && !(alias && setTables.has(alias)) : index > 0)) continue;
    if (name) names.add(name);
    if (alias) names.add(alias);
  }
  // A DELETE names its targets by alias (`DELETE o FROM shop.orders o`): their tables too.
  for (const item of node.type === 'delete' ? list(node.from).filter(isJson) : []) {
    const [name, alias] = [asText(item.table)?.toLowerCase(), asText(item.as)?.toLowerCase()];
    if (name && alias && names.has(alias)) names.add(name);
  }
  return names;
}

/**
 * How much of its target an UPDATE or DELETE changes. Of one table: some rows when its WHERE names a
 * target column (mysqlBoundsTarget). Of several (JOIN ... ON or USING, a comma list): a condition that
 * is not a pairing of two tables' columns, in the WHERE or an inner join's ON, bounds it when the
 * tables are paired (or it names a target column); pairing alone (`o.id = f.id`) changes as many rows
 * as the other tables pair with: 'joined', unless one of them is a bounded subquery (the session may
 * have filled the others by bounded reads: session-rules.ts decides).
 */
export function mysqlChangeBound(node: Json): 'bounded' | 'unbounded' | 'joined' {
  const targets = mysqlTargets(node);
  const items = list(node.type === 'delete' ? node.from : node.table).filter(isJson);
  const isTarget = (item: Json) => targets.has(String(item.as ?? item.table).toLowerCase());
  const others = items.filter((item) => !isTarget(item));
  if (others.length === 0) return mysqlBoundsTarget(node.where, targets) ? 'bounded' : 'unbounded';
  const keys = ownKeys(targets);
  const inner = items.filter((item) => /^(?:INNER JOIN|JOIN|STRAIGHT_JOIN|CROSS JOIN)$/i.test(String(item.join ?? '')));
  const conditions = [node.where, ...inner.map((item) => item.on)].flatMap(mysqlConjuncts).filter((condition) => !mysqlAlwaysTrue(condition, keys));
  const paired = items.some((item) => item.join && (list(item.using).length > 0 || isJson(item.on))) || conditions.some(mysqlJoinCondition);
  if (conditions.some((condition) => !mysqlJoinCondition(condition))) return mysqlBoundsTarget(node.where, targets) || paired ? 'bounded' : 'unbounded';
  if (!paired) return 'unbounded';
  // A target joined to itself: rows paired with other rows (duplicates) are a condition on its rows; each with itself is every row.
  const targetTables = new Set(items.filter(isTarget).map((item) => String(item.table).toLowerCase()));
  if (others.some((item) => targetTables.has(String(item.table).toLowerCase())) && !conditions.every(mysqlSameColumnEquality)) return 'bounded';
  const ctes = withQueries(node);
  const query = (item: Json) => (isJson(item.expr) && isJson(item.expr.ast) ? item.expr.ast : item.db ? undefined : ctes.get(String(item.table).toLowerCase()));
  return others.some((item) => query(item) !== undefined && !mysqlUnboundedSelect(query(item)!, ctes)) ? 'bounded' : 'joined';
}

/** A statement's own WITH queries by name. */
function withQueries(node: Json, outer: ReadonlyMap<string, Json> = new Map()): Map<string, Json> {
  const ctes = new Map(outer);
  for (const cte of list(node.with)) {
    const name = isJson(cte) && isJson(cte.name) ? asText(cte.name.value) : undefined;
    const query = isJson(cte) && isJson(cte.stmt) ? (isJson(cte.stmt.ast) ? cte.stmt.ast : cte.stmt) : undefined;
    if (name && query) ctes.set(name.toLowerCase(), query);
  }
  return ctes;
}

/**
 * `id IN (SELECT id FROM <the target>)`, directly or through derived tables (MySQL's way round "can't
 * specify target table"), with no WHERE that bounds any of them: every row's key is among every row's
 * keys. A LIMIT there picks rows, it does not say which.
 */
function mysqlInItsWholeSelf(where: unknown, targets: ReadonlySet<string>): boolean {
  if (!isJson(where) || where.type !== 'binary_expr' || String(where.operator).toUpperCase() !== 'IN' || !isJson(where.right)) return false;
  const [subquery] = list(where.right.value);
  const whole = (select: unknown): boolean => {
    if (!isJson(select) || !mysqlAlwaysTrue(select.where) || select.groupby || list(select.from).length !== 1) return false;
    const [source] = list(select.from);
    if (!isJson(source)) return false;
    return isJson(source.expr) && isJson(source.expr.ast) ? whole(source.expr.ast) : targets.has(String(source.table).toLowerCase());
  };
  return list(where.right.value).length === 1 && isJson(subquery) && whole(subquery.ast);
}

function mysqlSelects(select: Json): Json[] {
  const all: Json[] = [];
  for (let current: unknown = select; isJson(current); current = current._next) all.push(current);
  return all;
}

export function mysqlStar(select: Json): boolean {
  return mysqlSelects(select).some(
    (arm) => arm.columns === '*' || list(arm.columns).some((column) => isJson(column) && isJson(column.expr) && column.expr.type === 'column_ref' && column.expr.column === '*'),
  );
}

export function mysqlLimit(node: Json): number | undefined {
  const limit = isJson(node.limit) ? node.limit : undefined;
  const values = list(limit?.value).map((value) => (isJson(value) ? Number(value.value) : NaN));
  if (values.length === 0) return undefined;
  const count = limit?.seperator === ',' ? values[1] : values[0];
  return count !== undefined && Number.isFinite(count) ? count : undefined;
}

export function mysqlUnboundedSelect(select: Json, outer: ReadonlyMap<string, Json> = new Map()): boolean {
  // The statement's own WITH queries: a SELECT of them reads only what they read.
  const ctes = withQueries(select, outer);
  return mysqlSelects(select).some((arm) => {
    const from = list(arm.from).filter((item) => isJson(item) && item.type !== 'dual') as Json[];
    if (from.length === 0 || (!mysqlAlwaysTrue(arm.where) && (mysqlAlwaysFalse(arm.where) || mysqlHasColumn(arm.where)))) return false;
    // A limit bounds the read even as a placeholder; one of millions does not.
    if (list(isJson(arm.limit) ? arm.limit.value : undefined).length > 0 && !(mysqlLimit(arm) !== undefined && !limitBounds(mysqlLimit(arm)))) return false;
    if (arm.groupby || arm.having) return false;
    // Whether a FROM item gives every row of a table: a table does; a WITH query or a subquery only what its own query reads.
    const wholeSource = (item: Json): boolean => {
      const subquery = isJson(item.expr) && isJson(item.expr.ast) ? item.expr.ast : undefined;
      if (subquery) return mysqlUnboundedSelect(subquery, ctes);
      const query = item.db === null || item.db === undefined ? ctes.get(String(item.table).toLowerCase()) : undefined;
      if (!query) return true;
      const inner = new Map(ctes);
      inner.delete(String(item.table).toLowerCase()); // a recursive CTE names itself
      return mysqlUnboundedSelect(query, inner);
    };
    if (!from.some(wholeSource)) return false;
    const columns = list(arm.columns).map((column) => (isJson(column) ? column.expr : undefined));
    return !(columns.length > 0 && columns.every(mysqlReducing) && columns.some(mysqlHasAggregate));
  });
}

/** Whether a condition names any column, variable, placeholder or subquery. */
const mysqlHasColumn = (where: unknown) => [...objectsIn(where)].some((object) => ['column_ref', 'var', 'param', 'select'].includes(String(object.type)) || isJson(object.ast));

/** A reducing aggregate call, not as a window (`COUNT(*) OVER ()` is one value per row; GROUP_CONCAT carries every row). */
const mysqlAggregate = (value: unknown): value is Json => isJson(value) && value.type === 'aggr_func' && !value.over && REDUCING_AGGREGATES.has(String(value.name).toLowerCase());
/** A select-list expression that gives one value for the whole table: no column outside a reducing aggregate (`IFNULL(MAX(id), 0) / 12`). */
function mysqlReducing(value: unknown): boolean {
  if (mysqlAggregate(value)) return true;
  if (Array.isArray(value)) return value.every(mysqlReducing);
  if (!isJson(value)) return true;
  if (value.type === 'column_ref' || value.type === 'select' || isJson(value.ast) || value.type === 'aggr_func') return false;
  return Object.entries(value).every(([key, child]) => key === 'over' ? !child : mysqlReducing(child));
}
function mysqlHasAggregate(value: unknown): boolean {
  if (mysqlAggregate(value)) return true;
  if (Array.isArray(value)) return value.some(mysqlHasAggregate);
  return isJson(value) && Object.values(value).some(mysqlHasAggregate);
}
