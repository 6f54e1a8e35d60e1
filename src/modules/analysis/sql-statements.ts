import { loadModule, parseSync, scanSync } from 'libpg-query';
import sqlParser from 'node-sql-parser';

/**
 * Captured statements read by the engines' real parsers: libpg-query (PostgreSQL's own grammar) and
 * node-sql-parser (MySQL, then MariaDB). The texts are untrusted; nothing here throws on them and
 * nothing in them changes how they are read. What a parser cannot read comes back as kind `other`,
 * `parsed: false`, with the leading words as its command so the rules can still look at it.
 */

export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'ddl' | 'dcl' | 'copy' | 'set' | 'transaction' | 'utility' | 'other';

export interface TouchedObject {
  /** As written; undefined when unqualified. `pg_temp` for temporary tables. */
  schema?: string | undefined;
  /** A table, view or sequence; `*` when the statement is about the whole schema (CREATE/DROP SCHEMA). */
  name: string;
  access: 'read' | 'write' | 'ddl';
}

export interface ParsedStatement {
  text: string;
  kind: StatementKind;
  /** `SELECT`, `CREATE TABLE`, `COPY TO`, `SELECT INTO OUTFILE`...; for unparsed text its leading words. */
  command: string;
  objects: TouchedObject[];
  /** The rows it returns or copies carry every column (`SELECT *`, `t.*`, `TABLE t`, `COPY t TO`). */
  selectStar: boolean;
  /**
   * UPDATE/DELETE without WHERE (or with a constant-true one) and TRUNCATE; for SELECT and COPY TO:
   * whole tables read, with no WHERE, LIMIT, GROUP BY or reducing aggregate.
   */
  unbounded: boolean;
  limit?: number | undefined;
  /** False when the parser could not read it: kind `other`. */
  parsed: boolean;
  /**
   * The server's refusal, passed through. When one log entry holds several statements it is given to
   * the last one only: the others may have run, and appending a failing statement must not make them
   * look refused.
   */
  error?: string | undefined;
  /** Which log entry (index into the input) it came from. */
  entry: number;
  /** Data leaves the database or server files are read: COPY TO, INTO OUTFILE/DUMPFILE, pg_read_file, lo_export, load_file, dblink. */
  export: boolean;
  /** Functions called, lower case, without schema. */
  functions: string[];
  /** Server settings it changes (SET, SET GLOBAL, ALTER SYSTEM, ALTER ROLE ... SET, set_config). */
  settings: string[];
  /** The schema (database on MySQL) that unqualified names refer to from here on: USE db, SET search_path. */
  switchesTo?: string | undefined;
}

export type SqlEngine = 'postgres' | 'mysql';

/** Functions that read the server's files or send data elsewhere. */
const EXPORT_FUNCTIONS = new Set([
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir',
  'lo_export', 'lo_import', 'dblink', 'dblink_exec', 'dblink_send_query', 'dblink_open', 'load_file',
]);
/** Aggregates that reduce rows to a few numbers; array_agg and string_agg do not (they carry every row). */
const REDUCING_AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'stddev', 'variance', 'bit_and', 'bit_or']);

export async function parseStatements(engine: SqlEngine, statements: Array<{ statement: string; error?: string | undefined }>): Promise<ParsedStatement[]> {
  // Should the WASM parser fail to load, statements are still split and read by their words.
  const parser = engine === 'mysql' || (await pgReady().then(() => true, () => false));
  const parsed: ParsedStatement[] = [];
  for (const [entry, { statement, error }] of statements.entries()) {
    let pieces: ParsedStatement[];
    try {
      if (!parser) pieces = lexicalPieces(engine, statement, entry);
      else pieces = engine === 'postgres' ? parsePostgresEntry(statement, entry) : parseMysqlEntry(statement, entry);
    } catch {
      pieces = [unparsed(engine, statement, entry)];
    }
    if (pieces.length === 0) pieces = [{ ...blank(statement.trim(), entry), kind: 'utility', command: 'EMPTY' }];
    // Capture readers may hand over null or '' for "no error": neither is a refusal.
    if (typeof error === 'string' && error.length > 0) pieces[pieces.length - 1]!.error = error;
    parsed.push(...pieces);
  }
  return parsed;
}

