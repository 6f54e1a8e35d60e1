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

/** Functions that read the server's files. */
export const readsFilesOrSendsData = (name: string): boolean => name === 'load_file';
