import { leadingWords, lex, type LexicalRules } from './sql-lexer.js';

/**
 * Captured statements read by the engines' real parsers (each engine's dialect, in
 * credentials/engines/<engine>/dialect.ts). The texts are untrusted; nothing here throws on them and
 * nothing in them changes how they are read. What a parser cannot read comes back as kind `other`,
 * `parsed: false`, with the leading words as its command so the rules can still look at it.
 */


export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'ddl' | 'dcl' | 'copy' | 'set' | 'transaction' | 'utility' | 'other';

export interface TouchedObject {
  /** As written; undefined when unqualified. TEMPORARY_SCHEMA for temporary tables. */
  schema?: string | undefined;
  /** A table, view or sequence; `*` when the statement is about the whole schema (CREATE/DROP SCHEMA). */
  name: string;
  access: 'read' | 'write' | 'ddl';
}

/** The schema every dialect gives temporary tables (PostgreSQL's name for it; MySQL has none). */
export const TEMPORARY_SCHEMA = 'pg_temp';

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
   * whole tables read, with no WHERE, LIMIT, GROUP BY or reducing aggregate; for CREATE TABLE AS,
   * SELECT INTO, CREATE VIEW and INSERT ... SELECT: the same of the query that fills it. A SELECT under
   * EXPLAIN ANALYZE reads nothing out, and is never unbounded.
   */
  unbounded: boolean;
  limit?: number | undefined;
  /**
   * An UPDATE or DELETE bounded only by a join to other tables (`UPDATE t ... FROM f WHERE t.id = f.id`):
   * unbounded, unless the session filled one of those tables by bounded reads (a fix list).
   */
  joinedOnly?: boolean | undefined;
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
  /** Functions and procedures called by a schema-qualified name (`hr.salary_report`), as written. */
  routines: Array<{ schema: string; name: string }>;
  /** Server settings it changes (SET, SET GLOBAL, ALTER SYSTEM, ALTER ROLE ... SET, set_config). */
  settings: string[];
  /** The schema (database on MySQL) that unqualified names refer to from here on: USE db, SET search_path. */
  switchesTo?: string | undefined;
}


/** What reading statements needs of an engine: its lexical rules and its own parser. */
export interface StatementParser {
  /** How the engine writes comments and quotes: for splitting, and for the words of text no parser read. */
  readonly lexical: LexicalRules;
  /** Loads the parser where it must be loaded; false when it cannot be used (text is then read by its words). */
  ready(): Promise<boolean>;
  /** The statements of one log entry, in order; may throw (the entry is then read by its words). */
  parseEntry(text: string, entry: number): ParsedStatement[];
  /** Statements a session runs from text it prepared earlier (MySQL's PREPARE ... FROM @q, EXECUTE), added after what runs them. */
  followDynamic?(parsed: ParsedStatement[]): ParsedStatement[];
}

/** What a parser says of one statement, beside its text and where it came from. */
export type Description = Pick<ParsedStatement, 'kind' | 'command' | 'objects' | 'selectStar' | 'unbounded' | 'joinedOnly' | 'limit' | 'export' | 'functions' | 'routines' | 'settings' | 'switchesTo'>;

/** Aggregates that reduce rows to a few numbers; array_agg and string_agg do not (they carry every row). */
export const REDUCING_AGGREGATES = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'bit_xor',
  'stddev', 'stddev_pop', 'stddev_samp', 'std', 'variance', 'var_pop', 'var_samp', 'corr', 'covar_pop', 'covar_samp',
  'percentile_cont', 'percentile_disc', 'mode', 'median',
]);