let pgLoading: Promise<void> | undefined;
function pgReady(): Promise<void> {
  pgLoading ??= loadModule().catch((error: unknown) => {
    pgLoading = undefined;
    throw error;
  });
  return pgLoading;
}

// ---------------------------------------------------------------------------------------------------
// Splitting. Pieces partition the entry's text, so a comment after the last `;` stays with the last
// statement (nothing in the log goes unread).

interface Piece {
  text: string;
  /** False when it holds only comments and whitespace. */
  hasCode: boolean;
}

function piecesAt(engine: SqlEngine, text: string, starts: number[]): Piece[] {
  const bounds = [...new Set([0, ...starts.filter((start) => start > 0 && start < text.length)])].sort((a, b) => a - b);
  const raw = bounds.map((start, index) => text.slice(start, bounds[index + 1] ?? text.length));
  const pieces: Piece[] = [];
  for (const slice of raw) {
    const hasCode = lex(engine, slice).code.replace(/;/g, '').trim().length > 0;
    const last = pieces[pieces.length - 1];
    if (!hasCode && last) last.text += slice;
    else pieces.push({ text: slice, hasCode });
  }
  // Comments before the first statement were kept as their own piece: join them to what follows.
  if (pieces.length > 1 && !pieces[0]!.hasCode) {
    const [first, second] = pieces;
    pieces.splice(0, 2, { text: first!.text + second!.text, hasCode: true });
  }
  return pieces;
}

const tidy = (text: string) => text.trim().replace(/;\s*$/, '').trim();

function blank(text: string, entry: number): ParsedStatement {
  return { text, kind: 'other', command: '', objects: [], selectStar: false, unbounded: false, parsed: true, entry, export: false, functions: [], settings: [] };
}

function unparsed(engine: SqlEngine, text: string, entry: number): ParsedStatement {
  return { ...blank(tidy(text), entry), kind: 'other', command: leadingWords(engine, text), parsed: false };
}

