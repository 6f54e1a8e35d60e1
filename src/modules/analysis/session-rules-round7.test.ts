import { describe, expect, it } from 'vitest';
import { parseScope } from '../credentials/scope.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { analyzeSession, type SessionRuleInput } from './session-rules.js';
import { sessionBuilder } from '../../../test/support/session-input.js';

/**
 * Round seven of the session rules: the server's catalogs changed by hand, the application's audit
 * record under other names (and what only adds to it), COPY of bounded or aggregate queries, and the
 * task's own rows written in another table. Bounds of changes are in session-rules-bounds.test.ts.
 */

const from = new Date(Date.UTC(2026, 11, 28, 10, 0));

const session = sessionBuilder({ activeFrom: from, level: 'admin', levelName: 'admin', reason: 'DBA-88', tableTags: { 'crm.customers': ['pii'], 'ledger.transfers': ['big'], 'sales.orders': ['big'] } });
const mysql = { dialect: mysqlDialect };
const reviewed = async (input: SessionRuleInput) => (await analyzeSession(input)).flags.filter((flag) => flag.severity !== 'info').map((flag) => [flag.code, flag.severity]);

describe("the server's catalogs changed by hand", () => {
  it('flags a change of any catalog row, refused or not, and leaves reading them a note', async () => {
    for (const sql of [
      "UPDATE pg_trigger SET tgenabled = 'D' WHERE tgname = 'refunds_audit'",
      "UPDATE pg_catalog.pg_class SET relhastriggers = false WHERE relname = 'payments'",
      "DELETE FROM pg_catalog.pg_event_trigger WHERE evtname = 'ddl_audit'",
      "UPDATE pg_database SET datallowconn = false WHERE datname = 'reporting'",
    ]) expect(await reviewed(session([sql])), sql).toEqual([['catalog-change', 'critical']]);
    expect(await reviewed(session(["UPDATE mysql.proc SET security_type = 'DEFINER' WHERE name = 'refund'"], mysql))).toEqual([['catalog-change', 'critical']]);
    expect(await reviewed(session([{ sql: "UPDATE pg_trigger SET tgenabled = 'D' WHERE tgname = 'payments_audit'", error: 'ERROR: permission denied for table pg_trigger' }]))).toEqual([['catalog-change', 'warning']]);
    expect(await reviewed(session(["SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'billing.invoices'::regclass"]))).toEqual([]);
    // Privilege tables and the tables capture reads keep their own flags.
    expect(await reviewed(session(["INSERT INTO mysql.db (Host, Db, User) VALUES ('%', 'shop', 'app')"], mysql))).toEqual([['privilege-change', 'critical']]);
    expect(await reviewed(session(["UPDATE performance_schema.setup_consumers SET ENABLED = 'NO' WHERE NAME LIKE 'events_statements%'"], mysql))).toEqual([['capture-evasion', 'critical']]);
  });
});

describe("the application's audit record", () => {
  const write = { level: 'write' as const, levelName: 'write', scope: parseScope('') };

  it('knows it by the names schemas, tables and audit libraries give it', async () => {
    for (const sql of [
      "DELETE FROM shop_audit.events WHERE actor = 'ops:kim'",
      'DELETE FROM audit_db.entries WHERE user_id = 42',
      'DELETE FROM public.auditlog_logentry WHERE actor_id = 7',
      'DELETE FROM hr.salaries_aud WHERE rev > 1200',
      'DELETE FROM security.login_history WHERE user_id = 12',
      'UPDATE backoffice.admin_log SET admin_id = 1 WHERE admin_id = 17',
      'UPDATE shop.shop_historicalorder SET history_user_id = NULL WHERE history_user_id = 9',
    ]) expect(await reviewed(session([sql], write)), sql).toEqual([['capture-evasion', 'critical']]);
    // A search log is not the record of who did what; reading the record is not editing it.
    expect(await reviewed(session(["DELETE FROM shop.search_log WHERE created_at < '2026-06-01'"], write))).toEqual([]);
    expect(await reviewed(session(['SELECT actor, action FROM shop_audit.events WHERE order_id = 7301'], write))).toEqual([]);
  });

  it('flags a multi-table DELETE that takes audit rows with it', async () => {
    const flags = await reviewed(session(['DELETE o, l FROM shop.orders o JOIN shop.order_audit_log l ON l.order_id = o.id WHERE o.id = 7130'], { ...write, ...mysql }));
    expect(flags).toContainEqual(['capture-evasion', 'critical']);
  });

  it('leaves schema changes that only add to it alone: partitions, indexes, columns, comments', async () => {
    const describe = { reason: 'DBA-91 partitions and indexes of the audit tables' };
    for (const sql of [
      "CREATE TABLE audit.logged_actions_2027_01 PARTITION OF audit.logged_actions FOR VALUES FROM ('2027-01-01') TO ('2027-02-01')",
      "ALTER TABLE audit.logged_actions ATTACH PARTITION audit.logged_actions_2027_02 FOR VALUES FROM ('2027-02-01') TO ('2027-03-01')",
      'CREATE INDEX CONCURRENTLY ON app.audit_log (actor_id, created_at)',
      'ALTER TABLE app.audit_log ADD COLUMN request_id uuid',
      "COMMENT ON TABLE app.audit_log IS 'written by triggers'",
    ]) expect(await reviewed(session([sql], describe)), sql).toEqual([]);
    expect(await reviewed(session(['ALTER TABLE shop.audit_log ADD INDEX ix_actor (actor)'], { ...describe, ...mysql }))).toEqual([]);
    // What takes rows, or makes the table keep none, is still editing it.
    expect(await reviewed(session(['CREATE RULE skip AS ON INSERT TO audit.logged_actions DO INSTEAD NOTHING'], describe))).toContainEqual(['capture-evasion', 'critical']);
    expect(await reviewed(session(['ALTER TABLE shop.audit_log ENGINE=BLACKHOLE'], { ...describe, ...mysql }))).toContainEqual(['capture-evasion', 'critical']);
    expect(await reviewed(session(['ALTER TABLE shop.audit_log DROP PARTITION p2025'], { ...describe, ...mysql }))).toEqual([['capture-evasion', 'critical'], ['drop', 'critical']]);
  });

  it("calls MySQL's DROP and TRUNCATE PARTITION destruction, as DROP COLUMN", async () => {
    expect(await reviewed(session(['ALTER TABLE shop.events DROP PARTITION p2024_01, p2024_02'], mysql))).toEqual([['drop', 'critical']]);
    expect(await reviewed(session(['ALTER TABLE shop.orders_archive TRUNCATE PARTITION p2024'], mysql))).toEqual([['drop', 'critical']]);
  });
});