export async function parseStatements(parser: StatementParser, statements: Array<{ statement: string; error?: string | undefined }>): Promise<ParsedStatement[]> {
  // Should the parser fail to load, statements are still split and read by their words.
  const ready = await parser.ready();
  const parsed: ParsedStatement[] = [];
  for (const [entry, { statement, error }] of statements.entries()) {
    let pieces: ParsedStatement[];
    try {
      pieces = ready ? parser.parseEntry(statement, entry) : lexicalPieces(parser.lexical, statement, entry);
    } catch {
      pieces = [unparsed(parser.lexical, statement, entry)];
    }
    if (pieces.length === 0) pieces = [{ ...blank(statement.trim(), entry), kind: 'utility', command: 'EMPTY' }];
    // Capture readers may hand over null or '' for "no error": neither is a refusal.
    if (typeof error === 'string' && error.length > 0) pieces[pieces.length - 1]!.error = error;
    parsed.push(...pieces);
  }
  return ready && parser.followDynamic ? parser.followDynamic(parsed) : parsed;
}

// ---------------------------------------------------------------------------------------------------
// Splitting. Pieces partition the entry's text, so a comment after the last `;` stays with the last
// statement (nothing in the log goes unread).

export interface Piece {
  text: string;
  /** False when it holds only comments and whitespace. */
  hasCode: boolean;
}

