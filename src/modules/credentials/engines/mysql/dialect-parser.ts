import sqlParser from 'node-sql-parser';
import { lex } from '../../../analysis/sql-lexer.js';
import { MYSQL_LEXICAL, readsFilesOrSendsData } from './dialect-lexical.js';
import {
  alwaysTrueOfKey,
  asText,
  blank,
  compareConstants,
  isJson,
  limitBounds,
  list,
  matchesEverything,
  mergeObjects,
  objectsIn,
  piecesAt,
  REDUCING_AGGREGATES,
  tidy,
  unparsed,
  type Description,
  type Json,
  type ParsedStatement,
  type StatementKind,
  type TouchedObject,
} from '../../../analysis/sql-statements.js';

/** Statements read by node-sql-parser, with its MySQL grammar first, then its MariaDB one. */

export { MYSQL_LEXICAL, readsFilesOrSendsData };

const mysqlParser = new sqlParser.Parser();

export function parseMysqlEntry(entryText: string, entry: number): ParsedStatement[] {
  const { parserText, semicolons } = lex(MYSQL_LEXICAL, entryText);
  const pieces = piecesAt(MYSQL_LEXICAL, entryText, semicolons.map((at) => at + 1));
  let offset = 0;
  const parsed: ParsedStatement[] = [];
  for (const piece of pieces) {
    // The parser reads the text with MySQL's executable comments (`/*!50000 ... */`) opened: the server runs them.
    const code = parserText.slice(offset, offset + piece.text.length);
    offset += piece.text.length;
    if (!piece.hasCode) continue;
    parsed.push(parseMysqlPiece(piece.text, code, entry));
  }
  return parsed;
}

function parseMysqlPiece(original: string, code: string, entry: number): ParsedStatement {
  const statement = code.trim().replace(/;\s*$/, '');
  for (const database of ['MySQL', 'MariaDB']) {
    try {
      const result = mysqlParser.parse(statement, { database });
      const asts = (Array.isArray(result.ast) ? result.ast : [result.ast]) as unknown[];
      if (asts.length !== 1 || !isJson(asts[0])) continue;
      return { ...blank(tidy(original), entry), ...describeMysql(asts[0], result.tableList) };
    } catch {
      // try the next dialect
    }
  }
  // What node-sql-parser's grammar lacks, read as the statement it is equivalent to for the rules.
  const rewritten = mysqlEquivalent(statement);
  if (rewritten) {
    try {
      const result = mysqlParser.parse(rewritten.text, { database: 'MySQL' });
      const asts = (Array.isArray(result.ast) ? result.ast : [result.ast]) as unknown[];
      if (asts.length === 1 && isJson(asts[0])) {
        const described = describeMysql(asts[0], result.tableList);
        return { ...blank(tidy(original), entry), ...described, command: rewritten.command ?? described.command };
      }
    } catch {
      // read by its words below
    }
  }
  return unparsed(MYSQL_LEXICAL, original, entry);
}

const STRING = String.raw`(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")`;
/** `INTO OUTFILE 'f'` with its export options (FIELDS TERMINATED BY ..., LINES ..., CHARACTER SET ...), wherever it stands. */
const INTO_FILE = new RegExp(
  String.raw`\bINTO\s+(OUTFILE|DUMPFILE)\s+(${STRING})((?:\s+(?:CHARACTER\s+SET\s+\w+|FIELDS|COLUMNS|LINES|OPTIONALLY|(?:ENCLOSED|TERMINATED|ESCAPED|STARTING)\s+BY\s+${STRING}))*)`,
  'i',
);

/**
 * Statements the parser's grammar cannot read, rewritten to one it can that touches the same objects
 * in the same way: DROP TEMPORARY TABLE (a DROP TABLE that only drops temporary tables), and SELECT
 * ... INTO OUTFILE with export options or before FROM (the same SELECT with the bare clause at its end).
 */
function mysqlEquivalent(statement: string): { text: string; command?: string } | undefined {
  if (/^DROP\s+TEMPORARY\s+TABLES?\b/i.test(statement)) return { text: statement.replace(/^DROP\s+TEMPORARY\s+/i, 'DROP '), command: 'DROP TEMPORARY TABLE' };
  const into = INTO_FILE.exec(statement);
  if (into) {
    const rest = `${statement.slice(0, into.index)} ${statement.slice(into.index + into[0].length)}`.trim();
    return { text: `${rest} INTO ${into[1]!.toUpperCase()} ${into[2]}` };
  }
  return undefined;
}

