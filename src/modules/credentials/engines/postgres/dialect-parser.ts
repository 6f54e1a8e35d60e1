import { loadModule, parsePlPgSQLSync, parseSync, scanSync } from 'libpg-query';
import { lex } from '../../../analysis/sql-lexer.js';
import { POSTGRES_LEXICAL } from './dialect-lexical.js';
import {
  asText,
  blank,
  isJson,
  lexicalPieces,
  list,
  objectsIn,
  piecesAt,
  tidy,
  unparsed,
  type Json,
  type ParsedStatement,
} from '../../../analysis/sql-statements.js';
import { describePostgres } from './dialect-describe.js';

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
  return withScheduledStatements(withBlockStatements(parsePostgresStatements(text, entry), entry), entry);
}

/**
 * pg_cron runs the command it is given, every time its schedule comes: `cron.schedule('job', '15 4 * * *',
 * $$DELETE FROM audit.changes ...$$)` is that DELETE, from then on. The command follows the call as a
 * statement of its own, as a DO block's statements do.
 */
function withScheduledStatements(pieces: ParsedStatement[], entry: number): ParsedStatement[] {
  if (!pieces.some((piece) => piece.routines.some((routine) => routine.schema === 'cron' && /^schedule/.test(routine.name)))) return pieces;
  return pieces.flatMap((piece) => {
    if (!piece.routines.some((routine) => routine.schema === 'cron' && /^schedule/.test(routine.name))) return [piece];
    try {
      const commands = [...objectsIn(parseSync(piece.text))]
        .filter((object) => isJson(object.FuncCall) && list(object.FuncCall.funcname).map((part) => (isJson(part) && isJson(part.String) ? asText(part.String.sval) : '')).join('.').startsWith('cron.schedule'))
        .map((call) => list((call.FuncCall as Json).args).at(-1))
        .map((last) => (isJson(last) && isJson(last.A_Const) && isJson(last.A_Const.sval) ? asText(last.A_Const.sval.sval) : undefined))
        .filter((command): command is string => command !== undefined);
      return [piece, ...commands.flatMap((command) => parsePostgresStatements(command, entry)).slice(0, MAX_BLOCK_STATEMENTS)];
    } catch {
      return [piece];
    }
  });
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
  // libpg-query refuses some comments the server reads past (`3 NOT /* x */ IN (1, 2)`): then the text without them.
  for (const code of [text, lex(POSTGRES_LEXICAL, text).code]) {
    try {
      const result = parseSync(code);
      const stmt = result.stmts?.[0]?.stmt;
      if (!stmt || (result.stmts?.length ?? 0) !== 1) break;
      return { ...blank(tidy(text), entry), ...describePostgres(stmt as unknown as Json) };
    } catch {
      // the next form, or read by its words
    }
  }
  return unparsed(POSTGRES_LEXICAL, text, entry);
}

/** libpg-query reports byte offsets into the UTF-8 text. */
function charOffset(text: string, byteOffset: number): number {
  return Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}