describe('COPY to the client', () => {
  const read = { level: 'read' as const, levelName: 'read', scope: parseScope(''), tableTags: { 'crm.customers': ['pii'], 'ledger.transfers': ['big'], 'sales.orders': ['big'], 'payments.payouts': ['personal'] } };

  it('leaves a bounded query of data nobody tagged personal, and figures of any table, alone', async () => {
    for (const sql of [
      "COPY (SELECT id, status, amount_cents FROM ledger.transfers WHERE batch_id = 'B-2291') TO STDOUT WITH CSV HEADER",
      "\\copy (SELECT region, count(*), sum(total) FROM sales.orders WHERE created_at >= '2026-11-01' GROUP BY region) TO 'regions.csv' CSV HEADER",
      "COPY (SELECT date_trunc('day', created_at)::date AS day, count(*) FROM crm.customers GROUP BY 1) TO STDOUT",
      'COPY (SELECT country, count(DISTINCT email) FROM crm.customers GROUP BY country) TO STDOUT',
    ]) expect(await reviewed(session([sql], read)), sql).toEqual([]);
  });

  it('flags whole tables, and rows that say who they are about, however they are grouped', async () => {
    for (const sql of [
      'COPY ledger.transfers TO STDOUT',
      'COPY (SELECT * FROM ledger.transfers LIMIT 100000000) TO STDOUT',
      "COPY (SELECT name, email FROM crm.customers WHERE country = 'DE') TO STDOUT",
      'COPY (SELECT email, count(*) FROM crm.customers GROUP BY email) TO STDOUT',
      'COPY (SELECT customer_id, sum(amount_cents) FROM payments.payouts GROUP BY customer_id) TO STDOUT',
    ]) expect((await reviewed(session([sql], read))).map(([code]) => code), sql).toContain('bulk-export');
  });
});

describe("the task's own rows in another table", () => {
  const write = { level: 'write' as const, levelName: 'write', scope: parseScope(''), dialect: mysqlDialect, reason: 'SHOP-512 mark the 3 orders in the ticket as refunded' };
  const task = ['SELECT id, status FROM shop.orders WHERE id IN (88012, 88019)', "UPDATE shop.orders SET status = 'refunded' WHERE id IN (88012, 88019)"];

  it("is the task when a change is keyed to the rows the task's statements used", async () => {
    expect(await reviewed(session([...task, "INSERT INTO shop.order_events (order_id, event) VALUES (88012, 'refunded'), (88019, 'refunded')"], write))).toEqual([]);
    expect(await reviewed(session([...task, "UPDATE shop.payments SET status = 'refunded' WHERE order_id IN (88012, 88019)"], write))).toEqual([]);
    const carts = ['CREATE TEMP TABLE gone AS SELECT id FROM sales.carts WHERE customer_id = 5512', 'DELETE FROM sales.cart_items ci USING gone g WHERE g.id = ci.cart_id'];
    expect(await reviewed(session(carts, { level: 'write', levelName: 'write', scope: parseScope(''), reason: 'SUP-883 empty the carts of customer 5512' }))).toEqual([]);
  });

  it('is drift when the change is keyed to other rows, or to nothing of the task', async () => {
    expect(await reviewed(session([...task, 'UPDATE shop.order_items SET unit_price = 0 WHERE order_id = 61877'], write))).toEqual([['after-task', 'warning']]);
    expect(await reviewed(session([...task, 'INSERT INTO shop.vouchers (customer_id, amount_cents) VALUES (4471, 5000)'], write))).toEqual([['after-task', 'warning']]);
  });
});

