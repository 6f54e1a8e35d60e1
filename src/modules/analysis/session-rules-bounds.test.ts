import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScope } from '../credentials/scope.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { postgresDialect } from '../credentials/engines/postgres/dialect.js';
import { analyzeSession, type SessionFlag, type SessionRuleInput } from './session-rules.js';
import { sessionBuilder } from '../../../test/support/session-input.js';

/**
 * Round four of the session rules: what bounds a change or a read (a WHERE that names the target's
 * columns, a limit below BOUNDLESS_LIMIT), changes hidden in WITH queries, DROP COLUMN, SECURITY
 * DEFINER, foreign servers, and views made from a query. Round seven: more conditions true of every
 * row, a LIMIT as no bound of a change, joins to other tables as a bound only when those are fix lists.
 */

const from = new Date(Date.UTC(2026, 11, 18, 10, 0));
const until = new Date(Date.UTC(2026, 11, 18, 11, 0));

const session = sessionBuilder({ activeFrom: from, activeUntil: until, level: 'write', levelName: 'write', scope: parseScope('sales, crm'), reason: 'Fix the orders listed in SUP-4410', tableTags: { 'crm.customers': ['pii'], 'shop.customers': ['pii'] } });
const mysql = (statements: string[], overrides: Partial<Omit<SessionRuleInput, 'statements'>> = {}) =>
  session(statements, { dialect: mysqlDialect, scope: parseScope('shop'), ...overrides });
const flagged = (flags: SessionFlag[]) => flags.filter((flag) => flag.severity !== 'info').map((flag) => flag.code);
const codes = async (input: SessionRuleInput) => flagged((await analyzeSession(input)).flags);

/** A comment, or none, where whitespace may stand. */
const gap = fc.constantFrom(' ', '  ', ' /* x */ ', '\n', ' /* WHERE id = 5 */ ');
/** Keywords in any case: the servers do not care. */
const cased = fc.constantFrom((text: string) => text, (text: string) => text.toLowerCase(), (text: string) => text.toUpperCase());

const pgKey = fc.constantFrom('id', '"id"', 'o.id', 'order_id');
const myKey = fc.constantFrom('id', '`id`', 'o.id', 'order_id');
/** Conditions that hold for every row, with `K` for a key column. */
const TAUTOLOGIES = [
  '1 = 1', 'TRUE', 'NOT (FALSE)', "'a' = 'a'", '{k} = {k}', '{k} > 0', '{k} >= 0', '{k} <> -1', 'id IS NOT NULL', "state LIKE '%'", '{k} = 7 OR 1 = 1', '{k} = 7 OR TRUE',
  "now() > '2020-01-01'", '2 > 1', 'NULL IS NULL', '1 IN (1, 2)', '3 NOT IN (1, 2)', 'EXISTS (SELECT 1)', '{k} BETWEEN 0 AND 2147483647', '{k} < 99999999999',
  '99999999999 > {k}', 'NOT ({k} IS NULL)', 'order_id IS NOT NULL', 'created_at < now()', 'now() >= created_at', 'created_at <= CURRENT_TIMESTAMP',
  "state = 'open' OR state <> 'open'", '{k} > 1000 OR {k} <= 1000', '5 < {k} OR {k} <= 5',
];
const MYSQL_TAUTOLOGIES = [...TAUTOLOGIES, '1'];
/** Conditions that pick rows. */
const BOUNDS = [
  '{k} = 7', '{k} > 900000', "state LIKE 'test-%'", '1 = 1 AND {k} = 7', '{k} IN (1, 2, 3)', "created_at < '2025-01-01'", 'FALSE', '{k} = 7 AND NOT (FALSE)',
  '{k} BETWEEN 100 AND 200', '{k} < 5000', 'expires_at < now()', 'coupon_id IS NOT NULL', '1 IN (2, 3)', 'customer_id IS NULL',
];

