import { alwaysTrueOfKey, asText, compareConstants, isJson, limitBounds, list, matchesEverything, objectsIn, REDUCING_AGGREGATES, type Json } from '../../../analysis/sql-statements.js';

/** Reading node-sql-parser's trees: which rows a condition keeps, what a SELECT reads out. */

/** The database a call names (`hr` of `hr.list_salaries(...)`), lower case; undefined when unqualified. */
export function mysqlFunctionSchema(node: Json): string | undefined {
  return isJson(node.name) && isJson(node.name.schema) ? asText(node.name.schema.value)?.toLowerCase() : undefined;
}

export function mysqlFunctionName(node: Json): string {
  if (typeof node.name === 'string') return node.name.toLowerCase();
  const parts = isJson(node.name) ? list(node.name.name).map((part) => (isJson(part) ? asText(part.value) : undefined)) : [];
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

export function mysqlValue(value: unknown): string | number | boolean | undefined {
  if (!isJson(value)) return undefined;
  if (value.type === 'bool' || value.type === 'boolean') return value.value === true;
  if (value.type === 'number') return Number(value.value);
  if (typeof value.value === 'string' && /string/.test(String(value.type))) return value.value;
  return undefined;
}

/** A WHERE that holds for every row, as pgAlwaysTrue reads it (`1`, `OR 1`, `1 = 1`, `id > 0`...). */
export function mysqlAlwaysTrue(where: unknown): boolean {
  if (where === null || where === undefined) return true;
  const constant = mysqlValue(where);
  if (constant !== undefined) return constant === true || (typeof constant === 'number' && constant !== 0);
  if (!isJson(where) || where.type !== 'binary_expr') return false;
  const operator = String(where.operator ?? '').toUpperCase();
  if (operator === 'OR' || operator === '||') return mysqlAlwaysTrue(where.left) || mysqlAlwaysTrue(where.right) || mysqlBothNullTests(where.left, where.right);
  if (operator === 'AND' || operator === '&&') return mysqlAlwaysTrue(where.left) && mysqlAlwaysTrue(where.right);
  const [left, right] = [mysqlValue(where.left), mysqlValue(where.right)];
  if (left !== undefined && right !== undefined) return compareConstants(operator, left, right);
  // `col LIKE '%'` keeps every row (but those where col is null).
  if (operator === 'LIKE' && matchesEverything(right)) return true;
  const [leftColumn, rightColumn] = [mysqlColumn(where.left), mysqlColumn(where.right)];
  if (operator === 'IS NOT' && isJson(where.right) && where.right.type === 'null') return leftColumn === 'id';
  if (leftColumn !== undefined && leftColumn === rightColumn && mysqlColumnTable(where.left) === mysqlColumnTable(where.right)) return ['=', '>=', '<='].includes(operator);
  if (leftColumn !== undefined && typeof right === 'number') return alwaysTrueOfKey(leftColumn, operator, right);
  if (rightColumn !== undefined && typeof left === 'number') return alwaysTrueOfKey(rightColumn, { '<': '>', '<=': '>=', '<>': '<>', '!=': '!=' }[operator] ?? '', left);
  return false;
}

/** `x IS NULL OR x IS NOT NULL`: every row is one or the other. */
function mysqlBothNullTests(left: unknown, right: unknown): boolean {
  const test = (value: unknown) => (isJson(value) && value.type === 'binary_expr' && isJson(value.right) && value.right.type === 'null' ? { operator: String(value.operator).toUpperCase(), column: mysqlColumn(value.left), table: mysqlColumnTable(value.left) } : undefined);
  const [a, b] = [test(left), test(right)];
  return a !== undefined && b !== undefined && a.column !== undefined && a.column === b.column && a.table === b.table && new Set([a.operator, b.operator]).size === 2 && [a.operator, b.operator].every((op) => op === 'IS' || op === 'IS NOT');
}

/** A condition of constants that holds for no row (`0`, `FALSE`, `1 = 0`, `NOT 1`, an AND with such an arm). */
export function mysqlAlwaysFalse(where: unknown): boolean {
  const constant = mysqlValue(where);
  if (constant !== undefined) return constant === false || constant === 0;
  if (!isJson(where)) return false;
  if (where.type === 'unary_expr' && /^(?:NOT|!)$/i.test(String(where.operator))) return mysqlValue(where.expr) !== undefined && mysqlAlwaysTrue(where.expr);
  if (where.type !== 'binary_expr') return false;
  const operator = String(where.operator ?? '').toUpperCase();
  if (operator === 'AND' || operator === '&&') return mysqlAlwaysFalse(where.left) || mysqlAlwaysFalse(where.right);
  if (operator === 'OR' || operator === '||') return mysqlAlwaysFalse(where.left) && mysqlAlwaysFalse(where.right);
  const [left, right] = [mysqlValue(where.left), mysqlValue(where.right)];
  return left !== undefined && right !== undefined && ['=', '<>', '!=', '<', '>', '<=', '>='].includes(operator) && !compareConstants(operator, left, right);
}

/**
 * Whether a WHERE can tell the target's rows apart, as pgBoundsTarget reads it: it names a column of
 * a target table (unqualified, or by a target's name or alias). Constants alone, or only the columns
 * of another table of a multi-table UPDATE or DELETE, bound nothing.
 */
export function mysqlBoundsTarget(where: unknown, targets: ReadonlySet<string>): boolean {
  if (where === null || where === undefined || mysqlAlwaysTrue(where)) return false;
  if (mysqlAlwaysFalse(where)) return true;
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
  const setTables = new Set(list(node.set).map((item) => (isJson(item) ? asText(item.table)?.toLowerCase() : undefined)));
  const names = new Set<string>();
  for (const table of tables) {
    const [name, alias] = [asText(table.table)?.toLowerCase(), asText(table.as)?.toLowerCase()];
    // An UPDATE's targets are the tables its SET names (all of them when it does not say).
    if (node.type === 'update' && !setTables.has(undefined) && !setTables.has(name) && !(alias && setTables.has(alias))) continue;
    if (name) names.add(name);
    if (alias) names.add(alias);
  }
  return names;
}

function mysqlColumn(value: unknown): string | undefined {
  if (!isJson(value) || value.type !== 'column_ref') return undefined;
  const column = isJson(value.column) && isJson(value.column.expr) ? value.column.expr.value : value.column;
  return typeof column === 'string' ? column.toLowerCase() : undefined;
}
const mysqlColumnTable = (value: unknown) => (isJson(value) ? String(value.table ?? '').toLowerCase() : '');

/** An UPDATE or DELETE joined to another table (INNER JOIN ... ON / USING) changes only the rows that match it. */
export const mysqlJoinBound = (node: Json) =>
  [...list(node.table), ...list(node.from)].some((item) => {
    if (!isJson(item) || !/^(?:INNER JOIN|JOIN|STRAIGHT_JOIN)$/i.test(String(item.join ?? ''))) return false;
    if (list(item.using).length > 0) return true;
    return isJson(item.on) && !mysqlAlwaysTrue(item.on);
  });

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
  const ctes = new Map(outer);
  for (const cte of list(select.with)) {
    const name = isJson(cte) && isJson(cte.name) ? asText(cte.name.value) : undefined;
    const query = isJson(cte) && isJson(cte.stmt) ? (isJson(cte.stmt.ast) ? cte.stmt.ast : cte.stmt) : undefined;
    if (name && query) ctes.set(name.toLowerCase(), query);
  }
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
