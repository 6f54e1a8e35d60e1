import { alwaysTrueOfKey, asText, compareConstants, complementary, createdBeforeNow, FLIPPED, isJson, keyRangeHoldsAll, list, matchesEverything, neverNull, NOW_FUNCTIONS, type Comparison, type Json } from '../../../analysis/sql-statements.js';

/** Reading libpg-query's conditions: which hold for every row, for none, and which only join tables. */

export function pgConst(value: unknown): string | number | boolean | undefined {
  if (!isJson(value) || !isJson(value.A_Const)) return undefined;
  const constant = value.A_Const;
  if (isJson(constant.ival)) return typeof constant.ival.ival === 'number' ? constant.ival.ival : 0;
  if (isJson(constant.sval)) return asText(constant.sval.sval) ?? '';
  if (isJson(constant.boolval)) return constant.boolval.boolval === true;
  if (isJson(constant.fval)) return Number(constant.fval.fval);
  return undefined;
}

const isNullConst = (value: unknown) => isJson(value) && isJson(value.A_Const) && value.A_Const.isnull === true;
const operatorOf = (expr: Json) => asText(list(expr.name).map((part) => (isJson(part) && isJson(part.String) ? part.String.sval : undefined))[0]) ?? '';

/** The current time: now(), CURRENT_TIMESTAMP, LOCALTIMESTAMP, clock_timestamp()...; or a time after it (`now() + interval '10 years'`). */
function pgNow(value: unknown): boolean {
  if (!isJson(value)) return false;
  if (isJson(value.A_Expr) && value.A_Expr.kind === 'AEXPR_OP' && operatorOf(value.A_Expr) === '+') return pgNow(value.A_Expr.lexpr);
  if (isJson(value.SQLValueFunction)) return /^SVFOP_(?:CURRENT_TIMESTAMP|LOCALTIMESTAMP)/.test(String(value.SQLValueFunction.op));
  if (!isJson(value.FuncCall)) return false;
  const parts = list(value.FuncCall.funcname).map((part) => (isJson(part) && isJson(part.String) ? asText(part.String.sval) : undefined));
  return NOW_FUNCTIONS.has((parts[parts.length - 1] ?? '').toLowerCase());
}

/**
 * A WHERE that holds for every row: none, `true`, `1 = 1`, `'a' = 'a'`, `1 IN (1, 2)`, `NULL IS NULL`,
 * `EXISTS (SELECT 1)`, `id = id`, an OR with such an arm (or a comparison and its complement: `x = 5 OR
 * x <> 5`), an AND of only such arms, a key compared
 * with what every key is (`id > 0`, `id >= 1`, `id < 99999999999`, `id BETWEEN 0 AND 2147483647`;
 * see alwaysTrueOfKey), a column that is never null (neverNull: `id IS NOT NULL`, `NOT (id IS NULL)`), and
 * a row's creation time before now (`created_at < now()`).
 */