function mysqlFunctionName(node: Json): string {
  if (typeof node.name === 'string') return node.name.toLowerCase();
  const parts = isJson(node.name) ? list(node.name.name).map((part) => (isJson(part) ? asText(part.value) : undefined)) : [];
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

function mysqlValue(value: unknown): string | number | boolean | undefined {
  if (!isJson(value)) return undefined;
  if (value.type === 'bool' || value.type === 'boolean') return value.value === true;
  if (value.type === 'number') return Number(value.value);
  if (typeof value.value === 'string' && /string/.test(String(value.type))) return value.value;
  return undefined;
}

/** A WHERE that holds for every row, as pgAlwaysTrue reads it (`1`, `OR 1`, `1 = 1`, `id > 0`...). */
function mysqlAlwaysTrue(where: unknown): boolean {
  if (where === null || where === undefined) return true;
  const constant = mysqlValue(where);
  if (constant !== undefined) return constant === true || (typeof constant === 'number' && constant !== 0);
  if (!isJson(where) || where.type !== 'binary_expr') return false;
  const operator = String(where.operator ?? '').toUpperCase();
  if (operator === 'OR' || operator === '||') return mysqlAlwaysTrue(where.left) || mysqlAlwaysTrue(where.right);
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

/** A condition of constants that holds for no row (`0`, `FALSE`, `1 = 0`, `NOT 1`, an AND with such an arm). */
function mysqlAlwaysFalse(where: unknown): boolean {
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
function mysqlBoundsTarget(where: unknown, targets: ReadonlySet<string>): boolean {
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
function mysqlTargets(node: Json): Set<string> {
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
const mysqlJoinBound = (node: Json) =>
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

function mysqlStar(select: Json): boolean {
  return mysqlSelects(select).some(
    (arm) => arm.columns === '*' || list(arm.columns).some((column) => isJson(column) && isJson(column.expr) && column.expr.type === 'column_ref' && column.expr.column === '*'),
  );
}

function mysqlLimit(node: Json): number | undefined {
  const limit = isJson(node.limit) ? node.limit : undefined;
  const values = list(limit?.value).map((value) => (isJson(value) ? Number(value.value) : NaN));
  if (values.length === 0) return undefined;
  const count = limit?.seperator === ',' ? values[1] : values[0];
  return count !== undefined && Number.isFinite(count) ? count : undefined;
}

function mysqlUnboundedSelect(select: Json, outer: ReadonlyMap<string, Json> = new Map()): boolean {
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

const MYSQL_ACCESS: Record<string, TouchedObject['access'] | undefined> = {
  select: 'read', insert: 'write', replace: 'write', update: 'write', delete: 'write', truncate: 'write',
  create: 'ddl', alter: 'ddl', drop: 'ddl', rename: 'ddl',
};

function describeMysql(ast: Json, tableList: string[]): Description {
  const type = String(ast.type ?? '').toLowerCase();
  const keyword = String(ast.keyword ?? '').toLowerCase();
  const functions = new Set<string>();
  for (const object of objectsIn(ast)) if (object.type === 'function') functions.add(mysqlFunctionName(object));

  const cteNames = new Set(list(ast.with).map((cte) => (isJson(cte) && isJson(cte.name) ? asText(cte.name.value) : undefined)).filter(Boolean));
  const objects: TouchedObject[] = [];
  for (const entry of tableList) {
    const [action = '', db = 'null', table = 'null'] = entry.split('::');
    const access = MYSQL_ACCESS[action.toLowerCase()];
    if (!access || table === 'null') continue;
    const schema = db === 'null' ? undefined : db;
    if (schema === undefined && cteNames.has(table)) continue;
    objects.push({ schema, name: table, access });
  }
  const named = (value: unknown, access: TouchedObject['access']) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!isJson(item)) continue;
      const name = asText(item.table) ?? asText(item.view);
      if (name) objects.push({ schema: asText(item.db) ?? undefined, name, access });
    }
  };

  let kind: StatementKind = 'utility';
  let command = type.toUpperCase();
  let selectStar = false;
  let unbounded = false;
  let limit: number | undefined;
  let exported = false;
  let switchesTo: string | undefined;
  const settings: string[] = [];

  switch (type) {
    case 'select': {
      const into = isJson(ast.into) ? String(ast.into.keyword ?? '').toUpperCase() : '';
      kind = 'select';
      command = into === 'OUTFILE' || into === 'DUMPFILE' ? `SELECT INTO ${into}` : 'SELECT';
      exported = command !== 'SELECT';
      selectStar = mysqlStar(ast);
      unbounded = mysqlUnboundedSelect(ast);
      limit = mysqlLimit(ast);
      break;
    }
    case 'insert':
    case 'replace':
      kind = 'insert';
      selectStar = isJson(ast.values) && ast.values.type === 'select' ? mysqlStar(ast.values) : false;
      unbounded = isJson(ast.values) && ast.values.type === 'select' ? mysqlUnboundedSelect(ast.values) : false;
      break;
    case 'update':
    case 'delete':
      kind = type;
      unbounded = !mysqlBoundsTarget(ast.where, mysqlTargets(ast)) && !limitBounds(mysqlLimit(ast)) && !mysqlJoinBound(ast);
      break;
    case 'truncate':
      [kind, unbounded] = ['delete', true];
      break;
    case 'create':
      if (keyword === 'user' || keyword === 'role') kind = 'dcl';
      else kind = 'ddl';
      command = keyword === 'table' && ast.temporary ? 'CREATE TEMPORARY TABLE' : `CREATE ${keyword.toUpperCase()}`.trim();
      // A FEDERATED table's rows live on another server (its CONNECTION): what is written to it leaves.
      if (keyword === 'table' && list(ast.table_options).some((option) => isJson(option) && ((String(option.keyword).toLowerCase() === 'engine' && /^federated/i.test(String(option.value))) || String(option.keyword).toLowerCase() === 'connection'))) {
        [command, exported] = ['CREATE TABLE FEDERATED', true];
      }
      if (keyword === 'view') named(ast.view, 'ddl');
      if (keyword === 'index') named(ast.table, 'ddl');
      if (keyword === 'table') named(ast.table, 'ddl');
      if (keyword === 'database' || keyword === 'schema') {
        const schema = isJson(ast.database) ? list(ast.database.schema).map((part) => (isJson(part) ? asText(part.value) : undefined))[0] : asText(ast.database);
        if (schema) objects.push({ schema, name: '*', access: 'ddl' });
      }
      selectStar = isJson(ast.query_expr) ? mysqlStar(ast.query_expr) : isJson(ast.select) && keyword !== 'view' ? mysqlStar(ast.select) : false;
      {
        const query = isJson(ast.query_expr) ? ast.query_expr : isJson(ast.select) ? ast.select : undefined;
        const select = query && isJson(query.ast) ? query.ast : query;
        unbounded = select !== undefined && select.type === 'select' ? mysqlUnboundedSelect(select) : false;
      }
      break;
    case 'alter': {
      // A dropped column takes its data with it.
      const dropsColumn = list(ast.expr).some((item) => isJson(item) && item.action === 'drop' && item.resource === 'column');
      [kind, command] = ['ddl', dropsColumn ? 'ALTER TABLE DROP COLUMN' : 'ALTER TABLE'];
      break;
    }
    case 'drop':
      kind = keyword === 'user' || keyword === 'role' ? 'dcl' : 'ddl';
      command = `DROP ${keyword.toUpperCase()}`.trim();
      if (keyword === 'database' || keyword === 'schema') {
        const schema = asText(ast.name) ?? (isJson(ast.name) ? asText(ast.name.value) : undefined);
        if (schema) objects.push({ schema, name: '*', access: 'ddl' });
      } else named(ast.name, 'ddl');
      break;
    case 'rename':
      [kind, command] = ['ddl', 'RENAME TABLE'];
      break;
    case 'grant':
    case 'revoke':
      kind = 'dcl';
      break;
    case 'load_data': {
      const local = Boolean(ast.local);
      [kind, command] = ['copy', local ? 'LOAD DATA LOCAL INFILE' : 'LOAD DATA INFILE'];
      exported = !local; // reads a file of the database server
      named(ast.table, 'write');
      break;
    }
    case 'set': {
      kind = 'set';
      let global = ['GLOBAL', 'PERSIST', 'PERSIST_ONLY'].includes(String(ast.keyword ?? '').toUpperCase());
      for (const assignment of list(ast.expr)) {
        const left = isJson(assignment) && isJson(assignment.left) ? assignment.left : undefined;
        if (!left || left.prefix === '@') continue; // a user variable, not a setting
        const name = String(left.name ?? '').toLowerCase();
        const members = list(left.members).map(String);
        if ((name === 'global' || name === 'persist') && members.length > 0) global = true;
        settings.push((['global', 'session', 'local', 'persist'].includes(name) && members[0] ? members[0] : name).toLowerCase());
      }
      command = global ? 'SET GLOBAL' : 'SET';
      break;
    }
    case 'transaction': {
      const action = isJson(ast.expr) && isJson(ast.expr.action) ? String(ast.expr.action.value).toUpperCase() : 'TRANSACTION';
      const word = isJson(ast.expr) && ast.expr.keyword ? ` ${String(ast.expr.keyword).toUpperCase()}` : '';
      [kind, command] = ['transaction', `${action}${word}`];
      break;
    }
    case 'use':
      switchesTo = asText(ast.db);
      command = 'USE';
      break;
    case 'show':
      command = `SHOW ${keyword.toUpperCase()}`.trim();
      named(ast.table, 'read');
      break;
    case 'desc':
      command = 'DESCRIBE';
      if (asText(ast.table)) objects.push({ name: asText(ast.table)!, access: 'read' });
      break;
    case 'explain':
      command = 'EXPLAIN';
      for (const object of objects) object.access = 'read';
      break;
  }
  for (const name of functions) if (readsFilesOrSendsData(name)) exported = true;
  return { kind, command, objects: mergeObjects(objects), selectStar, unbounded, limit, export: exported, functions: [...functions].filter(Boolean), settings, switchesTo };
}