export function piecesAt(rules: LexicalRules, text: string, starts: number[]): Piece[] {
  const bounds = [...new Set([0, ...starts.filter((start) => start > 0 && start < text.length)])].sort((a, b) => a - b);
  const raw = bounds.map((start, index) => text.slice(start, bounds[index + 1] ?? text.length));
  const pieces: Piece[] = [];
  for (const slice of raw) {
    const hasCode = lex(rules, slice).code.replace(/;/g, '').trim().length > 0;
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

export const tidy = (text: string) => text.trim().replace(/;\s*$/, '').trim();

export function blank(text: string, entry: number): ParsedStatement {
  return { text, kind: 'other', command: '', objects: [], selectStar: false, unbounded: false, parsed: true, entry, export: false, functions: [], routines: [], settings: [] };
}

export function unparsed(rules: LexicalRules, text: string, entry: number): ParsedStatement {
  return { ...blank(tidy(text), entry), kind: 'other', command: leadingWords(rules, text), parsed: false };
}

export function lexicalPieces(rules: LexicalRules, text: string, entry: number): ParsedStatement[] {
  const starts = lex(rules, text).semicolons.map((at) => at + 1);
  return piecesAt(rules, text, starts)
    .filter((piece) => piece.hasCode)
    .map((piece) => unparsed(rules, piece.text, entry));
}

export function emptyDescription(): Description {
  return { kind: 'other', command: '', objects: [], selectStar: false, unbounded: false, export: false, functions: [], routines: [], settings: [] };
}

// ---------------------------------------------------------------------------------------------------
// Reading the parsers' trees, which arrive as plain JSON.

export type Json = Record<string, unknown>;
export const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const asText = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Every object in the tree, depth first, without recursion (statements can nest deeply). */
export function* objectsIn(root: unknown): Generator<Json> {
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

const ACCESS_RANK = { read: 0, write: 1, ddl: 2 } as const;

export function mergeObjects(objects: TouchedObject[]): TouchedObject[] {
  const byKey = new Map<string, TouchedObject>();
  for (const object of objects) {
    const key = `${object.schema ?? ''}\u0000${object.name}`;
    const known = byKey.get(key);
    if (!known || ACCESS_RANK[object.access] > ACCESS_RANK[known.access]) byKey.set(key, object);
  }
  return [...byKey.values()];
}

// ---------------------------------------------------------------------------------------------------
// Conditions that hold for every row (each parser reads its own tree and asks these).

/** Two constants compared: true when the comparison holds (so it holds for every row). */
export function compareConstants(operator: string, left: string | number | boolean, right: string | number | boolean): boolean {
  switch (operator) {
    case '=': return left === right;
    case '<>': case '!=': return left !== right;
    case '<': return left < right;
    case '>': return left > right;
    case '<=': return left <= right;
    case '>=': return left >= right;
    default: return false;
  }
}

/** Keys are `id` and `<something>_id`. */
const KEY = /^(?:id|\w+_id)$/;
/** No key reaches this: the largest 32-bit key. */
const KEY_CEILING = 2_147_483_647;

/**
 * A key (`id`, `<something>_id`) compared with a number every key passes: `id > 0`, `id >= 1`,
 * `id <> -1`, `id < 99999999999`. Keys are positive and below KEY_CEILING; such a WHERE bounds nothing.
 */
export function alwaysTrueOfKey(column: string, operator: string, value: number): boolean {
  if (!KEY.test(column)) return false;
  return (operator === '>' && value <= 0) || (operator === '>=' && value <= 1) || ((operator === '<>' || operator === '!=') && value <= 0) ||
    (operator === '<' && value > KEY_CEILING) || (operator === '<=' && value >= KEY_CEILING);
}

/** `id BETWEEN 0 AND 2147483647`: a range every key is in. */
export const keyRangeHoldsAll = (column: string, low: unknown, high: unknown): boolean =>
  KEY.test(column) && typeof low === 'number' && typeof high === 'number' && low <= 1 && high >= KEY_CEILING;

/** Operators read from the other side: `5 < id` is `id > 5`. */
export const FLIPPED: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=', '<>': '<>', '!=': '!=' };

/** A column compared with a constant (the column on the left), for complementary. */
export interface Comparison {
  column: string;
  operator: string;
  value: string | number | boolean;
}
const COMPLEMENT: Record<string, string> = { '=': '<>', '<>': '=', '<': '>=', '>=': '<', '>': '<=', '<=': '>' };
/** Arms of an OR that between them hold for every row (but nulls): `x = 5 OR x <> 5`, `id > 9 OR id <= 9`. */
export function complementary(arms: Array<Comparison | undefined>): boolean {
  const known = arms.filter((arm): arm is Comparison => arm !== undefined).map((arm) => ({ ...arm, operator: arm.operator === '!=' ? '<>' : arm.operator }));
  return known.some((a) => known.some((b) => a.column === b.column && a.value === b.value && COMPLEMENT[a.operator] === b.operator));
}

/** Functions that give the current time. */
export const NOW_FUNCTIONS = new Set(['now', 'current_timestamp', 'localtimestamp', 'sysdate', 'utc_timestamp', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp']);
/** Columns of when a row was made: every row was made before now. */
const CREATED = /^(?:created|inserted|creation)(?:_at|_on|_date|_time|_ts)?$|^(?:create|insert)_(?:time|date|ts)$/;
/** `created_at < now()` (the column on the left): true of every row. */
export const createdBeforeNow = (column: string, operator: string): boolean => CREATED.test(column) && (operator === '<' || operator === '<=');
/** Columns no row leaves null: the target's keys (ownKeys), and when it was made. */
export const neverNull = (column: string | undefined, keys: ReadonlySet<string>): boolean => column !== undefined && (keys.has(column) || CREATED.test(column));

/**
 * The names a key of the target goes by, for `IS NOT NULL`: `id`, and the table's own `<singular>_id`
 * (`customer_id` of `customers`). A foreign key may be null; these never are.
 */
export function ownKeys(targets: Iterable<string>): Set<string> {
  const keys = new Set(['id']);
  for (const target of targets) keys.add(`${target.replace(/ies$/, 'y').replace(/(?:ss|sh|ch|x)es$/, (end) => end.slice(0, -2)).replace(/([^s])s$/, '$1')}_id`);
  return keys;
}

/**
 * A LIMIT at least this large bounds nothing a person means by a limit: it is "all rows" written as a
 * number (MySQL's own idiom is `LIMIT 18446744073709551615`). Below it, a limit bounds the read or the change.
 */
export const BOUNDLESS_LIMIT = 1_000_000;
/** Whether a LIMIT's count (undefined: none, or not a number) bounds the rows. */
export const limitBounds = (count: number | undefined): boolean => count !== undefined && count < BOUNDLESS_LIMIT;

/** A LIKE pattern that matches every value: only `%` (`'%'`, `'%%'`). */
export const matchesEverything = (pattern: unknown): boolean => typeof pattern === 'string' && /^%+$/.test(pattern);
