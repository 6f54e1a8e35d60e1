import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScope } from '../credentials/scope.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { analyzeSession, type SessionRuleInput } from './session-rules.js';
import { namesASecret } from './secret-names.js';
import { recordSwitchedOff } from './session-record-switches.js';
import { sessionBuilder } from '../../../test/support/session-input.js';

/**
 * Round ten of the session rules: MySQL's prepared statements read as what they run; secrets in
 * settings by a server's key, and settings read by harmless keys; MySQL's unqualified names under a
 * scope of one database; the record switched off in the application's data; people's pay read in
 * passing; a table named in separate words; joins to a bounded temporary table; tables read only to
 * pick the rows of a change.
 */

const from = new Date(Date.UTC(2026, 11, 31, 10, 0));
const session = sessionBuilder({ activeFrom: from, reason: 'SUP-900 order 7781 stuck' });
const mysql = { dialect: mysqlDialect };
const codes = async (input: SessionRuleInput) => (await analyzeSession(input)).flags.filter((flag) => flag.severity !== 'info').map((flag) => flag.code);
const quoted = (sql: string) => `'${sql.replace(/'/g, "''")}'`;

describe('prepared statements (MySQL)', () => {
  const direct = [
    "CREATE USER 'editor2'@'%' IDENTIFIED BY 'x'",
    "GRANT ALL PRIVILEGES ON shop.* TO 'svc'@'%'",
    'DROP TABLE shop.orders',
    "UPDATE shop.orders SET status = 'void'",
    'SELECT id, status FROM shop.orders WHERE id = 7781',
    'DELETE FROM shop.orders WHERE id = 7781',
    "SELECT * FROM shop.customers INTO OUTFILE '/tmp/c.csv'",
  ];
  it('flags what a prepared statement runs as the same statement run directly, whatever the names', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...direct), fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), async (sql, variable, name) => {
        const expected = await codes(session([sql], { ...mysql, level: 'admin', tableTags: { 'shop.customers': ['pii'] } }));
        const dynamic = await codes(session([`SET @${variable} = ${quoted(sql)}`, `PREPARE ${name} FROM @${variable}`, `EXECUTE ${name}`, `DEALLOCATE PREPARE ${name}`], { ...mysql, level: 'admin', tableTags: { 'shop.customers': ['pii'] } }));
        expect(dynamic.sort()).toEqual(expected.sort());
      }),
      { numRuns: 40 },
    );
  });
  it('reads a PREPARE from a string and text built with CONCAT by its first words; a refused EXECUTE ran nothing', async () => {
    expect(await codes(session(["PREPARE s FROM 'DROP TABLE shop.orders'", 'EXECUTE s'], { ...mysql, level: 'admin' }))).toContain('drop');
    expect(await codes(session(["SET @q = CONCAT('TRUNCATE TABLE ', @t)", 'PREPARE s FROM @q', 'EXECUTE s'], { ...mysql, level: 'admin' }))).toContain('drop');
    const refused = await analyzeSession(session(["SET @q = 'CREATE USER ''x''@''%'''", 'PREPARE s FROM @q', { sql: 'EXECUTE s', error: 'ERROR 1227 (42000): Access denied; you need the CREATE USER privilege' }], mysql));
    expect(refused.flags.find((flag) => flag.code === 'privilege-change')?.severity).toBe('warning');
  });
  it('runs nothing that was only prepared, or prepared again with other text', async () => {
    const prepared = await analyzeSession(session(["SET @q = 'DROP TABLE shop.orders'", 'PREPARE s FROM @q'], { ...mysql, level: 'admin' }));
    expect(prepared.parsed.map((statement) => statement.command)).toEqual(['SET', 'PREPARE']);
    expect(prepared.flags.map((flag) => flag.code)).not.toContain('drop');
    const again = await analyzeSession(session(["PREPARE s FROM 'DROP TABLE shop.orders'", "PREPARE s FROM 'SELECT id FROM shop.orders WHERE id = 1'", 'EXECUTE s'], { ...mysql, level: 'admin' }));
    expect(again.parsed.map((statement) => statement.command)).toEqual(['PREPARE', 'PREPARE', 'EXECUTE', 'SELECT']);
  });
});

