import { alwaysTrueOfKey, asText, compareConstants, complementary, createdBeforeNow, FLIPPED, isJson, keyRangeHoldsAll, list, matchesEverything, neverNull, NOW_FUNCTIONS, type Comparison, type Json } from '../../../analysis/sql-statements.js';

/** Reading node-sql-parser's conditions, as PostgreSQL's are read (postgres/dialect-conditions.ts). */

export function mysqlValue(value: unknown): string | number | boolean | undefined {
  if (!isJson(value)) return undefined;
  if (value.type === 'bool' || value.type === 'boolean') return value.value === true;
  if (value.type === 'number') return Number(value.value);
  if (typeof value.value === 'string' && /string/.test(String(value.type))) return value.value;
  return undefined;
}

export function mysqlFunctionName(node: Json): string {
  if (typeof node.name === 'string') return node.name.toLowerCase();
  const parts = isJson(node.name) ? list(node.name.name).map((part) => (isJson(part) ? asText(part.value) : undefined)) : [];
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

const ID: ReadonlySet<string> = new Set(['id']);
const isNull = (value: unknown) => isJson(value) && value.type === 'null';
/** `NOT x` as a unary operator or, with parentheses, as the parser's function NOT: its operand. */
const negated = (value: Json): unknown =>
  value.type === 'unary_expr' && /^(?:NOT|!)$/i.test(String(value.operator)) ? value.expr
  : value.type === 'function' && mysqlFunctionName(value) === 'not' && isJson(value.args) && list(value.args.value).length === 1 ? list(value.args.value)[0] : undefined;
/** The current time, or a time after it (`NOW() + INTERVAL 10 YEAR`). */
const isNow = (value: unknown): boolean =>
  isJson(value) && ((value.type === 'function' && NOW_FUNCTIONS.has(mysqlFunctionName(value))) || (value.type === 'binary_expr' && value.operator === '+' && isNow(value.left)));

/**
 * A WHERE that holds for every row, as pgAlwaysTrue reads it: `1`, `OR 1`, `1 = 1`, `1 IN (1, 2)`,
 * `NULL IS NULL`, `EXISTS (SELECT 1)`, `id > 0`, `id BETWEEN 0 AND 2147483647`, a key that is never
 * null (`keys`), `created_at < NOW()`...
 */
export function mysqlAlwaysTrue(where: unknown, keys: ReadonlySet<string> = ID): boolean {
  if (where === null || where === undefined) return true;
  const constant = mysqlValue(where);
  if (constant !== undefined) return constant === true || (typeof constant === 'number' && constant !== 0);
  if (!isJson(where)) return false;
  const not = negated(where);
  if (not !== undefined) return mysqlAlwaysFalse(not, keys);
  if (where.type === 'function' && mysqlFunctionName(where) === 'exists') {
    const query = isJson(where.args) ? list(where.args.value)[0] : undefined;
    const select = isJson(query) && isJson(query.ast) ? query.ast : undefined;
    return select !== undefined && !select.from && !select.where;
  }
  if (where.type !== 'binary_expr') return false;
  const operator = String(where.operator ?? '').toUpperCase();
  if (operator === 'OR' || operator === '||') return mysqlAlwaysTrue(where.left, keys) || mysqlAlwaysTrue(where.right, keys) || mysqlBothNullTests(where.left, where.right) || complementary([mysqlComparison(where.left), mysqlComparison(where.right)]);
  if (operator === 'AND' || operator === '&&') return mysqlAlwaysTrue(where.left, keys) && mysqlAlwaysTrue(where.right, keys);
  const [left, right] = [mysqlValue(where.left), mysqlValue(where.right)];
  const items = isJson(where.right) && where.right.type === 'expr_list' ? list(where.right.value).map(mysqlValue) : [];
  if ((operator === 'IN' || operator === 'NOT IN') && left !== undefined && items.length > 0 && !items.includes(undefined)) return items.includes(left) === (operator === 'IN');
  const [leftColumn, rightColumn] = [mysqlColumn(where.left), mysqlColumn(where.right)];
  if (operator === 'BETWEEN') return keyRangeHoldsAll(leftColumn ?? '', items[0], items[1]);
  if (operator === 'IS' && isNull(where.left) && isNull(where.right)) return true;
  if (left !== undefined && right !== undefined) return compareConstants(operator, left, right);
  // `col LIKE '%'` keeps every row (but those where col is null).
  if (operator === 'LIKE' && matchesEverything(right)) return true;
  if (operator === 'IS NOT' && isNull(where.right)) return neverNull(leftColumn, keys);
  if (leftColumn !== undefined && leftColumn === rightColumn && mysqlColumnTable(where.left) === mysqlColumnTable(where.right)) return ['=', '>=', '<='].includes(operator);
  if (leftColumn !== undefined && typeof right === 'number') return alwaysTrueOfKey(leftColumn, operator, right);
  if (rightColumn !== undefined && typeof left === 'number') return alwaysTrueOfKey(rightColumn, FLIPPED[operator] ?? '', left);
  if (leftColumn !== undefined && isNow(where.right)) return createdBeforeNow(leftColumn, operator);
  if (rightColumn !== undefined && isNow(where.left)) return createdBeforeNow(rightColumn, FLIPPED[operator] ?? '');
  return false;
}

/** `x > 5` or `5 < x` as the column compared with the constant. */
function mysqlComparison(value: unknown): Comparison | undefined {
  if (!isJson(value) || value.type !== 'binary_expr') return undefined;
  const operator = String(value.operator);
  const path = (side: unknown) => (mysqlColumn(side) === undefined ? undefined : `${mysqlColumnTable(side)}.${mysqlColumn(side)}`);
  const [column, constant, flippedColumn, flippedConstant] = [path(value.left), mysqlValue(value.right), path(value.right), mysqlValue(value.left)];
  if (column !== undefined && constant !== undefined) return { column, operator, value: constant };
  if (flippedColumn !== undefined && flippedConstant !== undefined) return { column: flippedColumn, operator: FLIPPED[operator] ?? '', value: flippedConstant };
  return undefined;
}

/** `x IS NULL OR x IS NOT NULL`: every row is one or the other. */
function mysqlBothNullTests(left: unknown, right: unknown): boolean {
  const test = (value: unknown) => (isJson(value) && value.type === 'binary_expr' && isJson(value.right) && value.right.type === 'null' ? { operator: String(value.operator).toUpperCase(), column: mysqlColumn(value.left), table: mysqlColumnTable(value.left) } : undefined);
  const [a, b] = [test(left), test(right)];
  return a !== undefined && b !== undefined && a.column !== undefined && a.column === b.column && a.table === b.table && new Set([a.operator, b.operator]).size === 2 && [a.operator, b.operator].every((op) => op === 'IS' || op === 'IS NOT');
}

/** A condition that holds for no row (`0`, `FALSE`, `1 = 0`, `1 IN (2, 3)`, `NOT 1`, `id IS NULL`, an AND with such an arm). */
export function mysqlAlwaysFalse(where: unknown, keys: ReadonlySet<string> = ID): boolean {
  const constant = mysqlValue(where);
  if (constant !== undefined) return constant === false || constant === 0;
  if (!isJson(where)) return false;
  const not = negated(where);
  if (not !== undefined) return mysqlValue(not) !== undefined && mysqlAlwaysTrue(not);
  if (where.type !== 'binary_expr') return false;
  const operator = String(where.operator ?? '').toUpperCase();
  if (operator === 'AND' || operator === '&&') return mysqlAlwaysFalse(where.left, keys) || mysqlAlwaysFalse(where.right, keys);
  if (operator === 'OR' || operator === '||') return mysqlAlwaysFalse(where.left, keys) && mysqlAlwaysFalse(where.right, keys);
  if (operator === 'IS' && isNull(where.right)) return neverNull(mysqlColumn(where.left), keys);
  const [left, right] = [mysqlValue(where.left), mysqlValue(where.right)];
  const items = isJson(where.right) && where.right.type === 'expr_list' ? list(where.right.value).map(mysqlValue) : [];
  if ((operator === 'IN' || operator === 'NOT IN') && left !== undefined && items.length > 0 && !items.includes(undefined)) return items.includes(left) !== (operator === 'IN');
  return left !== undefined && right !== undefined && ['=', '<>', '!=', '<', '>', '<=', '>='].includes(operator) && !compareConstants(operator, left, right);
}

/** The arms of a condition's top-level ANDs. */
export function mysqlConjuncts(where: unknown): unknown[] {
  if (where === null || where === undefined) return [];
  if (isJson(where) && where.type === 'binary_expr' && /^(?:AND|&&)$/i.test(String(where.operator))) return [...mysqlConjuncts(where.left), ...mysqlConjuncts(where.right)];
  return [where];
}

/** `a.email = b.email`: one column compared with itself in another row. */
export function mysqlSameColumnEquality(condition: unknown): boolean {
  return isJson(condition) && condition.type === 'binary_expr' && condition.operator === '=' && mysqlColumn(condition.left) !== undefined && mysqlColumn(condition.left) === mysqlColumn(condition.right);
}

/** A comparison of two tables' columns (`o.id = f.id`), as pgJoinCondition reads it. */
export function mysqlJoinCondition(condition: unknown): boolean {
  if (!isJson(condition) || condition.type !== 'binary_expr' || !['=', '<>', '!=', '<', '>', '<=', '>='].includes(String(condition.operator))) return false;
  const [left, right] = [condition.left, condition.right];
  return mysqlColumn(left) !== undefined && mysqlColumn(right) !== undefined && mysqlColumnTable(left) !== mysqlColumnTable(right);
}

export function mysqlColumn(value: unknown): string | undefined {
  if (!isJson(value) || value.type !== 'column_ref') return undefined;
  const column = isJson(value.column) && isJson(value.column.expr) ? value.column.expr.value : value.column;
  return typeof column === 'string' ? column.toLowerCase() : undefined;
}
const mysqlColumnTable = (value: unknown) => (isJson(value) ? String(value.table ?? '').toLowerCase() : '');