describe('what bounds a change', () => {
  it('flags an UPDATE or DELETE whose WHERE holds for every row, however it is written (PostgreSQL)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TAUTOLOGIES), pgKey, gap, cased, fc.boolean(), async (tautology, key, space, write, update) => {
        const where = tautology.replace(/\{k\}/g, key).replace(/ /g, space);
        const sql = update ? `UPDATE sales.orders o SET state = 'x' WHERE${space}${where}` : `DELETE FROM sales.orders o WHERE${space}${where}`;
        expect(await codes(session([write(sql)]))).toContain('unbounded-change');
      }),
      { numRuns: 120 },
    );
  });

  it('flags the same in MySQL, with its quoting', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MYSQL_TAUTOLOGIES), myKey, gap, cased, fc.boolean(), async (tautology, key, space, write, update) => {
        const where = tautology.replace(/\{k\}/g, key).replace(/ /g, space);
        const sql = update ? `UPDATE shop.orders o SET state = 'x' WHERE${space}${where}` : `DELETE o FROM shop.orders o WHERE${space}${where}`;
        expect(await codes(mysql([write(sql)]))).toContain('unbounded-change');
      }),
      { numRuns: 120 },
    );
  });

  it('leaves a WHERE that picks rows alone, comments and case whatever they are', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BOUNDS), fc.constantFrom('postgres', 'mysql'), gap, cased, async (bound, engine, space, write) => {
        const key = engine === 'postgres' ? 'id' : '`id`';
        const where = bound.replace(/\{k\}/g, key).replace(/ /g, space);
        const sql = engine === 'postgres' ? `DELETE FROM sales.orders WHERE${space}${where}` : `DELETE FROM shop.orders WHERE${space}${where}`;
        expect(await codes(engine === 'postgres' ? session([write(sql)]) : mysql([write(sql)]))).toEqual([]);
      }),
      { numRuns: 120 },
    );
  });

  it('a WHERE on the joined table alone bounds nothing; one tied to the target does', async () => {
    const unbounded = [
      'DELETE FROM sales.orders USING sales.customers',
      'DELETE FROM sales.orders o USING sales.customers c WHERE c.id = 9',
      "UPDATE sales.orders SET state = 'hold' FROM sales.customers c WHERE c.id = 9",
    ];
    for (const sql of unbounded) expect(await codes(session([sql])), sql).toContain('unbounded-change');
    expect(await codes(mysql(["UPDATE shop.orders o, shop.customers c SET o.state = 'hold' WHERE c.id = 7"]))).toContain('unbounded-change');

    const bounded = [
      "DELETE FROM sales.orders USING sales.refunds r WHERE r.order_id = sales.orders.id AND r.batch = 'R-2'",
      "UPDATE sales.orders o SET state = 'refunded' FROM sales.refunds r WHERE r.order_id = o.id AND r.batch = 'R-1'",
      "DELETE FROM sales.orders WHERE EXISTS (SELECT 1 FROM sales.refunds r WHERE r.order_id = orders.id AND r.batch = 'R-3')",
      "DELETE FROM sales.orders WHERE id IN (SELECT order_id FROM sales.refunds WHERE batch = 'R-4')",
    ];
    for (const sql of bounded) expect(await codes(session([sql])), sql).toEqual([]);
    expect(await codes(mysql(["UPDATE shop.orders o JOIN shop.customers c ON c.id = o.customer_id SET o.state = 'hold' WHERE c.id = 7"]))).toEqual([]);
    expect(await codes(mysql(["UPDATE shop.orders o, shop.customers c SET o.state = 'hold' WHERE c.id = o.customer_id AND c.id = 7"]))).toEqual([]);
  });

  it('a WHERE that only pairs the target with other tables bounds nothing, unless one of them is a fix list', async () => {
    const paired = [
      'UPDATE sales.orders o SET region = c.region FROM sales.customers c WHERE c.id = o.customer_id',
      'DELETE FROM sales.order_items oi USING sales.orders o WHERE o.id = oi.order_id AND 1 = 1',
      'WITH everyone AS (SELECT id FROM crm.customers) UPDATE crm.customers c SET tier = 0 FROM everyone e WHERE e.id = c.id',
    ];
    for (const sql of paired) expect(await codes(session([sql])), sql).toContain('unbounded-change');
    const myPaired = [
      'DELETE o FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id',
      'UPDATE shop.products p, shop.categories c SET p.visible = 0 WHERE p.category_id = c.id',
      'UPDATE shop.orders o JOIN shop.customers c USING (customer_id) SET o.region = c.region',
      'DELETE i, l FROM shop.inventory i JOIN shop.inventory_log l ON l.item_id = i.item_id WHERE 1 = 1',
    ];
    for (const sql of myPaired) expect(await codes(mysql([sql])), sql).toContain('unbounded-change');
    // A VALUES list, a bounded subquery or WITH query, a condition of its own, or a temporary table filled by bounded reads.
    const fixed = [
      "UPDATE sales.orders o SET state = v.state FROM (VALUES (9101, 'shipped')) AS v(id, state) WHERE v.id = o.id",
      "UPDATE sales.orders o SET total = s.total FROM (SELECT order_id, sum(amount) AS total FROM sales.lines WHERE order_id IN (1, 2) GROUP BY order_id) s WHERE s.order_id = o.id",
      "WITH fix AS (SELECT id FROM sales.orders WHERE state = 'stuck') UPDATE sales.orders o SET state = 'new' FROM fix WHERE fix.id = o.id",
      "UPDATE sales.orders o SET state = 'hold' FROM sales.customers c WHERE c.id = o.customer_id AND c.email = 'ana@example.org'",
    ];
    for (const sql of fixed) expect(await codes(session([sql])), sql).toEqual([]);
    expect(await codes(session(['CREATE TEMP TABLE fix AS SELECT id FROM sales.orders WHERE carrier = 7', "UPDATE sales.orders o SET state = 'x' FROM fix f WHERE f.id = o.id"]))).toEqual([]);
    expect(await codes(session(['CREATE TEMP TABLE snap AS SELECT id, region FROM crm.customers', 'UPDATE sales.orders o SET region = s.region FROM snap s WHERE s.id = o.customer_id']))).toContain('unbounded-change');
    expect(await codes(mysql(['CREATE TEMPORARY TABLE ids (id BIGINT)', 'INSERT INTO ids VALUES (1), (2)', "UPDATE shop.orders o JOIN ids USING (id) SET o.state = 'x'"]))).toEqual([]);
    expect(await codes(mysql(["UPDATE shop.orders o JOIN (SELECT order_id FROM shop.payments WHERE ref IN ('a', 'b')) p ON p.order_id = o.id SET o.state = 'paid'"]))).toEqual([]);
    expect(await codes(mysql(["UPDATE shop.orders o JOIN shop.customers c ON c.id = o.customer_id AND c.email = 'a@b.c' SET o.hold = 1"]))).toEqual([]);
    // WITH queries in MySQL too, and lists named for a fix (loaded outside the session) as much as the session's own.
    expect(await codes(mysql(["WITH fix AS (SELECT id FROM shop.orders WHERE state = 'stuck') UPDATE shop.orders o JOIN fix f ON f.id = o.id SET o.state = 'new'"]))).toEqual([]);
    expect(await codes(mysql(["WITH everything AS (SELECT id FROM shop.orders) UPDATE shop.orders o JOIN everything e ON e.id = o.id SET o.state = 'new'"]))).toContain('unbounded-change');
    expect(await codes(session(['UPDATE sales.orders o SET state = f.state FROM ops.fix_4410 f WHERE f.order_id = o.id'], { scope: [] }))).toEqual([]);
    expect(await codes(mysql(['UPDATE shop.products p JOIN staging.price_import_900 i ON i.sku = p.sku SET p.price = i.price'], { scope: [] }))).toEqual([]);
    expect(await codes(session(['UPDATE sales.orders o SET region = a.region FROM sales.addresses a WHERE a.order_id = o.id']))).toContain('unbounded-change');
  });

  it("reads MySQL's detour through a derived table of the target as the target's every key", async () => {
    expect(await codes(mysql(['DELETE FROM shop.carts WHERE id IN (SELECT id FROM (SELECT id FROM shop.carts) AS x)']))).toContain('unbounded-change');
    expect(await codes(mysql(['DELETE FROM shop.carts WHERE id IN (SELECT id FROM (SELECT id FROM shop.carts ORDER BY id LIMIT 1000) AS x)']))).toContain('unbounded-change');
    expect(await codes(mysql(["DELETE FROM shop.carts WHERE id IN (SELECT id FROM (SELECT id FROM shop.carts WHERE updated_at < '2026-01-01' LIMIT 1000) AS x)"]))).toEqual([]);
  });

  it('reads UPDATE and DELETE in the forms the MySQL grammar lacks', async () => {
    expect(await codes(mysql(['DELETE LOW_PRIORITY QUICK FROM shop.sessions']))).toContain('unbounded-change');
    expect(await codes(mysql(['UPDATE IGNORE shop.customers SET newsletter = 0']))).toContain('unbounded-change');
    expect(await codes(mysql(['DELETE FROM shop.events PARTITION (p2025)']))).toContain('unbounded-change');
    expect(await codes(mysql(['DELETE FROM shop.order_items USING shop.order_items JOIN shop.orders ON shop.orders.id = shop.order_items.order_id']))).toContain('unbounded-change');
    expect(await codes(mysql(["UPDATE LOW_PRIORITY shop.orders SET state = 'x' WHERE id = 7301"]))).toEqual([]);
  });

  it('a limit of a million or more is no limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('1000000', '100000000', '18446744073709551615'), cased, async (count, write) => {
        expect(await codes(mysql([write(`DELETE FROM shop.orders ORDER BY id LIMIT ${count}`)]))).toContain('unbounded-change');
        expect(await codes(mysql([write(`SELECT email FROM shop.customers LIMIT ${count}`)], { level: 'read' }))).toContain('bulk-export');
        expect(await codes(session([write(`SELECT email FROM crm.customers LIMIT ${count}`)], { level: 'read' }))).toContain('bulk-export');
      }),
      { numRuns: 12 },
    );
    expect(await codes(mysql(['DELETE FROM shop.orders WHERE id = 9 LIMIT 1']))).toEqual([]);
    // A LIMIT picks rows of a change, it does not say which: without a WHERE, every row is at risk.
    for (const sql of ['DELETE FROM shop.orders LIMIT 100', 'UPDATE shop.orders SET state = 0 ORDER BY id LIMIT 500', 'delete from shop.orders order by created_at limit 1']) {
      expect(await codes(mysql([sql])), sql).toContain('unbounded-change');
    }
    // PostgreSQL's spelling of it: the keys of some rows of the target itself, with no condition.
    expect(await codes(session(['DELETE FROM sales.orders WHERE ctid IN (SELECT ctid FROM sales.orders LIMIT 10000)']))).toContain('unbounded-change');
    expect(await codes(session(['DELETE FROM sales.orders WHERE id IN (SELECT id FROM sales.orders ORDER BY id LIMIT 5000)']))).toContain('unbounded-change');
    expect(await codes(session(["DELETE FROM sales.orders WHERE id IN (SELECT id FROM sales.orders WHERE state = 'test' LIMIT 5000)"]))).toEqual([]);
    expect(await codes(session(['SELECT email FROM crm.customers ORDER BY id LIMIT ALL'], { level: 'read' }))).toContain('bulk-export');
    expect(await codes(session(['SELECT email FROM crm.customers ORDER BY id LIMIT 50'], { level: 'read' }))).toEqual([]);
  });

  it('a read of personal data with a WHERE of constants alone is a whole-table read; WHERE false is not', async () => {
    expect(await codes(session(["SELECT email FROM crm.customers WHERE NOT (false)"], { level: 'read' }))).toContain('bulk-export');
    expect(await codes(session(["SELECT email FROM crm.customers WHERE 'x' = 'x'"], { level: 'read' }))).toContain('bulk-export');
    expect(await codes(session(['SELECT * FROM crm.customers WHERE 1 = 0'], { level: 'read' }))).toEqual([]);
    expect(await codes(mysql(['SELECT * FROM shop.customers WHERE 0'], { level: 'read' }))).toEqual([]);
  });

  it('judges a change inside a WITH query as the change', async () => {
    expect(await codes(session(['WITH gone AS (DELETE FROM sales.orders RETURNING id) SELECT count(*) FROM gone']))).toContain('unbounded-change');
    expect(await codes(session(["with u as (update sales.orders set state = 'void' returning id) select 1"]))).toContain('unbounded-change');
    expect(await codes(session(['WITH gone AS (DELETE FROM sales.orders WHERE id = 8 RETURNING id) SELECT count(*) FROM gone']))).toEqual([]);
    // The archive pattern: a bounded delete moved into another table of the scope.
    expect(await codes(session(["WITH moved AS (DELETE FROM sales.orders WHERE created_at < '2020-01-01' RETURNING *) INSERT INTO sales.orders_archive SELECT * FROM moved"]))).toEqual([]);
    expect(await codes(session(['WITH moved AS (DELETE FROM sales.orders RETURNING *) INSERT INTO sales.orders_archive SELECT * FROM moved']))).toContain('unbounded-change');
  });
});