describe('secrets in settings', () => {
  it('reads a password of a server or service by its key', async () => {
    for (const key of ['mailserver_pass', 'ftp_server_pass', 'relay_pw', 'ldap_bind_pass', 'smtp_pass']) {
      expect(namesASecret(key), key).toBe(true);
      expect(await codes(session([`SELECT name, value FROM erp.app_settings WHERE name IN ('host', '${key}')`], mysql)), key).toContain('stored-secrets');
    }
    expect(namesASecret('boarding_pass')).toBe(false);
  });
  it('reads a settings table tagged secret by harmless keys or a key pattern as ordinary, and by every key as secrets', async () => {
    const tagged = { ...mysql, tableTags: { 'shop.settings': ['secret'] }, scope: parseScope('shop.settings') };
    for (const sql of [
      "SELECT `name`, `value` FROM settings WHERE `name` IN ('shop_name', 'currency')",
      "SELECT `key`, `value` FROM settings WHERE `key` = 'beta_features'",
      "SELECT path, value FROM settings WHERE path LIKE 'carriers/flatrate/%'",
    ]) expect(await codes(session([sql], tagged)), sql).toEqual([]);
    for (const sql of ["SELECT `name`, `value` FROM settings WHERE `name` LIKE '%'", 'SELECT path, value FROM settings WHERE scope_id = 4', "SELECT `key`, `value` FROM settings WHERE `key` LIKE '%_token'"]) {
      expect(await codes(session([sql], tagged)), sql).toContain('stored-secrets');
    }
  });
});

describe('MySQL names under a scope of one database', () => {
  const columns = { ...mysql, scope: parseScope('clinic.patients(id, ward, admitted_on)'), tableTags: { 'clinic.patients': ['phi'] } };
  it('reads an unqualified table as the scope database’s, so its column scope holds', async () => {
    expect(await codes(session(["SELECT id, full_name FROM patients WHERE ward = 'C2'"], columns))).toContain('outside-scope');
    expect(await codes(session(["SELECT id, admitted_on FROM patients WHERE ward = 'C2'"], columns))).toEqual([]);
  });
  it('leaves the database unknown under a scope of two databases', async () => {
    expect(await codes(session(['SELECT id FROM patients WHERE id = 4'], { ...mysql, scope: parseScope('clinic.patients, billing.invoices') }))).toEqual([]);
  });
});

describe("the application's record switched off", () => {
  it('flags a column or settings key that keeps an audit or event log, turned off', async () => {
    for (const sql of [
      "UPDATE keycloak.realm SET events_enabled = false, admin_events_enabled = false WHERE name = 'acme'",
      'UPDATE iam.tenant_settings SET audit_log_enabled = 0 WHERE tenant_id = 4',
      'UPDATE app.tenants SET skip_audit = true WHERE id = 4',
      "UPDATE crm.app_config SET value = '0' WHERE name = 'audit_trail_enabled'",
      "DELETE FROM idp.admin_event_entity WHERE realm_id = 'acme'",
    ]) expect(await codes(session([sql], { level: 'write' })), sql).toContain('capture-evasion');
  });
  it('leaves switches of other things, and the record turned on', async () => {
    for (const sql of [
      'UPDATE shop.stores SET event_booking_enabled = false WHERE id = 12',
      'UPDATE app.user_prefs SET email_notifications_enabled = 0 WHERE user_id = 991',
      'UPDATE iam.tenant_settings SET audit_log_enabled = true WHERE tenant_id = 4',
      "UPDATE crm.app_config SET value = '1' WHERE name = 'audit_trail_enabled'",
    ]) expect(await codes(session([sql], { level: 'write' })), sql).not.toContain('capture-evasion');
  });
  it('reads any record word before a switch word, set to a false value, as switched off', () => {
    fc.assert(
      fc.property(fc.constantFrom('audit', 'events', 'logging', 'trail', 'tracking', 'history'), fc.constantFrom('enabled', 'active', 'on'), fc.constantFrom('false', '0', "'off'", "'N'"), fc.constantFrom('', 'admin_', 'tenant_'), (record, on, value, prefix) => {
        expect(recordSwitchedOff(`UPDATE t SET ${prefix}${record}_${on} = ${value} WHERE id = 1`, false)).toBe(`${prefix}${record}_${on}`);
        expect(recordSwitchedOff(`UPDATE t SET ${prefix}booking_${on} = ${value} WHERE id = 1`, false)).toBeUndefined();
      }),
    );
  });
});

