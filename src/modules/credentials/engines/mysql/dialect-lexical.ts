import type { LexicalRules } from '../../../analysis/sql-lexer.js';

/**
 * `#` and `-- ` comments, executable comments (`/*!50000 ... *\/`, which the server runs), backtick
 * names, and backslash escapes in every string.
 */
export const MYSQL_LEXICAL: LexicalRules = {
  executableComments: true,
  nestedComments: false,
  dashCommentNeedsSpace: true,
  hashComments: true,
  backtickNames: true,
  backslashEscapes: 'quoted',
  dollarQuotes: false,
};

/**
 * Functions that read the server's files, run programs on it or send data elsewhere: LOAD_FILE, the
 * lib_mysqludf_sys and http UDFs, Aurora's Lambda calls.
 */
const FILE_FUNCTIONS = new Set(['load_file', 'sys_exec', 'sys_eval', 'sys_get', 'lambda_sync', 'lambda_async']);
export const readsFilesOrSendsData = (name: string): boolean => FILE_FUNCTIONS.has(name) || name.startsWith('http_');