describe('destruction, privileges and data leaving, under an admin grant', () => {
  const admin = { level: 'admin' as const, levelName: 'admin', scope: parseScope(''), reason: 'CHG-77' };

  it('ALTER ... DROP COLUMN is destruction; adding a column is not', async () => {
    expect(await codes(session(['ALTER TABLE sales.orders DROP COLUMN legacy_note'], admin))).toContain('drop');
    expect(await codes(session(['alter table sales.orders add column carrier text, drop column if exists fax'], admin))).toContain('drop');
    expect(await codes(mysql(['ALTER TABLE shop.customers DROP COLUMN fax'], admin))).toContain('drop');
    expect(await codes(mysql(['ALTER TABLE shop.customers DROP fax'], admin))).toContain('drop');
    expect(await codes(session(['ALTER TABLE sales.orders ADD COLUMN carrier text'], admin))).toEqual([]);
    expect(await codes(mysql(['ALTER TABLE shop.customers ADD COLUMN fax varchar(20)'], admin))).toEqual([]);
    // The session's own temporary table.
    expect(await codes(session(['CREATE TEMP TABLE t (a int, b int)', 'ALTER TABLE t DROP COLUMN b'], admin))).toEqual([]);
  });

  it('a SECURITY DEFINER function is a privilege change; an ordinary one is not', async () => {
    const body = 'RETURNS int LANGUAGE sql AS $$ SELECT 1 $$';
    expect(await codes(session([`CREATE OR REPLACE FUNCTION sales.f() ${body} SECURITY DEFINER`], admin))).toContain('privilege-change');
    expect(await codes(session(['ALTER FUNCTION sales.f() SECURITY DEFINER'], admin))).toContain('privilege-change');
    expect(await codes(session([`CREATE FUNCTION sales.f() ${body}`], admin))).toEqual([]);
    expect(await codes(session([`CREATE FUNCTION sales.f() ${body} SECURITY INVOKER`], admin))).toEqual([]);
  });

  it('a foreign server or a FEDERATED table is a way out for the data', async () => {
    expect(await codes(session(["CREATE SERVER ext FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '198.51.100.23', dbname 'x')"], admin))).toContain('bulk-export');
    expect(await codes(session(["ALTER SERVER ext OPTIONS (SET host 'elsewhere.example')"], admin))).toContain('bulk-export');
    expect(await codes(mysql(["CREATE TABLE shop.remote_c (id INT) ENGINE=FEDERATED CONNECTION='mysql://u:p@203.0.113.9:3306/x/c'"], admin))).toContain('bulk-export');
    expect(await codes(mysql(["CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST '203.0.113.9', DATABASE 'x', USER 'u')"], admin))).toContain('bulk-export');
    expect(await codes(mysql(['CREATE TABLE shop.notes (id INT) ENGINE=InnoDB'], admin))).toEqual([]);
  });

  it('a view made from a query holds what filled it', async () => {
    expect(await codes(session(['CREATE VIEW crm.v_contacts AS SELECT email, phone FROM crm.customers', 'SELECT * FROM crm.v_contacts'], admin))).toContain('bulk-export');
    expect(await codes(mysql(['CREATE VIEW shop.v AS SELECT email FROM shop.customers', 'SELECT * FROM shop.v'], admin))).toContain('bulk-export');
    // Bounded by its own query, or read with a condition: no whole-table read.
    expect(await codes(session(["CREATE VIEW crm.v_new AS SELECT email FROM crm.customers WHERE created_at > '2026-12-01'", 'SELECT * FROM crm.v_new'], admin))).toEqual([]);
    expect(await codes(session(['CREATE VIEW crm.v_contacts AS SELECT email FROM crm.customers', 'SELECT email FROM crm.v_contacts WHERE id = 4'], admin))).toEqual([]);
    // Dropped, the name means whatever the catalog says again.
    expect(await codes(session(['CREATE VIEW sales.v AS SELECT email FROM crm.customers', 'DROP VIEW sales.v', 'CREATE VIEW sales.v AS SELECT id FROM sales.orders', 'SELECT * FROM sales.v'], admin))).toEqual(['drop']);
  });
});

