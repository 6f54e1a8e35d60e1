import sqlParser from 'node-sql-parser';
import { lex } from '../../../analysis/sql-lexer.js';
import { MYSQL_LEXICAL, readsFilesOrSendsData } from './dialect-lexical.js';
import {
  asText,
  blank,
  isJson,
  list,
  mergeObjects,
  objectsIn,
  piecesAt,
  tidy,
  unparsed,
  type Description,
  type Json,
  type ParsedStatement,
  type StatementKind,
  type TouchedObject,
} from '../../../analysis/sql-statements.js';
import { mysqlChangeBound, mysqlFunctionName, mysqlFunctionSchema, mysqlLimit, mysqlStar, mysqlTargets, mysqlUnboundedSelect } from './dialect-nodes.js';

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
  const statement = plainChange(code.trim().replace(/;\s*$/, ''));
  const read = (described: Description | undefined, command?: string) => (described ? { ...blank(tidy(original), entry), ...described, command: command ?? described.command } : undefined);
  const parsed =
    read(describeOne(statement, 'MySQL')) ??
    read(describeOne(statement, 'MariaDB')) ??
    // Under sql_mode ANSI_QUOTES (BI tools set it) "name" is a name, as `name` is.
    (statement.includes('"') ? read(describeOne(statement.replace(/"((?:[^"\\]|"")*)"/g, (_all, name: string) => `\`${name.replace(/""/g, '"').replace(/`/g, '``')}\``), 'MySQL')) : undefined);
  if (parsed) return parsed;
  // What node-sql-parser's grammar lacks, read as the statement it is equivalent to for the rules.
  const rewritten = mysqlEquivalent(statement);
  const equivalent = rewritten ? describeOne(rewritten.text, 'MySQL') : undefined;
  if (equivalent) return read(equivalent, rewritten!.command ?? equivalent.command)!;
  return unparsed(MYSQL_LEXICAL, original, entry);
}

/** One statement as node-sql-parser's grammar for `database` reads it, or undefined when it does not (or reads several). */
function describeOne(text: string, database: 'MySQL' | 'MariaDB'): Description | undefined {
  try {
    const result = mysqlParser.parse(text, { database });
    const asts = (Array.isArray(result.ast) ? result.ast : [result.ast]) as unknown[];
    return asts.length === 1 && isJson(asts[0]) ? describeMysql(asts[0], result.tableList) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An UPDATE or DELETE in the words the parser's grammar reads, touching the same rows: without the
 * modifiers LOW_PRIORITY, QUICK and IGNORE (which it misses, or reads as a table named IGNORE), without
 * a PARTITION list (the rows are the table's either way), and `DELETE FROM t USING ...` written as the
 * equivalent `DELETE t FROM ...`.
 */
function plainChange(statement: string): string {
  if (!/^(?:UPDATE|DELETE)\b/i.test(statement)) return statement;
  return statement
    .replace(/^(UPDATE|DELETE)(?:\s+(?:LOW_PRIORITY|QUICK|IGNORE)\b)+/i, '$1')
    .replace(/\s+PARTITION\s*\([\w`\s,]*\)/gi, '')
    .replace(/^DELETE\s+FROM\s+([\s\S]+?)\s+USING\s+/i, 'DELETE $1 FROM ');
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


const MYSQL_ACCESS: Record<string, TouchedObject['access'] | undefined> = {
  select: 'read', insert: 'write', replace: 'write', update: 'write', delete: 'write', truncate: 'write',
  create: 'ddl', alter: 'ddl', drop: 'ddl', rename: 'ddl',
};

function describeMysql(ast: Json, tableList: string[]): Description {
  const type = String(ast.type ?? '').toLowerCase();
  const keyword = String(ast.keyword ?? '').toLowerCase();
  const functions = new Set<string>();
  const routines = new Map<string, { schema: string; name: string }>();
  for (const object of objectsIn(ast)) {
    if (object.type !== 'function') continue;
    const [schema, name] = [mysqlFunctionSchema(object), mysqlFunctionName(object)];
    functions.add(name);
    if (schema !== undefined && name) routines.set(`${schema}.${name}`, { schema, name });
  }

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
  let joinedOnly = false;
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
    case 'delete': {
      kind = type;
      // A LIMIT picks rows, it does not say which: no bound of a change.
      const bound = mysqlChangeBound(ast);
      [unbounded, joinedOnly] = [bound !== 'bounded', bound === 'joined'];
      // Every table a multi-table change names as its target is written.
      const targets = mysqlTargets(ast);
      for (const item of list(type === 'delete' ? ast.from : ast.table)) {
        if (isJson(item) && [item.table, item.as].some((name) => typeof name === 'string' && targets.has(name.toLowerCase()))) named(item, 'write');
      }
      break;
    }
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
      // A dropped column takes its data with it, and a dropped or emptied partition its rows.
      const does = (action: string, resource: string) => list(ast.expr).some((item) => isJson(item) && item.action === action && item.resource === resource);
      const destroys = does('drop', 'column') ? 'DROP COLUMN' : does('drop', 'partition') ? 'DROP PARTITION' : does('truncate', 'partition') ? 'TRUNCATE PARTITION' : undefined;
      // One that only adds (columns, indexes, constraints) touches no row that was there.
      const adds = list(ast.expr).length > 0 && list(ast.expr).every((item) => isJson(item) && item.action === 'add');
      [kind, command] = ['ddl', destroys ? `ALTER TABLE ${destroys}` : adds ? 'ALTER TABLE ADD' : 'ALTER TABLE'];
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
  return { kind, command, objects: mergeObjects(objects), selectStar, unbounded, joinedOnly, limit, export: exported, functions: [...functions].filter(Boolean), routines: [...routines.values()], settings, switchesTo };
}
