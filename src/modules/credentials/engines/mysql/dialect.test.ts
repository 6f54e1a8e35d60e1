import { describe, expect, it } from 'vitest';
import { leadingWords } from '../../../analysis/sql-lexer.js';
import { parseStatements, type ParsedStatement } from '../../../analysis/sql-statements.js';
import { mysqlDialect } from './dialect.js';

const my = (...statements: string[]) => parseStatements(mysqlDialect, statements.map((statement) => ({ statement })));
const brief = (s: ParsedStatement) => ({ kind: s.kind, command: s.command });

describe('MySQL and MariaDB statements', () => {
  it('classifies statements by what they do', async () => {
    const parsed = await my(
      'SELECT id FROM shop.orders WHERE id = 1',
      'REPLACE INTO shop.orders (id) VALUES (1)',
      'DELETE FROM shop.carts LIMIT 100',
      'TRUNCATE TABLE shop.sessions',
      'CREATE TEMPORARY TABLE scratch (id int)',
      'DROP DATABASE shop',
      "GRANT SELECT ON shop.* TO 'helper'@'%'",
      "CREATE USER 'helper'@'%' IDENTIFIED BY 'x'",
      'START TRANSACTION',
      'USE shop',
    );
    expect(parsed.map(brief)).toEqual([
      { kind: 'select', command: 'SELECT' },
      { kind: 'insert', command: 'REPLACE' },
      { kind: 'delete', command: 'DELETE' },
      { kind: 'delete', command: 'TRUNCATE' },
      { kind: 'ddl', command: 'CREATE TEMPORARY TABLE' },
      { kind: 'ddl', command: 'DROP DATABASE' },
      { kind: 'dcl', command: 'GRANT' },
      { kind: 'dcl', command: 'CREATE USER' },
      { kind: 'transaction', command: 'START TRANSACTION' },
      { kind: 'utility', command: 'USE' },
    ]);
    // A LIMIT is no WHERE: which 100 rows, nobody chose.
    expect(parsed[2]!.unbounded).toBe(true);
    expect(parsed[3]!.unbounded).toBe(true);
    expect(parsed[5]!.objects).toEqual([{ schema: 'shop', name: '*', access: 'ddl' }]);
    expect(parsed[9]!.switchesTo).toBe('shop');
  });

  it('opens executable comments, which the server runs', async () => {
    const parsed = await my('SELECT id FROM shop.orders WHERE id = 5 /*!50000 ; DROP TABLE shop.orders */', '/*M!100100 DELETE FROM shop.carts */');
    expect(parsed.map((s) => s.command)).toEqual(['SELECT', 'DROP TABLE', 'DELETE']);
    expect(parsed[1]!.objects).toEqual([{ schema: 'shop', name: 'orders', access: 'ddl' }]);
    expect(parsed[2]!.unbounded).toBe(true);
  });

  it('splits on semicolons outside strings, names and comments only', async () => {
    const parsed = await my("SELECT 'a;b', \"c;d\" FROM `we;ird` # x;y\n; -- z;w\nDELETE FROM t WHERE note = 'it\\'s;'");
    expect(parsed.map((s) => s.command)).toEqual(['SELECT', 'DELETE']);
    expect(parsed[0]!.objects).toEqual([{ name: 'we;ird', access: 'read' }]);
  });

  it('marks exports and server files', async () => {
    const parsed = await my(
      "SELECT * FROM shop.customers INTO OUTFILE '/var/lib/mysql-files/c.csv'",
      "SELECT load_file('/etc/passwd')",
      "LOAD DATA INFILE '/etc/hosts' INTO TABLE shop.notes",
      "LOAD DATA LOCAL INFILE 'notes.csv' INTO TABLE shop.notes",
    );
    expect(parsed.map((s) => [s.command, s.export])).toEqual([
      ['SELECT INTO OUTFILE', true],
      ['SELECT', true],
      ['LOAD DATA INFILE', true],
      ['LOAD DATA LOCAL INFILE', false],
    ]);
  });

  it('reads changes in the forms its grammar lacks, and writes every target of a multi-table change', async () => {
    const parsed = await my(
      'DELETE LOW_PRIORITY QUICK IGNORE FROM shop.sessions WHERE id = 4',
      'UPDATE IGNORE shop.customers SET newsletter = 0',
      'DELETE FROM shop.events PARTITION (p2025, p2026)',
      'DELETE FROM oi USING shop.order_items AS oi JOIN shop.orders AS o ON o.id = oi.order_id WHERE o.id = 7',
      'DELETE i, l FROM game.inventory i JOIN game.inventory_log l ON l.item_id = i.item_id',
      'UPDATE a JOIN b ON b.id = a.b_id SET a.x = 1, b.y = 2',
    );
    expect(parsed.map((s) => [s.command, s.parsed, s.unbounded, s.joinedOnly])).toEqual([
      ['DELETE', true, false, false],
      ['UPDATE', true, true, false],
      ['DELETE', true, true, false],
      ['DELETE', true, false, false],
      ['DELETE', true, true, false],
      ['UPDATE', true, true, false],
    ]);
    expect(parsed[1]!.objects).toEqual([{ schema: 'shop', name: 'customers', access: 'write' }]);
    expect(parsed[4]!.objects).toEqual([{ schema: 'game', name: 'inventory', access: 'write' }, { schema: 'game', name: 'inventory_log', access: 'write' }]);
    expect(parsed[5]!.objects.map((o) => o.access)).toEqual(['write', 'write']);
  });

  it('records server settings, not user variables', async () => {
    const [global, system, variable] = await my("SET GLOBAL general_log = 'OFF'", 'SET @@global.sql_log_off = 1', 'SET @rows = 10');
    expect([global, system, variable].map((s) => [s!.command, s!.settings])).toEqual([
      ['SET GLOBAL', ['general_log']],
      ['SET GLOBAL', ['sql_log_off']],
      ['SET', []],
    ]);
  });

  it('keeps the leading words of statements the parser cannot read', async () => {
    const parsed = await my("REVOKE ALL ON *.* FROM 'app'@'%'", "/* rotate */ ALTER USER 'app'@'%' IDENTIFIED BY 'x'", "SET PASSWORD FOR 'app'@'%' = 'x'", 'FLUSH PRIVILEGES');
    expect(parsed.map((s) => [s.kind, s.command, s.parsed])).toEqual([
      ['other', 'REVOKE', false],
      ['other', 'ALTER USER', false],
      ['other', 'SET PASSWORD', false],
      ['other', 'FLUSH PRIVILEGES', false],
    ]);
  });
});

describe('leadingWords', () => {
  it('skips comments and modifiers', () => {
    expect(leadingWords(mysqlDialect.lexical, '# x\nSET GLOBAL general_log = 0')).toBe('SET GLOBAL');
    expect(leadingWords(mysqlDialect.lexical, 'SET DEFAULT ROLE ALL TO bob')).toBe('SET DEFAULT ROLE');
  });
});
