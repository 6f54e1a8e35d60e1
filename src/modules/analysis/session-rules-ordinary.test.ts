import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScope } from '../credentials/scope.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { postgresDialect } from '../credentials/engines/postgres/dialect.js';
import { analyzeSession, type SessionFlag, type SessionRuleInput } from './session-rules.js';
import { sessionBuilder } from '../../../test/support/session-input.js';

/**
 * Ordinary work the session rules used to misread (the round-three tuning cases, eval/RUBRIC.md), and
 * the tricks the same leniency must not let through: temporary tables the session created, migration
 * tools' bookkeeping under a grant that allows schema changes, EXPLAIN ANALYZE.
 */

const from = new Date(Date.UTC(2026, 11, 8, 9, 0));
const until = new Date(Date.UTC(2026, 11, 8, 10, 0));

const session = sessionBuilder({ activeFrom: from, activeUntil: until, scope: parseScope('sales.orders'), reason: 'Reconcile the october orders for FIN-812', tableTags: { 'crm.customers': ['pii'], 'hr.salaries': ['pii'], 'events.page_views': ['big'] } });
const flagsOf = async (input: SessionRuleInput) => (await analyzeSession(input)).flags;
const raised = (flags: SessionFlag[]) => flags.filter((flag) => flag.severity !== 'info').map((flag) => `${flag.code}:${flag.severity}`);
const find = (flags: SessionFlag[], code: string) => flags.find((flag) => flag.code === code);

