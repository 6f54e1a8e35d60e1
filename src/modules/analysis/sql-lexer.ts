/**
 * A small lexer, for what the parsers do not give: where statements end, what is comment, and the
 * leading words of text no parser could read. Engine-neutral: each dialect says how its engine
 * writes comments and quotes. It never throws; an unterminated quote runs to the end.
 */

/** How an engine writes comments and quoted text. */
export interface LexicalRules {
  /** `/*! ... *\/` and `/*M! ... *\/` (MySQL, MariaDB): comments the server runs. */
  executableComments: boolean;
  /** Block comments nest. */
  nestedComments: boolean;
  /** `--` starts a comment only when whitespace follows it. */
  dashCommentNeedsSpace: boolean;
  /** `#` starts a comment to the end of the line. */
  hashComments: boolean;
  /** Names may be quoted in backticks. */
  backtickNames: boolean;
  /** Where a backslash escapes the next character: in every `'` and `"` string, or only in `E'...'`. */
  backslashEscapes: 'quoted' | 'e-strings';
  /** `$tag$ ... $tag$` strings. */
  dollarQuotes: boolean;
}

export interface Lexed {
  /** The text with comments blanked (executable comments opened), same length as the input. */
  code: string;
  /** The text with only the markers of executable comments blanked, for the parser. */
  parserText: string;
  /** Offsets of the `;` that end statements. */
  semicolons: number[];
}

export function lex(rules: LexicalRules, input: string): Lexed {
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
  let inExecutable = false;
  let i = 0;
  while (i < input.length) {
    const char = input[i]!;
    const next = input[i + 1];
    if (rules.executableComments && inExecutable && char === '*' && next === '/') {
      blankRange(i, i + 2, true);
      inExecutable = false;
      i += 2;
    } else if (rules.executableComments && char === '/' && next === '*' && /^\/\*M?!/.test(input.slice(i, i + 4))) {
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
        } else if (rules.nestedComments && input[j] === '/' && input[j + 1] === '*') {
          depth++;
          j += 2;
        } else j++;
      }
      blankRange(i, j, false);
      i = j;
    } else if ((char === '-' && next === '-' && (!rules.dashCommentNeedsSpace || /[\s]/.test(input[i + 2] ?? ' '))) || (rules.hashComments && char === '#')) {
      let j = i;
      while (j < input.length && input[j] !== '\n') j++;
      blankRange(i, j, false);
      i = j;
    } else if (char === "'" || char === '"' || (rules.backtickNames && char === '`')) {
      const backslash = rules.backslashEscapes === 'quoted' ? char !== '`' : char === "'" && /[Ee]/.test(input[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(input[i - 2] ?? '');
      let j = i + 1;
      while (j < input.length) {
        if (backslash && input[j] === '\\') j += 2;
        else if (input[j] === char && input[j + 1] === char) j += 2;
        else if (input[j] === char) break;
        else j++;
      }
      i = j + 1;
    } else if (rules.dollarQuotes && char === '$' && !/[A-Za-z0-9_$]/.test(input[i - 1] ?? '')) {
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
export function leadingWords(rules: LexicalRules, input: string): string {
  const words = (lex(rules, input).code.match(/[A-Za-z_]+/g) ?? []).slice(0, 8).map((word) => word.toUpperCase());
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
