import { loadModule, parsePlPgSQLSync, parseSync, scanSync } from 'libpg-query';
import { POSTGRES_LEXICAL } from './dialect-lexical.js';
import {
  asText,
  blank,
  emptyDescription,
  isJson,
  lexicalPieces,
  list,
  mergeObjects,
  objectsIn,
  piecesAt,
  tidy,
  unparsed,
  type Description,
  type Json,
  type ParsedStatement,
  type TouchedObject,
} from '../../../analysis/sql-statements.js';
import {
  fallbackKind,
  objectTypeWords,
  pgConst,
  pgFunctionName,
  pgLimit,
  pgStar,
  pgBoundsTarget,
  pgTargetNames,
  pgUnboundedSelect,
  PG_SIMPLE,
  readsFilesOrSendsData,
  unwrapSelect,
} from './dialect-nodes.js';

/** Statements read by libpg-query, PostgreSQL's own grammar compiled to WASM. */

export { POSTGRES_LEXICAL };

let pgLoading: Promise<void> | undefined;
export function pgReady(): Promise<void> {
  pgLoading ??= loadModule().catch((error: unknown) => {
    pgLoading = undefined;
    throw error;
  });
  return pgLoading;
}

export function parsePostgresEntry(text: string, entry: number): ParsedStatement[] {
  return withBlockStatements(parsePostgresStatements(text, entry), entry);
}

/** At most this many statements are read out of one DO block (its text is untrusted). */
const MAX_BLOCK_STATEMENTS = 200;

/**
 * A DO block runs its statements: each one it runs (a statement of PL/pgSQL, PERFORM, EXECUTE of a
 * string) follows the DO as a statement of its own, so the rules judge what it does. EXECUTE of text
 * built at run time is read by the words of its first string (`'DROP TABLE ' || name` is a DROP TABLE).
 */
function withBlockStatements(pieces: ParsedStatement[], entry: number): ParsedStatement[] {
  if (!pieces.some((piece) => piece.command === 'DO')) return pieces;
  const all: ParsedStatement[] = [];
  for (const piece of pieces) {
    all.push(piece);
    if (piece.command !== 'DO') continue;
    const inner = blockStatements(piece.text, entry).slice(0, MAX_BLOCK_STATEMENTS);
    // They come after the DO, so an entry's refusal (given to its last statement) falls on the block's last one.
    all.push(...inner);
  }
  return all;
}

function blockStatements(text: string, entry: number): ParsedStatement[] {
  try {
    const stmt = parseSync(text).stmts?.[0]?.stmt as unknown as Json | undefined;
    const node = stmt && isJson(stmt.DoStmt) ? stmt.DoStmt : undefined;
    if (!node) return [];
    const option = (name: string) => list(node.args).map((arg) => (isJson(arg) && isJson(arg.DefElem) && arg.DefElem.defname === name && isJson(arg.DefElem.arg) && isJson(arg.DefElem.arg.String) ? asText(arg.DefElem.arg.String.sval) : undefined)).find(Boolean);
    const body = option('as');
    if (body === undefined || (option('language') ?? 'plpgsql').toLowerCase() !== 'plpgsql') return [];
    let tag = 'dbaccess_body';
    while (body.includes(`$${tag}$`)) tag += '_';
    const tree = parsePlPgSQLSync(`CREATE FUNCTION pg_temp.dbaccess_do() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$`) as unknown;
    const found: ParsedStatement[] = [];
    for (const object of objectsIn(tree)) {
      const run = isJson(object.PLpgSQL_stmt_execsql) ? object.PLpgSQL_stmt_execsql.sqlstmt : isJson(object.PLpgSQL_stmt_perform) ? object.PLpgSQL_stmt_perform.expr : undefined;
      const query = isJson(run) && isJson(run.PLpgSQL_expr) ? asText(run.PLpgSQL_expr.query) : undefined;
      if (query !== undefined) found.push(...parsePostgresStatements(query, entry));
      const dynamic = isJson(object.PLpgSQL_stmt_dynexecute) && isJson(object.PLpgSQL_stmt_dynexecute.query) && isJson(object.PLpgSQL_stmt_dynexecute.query.PLpgSQL_expr) ? asText(object.PLpgSQL_stmt_dynexecute.query.PLpgSQL_expr.query) : undefined;
      if (dynamic !== undefined) found.push(...dynamicStatements(dynamic, entry));
    }
    return found;
  } catch {
    return [];
  }
}