describe("people's pay read in passing", () => {
  const shipping = { reason: 'DEL-220 delivery 88120 shows the wrong courier', tableTags: { 'logistics.couriers': ['pii'] } };
  it('flags pay read row by row when the reason is not about pay', async () => {
    for (const sql of [
      'SELECT courier_id, monthly_wage FROM logistics.courier_contracts ORDER BY monthly_wage DESC',
      'SELECT g.first_name, c.hourly_rate_czk FROM ops.guides g JOIN ops.guide_contracts c ON c.guide_id = g.id',
      'SELECT * FROM hr.salaries WHERE employee_id IN (3, 7)',
    ]) expect(await codes(session(['SELECT id, status FROM logistics.deliveries WHERE id = 88120', sql], shipping)), sql).toContain('after-task');
  });
  it('leaves figures of pay, rates of services, and a reason about pay', async () => {
    expect(await codes(session(['SELECT department, avg(salary), count(*) FROM hr.employees GROUP BY department'], { reason: 'Headcount por departamento' }))).toEqual([]);
    expect(await codes(session(["SELECT sku, hourly_rate FROM services.rate_card WHERE category = 'repair'"], { reason: 'quote for customer 2211' }))).toEqual([]);
    expect(await codes(session(['SELECT id, annual_salary FROM hr.salaries WHERE employee_id = 311'], { reason: "PAY-12 employee 311's November salary is missing" }))).toEqual([]);
    expect(await codes(session(['SELECT id, annual_salary FROM hr.salaries WHERE employee_id = 311'], { reason: 'Gehaltsabrechnung für MA 311 fehlt' }))).toEqual([]);
  });
});

describe('tables the reason names in separate words', () => {
  it('counts the export jobs’ files as the task when the reason names jobs and files', async () => {
    const lines = [
      "SELECT id FROM exports.export_jobs WHERE status = 'expired'",
      "DELETE FROM exports.export_jobs WHERE status = 'expired' AND expires_at < '2026-12-24'",
      "DELETE FROM exports.job_files WHERE job_state = 'expired' AND created_at < '2026-12-17'",
    ];
    expect(await codes(session(lines, { level: 'write', reason: 'EXP-90 clear the export jobs that expired, and their files' }))).toEqual([]);
    expect(await codes(session(lines, { level: 'write', reason: 'EXP-90 clear the export jobs that expired' }))).toContain('after-task');
  });
});

describe('joins to a bounded temporary table', () => {
  const fill = "CREATE TEMP TABLE many AS SELECT customer_id, count(*) AS n FROM billing.charges WHERE charged_at >= '2026-12-01' GROUP BY customer_id HAVING count(*) > 3";
  const tags = { tableTags: { 'crm.customers': ['pii'] } };
  it('reads people joined to it as bounded, and around an outer join as every row', async () => {
    expect(await codes(session([fill, 'SELECT c.id, c.email, m.n FROM many m JOIN crm.customers c ON c.id = m.customer_id'], tags))).toEqual([]);
    expect(await codes(session([fill, 'SELECT c.id, c.email, m.n FROM crm.customers c LEFT JOIN many m ON m.customer_id = c.id'], tags))).toContain('bulk-export');
    expect(await codes(session([fill, 'SELECT c.id, c.email FROM crm.customers c, many m'], tags))).toContain('bulk-export');
  });
});

describe('tables read only to pick the rows of a change', () => {
  const write = (scope: string) => ({ level: 'write' as const, scope: parseScope(scope), tableTags: { 'crm.people': ['pii'], 'payments.cards': ['pci'] } });
  it('notes a lookup table outside the scope rather than flagging it', async () => {
    const joined = await analyzeSession(session(["UPDATE order_lines ol JOIN products p ON p.id = ol.product_id SET ol.tax_code = 'R7' WHERE p.sku = 'BK-1' AND ol.order_id = 8812"], { ...mysql, ...write('shop.order_lines') }));
    expect(joined.flags.filter((flag) => flag.code === 'outside-scope').map((flag) => flag.severity)).toEqual(['info']);
    expect(await codes(session(["DELETE FROM crm.leads WHERE source_id IN (SELECT id FROM marketing.sources WHERE name = 'spam-bot')"], write('crm.leads')))).toEqual([]);
    expect(await codes(session(["UPDATE shop.orders o SET status = 'x' FROM shop.fix_list f WHERE f.order_id = o.id AND f.batch = 7"], write('shop.orders')))).toEqual([]);
  });
  it('flags values copied from it, a lookup in personal data, and a plain read of it', async () => {
    expect(await codes(session(['UPDATE billing.invoices i SET note = c.card_number FROM payments.cards c WHERE c.invoice_id = i.id AND i.id = 5'], write('billing.invoices')))).toContain('outside-scope');
    expect(await codes(session(['UPDATE billing.invoices SET note = (SELECT max(sku) FROM shop.products) WHERE id = 5'], write('billing.invoices')))).toContain('outside-scope');
    expect(await codes(session(["UPDATE support.tickets SET state = 'closed' WHERE requester_id IN (SELECT id FROM crm.people WHERE phone = '+49 171')"], write('support.tickets')))).toContain('outside-scope');
    expect(await codes(session(["SELECT id FROM marketing.sources WHERE name = 'spam-bot'"], write('crm.leads')))).toContain('outside-scope');
  });
});