describe('what a DO block runs', () => {
  const admin = { level: 'admin' as const, levelName: 'admin', scope: parseScope(''), reason: 'CHG-90' };

  it('judges each statement it runs, EXECUTE of a string included', async () => {
    expect(await codes(session(["DO $$ BEGIN EXECUTE 'GRANT ALL ON ALL TABLES IN SCHEMA sales TO jo'; END $$"], admin))).toContain('privilege-change');
    expect(await codes(session(["do $$\nbegin\n  delete from sales.orders;\nend\n$$"]))).toContain('unbounded-change');
    expect(await codes(session(["DO LANGUAGE plpgsql $body$ BEGIN PERFORM pg_read_file('/etc/passwd'); END $body$"], admin))).toContain('bulk-export');
    // Nested in IF and LOOP.
    expect(await codes(session(['DO $$ BEGIN IF true THEN LOOP TRUNCATE sales.orders; EXIT; END LOOP; END IF; END $$']))).toContain('unbounded-change');
  });

  it('reads text built at run time by the words of its first string', async () => {
    const drop = "DO $x$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'archive' LOOP EXECUTE 'DROP TABLE archive.' || quote_ident(t) || ' CASCADE'; END LOOP; END $x$";
    expect(await codes(session([drop], admin))).toContain('drop');
    expect(await codes(session(["DO $$ BEGIN EXECUTE format('GRANT SELECT ON %I TO jo', 'orders'); END $$"], admin))).toContain('privilege-change');
  });

  it('leaves bounded work in a block alone, and never throws on a body it cannot read', async () => {
    expect(await codes(session(["DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'i') THEN CREATE INDEX i ON sales.orders (state); END IF; END $$"], admin))).toEqual([]);
    expect(await codes(session(["DO $$ DECLARE n int; BEGIN LOOP DELETE FROM sales.orders WHERE id IN (SELECT id FROM sales.orders WHERE external_ref LIKE 'lt-%' LIMIT 1000); GET DIAGNOSTICS n = ROW_COUNT; EXIT WHEN n = 0; END LOOP; END $$"]))).toEqual([]);
    expect(await codes(session(["DO $$ BEGIN RAISE NOTICE 'DROP TABLE sales.orders; GRANT ALL TO jo'; END $$"]))).toEqual([]);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), async (body) => {
        await analyzeSession(session([`DO $q$${body.replace(/\$q\$/g, '')}$q$`]));
      }),
      { numRuns: 50 },
    );
  });
});