/** EXECUTE's argument: a string is parsed as the statement it is; text built at run time is read by its first string's words. */
function dynamicStatements(expression: string, entry: number): ParsedStatement[] {
  const select = parseSync(`SELECT ${expression}`).stmts?.[0]?.stmt as unknown as Json | undefined;
  const target = select && isJson(select.SelectStmt) ? list(select.SelectStmt.targetList)[0] : undefined;
  const value = isJson(target) && isJson(target.ResTarget) ? target.ResTarget.val : undefined;
  const whole = isJson(value) && isJson(value.A_Const) && isJson(value.A_Const.sval) ? asText(value.A_Const.sval.sval) : undefined;
  if (whole !== undefined) return parsePostgresStatements(whole, entry);
  // The leftmost string: where the statement's first words are.
  const strings = [...objectsIn(value)]
    .filter((object) => isJson(object.A_Const) && isJson(object.A_Const.sval) && (asText(object.A_Const.sval.sval) ?? '').trim() !== '')
    .sort((a, b) => Number((a.A_Const as Json).location ?? 0) - Number((b.A_Const as Json).location ?? 0));
  const first = strings[0] ? asText(((strings[0].A_Const as Json).sval as Json).sval) : undefined;
  return first === undefined ? [] : [unparsed(POSTGRES_LEXICAL, first, entry)];
}

function parsePostgresStatements(text: string, entry: number): ParsedStatement[] {
  const serverCopy = psqlCopyAsServerCopy(text);
  if (serverCopy !== undefined) {
    const pieces = parsePostgresEntry(serverCopy, entry);
    if (pieces.length === 1 && pieces[0]!.parsed) return [{ ...pieces[0]!, text: tidy(text) }];
  }
  let whole: ReturnType<typeof parseSync> | undefined;
  try {
    whole = parseSync(text);
  } catch {
    whole = undefined;
  }
  if (whole) {
    const stmts = whole.stmts ?? [];
    const starts = stmts.map((stmt) => charOffset(text, stmt.stmt_location ?? 0));
    const pieces = piecesAt(POSTGRES_LEXICAL, text, starts);
    // One AST per piece when the splitting agrees with the parser; otherwise parse piece by piece.
    if (pieces.length === stmts.length) {
      return pieces.map((piece, index) => ({ ...blank(tidy(piece.text), entry), ...describePostgres(stmts[index]!.stmt as unknown as Json) }));
    }
  }
  let starts: number[];
  try {
    starts = scanSync(text)
      .tokens.filter((token) => token.tokenName === 'ASCII_59')
      .map((token) => charOffset(text, token.end));
  } catch {
    return lexicalPieces(POSTGRES_LEXICAL, text, entry).map((piece) => parsePostgresPiece(piece.text, entry));
  }
  return piecesAt(POSTGRES_LEXICAL, text, starts)
    .filter((piece) => piece.hasCode)
    .map((piece) => parsePostgresPiece(piece.text, entry));
}

/**
 * psql's `\\copy` as the server runs it: `COPY <table or (query)> TO STDOUT` (psql writes the file on
 * the client) or `FROM STDIN`. Undefined for anything else.
 */
export function psqlCopyAsServerCopy(text: string): string | undefined {
  const start = /^\s*\\copy\s+/i.exec(text);
  if (!start) return undefined;
  const rest = text.slice(start[0].length);
  let source: string | undefined;
  if (rest.startsWith('(')) {
    let depth = 0;
    let quoted = false;
    for (let i = 0; i < rest.length && source === undefined; i++) {
      const c = rest[i];
      if (c === "'") quoted = !quoted;
      else if (!quoted && c === '(') depth++;
      else if (!quoted && c === ')' && --depth === 0) source = rest.slice(0, i + 1);
    }
  } else source = /^(?:"[^"]*"|[^\s("]+)(?:\.(?:"[^"]*"|[^\s("]+))?\s*(?:\([^)]*\))?/.exec(rest)?.[0];
  if (!source) return undefined;
  const direction = /^\s*(to|from)\b/i.exec(rest.slice(source.length))?.[1]?.toLowerCase();
  if (!direction) return undefined;
  return `COPY ${source.trim()} ${direction === 'to' ? 'TO STDOUT' : 'FROM STDIN'}`;
}

function parsePostgresPiece(text: string, entry: number): ParsedStatement {
  try {
    const result = parseSync(text);
    const stmt = result.stmts?.[0]?.stmt;
    if (!stmt || (result.stmts?.length ?? 0) !== 1) return unparsed(POSTGRES_LEXICAL, text, entry);
    return { ...blank(tidy(text), entry), ...describePostgres(stmt as unknown as Json) };
  } catch {
    return unparsed(POSTGRES_LEXICAL, text, entry);
  }
}