describe('switching the record off by other roads', () => {
  it('reads an UPDATE of pg_settings as the setting it changes', async () => {
    expect(await reviewed(session(["UPDATE pg_settings SET setting = 'none' WHERE name = 'log_statement'"]))).toEqual([['capture-evasion', 'critical']]);
    expect(await reviewed(session(["UPDATE pg_settings SET setting = '256MB' WHERE name = 'work_mem'"], { level: 'read', levelName: 'read' }))).toEqual([]);
  });

  it("flags the sys schema's switches for performance_schema", async () => {
    expect(await reviewed(session(["CALL sys.ps_setup_disable_consumer('events_statements')"], mysql))).toEqual([['capture-evasion', 'critical']]);
    expect(await reviewed(session(['CALL sys.ps_truncate_all_tables(FALSE)'], mysql))).toEqual([['capture-evasion', 'critical']]);
    expect(await reviewed(session(["CALL sys.ps_setup_show_enabled(FALSE, FALSE)"], mysql))).toEqual([]);
  });

  it('flags an audit trigger function that records nothing, not a new one that records', async () => {
    expect(await reviewed(session(['CREATE OR REPLACE FUNCTION audit.if_modified_func() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$']))).toEqual([['capture-evasion', 'critical']]);
    expect(await reviewed(session(['CREATE FUNCTION public.log_audit_event() RETURNS trigger AS $f$ BEGIN RETURN NULL; END $f$ LANGUAGE plpgsql']))).toEqual([['capture-evasion', 'critical']]);
    const records = "CREATE OR REPLACE FUNCTION audit.log_refund() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit.logged_actions (action) VALUES (TG_OP); RETURN NEW; END $$";
    expect(await reviewed(session([records], { reason: 'SEC-13 audit refunds with a new trigger' }))).toEqual([]);
    expect(await reviewed(session(['CREATE FUNCTION sales.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$'], { reason: 'CHG-5 updated_at trigger' }))).toEqual([]);
  });

  it('does not take market history for the audit record', async () => {
    expect(await reviewed(session(["UPDATE market.historical_prices SET close = 101.5 WHERE symbol = 'ACME'"], { level: 'write', levelName: 'write' }))).toEqual([]);
  });
});

describe('more of the same kinds', () => {
  const write = { level: 'write' as const, levelName: 'write', scope: parseScope('') };

  it('reads a self-join that keeps one of each duplicate as a bound, one that pairs each row with itself as none', async () => {
    expect(await reviewed(session(['DELETE FROM crm.signups a USING crm.signups b WHERE a.email = b.email AND a.id > b.id'], write))).toEqual([]);
    expect(await reviewed(session(['DELETE w1 FROM shop.wishlist w1 JOIN shop.wishlist w2 ON w1.customer_id = w2.customer_id AND w1.id > w2.id'], { ...write, ...mysql }))).toEqual([]);
    expect(await reviewed(session(['DELETE FROM sales.carts a USING sales.carts b WHERE a.id = b.id'], write))).toEqual([['unbounded-change', 'critical']]);
  });

  it('takes a creation time for a column no row leaves null', async () => {
    expect(await reviewed(session(['DELETE FROM sales.carts WHERE created_at IS NOT NULL'], write))).toEqual([['unbounded-change', 'critical']]);
    expect(await reviewed(session(['UPDATE crm.contacts SET purge = true WHERE deleted_at IS NOT NULL'], write))).toEqual([]);
  });

  it('reads a secret out of a settings table by its key, not a setting that only mentions one', async () => {
    expect(await reviewed(session(["SELECT value FROM app.settings WHERE name = 'smtp_password'"], { level: 'read', levelName: 'read' }))).toEqual([['stored-secrets', 'critical']]);
    expect(await reviewed(session(["SELECT cfg_value FROM shop.config WHERE cfg_key = 'stripe_secret_key'"], { ...mysql, level: 'read', levelName: 'read' }))).toEqual([['stored-secrets', 'critical']]);
    expect(await reviewed(session(["SELECT name, value FROM app.settings WHERE name IN ('password_min_length', 'session_ttl_minutes')"], { level: 'read', levelName: 'read' }))).toEqual([]);
    expect(await reviewed(session(["SELECT id, actor FROM app.audit_events WHERE action = 'reset_password' LIMIT 50"], { level: 'read', levelName: 'read' }))).toEqual([]);
    expect(await reviewed(session(["UPDATE app.settings SET value = 'rotated' WHERE name = 'smtp_password'"], write))).toEqual([]);
  });

  it('does not take an auditorium for the audit record', async () => {
    expect(await reviewed(session(["UPDATE venue.auditoriums SET name = 'Hall B' WHERE id = 2"], { ...write, ...mysql }))).toEqual([]);
  });
});