export function pgAlwaysTrue(where: unknown, keys: ReadonlySet<string> = ID): boolean {
  if (where === undefined) return true;
  if (pgConst(where) === true) return true;
  if (!isJson(where)) return false;
  const always = (arm: unknown) => pgAlwaysTrue(arm, keys);
  if (isJson(where.BoolExpr)) {
    const args = list(where.BoolExpr.args);
    if (where.BoolExpr.boolop === 'OR_EXPR') return args.some(always) || bothNullTests(args) || complementary(args.map(pgComparison));
    if (where.BoolExpr.boolop === 'AND_EXPR') return args.length > 0 && args.every(always);
    if (where.BoolExpr.boolop === 'NOT_EXPR') return args.length === 1 && pgAlwaysFalse(args[0], keys);
    return false;
  }
  if (isJson(where.SubLink)) {
    const select = isJson(where.SubLink.subselect) && isJson(where.SubLink.subselect.SelectStmt) ? where.SubLink.subselect.SelectStmt : undefined;
    return where.SubLink.subLinkType === 'EXISTS_SUBLINK' && select !== undefined && select.fromClause === undefined && select.whereClause === undefined;
  }
  if (isJson(where.NullTest)) {
    const { arg, nulltesttype } = where.NullTest;
    if (isNullConst(arg)) return nulltesttype === 'IS_NULL';
    return nulltesttype === 'IS_NOT_NULL' && neverNull(pgColumn(arg), keys);
  }
  if (!isJson(where.A_Expr)) return false;
  const expr = where.A_Expr;
  // `col LIKE '%'` keeps every row (but those where col is null).
  if (expr.kind === 'AEXPR_LIKE' || expr.kind === 'AEXPR_ILIKE') return (operatorOf(expr) === '~~' || operatorOf(expr) === '~~*') && matchesEverything(pgConst(expr.rexpr));
  const items = isJson(expr.rexpr) && isJson(expr.rexpr.List) ? list(expr.rexpr.List.items).map(pgConst) : [];
  if (expr.kind === 'AEXPR_IN') {
    const value = pgConst(expr.lexpr);
    if (value === undefined || items.length === 0 || items.includes(undefined)) return false;
    return items.includes(value) === (operatorOf(expr) === '=');
  }
  if (expr.kind === 'AEXPR_BETWEEN') return keyRangeHoldsAll(pgColumn(expr.lexpr) ?? '', items[0], items[1]);
  if (expr.kind !== 'AEXPR_OP') return false;
  const operator = operatorOf(expr);
  const [left, right] = [pgConst(expr.lexpr), pgConst(expr.rexpr)];
  if (left !== undefined && right !== undefined) return compareConstants(operator, left, right);
  const [leftColumn, rightColumn] = [pgColumn(expr.lexpr), pgColumn(expr.rexpr)];
  if (leftColumn !== undefined && pgColumnPath(expr.lexpr) === pgColumnPath(expr.rexpr)) return ['=', '>=', '<='].includes(operator);
  if (leftColumn !== undefined && typeof right === 'number') return alwaysTrueOfKey(leftColumn, operator, right);
  if (rightColumn !== undefined && typeof left === 'number') return alwaysTrueOfKey(rightColumn, FLIPPED[operator] ?? '', left);
  if (leftColumn !== undefined && pgNow(expr.rexpr)) return createdBeforeNow(leftColumn, operator);
  if (rightColumn !== undefined && pgNow(expr.lexpr)) return createdBeforeNow(rightColumn, FLIPPED[operator] ?? '');
  return false;
}
const ID: ReadonlySet<string> = new Set(['id']);

/** `x > 5` or `5 < x` as the column compared with the constant. */
function pgComparison(value: unknown): Comparison | undefined {
  if (!isJson(value) || !isJson(value.A_Expr) || value.A_Expr.kind !== 'AEXPR_OP') return undefined;
  const [column, constant, flippedColumn, flippedConstant] = [pgColumnPath(value.A_Expr.lexpr), pgConst(value.A_Expr.rexpr), pgColumnPath(value.A_Expr.rexpr), pgConst(value.A_Expr.lexpr)];
  const operator = operatorOf(value.A_Expr);
  if (column !== undefined && constant !== undefined) return { column, operator, value: constant };
  if (flippedColumn !== undefined && flippedConstant !== undefined) return { column: flippedColumn, operator: FLIPPED[operator] ?? '', value: flippedConstant };
  return undefined;
}

/** `x IS NULL OR x IS NOT NULL` (among other arms): every row is one or the other. */
function bothNullTests(args: unknown[]): boolean {
  const tests = args.filter((arg): arg is Json => isJson(arg) && isJson(arg.NullTest)).map((arg) => arg.NullTest as Json);
  const of = (kind: string) => new Set(tests.filter((test) => test.nulltesttype === kind).map((test) => pgColumnPath(test.arg)).filter((path) => path !== undefined));
  const isNull = of('IS_NULL');
  return [...of('IS_NOT_NULL')].some((path) => isNull.has(path));
}

/**
 * A condition that holds for no row: `false`, `1 = 0`, `1 IN (2, 3)`, `NOT true`, a key that is null (`id IS NULL`),
 * an AND with such an arm, an OR of only such arms.
 */