/** libpg-query reports byte offsets into the UTF-8 text. */
function charOffset(text: string, byteOffset: number): number {
  return Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}

function describePostgres(wrapper: Json): Description {
  const [type, body] = Object.entries(wrapper)[0] ?? ['Unknown', {}];
  const node = isJson(body) ? body : {};
  const cteNames = new Set<string>();
  const functions = new Set<string>();
  const settings = new Set<string>();
  let configuredPath: string | undefined;
  for (const object of objectsIn(node)) {
    const cte = asText(object.ctename);
    if (cte) cteNames.add(cte);
    if (isJson(object.FuncCall)) {
      const name = pgFunctionName(object.FuncCall);
      functions.add(name);
      const [first, second] = list(object.FuncCall.args);
      if (name === 'set_config' && typeof pgConst(first) === 'string') {
        const setting = String(pgConst(first)).toLowerCase();
        settings.add(setting);
        // set_config('search_path', 'sales, public', false) switches schemas as SET search_path does.
        if (setting === 'search_path' && typeof pgConst(second) === 'string') configuredPath = firstSchema(String(pgConst(second)));
      }
    }
  }

  // Relations the statement changes; every other relation in it is read.
  const targets = new Map<Json, TouchedObject['access']>();
  const extra: TouchedObject[] = [];
  const markTarget = (value: unknown, access: TouchedObject['access']) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (isJson(item) && asText(item.relname) !== undefined) targets.set(item, access);
      else if (isJson(item) && isJson(item.RangeVar)) targets.set(item.RangeVar, access);
    }
  };

  let [kind, command] = PG_SIMPLE[type] ?? fallbackKind(type);
  let selectStar = false;
  let unbounded = false;
  let limit: number | undefined;
  let exported = false;
  let switchesTo: string | undefined;

  switch (type) {
    case 'SelectStmt': {
      const into = isJson(node.intoClause) ? node.intoClause : undefined;
      [kind, command] = into ? ['ddl', 'SELECT INTO'] : ['select', list(node.lockingClause).length > 0 ? 'SELECT FOR UPDATE' : 'SELECT'];
      if (into) markTarget(into.rel, 'ddl');
      selectStar = pgStar(node);
      unbounded = pgUnboundedSelect(node);
      limit = pgLimit(node);
      break;
    }
    case 'InsertStmt': {
      markTarget(node.relation, 'write');
      const source = unwrapSelect(node.selectStmt);
      selectStar = source ? pgStar(source) : false;
      unbounded = source ? pgUnboundedSelect(source) : false;
      break;
    }
    case 'UpdateStmt':
    case 'DeleteStmt':
      markTarget(node.relation, 'write');
      unbounded = !pgBoundsTarget(node.whereClause, pgTargetNames(node.relation));
      break;
    case 'MergeStmt':
      markTarget(node.relation, 'write');
      break;
    case 'TruncateStmt':
      [kind, command] = ['delete', 'TRUNCATE'];
      markTarget(node.relations, 'write');
      unbounded = true;
      break;
    case 'CopyStmt': {
      const from = node.is_from === true;
      const where = node.is_program === true ? ' PROGRAM' : node.filename !== undefined ? ' FILE' : '';
      [kind, command] = ['copy', `COPY ${from ? 'FROM' : 'TO'}${where}`];
      markTarget(node.relation, from ? 'write' : 'read');
      if (!from) {
        exported = true;
        const query = unwrapSelect(node.query);
        selectStar = query ? pgStar(query) : true;
        unbounded = query ? pgUnboundedSelect(query) : true;
        limit = query ? pgLimit(query) : undefined;
      } else if (where) {
        exported = true; // the server's own files or programs, read through a table
      }
      break;
    }
    case 'CreateStmt': {
      const relation = isJson(node.relation) ? node.relation : {};
      command = relation.relpersistence === 't' ? 'CREATE TEMP TABLE' : 'CREATE TABLE';
      kind = 'ddl';
      markTarget(node.relation, 'ddl');
      break;
    }
    case 'CreateTableAsStmt': {
      const into = isJson(node.into) ? node.into : {};
      const temporary = isJson(into.rel) && into.rel.relpersistence === 't';
      command = node.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : temporary ? 'CREATE TEMP TABLE AS' : 'CREATE TABLE AS';
      markTarget(into.rel, 'ddl');
      const query = unwrapSelect(node.query);
      selectStar = query ? pgStar(query) : false;
      unbounded = query ? pgUnboundedSelect(query) : false;
      break;
    }
    case 'ViewStmt': {
      markTarget(node.view, 'ddl');
      const query = unwrapSelect(node.query);
      unbounded = query ? pgUnboundedSelect(query) : false;
      break;
    }
    case 'IndexStmt':
    case 'CreateTrigStmt':
    case 'RuleStmt':
    case 'ClusterStmt':
      markTarget(node.relation, kind === 'utility' ? 'read' : 'ddl');
      break;
    case 'RefreshMatViewStmt':
      markTarget(node.relation, 'write');
      break;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      markTarget(node.table, 'ddl');
      break;
    case 'AlterTableStmt': {
      const subtypes = list(node.cmds).map((cmd) => (isJson(cmd) && isJson(cmd.AlterTableCmd) ? asText(cmd.AlterTableCmd.subtype) : undefined));
      const words = objectTypeWords(node.objtype);
      // Any change of owner among the commands hands the object over; a dropped column takes its data with it.
      if (subtypes.includes('AT_ChangeOwner')) [kind, command] = ['dcl', `ALTER ${words} OWNER`];
      else if (subtypes.includes('AT_DropColumn')) [kind, command] = ['ddl', `ALTER ${words} DROP COLUMN`];
      else [kind, command] = ['ddl', `ALTER ${words}`];
      markTarget(node.relation, 'ddl');
      break;
    }
    case 'RenameStmt':
      [kind, command] = ['ddl', `ALTER ${objectTypeWords(node.renameType)} RENAME`];
      markTarget(node.relation, 'ddl');
      break;
    case 'DropStmt': {
      const words = objectTypeWords(node.removeType);
      [kind, command] = ['ddl', `DROP ${words}`];
      for (const object of list(node.objects)) {
        const names = isJson(object) && isJson(object.List) ? list(object.List.items).map((item) => (isJson(item) && isJson(item.String) ? asText(item.String.sval) : undefined)) : [];
        if (node.removeType === 'OBJECT_SCHEMA' && isJson(object) && isJson(object.String)) {
          extra.push({ schema: asText(object.String.sval), name: '*', access: 'ddl' });
        } else if (['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'INDEX', 'SEQUENCE', 'FOREIGN TABLE'].includes(words) && names.length > 0) {
          const name = names[names.length - 1];
          if (name) extra.push({ schema: names.length > 1 ? names[names.length - 2] : undefined, name, access: 'ddl' });
        }
      }
      break;
    }
    case 'CreateSchemaStmt':
      if (asText(node.schemaname)) extra.push({ schema: asText(node.schemaname), name: '*', access: 'ddl' });
      break;
    case 'CommentStmt': {
      const names = isJson(node.object) && isJson(node.object.List) ? list(node.object.List.items).map((item) => (isJson(item) && isJson(item.String) ? asText(item.String.sval) : undefined)) : [];
      const name = names[names.length - 1];
      if (node.objtype === 'OBJECT_TABLE' && name) extra.push({ schema: names.length > 1 ? names[names.length - 2] : undefined, name, access: 'ddl' });
      break;
    }
    case 'GrantStmt':
      [kind, command] = ['dcl', node.is_grant === true ? 'GRANT' : 'REVOKE'];
      markTarget(node.objects, 'ddl');
      break;
    case 'GrantRoleStmt':
      [kind, command] = ['dcl', node.is_grant === true ? 'GRANT ROLE' : 'REVOKE ROLE'];
      break;
    case 'CreateRoleStmt':
      command = node.stmt_type === 'ROLESTMT_USER' ? 'CREATE USER' : node.stmt_type === 'ROLESTMT_GROUP' ? 'CREATE GROUP' : 'CREATE ROLE';
      break;
    case 'AlterRoleSetStmt':
    case 'AlterDatabaseSetStmt':
    case 'AlterSystemStmt': {
      const set = isJson(node.setstmt) ? node.setstmt : {};
      if (asText(set.name)) settings.add(asText(set.name)!.toLowerCase());
      break;
    }
    case 'VariableSetStmt': {
      const name = (asText(node.name) ?? '').toLowerCase();
      const reset = node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL';
      kind = name === 'transaction' || name === 'session_characteristics' ? 'transaction' : 'set';
      command =
        name === 'role' ? (reset ? 'RESET ROLE' : 'SET ROLE')
        : name === 'session_authorization' ? (reset ? 'RESET SESSION AUTHORIZATION' : 'SET SESSION AUTHORIZATION')
        : name === 'transaction' ? 'SET TRANSACTION'
        : reset ? 'RESET' : 'SET';
      if (name && !['role', 'session_authorization', 'transaction'].includes(name)) settings.add(name);
      if (name === 'search_path' && !reset) {
        switchesTo = list(node.args)
          .map((arg) => pgConst(arg))
          .find((value): value is string => typeof value === 'string' && value !== '$user');
      }
      break;
    }
    case 'TransactionStmt':
      [kind, command] = ['transaction', (asText(node.kind) ?? 'TRANSACTION').replace(/^TRANS_STMT_/, '').replace(/_/g, ' ')];
      break;
    case 'ExplainStmt': {
      const inner = isJson(node.query) ? describePostgres(node.query) : undefined;
      const analyze = list(node.options).some((option) => isJson(option) && isJson(option.DefElem) && option.DefElem.defname === 'analyze');
      // EXPLAIN ANALYZE runs the statement; plain EXPLAIN only plans it. Either way a query's rows are
      // not sent back (only the plan is): what it changes, creates or calls still counts, not what it reads out.
      if (inner && analyze) {
        const rowsKept = inner.kind === 'select' ? { unbounded: false, selectStar: false, limit: undefined } : {};
        return { ...inner, ...rowsKept, command: `EXPLAIN ANALYZE ${inner.command}` };
      }
      return { ...(inner ?? emptyDescription()), kind: 'utility', command: 'EXPLAIN', objects: (inner?.objects ?? []).map((o) => ({ ...o, access: 'read' as const })), export: false, unbounded: false, selectStar: false };
    }
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      // What will run: a prepared DELETE is judged as a DELETE.
      const inner = isJson(node.query) ? describePostgres(node.query) : undefined;
      if (inner) return { ...inner, command: `${type === 'PrepareStmt' ? 'PREPARE' : 'DECLARE CURSOR'} ${inner.command}` };
      break;
    }
    case 'CreateFunctionStmt':
    case 'AlterFunctionStmt': {
      // SECURITY DEFINER: whoever calls it acts with the owner's rights.
      const options = [...list(node.options), ...list(node.actions)];
      const definer = options.some((option) => isJson(option) && isJson(option.DefElem) && option.DefElem.defname === 'security' && isJson(option.DefElem.arg) && isJson(option.DefElem.arg.Boolean) && option.DefElem.arg.Boolean.boolval === true);
      if (definer) [kind, command] = ['dcl', `${type === 'CreateFunctionStmt' ? 'CREATE' : 'ALTER'} FUNCTION SECURITY DEFINER`];
      break;
    }
    case 'CreateForeignServerStmt':
    case 'AlterForeignServerStmt':
      // A foreign server is a connection to another database server: what is written to it leaves.
      [kind, command, exported] = ['ddl', type === 'CreateForeignServerStmt' ? 'CREATE SERVER' : 'ALTER SERVER', true];
      break;
    case 'VacuumStmt':
      command = node.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE';
      break;
  }

  for (const name of functions) if (readsFilesOrSendsData(name)) exported = true;

  // Data-modifying WITH queries (`WITH gone AS (DELETE FROM t RETURNING *) SELECT ...`) change their
  // tables as the statement runs: judged as the change they are.
  for (const cte of list(isJson(node.withClause) ? node.withClause.ctes : undefined)) {
    const query = isJson(cte) && isJson(cte.CommonTableExpr) && isJson(cte.CommonTableExpr.ctequery) ? cte.CommonTableExpr.ctequery : undefined;
    const [innerType, innerNode] = query ? (Object.entries(query)[0] ?? []) : [];
    if (!query || !isJson(innerNode) || !['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(String(innerType))) continue;
    markTarget(innerNode.relation, 'write');
    const inner = describePostgres(query);
    const change = inner.kind === 'update' || inner.kind === 'delete';
    if (change && (inner.unbounded || kind === 'select')) [kind, command, unbounded] = [inner.kind, `WITH ${inner.command}`, inner.unbounded];
  }

  const objects: TouchedObject[] = [...extra];
  for (const object of objectsIn(node)) {
    const relname = asText(object.relname);
    if (relname === undefined) continue;
    const schema = asText(object.schemaname) ?? (object.relpersistence === 't' ? 'pg_temp' : undefined);
    if (schema === undefined && cteNames.has(relname)) continue;
    objects.push({ schema, name: relname, access: targets.get(object) ?? 'read' });
  }
  switchesTo ??= configuredPath;
  return { kind, command, objects: mergeObjects(objects), selectStar, unbounded, limit, export: exported, functions: [...functions].filter(Boolean), settings: [...settings], switchesTo };
}

/** The first schema of a search_path value (`"$user", sales, public` -> `sales`), unquoted; undefined when empty. */
function firstSchema(path: string): string | undefined {
  for (const part of path.split(',')) {
    const name = part.trim();
    const unquoted = /^"(.*)"$/.test(name) ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
    if (unquoted && unquoted !== '$user') return unquoted;
  }
  return undefined;
}