function lexicalPieces(engine: SqlEngine, text: string, entry: number): ParsedStatement[] {
  const starts = lex(engine, text).semicolons.map((at) => at + 1);
  return piecesAt(engine, text, starts)
    .filter((piece) => piece.hasCode)
    .map((piece) => unparsed(engine, piece.text, entry));
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL

function parsePostgresEntry(text: string, entry: number): ParsedStatement[] {
  let whole: ReturnType<typeof parseSync> | undefined;
  try {
    whole = parseSync(text);
  } catch {
    whole = undefined;
  }
  if (whole) {
    const stmts = whole.stmts ?? [];
    const starts = stmts.map((stmt) => charOffset(text, stmt.stmt_location ?? 0));
    const pieces = piecesAt('postgres', text, starts);
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
    return lexicalPieces('postgres', text, entry).map((piece) => parsePostgresPiece(piece.text, entry));
  }
  return piecesAt('postgres', text, starts)
    .filter((piece) => piece.hasCode)
    .map((piece) => parsePostgresPiece(piece.text, entry));
}

function parsePostgresPiece(text: string, entry: number): ParsedStatement {
  try {
    const result = parseSync(text);
    const stmt = result.stmts?.[0]?.stmt;
    if (!stmt || (result.stmts?.length ?? 0) !== 1) return unparsed('postgres', text, entry);
    return { ...blank(tidy(text), entry), ...describePostgres(stmt as unknown as Json) };
  } catch {
    return unparsed('postgres', text, entry);
  }
}

/** libpg-query reports byte offsets into the UTF-8 text. */
function charOffset(text: string, byteOffset: number): number {
  return Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asText = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Every object in the tree, depth first, without recursion (statements can nest deeply). */
function* objectsIn(root: unknown): Generator<Json> {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
    else if (isJson(value)) {
      yield value;
      for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
}

type Description = Pick<ParsedStatement, 'kind' | 'command' | 'objects' | 'selectStar' | 'unbounded' | 'limit' | 'export' | 'functions' | 'settings' | 'switchesTo'>;

const ACCESS_RANK = { read: 0, write: 1, ddl: 2 } as const;

function mergeObjects(objects: TouchedObject[]): TouchedObject[] {
  const byKey = new Map<string, TouchedObject>();
  for (const object of objects) {
    const key = `${object.schema ?? ''}\u0000${object.name}`;
    const known = byKey.get(key);
    if (!known || ACCESS_RANK[object.access] > ACCESS_RANK[known.access]) byKey.set(key, object);
  }
  return [...byKey.values()];
}

/** `OBJECT_MATVIEW` -> `MATERIALIZED VIEW`. */
function objectTypeWords(objtype: unknown): string {
  const name = (asText(objtype) ?? 'OBJECT').replace(/^OBJECT_/, '');
  return ({ MATVIEW: 'MATERIALIZED VIEW', FOREIGN_TABLE: 'FOREIGN TABLE' } as Record<string, string>)[name] ?? name.replace(/_/g, ' ');
}

function pgFunctionName(call: Json): string {
  const parts = list(call.funcname).map((part) => (isJson(part) && isJson(part.String) ? asText(part.String.sval) : undefined));
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

function pgConst(value: unknown): string | number | boolean | undefined {
  if (!isJson(value) || !isJson(value.A_Const)) return undefined;
  const constant = value.A_Const;
  if (isJson(constant.ival)) return typeof constant.ival.ival === 'number' ? constant.ival.ival : 0;
  if (isJson(constant.sval)) return asText(constant.sval.sval) ?? '';
  if (isJson(constant.boolval)) return constant.boolval.boolval === true;
  if (isJson(constant.fval)) return Number(constant.fval.fval);
  return undefined;
}

/** WHERE true, WHERE 1 = 1: no condition at all. */
function pgAlwaysTrue(where: unknown): boolean {
  if (where === undefined) return true;
  if (pgConst(where) === true) return true;
  if (isJson(where) && isJson(where.A_Expr)) {
    const expr = where.A_Expr;
    const operator = list(expr.name).map((part) => (isJson(part) && isJson(part.String) ? part.String.sval : undefined))[0];
    const left = pgConst(expr.lexpr);
    return operator === '=' && left !== undefined && left === pgConst(expr.rexpr);
  }
  return false;
}

function pgStar(select: Json): boolean {
  if (select.op && select.op !== 'SETOP_NONE') return [select.larg, select.rarg].some((arm) => isJson(arm) && pgStar(arm));
  return list(select.targetList).some((target) => {
    const val = isJson(target) && isJson(target.ResTarget) ? target.ResTarget.val : undefined;
    return isJson(val) && isJson(val.ColumnRef) && list(val.ColumnRef.fields).some((field) => isJson(field) && 'A_Star' in field);
  });
}

function pgUnboundedSelect(select: Json): boolean {
  if (select.op && select.op !== 'SETOP_NONE') return [select.larg, select.rarg].some((arm) => isJson(arm) && pgUnboundedSelect(arm));
  if (list(select.fromClause).length === 0 || !pgAlwaysTrue(select.whereClause)) return false;
  // A limit bounds the read even as a parameter (`LIMIT $1`, as pg_stat_statements writes it); LIMIT ALL does not.
  const limit = isJson(select.limitCount) ? select.limitCount : undefined;
  const limitAll = isJson(limit?.A_Const) && limit.A_Const.isnull === true;
  if ((limit && !limitAll) || select.groupClause || select.havingClause) return false;
  const targets = list(select.targetList).map((target) => (isJson(target) && isJson(target.ResTarget) ? target.ResTarget.val : undefined));
  const reducing = targets.length > 0 && targets.every((val) => isJson(val) && isJson(val.FuncCall) && REDUCING_AGGREGATES.has(pgFunctionName(val.FuncCall)));
  return !reducing;
}

function pgLimit(select: Json): number | undefined {
  const count = pgConst(select.limitCount);
  return typeof count === 'number' ? count : undefined;
}

const unwrapSelect = (value: unknown): Json | undefined => (isJson(value) && isJson(value.SelectStmt) ? value.SelectStmt : undefined);

/** Node type -> command and kind for the statements that need no more than their name. */
const PG_SIMPLE: Record<string, [StatementKind, string]> = {
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
  RefreshMatViewStmt: ['ddl', 'REFRESH MATERIALIZED VIEW'],
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

function describePostgres(wrapper: Json): Description {
  const [type, body] = Object.entries(wrapper)[0] ?? ['Unknown', {}];
  const node = isJson(body) ? body : {};
  const cteNames = new Set<string>();
  const functions = new Set<string>();
  const settings = new Set<string>();
  for (const object of objectsIn(node)) {
    const cte = asText(object.ctename);
    if (cte) cteNames.add(cte);
    if (isJson(object.FuncCall)) {
      const name = pgFunctionName(object.FuncCall);
      functions.add(name);
      const first = list(object.FuncCall.args)[0];
      if (name === 'set_config' && typeof pgConst(first) === 'string') settings.add(String(pgConst(first)).toLowerCase());
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
      break;
    }
    case 'UpdateStmt':
    case 'DeleteStmt':
      markTarget(node.relation, 'write');
      unbounded = pgAlwaysTrue(node.whereClause);
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
      break;
    }
    case 'ViewStmt':
      markTarget(node.view, 'ddl');
      break;
    case 'IndexStmt':
    case 'CreateTrigStmt':
    case 'RuleStmt':
    case 'RefreshMatViewStmt':
    case 'ClusterStmt':
      markTarget(node.relation, kind === 'utility' ? 'read' : 'ddl');
      break;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      markTarget(node.table, 'ddl');
      break;
    case 'AlterTableStmt': {
      const changesOwner = list(node.cmds).every((cmd) => isJson(cmd) && isJson(cmd.AlterTableCmd) && cmd.AlterTableCmd.subtype === 'AT_ChangeOwner');
      [kind, command] = changesOwner ? ['dcl', `ALTER ${objectTypeWords(node.objtype)} OWNER`] : ['ddl', `ALTER ${objectTypeWords(node.objtype)}`];
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
      // EXPLAIN ANALYZE runs the statement; plain EXPLAIN only plans it.
      if (inner && analyze) return { ...inner, command: `EXPLAIN ANALYZE ${inner.command}` };
      return { ...(inner ?? emptyDescription()), kind: 'utility', command: 'EXPLAIN', objects: (inner?.objects ?? []).map((o) => ({ ...o, access: 'read' as const })), export: false, unbounded: false, selectStar: false };
    }
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      // What will run: a prepared DELETE is judged as a DELETE.
      const inner = isJson(node.query) ? describePostgres(node.query) : undefined;
      if (inner) return { ...inner, command: `${type === 'PrepareStmt' ? 'PREPARE' : 'DECLARE CURSOR'} ${inner.command}` };
      break;
    }
    case 'VacuumStmt':
      command = node.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE';
      break;
  }

  for (const name of functions) if (EXPORT_FUNCTIONS.has(name) || name.startsWith('dblink')) exported = true;

  const objects: TouchedObject[] = [...extra];
  for (const object of objectsIn(node)) {
    const relname = asText(object.relname);
    if (relname === undefined) continue;
    const schema = asText(object.schemaname) ?? (object.relpersistence === 't' ? 'pg_temp' : undefined);
    if (schema === undefined && cteNames.has(relname)) continue;
    objects.push({ schema, name: relname, access: targets.get(object) ?? 'read' });
  }
  return { kind, command, objects: mergeObjects(objects), selectStar, unbounded, limit, export: exported, functions: [...functions].filter(Boolean), settings: [...settings], switchesTo };
}

function emptyDescription(): Description {
  return { kind: 'other', command: '', objects: [], selectStar: false, unbounded: false, export: false, functions: [], settings: [] };
}

/** An unlisted node type: `CreateForeignTableStmt` -> ddl `CREATE FOREIGN TABLE`. */
function fallbackKind(type: string): [StatementKind, string] {
  const command = type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  if (/Role|Grant|Owner|Policy|UserMapping/.test(type)) return ['dcl', command];
  if (/^(Create|Alter|Drop)/.test(type)) return ['ddl', command];
  return ['utility', command];
}

// ---------------------------------------------------------------------------------------------------
// MySQL and MariaDB

const mysqlParser = new sqlParser.Parser();

function parseMysqlEntry(entryText: string, entry: number): ParsedStatement[] {
  const { parserText, semicolons } = lex('mysql', entryText);
  const pieces = piecesAt('mysql', entryText, semicolons.map((at) => at + 1));
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
  return unparsed('mysql', original, entry);
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

function mysqlAlwaysTrue(where: unknown): boolean {
  if (where === null || where === undefined) return true;
  const constant = mysqlValue(where);
  if (constant !== undefined) return constant === true || (typeof constant === 'number' && constant !== 0);
  if (isJson(where) && where.type === 'binary_expr' && where.operator === '=') {
    const left = mysqlValue(where.left);
    return left !== undefined && left === mysqlValue(where.right);
  }
  return false;
}

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

function mysqlUnboundedSelect(select: Json): boolean {
  return mysqlSelects(select).some((arm) => {
    const from = list(arm.from).filter((item) => isJson(item) && item.type !== 'dual');
    if (from.length === 0 || !mysqlAlwaysTrue(arm.where) || list(isJson(arm.limit) ? arm.limit.value : undefined).length > 0) return false;
    if (arm.groupby || arm.having) return false;
    const columns = list(arm.columns);
    const reducing = columns.length > 0 && columns.every((column) => isJson(column) && isJson(column.expr) && column.expr.type === 'aggr_func' && REDUCING_AGGREGATES.has(String(column.expr.name).toLowerCase()));
    return !reducing;
  });
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
      break;
    case 'update':
    case 'delete':
      kind = type;
      unbounded = mysqlAlwaysTrue(ast.where) && mysqlLimit(ast) === undefined;
      break;
    case 'truncate':
      [kind, unbounded] = ['delete', true];
      break;
    case 'create':
      if (keyword === 'user' || keyword === 'role') kind = 'dcl';
      else kind = 'ddl';
      command = keyword === 'table' && ast.temporary ? 'CREATE TEMPORARY TABLE' : `CREATE ${keyword.toUpperCase()}`.trim();
      if (keyword === 'view') named(ast.view, 'ddl');
      if (keyword === 'index') named(ast.table, 'ddl');
      if (keyword === 'table') named(ast.table, 'ddl');
      if (keyword === 'database' || keyword === 'schema') {
        const schema = isJson(ast.database) ? list(ast.database.schema).map((part) => (isJson(part) ? asText(part.value) : undefined))[0] : asText(ast.database);
        if (schema) objects.push({ schema, name: '*', access: 'ddl' });
      }
      selectStar = isJson(ast.query_expr) ? mysqlStar(ast.query_expr) : isJson(ast.select) && keyword !== 'view' ? mysqlStar(ast.select) : false;
      break;
    case 'alter':
      [kind, command] = ['ddl', 'ALTER TABLE'];
      break;
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
  for (const name of functions) if (EXPORT_FUNCTIONS.has(name)) exported = true;
  return { kind, command, objects: mergeObjects(objects), selectStar, unbounded, limit, export: exported, functions: [...functions].filter(Boolean), settings, switchesTo };
}

// ---------------------------------------------------------------------------------------------------
// A small lexer, for what the parsers do not give: where MySQL statements end, what is comment, and
// the leading words of text no parser could read. It never throws; an unterminated quote runs to the end.

export interface Lexed {
  /** The text with comments blanked (executable MySQL comments opened), same length as the input. */
  code: string;
  /** The text with only the markers of executable MySQL comments blanked, for the parser. */
  parserText: string;
  /** Offsets of the `;` that end statements. */
  semicolons: number[];
}

export function lex(engine: SqlEngine, input: string): Lexed {
  const code = input.split('');
  const parserText = input.split('');
  const semicolons: number[] = [];
  const blankRange = (from: number, to: number, both: boolean) => {
    for (let k = from; k < to && k < input.length; k++) {
      if (input[k] === '\n') continue;
      code[k] = ' ';
      if (both) parserText[k] = ' ';
    }
  };
  const mysql = engine === 'mysql';
  let inExecutable = false;
  let i = 0;
  while (i < input.length) {
    const char = input[i]!;
    const next = input[i + 1];
    if (mysql && inExecutable && char === '*' && next === '/') {
      blankRange(i, i + 2, true);
      inExecutable = false;
      i += 2;
    } else if (mysql && char === '/' && next === '*' && /^\/\*M?!/.test(input.slice(i, i + 4))) {
      const marker = /^\/\*M?!\d{0,6}/.exec(input.slice(i, i + 12))![0];
      blankRange(i, i + marker.length, true);
      inExecutable = true;
      i += marker.length;
    } else if (char === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < input.length && depth > 0) {
        if (input[j] === '*' && input[j + 1] === '/') {
          depth--;
          j += 2;
        } else if (!mysql && input[j] === '/' && input[j + 1] === '*') {
          depth++;
          j += 2;
        } else j++;
      }
      blankRange(i, j, false);
      i = j;
    } else if ((char === '-' && next === '-' && (!mysql || /[\s]/.test(input[i + 2] ?? ' '))) || (mysql && char === '#')) {
      let j = i;
      while (j < input.length && input[j] !== '\n') j++;
      blankRange(i, j, false);
      i = j;
    } else if (char === "'" || char === '"' || (mysql && char === '`')) {
      const backslash = mysql ? char !== '`' : char === "'" && /[Ee]/.test(input[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(input[i - 2] ?? '');
      let j = i + 1;
      while (j < input.length) {
        if (backslash && input[j] === '\\') j += 2;
        else if (input[j] === char && input[j + 1] === char) j += 2;
        else if (input[j] === char) break;
        else j++;
      }
      i = j + 1;
    } else if (!mysql && char === '$' && !/[A-Za-z0-9_$]/.test(input[i - 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(input.slice(i, i + 70))?.[0];
      if (tag) {
        const end = input.indexOf(tag, i + tag.length);
        i = end < 0 ? input.length : end + tag.length;
      } else i++;
    } else {
      if (char === ';') semicolons.push(i);
      i++;
    }
  }
  return { code: code.join(''), parserText: parserText.join(''), semicolons };
}

const MODIFIERS = new Set(['OR', 'REPLACE', 'TEMPORARY', 'TEMP', 'UNIQUE', 'UNLOGGED', 'IF', 'NOT', 'EXISTS', 'GLOBAL', 'LOCAL', 'SESSION', 'ONLINE', 'OFFLINE', 'IGNORE', 'DEFINER', 'ALGORITHM', 'SQL', 'SECURITY']);
const TWO_WORD = new Set(['CREATE', 'ALTER', 'DROP', 'RENAME', 'SET', 'SHOW', 'LOAD', 'FLUSH', 'LOCK', 'START']);

/** `alter /* x *\/ user 'bob'@'%' ...` -> `ALTER USER`: a guess from the words, for text no parser read. */
export function leadingWords(engine: SqlEngine, input: string): string {
  const words = (lex(engine, input).code.match(/[A-Za-z_]+/g) ?? []).slice(0, 8).map((word) => word.toUpperCase());
  const first = words[0];
  if (!first) return '';
  if (!TWO_WORD.has(first)) return first;
  const object = words.slice(1).find((word) => !MODIFIERS.has(word));
  if (first === 'SET' && words[1] === 'DEFAULT' && words[2] === 'ROLE') return 'SET DEFAULT ROLE';
  if (first === 'SET' && words[1] === 'SESSION' && words[2] === 'AUTHORIZATION') return 'SET SESSION AUTHORIZATION';
  if (first === 'SET' && object && !['PASSWORD', 'ROLE', 'PERSIST', 'DEFAULT', 'SESSION', 'NAMES', 'TRANSACTION'].includes(object)) {
    return words[1] === 'GLOBAL' ? 'SET GLOBAL' : 'SET';
  }
  return object ? `${first} ${object}` : first;
}
