import { lex } from '../../../analysis/sql-lexer.js';
import { unparsed, type ParsedStatement } from '../../../analysis/sql-statements.js';
import { MYSQL_LEXICAL } from './dialect-lexical.js';

/**
 * MySQL's dynamic SQL across a session: `SET @q = '...'` (or `CONCAT('...', ...)`), `PREPARE s FROM @q`
 * (or from a string), `EXECUTE s`. Each EXECUTE is followed by the statement it runs, read as itself,
 * so the rules judge what ran (`CREATE USER` written as a string is a privilege change, `SELECT ... WHERE
 * id = ?` a bounded read). Text built from variables at run time is read by its first string's words
 * (`CONCAT('DROP TABLE ', @t)` is a DROP TABLE). The statements it adds carry the EXECUTE's entry and
 * refusal: a refused EXECUTE ran nothing.
 */
export function withPreparedStatements(parsed: ParsedStatement[], parseEntry: (text: string, entry: number) => ParsedStatement[]): ParsedStatement[] {
  if (!parsed.some((statement) => /^EXECUTE\b/.test(statement.command))) return parsed;
  const variables = new Map<string, Dynamic>();
  const prepared = new Map<string, Dynamic>();
  const all: ParsedStatement[] = [];
  for (const statement of parsed) {
    all.push(statement);
    const code = lex(MYSQL_LEXICAL, statement.text).code.trim().replace(/;\s*$/, '');
    const set = SET_VARIABLE.exec(code);
    if (set) {
      const value = stringOf(set[2]!);
      if (value) variables.set(set[1]!.toLowerCase(), value);
      else variables.delete(set[1]!.toLowerCase());
      continue;
    }
    const prepare = PREPARE.exec(code);
    if (prepare) {
      const source = prepare[2]!.trim();
      const value = source.startsWith('@') ? variables.get(source.slice(1).toLowerCase()) : stringOf(source);
      if (value) prepared.set(prepare[1]!.toLowerCase(), value);
      else prepared.delete(prepare[1]!.toLowerCase());
      continue;
    }
    const execute = EXECUTE.exec(code);
    const runs = execute ? prepared.get(execute[1]!.toLowerCase()) : undefined;
    if (!runs) continue;
    const inner = runs.whole ? safely(() => parseEntry(runs.text, statement.entry)) : [unparsed(MYSQL_LEXICAL, runs.text, statement.entry)];
    for (const piece of inner.slice(0, MAX_PREPARED_STATEMENTS)) all.push({ ...piece, entry: statement.entry, error: statement.error });
  }
  return all;
}

/** The text a variable or PREPARE holds: whole when made of strings only, else its first string (its first words). */
interface Dynamic {
  text: string;
  whole: boolean;
}

const MAX_PREPARED_STATEMENTS = 50;
const SET_VARIABLE = /^SET\s+@`?(\w+)`?\s*:?=\s*([\s\S]+)$/i;
const PREPARE = /^PREPARE\s+`?(\w+)`?\s+FROM\s+([\s\S]+)$/i;
const EXECUTE = /^EXECUTE\s+`?(\w+)`?/i;
const STRING = /'((?:[^'\\]|\\.|'')*)'|"((?:[^"\\]|\\.|"")*)"/g;

/** A string literal, or CONCAT of them (whole), or an expression whose first part is a string (not whole). */
function stringOf(expression: string): Dynamic | undefined {
  const inner = /^CONCAT\s*\(([\s\S]*)\)$/i.exec(expression)?.[1] ?? expression;
  const strings = [...inner.matchAll(STRING)];
  if (strings.length === 0 || inner.trimStart().search(STRING) !== 0) return undefined;
  const text = strings.map((match) => unescape(match[1] ?? match[2] ?? '')).join('');
  const rest = inner.replace(STRING, '').replace(/[\s,]/g, '');
  return text.trim() === '' ? undefined : { text, whole: rest === '' };
}

const unescape = (text: string) => text.replace(/''/g, "'").replace(/""/g, '"').replace(/\\(.)/g, '$1');

function safely(parse: () => ParsedStatement[]): ParsedStatement[] {
  try {
    return parse();
  } catch {
    return [];
  }
}
