import type { LexicalRules } from '../../../analysis/sql-lexer.js';

/** Comments nest, `--` needs no space, `$tag$` strings, and backslashes escape only in E'' strings. */
export const POSTGRES_LEXICAL: LexicalRules = {
  executableComments: false,
  nestedComments: true,
  dashCommentNeedsSpace: false,
  hashComments: false,
  backtickNames: false,
  backslashEscapes: 'e-strings',
  dollarQuotes: true,
};
