import { describe, expect, it } from 'vitest';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { postgresDialect } from '../credentials/engines/postgres/dialect.js';
import { parseStatements, type StatementParser } from './sql-statements.js';

describe('parseStatements', () => {
  it('gives an entry\'s refusal to its last statement only', async () => {
    const parsed = await parseStatements(postgresDialect, [{ statement: 'DROP TABLE sales.orders; SELECT 1/0', error: '22012: division by zero' }]);
    expect(parsed.map((s) => s.error)).toEqual([undefined, '22012: division by zero']);
  });

  it('never throws on hostile text', async () => {
    const hostile = ['\u0000\u0001\u0002', "'".repeat(5000), '/* never closed', '$$'.repeat(100), 'SELECT ' + '('.repeat(3000), ';;;;'];
    for (const dialect of [postgresDialect, mysqlDialect]) {
      const parsed = await parseStatements(dialect, hostile.map((statement) => ({ statement })));
      expect(parsed.length).toBeGreaterThanOrEqual(hostile.length);
    }
  });

  const byWords = (lexical: StatementParser['lexical']): StatementParser => ({
    lexical,
    ready: async () => false,
    parseEntry: () => {
      throw new Error('a parser that did not load is never called');
    },
  });

  it('reads statements by their words when the parser cannot load, split where the dialect ends them', async () => {
    const parsed = await parseStatements(byWords(postgresDialect.lexical), [{ statement: "DELETE FROM t WHERE note = 'a;b'; DROP TABLE t" }]);
    expect(parsed.map((s) => [s.kind, s.command, s.parsed])).toEqual([
      ['other', 'DELETE', false],
      ['other', 'DROP TABLE', false],
    ]);
  });

  it('splits by the dialect\'s comments: # hides a semicolon from MySQL, not from PostgreSQL', async () => {
    const entry = [{ statement: 'SELECT 1 # note; DELETE FROM t\n' }];
    expect((await parseStatements(byWords(mysqlDialect.lexical), entry)).map((s) => s.command)).toEqual(['SELECT']);
    expect((await parseStatements(byWords(postgresDialect.lexical), entry)).map((s) => s.command)).toEqual(['SELECT', 'DELETE']);
  });

  it('reads an entry by its words when the parser throws on it', async () => {
    const throwing: StatementParser = { lexical: postgresDialect.lexical, ready: async () => true, parseEntry: () => { throw new Error('parser bug'); } };
    const parsed = await parseStatements(throwing, [{ statement: '/* x */ TRUNCATE sales.orders', error: '42501: permission denied' }]);
    expect(parsed.map((s) => [s.command, s.parsed, s.error])).toEqual([['TRUNCATE', false, '42501: permission denied']]);
  });
});