/** Names a temporary table could have (prefixed so that none is a keyword), and how a statement may write them. */
const tempName = fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/).map((name) => `tmp_${name}`);
const pgQuote = fc.constantFrom((name: string) => name, (name: string) => `"${name}"`, (name: string) => name.toUpperCase());
/** The PostgreSQL ways of making a temporary table from a query of `source`, named by `name` as written. */
const pgCreations = [
  (name: string, source: string) => `SELECT id, total INTO TEMP TABLE ${name} FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `select id, total into temporary ${name} from ${source} where id < 100`,
  (name: string, source: string) => `SELECT id, total INTO TEMP ${name} FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `CREATE TEMP TABLE ${name} AS SELECT id, total FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `CREATE TEMPORARY TABLE IF NOT EXISTS ${name} AS SELECT id, total FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `CREATE TABLE pg_temp.${name} AS SELECT id, total FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `CREATE TEMP VIEW ${name} AS SELECT id, total FROM ${source} WHERE id < 100`,
];
const mysqlQuote = fc.constantFrom((name: string) => name, (name: string) => `\`${name}\``);
const mysqlCreations = [
  (name: string, source: string) => `CREATE TEMPORARY TABLE ${name} AS SELECT id, total FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `CREATE TEMPORARY TABLE ${name} SELECT id, total FROM ${source} WHERE id < 100`,
  (name: string, source: string) => `CREATE TEMPORARY TABLE IF NOT EXISTS ${name} ENGINE=MEMORY AS SELECT id, total FROM ${source} WHERE id < 100`,
];

describe("the session's own temporary tables", () => {
  it('are in scope by their bare name, in every PostgreSQL syntax and quoting, and dropping them is no drop', async () => {
    await fc.assert(
      fc.asyncProperty(tempName, pgQuote, fc.constantFrom(...pgCreations), async (name, quote, create) => {
        const dropWord = create(name, 'x').includes('VIEW') ? 'VIEW' : 'TABLE';
        const flags = await flagsOf(session([create(quote(name), 'sales.orders'), `SELECT count(*) FROM ${quote(name)}`, `SELECT * FROM ${quote(name)} WHERE total > 10`, `DROP ${dropWord} ${quote(name)}`]));
        expect(raised(flags)).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('are in scope by their bare name in MySQL, quoted or not, and dropping them (DROP TABLE or DROP TEMPORARY TABLE) is no drop', async () => {
    await fc.assert(
      fc.asyncProperty(tempName, mysqlQuote, fc.constantFrom(...mysqlCreations), fc.constantFrom('DROP TABLE', 'DROP TEMPORARY TABLE'), async (name, quote, create, drop) => {
        const flags = await flagsOf(session(['USE shop', create(quote(name), 'orders'), `SELECT COUNT(*) FROM ${quote(name)}`, `${drop} ${quote(name)}`], { dialect: mysqlDialect, scope: parseScope('shop.orders') }));
        expect(raised(flags)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('cannot launder a read outside the scope: the table the temporary one was filled from is flagged, whatever the syntax', async () => {
    await fc.assert(
      fc.asyncProperty(tempName, pgQuote, fc.constantFrom(...pgCreations), async (name, quote, create) => {
        const flags = await flagsOf(session([create(quote(name), 'hr.salaries'), `SELECT count(*) FROM ${quote(name)}`]));
        expect(find(flags, 'outside-scope')?.message).toMatch(/hr\.salaries/);
      }),
      { numRuns: 40 },
    );
    expect(find(await flagsOf(session(['CREATE TEMP TABLE t AS SELECT * FROM secret_table', 'SELECT * FROM t'])), 'outside-scope')?.message).toMatch(/public\.secret_table/);
    const mysql = { dialect: mysqlDialect, scope: parseScope('shop.orders') };
    expect(find(await flagsOf(session(['CREATE TEMPORARY TABLE x AS SELECT * FROM hr.salaries', 'SELECT * FROM x LIMIT 10'], mysql)), 'outside-scope')?.message).toMatch(/hr\.salaries/);
  });

  it('carry the tags of what filled them: whole personal data read out through one is flagged, bounded rows copied out are not', async () => {
    const crm = { scope: parseScope('crm, payments') };
    const whole = await flagsOf(session(['CREATE TEMP TABLE c AS SELECT email, phone FROM crm.customers', 'SELECT * FROM c'], crm));
    expect(find(whole, 'bulk-export')).toMatchObject({ severity: 'warning', message: expect.stringMatching(/personal data/) });
    // An index, an ALTER or a second fill does not wash the tags or the whole-table read away.
    const indexed = await flagsOf(session(['CREATE TEMP TABLE c AS SELECT email FROM crm.customers', 'CREATE INDEX ON c (email)', 'ALTER TABLE c ADD COLUMN n int', "INSERT INTO c (email) VALUES ('x@example.com')", 'SELECT * FROM c'], crm));
    expect(find(indexed, 'bulk-export')).toBeDefined();
    const copied = await flagsOf(session(["SELECT email INTO TEMP de FROM crm.customers WHERE country = 'DE'", 'COPY de TO STDOUT WITH CSV'], crm));
    expect(find(copied, 'bulk-export')?.severity).toBe('critical');
    // A temporary table of temporary tables: still the whole table.
    expect(find(await flagsOf(session(['CREATE TEMP TABLE a AS SELECT email FROM crm.customers', 'CREATE TEMP TABLE b AS SELECT * FROM a', 'SELECT * FROM b'], crm)), 'bulk-export')).toBeDefined();
    const bounded = ["CREATE TEMP TABLE failed AS SELECT id, amount FROM payments.payouts WHERE status = 'failed'", "\\copy failed TO 'failed.csv' CSV HEADER", 'SELECT * FROM failed'];
    expect(raised(await flagsOf(session(bounded, crm)))).toEqual([]);
    // Filled by hand (no table read), it holds nothing of anyone's.
    expect(raised(await flagsOf(session(['CREATE TEMP TABLE ids (id int)', 'INSERT INTO ids VALUES (1), (2)', 'COPY ids TO STDOUT'], crm)))).toEqual([]);
  });

  it('cannot launder stored secrets: a secret column selected into a temporary table is read all the same', async () => {
    const flags = await flagsOf(session(['CREATE TEMP TABLE u AS SELECT id, password_hash FROM app.users WHERE id = 12', 'SELECT * FROM u'], { scope: [] }));
    expect(find(flags, 'stored-secrets')?.severity).toBe('critical');
    expect(find(await flagsOf(session(['SELECT token INTO TEMP t FROM auth.api_tokens WHERE id = 1'], { scope: [] })), 'stored-secrets')).toBeDefined();
    expect(find(await flagsOf(session(['CREATE TEMPORARY TABLE t AS SELECT * FROM auth.api_keys LIMIT 5'], { scope: [], dialect: mysqlDialect })), 'stored-secrets')).toBeDefined();
    expect(find(await flagsOf(session(['INSERT INTO t SELECT api_key FROM ops.vendors WHERE id = 2'], { scope: [], level: 'write' })), 'stored-secrets')).toBeDefined();
  });

  it('are forgotten once dropped, and never cover a real table: qualified names, and MySQL after USE of another database', async () => {
    const write = { level: 'write' as const, levelName: 'write', scope: parseScope('sales') };
    const again = await flagsOf(session(['CREATE TEMP TABLE orders_bak AS SELECT id FROM sales.orders WHERE id < 9', 'DROP TABLE orders_bak', 'DROP TABLE orders_bak'], write));
    expect(find(again, 'drop')).toMatchObject({ severity: 'critical', statements: [2] });
    const qualified = await flagsOf(session(['CREATE TEMP TABLE orders_bak AS SELECT id FROM sales.orders WHERE id < 9', 'DROP TABLE sales.orders_bak'], write));
    expect(find(qualified, 'drop')?.message).toMatch(/sales\.orders_bak/);
    const mysql = { dialect: mysqlDialect, scope: parseScope('shop') };
    const elsewhere = await flagsOf(session(['USE shop', 'CREATE TEMPORARY TABLE salaries (id int)', 'USE hr', 'SELECT * FROM salaries LIMIT 5'], mysql));
    expect(find(elsewhere, 'outside-scope')?.message).toMatch(/hr\.salaries/);
    expect(raised(await flagsOf(session(['USE shop', 'CREATE TEMPORARY TABLE salaries (id int)', 'SELECT * FROM salaries', 'SELECT * FROM shop.salaries'], mysql)))).toEqual([]);
  });
});

describe('EXPLAIN ANALYZE', () => {
  it('of a SELECT reads no rows out, even of a whole big or personal-data table', async () => {
    const events = { scope: parseScope('events, crm') };
    for (const sql of ['EXPLAIN ANALYZE SELECT * FROM events.page_views', 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT email FROM crm.customers']) {
      expect(raised(await flagsOf(session([sql], events))), sql).toEqual([]);
    }
    // Without ANALYZE-free cover: the same SELECT run plainly is flagged.
    expect(find(await flagsOf(session(['SELECT * FROM events.page_views'], events)), 'bulk-export')).toBeDefined();
  });

  it('still runs what it explains: a DELETE without WHERE, a server file read, a change outside the scope', async () => {
    const write = { level: 'write' as const, levelName: 'write', scope: parseScope('sales.carts') };
    expect(find(await flagsOf(session(['BEGIN', 'EXPLAIN ANALYZE DELETE FROM sales.carts', 'ROLLBACK'], write)), 'unbounded-change')?.severity).toBe('critical');
    expect(find(await flagsOf(session(["EXPLAIN ANALYZE SELECT pg_read_file('/etc/passwd')"], { scope: [], level: 'admin' })), 'bulk-export')?.severity).toBe('critical');
    expect(find(await flagsOf(session(["EXPLAIN ANALYZE UPDATE crm.customers SET vip = true WHERE id = 1"], write)), 'outside-scope')?.severity).toBe('critical');
    expect(raised(await flagsOf(session(['BEGIN', "EXPLAIN ANALYZE DELETE FROM sales.carts WHERE id = 4", 'ROLLBACK'], write)))).toEqual([]);
  });
});

describe("migration tools' bookkeeping", () => {
  const tools = fc.constantFrom(
    ['public', 'schema_migrations'], ['public', 'flyway_schema_history'], ['public', 'flyway_schema_lock'], ['public', 'databasechangeloglock'],
    ['public', 'DATABASECHANGELOG'], ['public', 'alembic_version'], ['public', 'django_migrations'], ['public', 'knex_migrations_lock'],
    ['app', 'goose_db_version'], ['public', '_prisma_migrations'], ['sqitch', 'changes'],
  );
  const written = fc.constantFrom(
    (schema: string, name: string) => `${schema}.${name}`,
    (schema: string, name: string) => `"${schema}"."${name}"`,
    (_schema: string, name: string) => `"${name}"`,
  );
  const migration = 'ALTER TABLE billing.invoices ADD COLUMN due_at date';
  const bookkeeping = (table: string) => [`SELECT * FROM ${table}`, `UPDATE ${table} SET checksum = 1 WHERE version = '57'`, `INSERT INTO ${table} (version) VALUES ($1)`, `DELETE FROM ${table} WHERE id = 1`];

  it('is part of the schema change under a grant that allows one, in whatever schema the tool keeps it, however it is quoted', async () => {
    await fc.assert(
      fc.asyncProperty(tools, written, async ([schema, name], write) => {
        const table = write(schema, name);
        // sqitch's tables are bookkeeping by their schema: unqualified, `changes` is public.changes, an ordinary table.
        fc.pre(schema !== 'sqitch' || table.includes('.'));
        const admin = { level: 'admin' as const, levelName: 'admin', scope: parseScope('billing'), reason: 'apply migration V57 (due_at on billing.invoices) by hand, DEP-612' };
        expect(raised(await flagsOf(session([migration, ...bookkeeping(table)], admin)))).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('cannot hide a write under a read or write grant: outside the scope it is a change outside the scope, inside it a change after the task', async () => {
    await fc.assert(
      fc.asyncProperty(tools, written, fc.constantFrom('read' as const, 'write' as const), async ([schema, name], write, level) => {
        const table = write(schema, name);
        const outside = await flagsOf(session(["SELECT count(*) FROM billing.invoices WHERE status = 'open'", `INSERT INTO ${table} (version) VALUES ('58')`], { level, levelName: level, scope: parseScope('billing') }));
        expect(find(outside, 'outside-scope')?.severity).toBe('critical');
        // The whole database in scope: a write after the task the reason names is drift.
        const drift = await flagsOf(session(["SELECT count(*) FROM billing.invoices WHERE status = 'open'", `INSERT INTO ${table} (version) VALUES ('58')`], { level, levelName: level, scope: [], reason: 'count the open billing.invoices for FIN-900' }));
        expect(find(drift, 'after-task')).toBeDefined();
      }),
      { numRuns: 30 },
    );
  });

  it("is not personal data because the whole database is tagged so, under any grant; the catalog's own tag on it still counts", async () => {
    const piiDatabase = { tags: ['pii'], tableTags: {} };
    const admin = { ...piiDatabase, level: 'admin' as const, levelName: 'admin', scope: parseScope('billing') };
    expect(raised(await flagsOf(session([migration, 'SELECT * FROM public.flyway_schema_lock', 'DELETE FROM public.flyway_schema_lock WHERE lock_id = 1'], admin)))).toEqual([]);
    // Under a read grant with the whole database in scope, reading the migrations table whole is no bulk read of personal data ...
    expect(raised(await flagsOf(session(['SELECT * FROM public.schema_migrations'], { ...piiDatabase, scope: [] })))).toEqual([]);
    // ... while its neighbours carry the database's tag, and a write to it outside a read grant's scope is still flagged.
    expect(find(await flagsOf(session(['SELECT * FROM public.users'], { ...piiDatabase, scope: [] })), 'bulk-export')).toBeDefined();
    expect(find(await flagsOf(session(["UPDATE shop.flyway_schema_history SET success = 1 WHERE version = '62'"], { ...piiDatabase, dialect: mysqlDialect, scope: parseScope('shop.orders') })), 'outside-scope')?.severity).toBe('critical');
  });

  it('still flags destruction, and personal data, of a table with a bookkeeping name under admin', async () => {
    const admin = { level: 'admin' as const, levelName: 'admin', scope: parseScope('billing') };
    expect(find(await flagsOf(session([migration, 'DROP TABLE public.flyway_schema_history'], admin)), 'drop')?.severity).toBe('critical');
    expect(find(await flagsOf(session([migration, 'DELETE FROM public.databasechangeloglock'], admin)), 'unbounded-change')?.severity).toBe('critical');
    expect(find(await flagsOf(session([migration, 'UPDATE knex_migrations_lock SET is_locked = 0'], admin)), 'unbounded-change')?.severity).toBe('critical');
    // Tagged by the catalog as holding personal data, it is not bookkeeping: out of the scope as any table.
    const tagged = await flagsOf(session([migration, 'SELECT * FROM hr.migrations WHERE id = 1'], { ...admin, tableTags: { 'hr.migrations': ['pii'] } }));
    expect(find(tagged, 'outside-scope')).toBeDefined();
    // Its neighbours are not bookkeeping.
    expect(find(await flagsOf(session([migration, 'SELECT id FROM public.users WHERE id = 1'], admin)), 'outside-scope')).toBeDefined();
  });
});

describe('drift after the task', () => {
  const scope: SessionRuleInput['scope'] = [];
  it('reads a table named in the singular or in words as named: "order 70044" names orders, "order items" order_items', async () => {
    const write = { level: 'write' as const, levelName: 'write', scope };
    const fix = ["SELECT id, state FROM sales.orders WHERE id = 70044", "UPDATE sales.orders SET state = 'paid' WHERE id = 70044"];
    const change = 'UPDATE crm.customers SET credit_limit = 100000 WHERE id = 4471';
    expect(find(await flagsOf(session([...fix, change], { ...write, reason: 'fix the state of order 70044, SUP-7921' })), 'after-task')?.message).toMatch(/sales\.orders.*crm\.customers.*including changes/);
    expect(find(await flagsOf(session(['SELECT id FROM sales.order_items WHERE order_id = 1', change], { ...write, reason: 'wrong quantity in the order items of 1' })), 'after-task')).toBeDefined();
    // A reason that names the other table too makes it part of the task.
    expect(find(await flagsOf(session([...fix, change], { ...write, reason: 'fix the state of order 70044 for customer 4471' })), 'after-task')).toBeUndefined();
  });

  it("counts reads keyed to the task (the task table's <name>_id, or a key its statements used) as the same investigation, never changes", async () => {
    const reason = 'orders stuck in pending_payment since the deploy, INC-3390';
    const task = "SELECT id, customer_id FROM sales.orders WHERE state = 'pending_payment' LIMIT 50";
    const keyed = ['SELECT status FROM payments.payments WHERE order_id = 70021', 'SELECT id FROM logistics.shipments WHERE order_id = 70021', 'SELECT * FROM crm.notes WHERE customer_id = 4471 LIMIT 5'];
    expect(find(await flagsOf(session([task, ...keyed], { reason, scope })), 'after-task')).toBeUndefined();
    const unrelated = ['SELECT salary FROM hr.salaries WHERE employee_id = 17', 'SELECT email FROM crm.customers WHERE vip LIMIT 50', 'SELECT * FROM finance.budgets WHERE year = 2027'];
    expect(find(await flagsOf(session([task, ...unrelated], { reason, scope })), 'after-task')).toMatchObject({ statements: [1, 2, 3] });
    // A key in a comment is no key; a change keyed to the task is still a change after it.
    const commented = unrelated.map((sql) => `${sql} -- order_id`);
    expect(find(await flagsOf(session([task, ...commented], { reason, scope })), 'after-task')).toBeDefined();
    const change = await flagsOf(session([task, "UPDATE loyalty.points SET balance = 99999 WHERE customer_id = 4471"], { reason, scope, level: 'write', levelName: 'write' }));
    expect(find(change, 'after-task')?.message).toMatch(/including changes/);
  });
});

describe('settings', () => {
  it("follows search_path set through set_config, as SET search_path, and ignores pg_dump's empty one", async () => {
    expect(raised(await flagsOf(session(["SELECT pg_catalog.set_config('search_path', 'sales', false)", 'SELECT count(*) FROM orders'])))).toEqual([]);
    expect(raised(await flagsOf(session(["SELECT set_config('search_path', '\"$user\", sales, public', true)", 'SELECT count(*) FROM orders'])))).toEqual([]);
    expect(find(await flagsOf(session(["SELECT set_config('search_path', 'crm', false)", 'SELECT count(*) FROM orders'])), 'outside-scope')?.message).toMatch(/crm\.orders/);
    expect(find(await flagsOf(session(["SELECT pg_catalog.set_config('search_path', '', false)", 'SELECT count(*) FROM orders'])), 'outside-scope')?.message).toMatch(/public\.orders/);
  });

  it("reads switching MySQL's slow query log off as changing what the server logs", async () => {
    const mysql = { dialect: mysqlDialect, level: 'admin' as const, levelName: 'admin', scope: [] };
    expect(find(await flagsOf(session(["SET GLOBAL slow_query_log = 'OFF'"], mysql)), 'capture-evasion')?.severity).toBe('critical');
    expect(find(await flagsOf(session(["SET GLOBAL slow_query_log_file = '/dev/null'"], mysql)), 'capture-evasion')?.severity).toBe('critical');
    expect(raised(await flagsOf(session(['SET SESSION long_query_time = 0'], mysql)))).toEqual([]);
  });
});

describe('whole-table reads', () => {
  const pii = { scope: parseScope('crm, events') };
  const mysqlPii = { dialect: mysqlDialect, scope: parseScope('shop'), tableTags: { 'shop.customers': ['pii'] } };
  /** How people wrap an aggregate: casts, arithmetic, functions around it. */
  const wrapped = fc.constantFrom(
    (aggregate: string) => aggregate,
    (aggregate: string) => `coalesce(${aggregate}, 0)`,
    (aggregate: string) => `${aggregate}::numeric`,
    (aggregate: string) => `round(${aggregate} * 100.0 / 7, 1)`,
    (aggregate: string) => `(${aggregate}) + 1`,
  );
  const aggregate = fc.constantFrom('count(*)', 'max(id)', 'min(created_at)', 'avg(age)', 'sum(total)', 'count(DISTINCT email)', 'percentile_cont(0.5) WITHIN GROUP (ORDER BY age)', 'count(*) FILTER (WHERE vip)');

  it('are not read out by aggregates however they are wrapped, and are by anything that carries a column per row', async () => {
    await fc.assert(
      fc.asyncProperty(wrapped, aggregate, async (wrap, call) => {
        expect(raised(await flagsOf(session([`SELECT ${wrap(call)} FROM crm.customers`], pii)))).toEqual([]);
        // A column beside it, or the aggregate as a window over every row, reads the rows out.
        expect(find(await flagsOf(session([`SELECT email, ${wrap(call)} FROM crm.customers`], pii)), 'bulk-export'), wrap(call)).toBeDefined();
      }),
      { numRuns: 40 },
    );
    for (const sql of ['SELECT email, count(*) OVER () FROM crm.customers', 'SELECT string_agg(email, \',\') FROM crm.customers', 'SELECT coalesce(email, max(id)::text) FROM crm.customers']) {
      expect(find(await flagsOf(session([sql], pii)), 'bulk-export'), sql).toBeDefined();
    }
    expect(raised(await flagsOf(session(['SELECT IFNULL(MAX(id), 0) / 12, ROUND(AVG(age), 1) FROM shop.customers'], mysqlPii)))).toEqual([]);
    for (const sql of ['SELECT GROUP_CONCAT(email) FROM shop.customers', 'SELECT email, COUNT(*) OVER () FROM shop.customers']) {
      expect(find(await flagsOf(session([sql], mysqlPii)), 'bulk-export'), sql).toBeDefined();
    }
  });

  it('are bounded by a limited or filtered subquery or a sample of less than all, not by the outer SELECT being around them', async () => {
    for (const sql of [
      'SELECT * FROM (SELECT id, email FROM crm.customers ORDER BY id DESC LIMIT 10) t',
      "SELECT t.email FROM (SELECT email FROM crm.customers WHERE created_at > now() - interval '1 hour') t",
      'SELECT url FROM events.page_views TABLESAMPLE SYSTEM (0.1)',
    ]) expect(raised(await flagsOf(session([sql], pii))), sql).toEqual([]);
    for (const sql of [
      'SELECT * FROM (SELECT id, email FROM crm.customers) t ORDER BY id',
      'SELECT * FROM (SELECT * FROM (SELECT email FROM crm.customers) a) b',
      'SELECT email FROM crm.customers TABLESAMPLE BERNOULLI (100)',
      'SELECT t.* FROM (SELECT id FROM events.page_views LIMIT 5) t, crm.customers c',
    ]) expect(find(await flagsOf(session([sql], pii)), 'bulk-export'), sql).toBeDefined();
    expect(raised(await flagsOf(session(['SELECT * FROM (SELECT id, email FROM shop.customers ORDER BY id DESC LIMIT 10) t'], mysqlPii)))).toEqual([]);
    expect(find(await flagsOf(session(['SELECT * FROM (SELECT id, email FROM shop.customers) t'], mysqlPii)), 'bulk-export')).toBeDefined();
  });
});