export function pgAlwaysFalse(where: unknown, keys: ReadonlySet<string> = ID): boolean {
  const constant = pgConst(where);
  if (constant !== undefined) return constant === false;
  if (!isJson(where)) return false;
  if (isJson(where.BoolExpr)) {
    const args = list(where.BoolExpr.args);
    if (where.BoolExpr.boolop === 'AND_EXPR') return args.some((arm) => pgAlwaysFalse(arm, keys));
    if (where.BoolExpr.boolop === 'OR_EXPR') return args.length > 0 && args.every((arm) => pgAlwaysFalse(arm, keys));
    if (where.BoolExpr.boolop === 'NOT_EXPR') return args.length === 1 && args[0] !== undefined && pgConst(args[0]) !== undefined && pgAlwaysTrue(args[0]);
    return false;
  }
  if (isJson(where.NullTest)) {
    const { arg, nulltesttype } = where.NullTest;
    return isNullConst(arg) ? nulltesttype === 'IS_NOT_NULL' : nulltesttype === 'IS_NULL' && neverNull(pgColumn(arg), keys);
  }
  if (isJson(where.A_Expr) && where.A_Expr.kind === 'AEXPR_IN') {
    const value = pgConst(where.A_Expr.lexpr);
    const items = isJson(where.A_Expr.rexpr) && isJson(where.A_Expr.rexpr.List) ? list(where.A_Expr.rexpr.List.items).map(pgConst) : [];
    return value !== undefined && items.length > 0 && !items.includes(undefined) && items.includes(value) !== (operatorOf(where.A_Expr) === '=');
  }
  if (isJson(where.A_Expr) && where.A_Expr.kind === 'AEXPR_OP') {
    const operator = operatorOf(where.A_Expr);
    const [left, right] = [pgConst(where.A_Expr.lexpr), pgConst(where.A_Expr.rexpr)];
    return left !== undefined && right !== undefined && ['=', '<>', '!=', '<', '>', '<=', '>='].includes(operator) && !compareConstants(operator, left, right);
  }
  return false;
}

/** The arms of a condition's top-level ANDs. */
export function pgConjuncts(where: unknown): unknown[] {
  if (where === undefined) return [];
  if (isJson(where) && isJson(where.BoolExpr) && where.BoolExpr.boolop === 'AND_EXPR') return list(where.BoolExpr.args).flatMap(pgConjuncts);
  return [where];
}

/** `a.email = b.email`: one column compared with itself in another row. */
export function pgSameColumnEquality(condition: unknown): boolean {
  return isJson(condition) && isJson(condition.A_Expr) && condition.A_Expr.kind === 'AEXPR_OP' && operatorOf(condition.A_Expr) === '=' && pgColumn(condition.A_Expr.lexpr) !== undefined && pgColumn(condition.A_Expr.lexpr) === pgColumn(condition.A_Expr.rexpr);
}

/**
 * A comparison of two tables' columns (`o.id = f.id`, `i.id <> d.keep`, `customer_id = c.id`): it pairs
 * rows, and keeps as many as the other table holds. Two columns of one table (`price = list_price`) are
 * a condition on its rows.
 */
export function pgJoinCondition(condition: unknown): boolean {
  if (!isJson(condition) || !isJson(condition.A_Expr) || condition.A_Expr.kind !== 'AEXPR_OP') return false;
  const qualifier = (value: unknown) => {
    const fields = isJson(value) && isJson(value.ColumnRef) ? list(value.ColumnRef.fields) : [];
    return fields.length === 0 ? null : fields.length === 1 ? '' : pgColumnPath(value)!.split('.').slice(-2)[0]!;
  };
  const [left, right] = [qualifier(condition.A_Expr.lexpr), qualifier(condition.A_Expr.rexpr)];
  return left !== null && right !== null && left !== right;
}

/** The column a node names (its last part, lower case), if it is a plain column reference. */
export function pgColumn(value: unknown): string | undefined {
  if (!isJson(value) || !isJson(value.ColumnRef)) return undefined;
  const fields = list(value.ColumnRef.fields);
  const last = fields[fields.length - 1];
  return isJson(last) && isJson(last.String) ? asText(last.String.sval)?.toLowerCase() : undefined;
}

const pgColumnPath = (value: unknown) =>
  isJson(value) && isJson(value.ColumnRef) ? list(value.ColumnRef.fields).map((field) => (isJson(field) && isJson(field.String) ? asText(field.String.sval) : '*')).join('.').toLowerCase() : undefined;
