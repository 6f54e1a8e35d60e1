import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { deriveKey } from '../../src/lib/crypto.js';
import { createReportLinks } from '../../src/modules/reports/report-links.js';
import { PEOPLE, TEAM, startHarness, type Harness } from '../support/app-harness.js';

const AUDITOR = 'U0AUDIT';
const CAROL = 'U0CAROL';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MASTER_KEY = randomBytes(32).toString('hex');

/**
 * Reports against a seeded history of November 2026 (and one request of October that must not
 * count): the Slack command for auditors, the signed links, the numbers in the CSV, JSON and PDF,
 * and the HTML page read back in headless Chromium.
 */
describe('access reports', () => {
  let h: Harness;
  let owner: pg.Client;
  let tenantId: string;
  let browser: Browser | undefined;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness({
      queue: 'postgres',
      env: { PUBLIC_URL: 'http://reports.example', MASTER_KEY },
      policy: `roles:
  admins: [${PEOPLE.alice}]
  auditors: [${AUDITOR}]
policies:
  - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}, ${CAROL}], mfa: never }
`,
    });
    owner = new pg.Client({ connectionString: h.app.stateUrl });
    await owner.connect();
    tenantId = await h.app.tenants.ensureTenant('slack', TEAM);
    const user = (id: string) => h.app.tenants.ensureUser(tenantId, 'slack', id);
    const [requester, bob, alice, carol] = await Promise.all([user(PEOPLE.requester), user(PEOPLE.bob), user(PEOPLE.alice), user(CAROL)]);
    const insertRequest = async (id: string, values: { by: string; level?: string; state: string; created: string; decided?: string; policy?: object; failure?: string; risk?: string; db?: string }) => {
      ids[id] = id;
      await owner.query(
        `INSERT INTO access_requests (id, tenant_id, requester_id, database_id, level, scope, duration_seconds, reason, state, risk, policy, pending_until, decided_at, failure, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, '["sales.orders"]', 3600, 'Investigate OPS-42', $6, $7, $8, $9::timestamptz + interval '1 hour', $10, $11, $9, $9)`,
        [id, tenantId, values.by, values.db ?? 'orders', values.level ?? 'read', values.state, JSON.stringify({ level: values.risk ?? 'low', reasons: [], analyzer: 'heuristic' }),
          JSON.stringify({ name: 'tests', quorum: 1, mfaRequired: false, breakGlass: false, rules: [], ...values.policy }), values.created, values.decided ?? null, values.failure ?? null],
      );
    };
    const decide = (request: string, approver: string, decision: string, at: string, reason?: string) =>
      owner.query('INSERT INTO decisions (tenant_id, request_id, approver_id, decision, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [tenantId, request, approver, decision, reason ?? null, at]);
    const lease = async (request: string, values: { start: string; end: string | null; expires?: string; reason?: string | null; endedBy?: string; attempts?: number; error?: string }) => {
      const { rows } = await owner.query(
        `INSERT INTO leases (tenant_id, request_id, database_id, username, expires_at, provisioned_at, delivered_at, revoked_at, end_reason, ended_by, revoke_attempts, last_error)
         VALUES ($1, $2, 'orders', $3, $4, $5, $5, $6, $7, $8, $9, $10) RETURNING id`,
        [tenantId, request, `dba_${request.toLowerCase()}`, values.expires ?? values.end, values.start, values.end, values.reason === undefined ? 'expired' : values.reason, values.endedBy ?? null, values.attempts ?? 0, values.error ?? null],
      );
      return rows[0].id as string;
    };

    // R1: read, approved by Alice, one hour, expired.
    await insertRequest('RAAAAAAAA1', { by: requester, state: 'revoked', created: '2026-11-03T09:00:00Z', decided: '2026-11-03T09:05:00Z' });
    await decide('RAAAAAAAA1', alice, 'approve', '2026-11-03T09:05:00Z');
    await lease('RAAAAAAAA1', { start: '2026-11-03T09:06:00Z', end: '2026-11-03T10:06:00Z' });
    // R2: Bob's write, approved by Alice and Carol, both with MFA; 30 minutes, ended early, extended once.
    await insertRequest('RAAAAAAAA2', { by: bob, level: 'write', risk: 'high', state: 'revoked', created: '2026-11-10T14:00:00Z', decided: '2026-11-10T14:03:00Z', policy: { quorum: 2, mfaRequired: true } });
    await decide('RAAAAAAAA2', alice, 'approve', '2026-11-10T14:02:00Z');
    await decide('RAAAAAAAA2', carol, 'approve', '2026-11-10T14:03:00Z');
    const r2 = await lease('RAAAAAAAA2', { start: '2026-11-10T14:04:00Z', end: '2026-11-10T14:34:00Z', reason: 'ended', endedBy: bob });
    // R3: break-glass, two hours, revoked by Alice, session flagged, not reviewed.
    await insertRequest('RAAAAAAAA3', { by: requester, risk: 'critical', state: 'revoked', created: '2026-11-20T03:00:00Z', decided: '2026-11-20T03:00:00Z', policy: { breakGlass: true, autoApprovedBy: 'break-glass' } });
    const r3 = await lease('RAAAAAAAA3', { start: '2026-11-20T03:01:00Z', end: '2026-11-20T05:01:00Z', reason: 'revoked', endedBy: alice });
    await owner.query(
      `INSERT INTO analyses (tenant_id, kind, user_id, request_id, lease_id, status, result) VALUES ($1, 'session', $2, 'RAAAAAAAA3', $3, 'done', $4)`,
      [tenantId, requester, r3, JSON.stringify({ review: true, flags: [{ code: 'credentials', severity: 'critical', message: 'Read the credential table pg_authid.', statements: [0] }] })],
    );
    // R4: denied by Alice with a reason. R5: nobody answered.
    await insertRequest('RAAAAAAAA4', { by: requester, level: 'admin', state: 'denied', created: '2026-11-12T10:00:00Z', decided: '2026-11-12T10:30:00Z' });
    await decide('RAAAAAAAA4', alice, 'deny', '2026-11-12T10:30:00Z', 'Use the read replica instead.');
    await insertRequest('RAAAAAAAA5', { by: requester, state: 'expired', created: '2026-11-13T10:00:00Z' });
    // R6: October, out of the period.
    await insertRequest('RAAAAAAAA6', { by: bob, state: 'revoked', created: '2026-10-15T10:00:00Z', decided: '2026-10-15T10:01:00Z' });
    await decide('RAAAAAAAA6', alice, 'approve', '2026-10-15T10:01:00Z');
    await lease('RAAAAAAAA6', { start: '2026-10-15T10:02:00Z', end: '2026-10-15T11:02:00Z' });
    // R7: 20 minutes, removed after 3 failed attempts, approved by Carol.
    await insertRequest('RAAAAAAAA7', { by: bob, state: 'revoked', created: '2026-11-25T16:00:00Z', decided: '2026-11-25T16:01:00Z' });
    await decide('RAAAAAAAA7', carol, 'approve', '2026-11-25T16:01:00Z');
    await lease('RAAAAAAAA7', { start: '2026-11-25T16:02:00Z', end: '2026-11-25T16:22:00Z', attempts: 3, error: 'connection refused' });

    // The audit events the report reads: MFA on R2's approvals, R2's extension.
    const record = (actor: string, action: string, subject: string, details: Record<string, unknown>) => asSystem('test', () => h.app.audit.record({ tenantId, actor, action, subject, outcome: 'success', details }));
    await record(`user:${alice}`, 'request.approval_recorded', 'request:RAAAAAAAA2', { approvals: 1, quorum: 2, mfa: true });
    await record(`user:${carol}`, 'request.approved', 'request:RAAAAAAAA2', { approvals: 2, quorum: 2, mfa: true });
    await record(`user:${alice}`, 'request.approved', 'request:RAAAAAAAA1', { approvals: 1, quorum: 1, mfa: false });
    await record(`user:${bob}`, 'lease.extended', `lease:${r2}`, { from: 'a', to: 'b' });
  });
  afterAll(async () => {
    await browser?.close();
    await owner?.end();
    await h?.close();
  });

  /** Sends `/dbaccess <text>` as `user` and returns what the response URL received. */
  async function command(user: string, text: string, expect: RegExp): Promise<string> {
    const before = h.slack.callsTo('response_url').length;
    await h.command(user, text);
    const call = await h.slack.waitFor('response_url', (c) => h.slack.callsTo('response_url').indexOf(c) >= before && expect.test(String(c.args.text ?? '')), 30_000);
    return String(call.args.text);
  }
  const local = (url: string) => url.replace('http://reports.example', h.url);

  it('posts a summary with signed links for an auditor, and refuses others', async () => {
    const text = await command(AUDITOR, 'report 2026-11', /Access report 2026-11/);
    expect(text).toContain('4 accesses for 2 people, 3.8 h in total');
    expect(text).toContain('6 requests submitted, 2 not granted (1 denied, 1 unanswered)');
    expect(text).toContain('Approved with MFA: 1 of 4');
    expect(text).toContain('break-glass: 1 (1 not reviewed)');
    expect(text).toContain('Flagged sessions: 1; failed revocations: 1 (0 still failing); self-approvals: 0');
    // The chain's verdict follows the summary.
    await h.slack.waitFor('response_url', (c) => /The audit log is intact: 4 events/.test(String(c.args.text ?? '')));
    expect(text).toMatch(/Needs attention:.*1 break-glass access not reviewed yet/);
    expect(text).toMatch(/<http:\/\/reports\.example\/reports\/report\.html\?token=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\|HTML>/);

    await command(PEOPLE.requester, 'report 2026-11', /Only auditors and admins can make access reports/);
    await command(PEOPLE.alice, 'report 2026-Q5', /There is no quarter Q5/);
    await command(PEOPLE.alice, 'report 2026-11 db:nowhere', /There is no database "nowhere" in the catalog/);
    const filtered = await command(PEOPLE.alice, `report 2026-11 <@${PEOPLE.bob}|bob>`, /Access report 2026-11\* \(<@U0BOB>\)/);
    expect(filtered).toContain('2 accesses for 1 person');
  });

  it('verifies the audit log from chat, for auditors and admins', async () => {
    expect(await command(AUDITOR, 'audit verify', /audit log is/)).toMatch(/The audit log is intact: \d+ events/);
    await command(PEOPLE.requester, 'audit verify', /Only auditors and admins can verify the audit log/);
  });

  it('serves the CSV, JSON and PDF behind the signed link', async () => {
    const text = await command(AUDITOR, 'report 2026-11-01..2026-11-30', /Access report/);
    const urls = Object.fromEntries([...text.matchAll(/<(http[^|>]+)\|(HTML|PDF|CSV|JSON)>/g)].map((m) => [m[2]!.toLowerCase(), local(m[1]!)]));

    const json = (await (await fetch(urls.json!)).json()) as any;
    expect(json.totals).toMatchObject({ grants: 4, requests: 6, refused: 2, denied: 1, mfaUsed: 1, breakGlass: 1, breakGlassUnreviewed: 1, flaggedSessions: 1, revocationFailures: 1 });
    const byId = Object.fromEntries(json.grants.map((grant: { requestId: string }) => [grant.requestId, grant]));
    expect(byId.RAAAAAAAA1).toMatchObject({ approvedBy: ['@U0ALICE'], durationSeconds: 3600, endedHow: 'expired', mfaUsed: false });
    expect(byId.RAAAAAAAA2).toMatchObject({ approvedBy: ['@U0ALICE', '@U0CAROL'], durationSeconds: 1800, endedHow: 'ended early by the requester', endedBy: PEOPLE.bob, mfaUsed: true, extensions: 1 });
    expect(byId.RAAAAAAAA3).toMatchObject({ approvedBy: ['break-glass'], endedHow: 'revoked by an approver', endedBy: PEOPLE.alice, flagged: true, flags: ['Read the credential table pg_authid.'], reviewedAt: null });
    expect(byId.RAAAAAAAA7).toMatchObject({ approvedBy: ['@U0CAROL'], durationSeconds: 1200, revokeAttempts: 3 });
    expect(byId.RAAAAAAAA6).toBeUndefined();
    expect(json.refused).toEqual([
      expect.objectContaining({ requestId: 'RAAAAAAAA4', outcome: 'denied', by: PEOPLE.alice, why: 'Use the read replica instead.' }),
      expect.objectContaining({ requestId: 'RAAAAAAAA5', outcome: 'expired unanswered' }),
    ]);
    expect(json.controls.map((control: { control: string }) => control.control)).toEqual(['CC6.1', 'CC6.2', 'CC6.3', 'A.5.15', 'A.5.18', 'A.8.2']);

    const csv = await fetch(urls.csv!);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="dbaccess-report-2026-11-01..2026-11-30.csv"/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines).toHaveLength(1 + 4 + 2);
    expect(lines.find((line) => line.startsWith('RAAAAAAAA2,granted'))).toContain('@U0ALICE; @U0CAROL');

    const pdf = Buffer.from(await (await fetch(urls.pdf!)).arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(3000);
  });

  it('answers 403 to a changed or foreign link and 410 to an expired one, without details', async () => {
    const text = await command(AUDITOR, 'report 2026-11', /Access report/);
    const html = local(/<(http[^|>]+)\|HTML>/.exec(text)![1]!);
    const token = /token=([^&]+)/.exec(html)![1]!;
    const [body, mac] = token.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const other = Buffer.from(JSON.stringify({ ...payload, f: payload.f - 86400_000 })).toString('base64url');
    const changed = await fetch(`${h.url}/reports/report.html?token=${other}.${mac}`);
    expect(changed.status).toBe(403);
    expect(await changed.json()).toEqual({ error: 'forbidden' });
    expect((await fetch(`${h.url}/reports/report.html?token=nonsense`)).status).toBe(403);
    expect((await fetch(`${h.url}/reports/report.html`)).status).toBe(403);
    expect((await fetch(`${h.url}/reports/report.exe?token=${token}`)).status).toBe(404);

    const expired = createReportLinks({ key: deriveKey(Buffer.from(MASTER_KEY, 'hex'), 'report-links'), ttlMs: 1000, now: () => new Date(Date.now() - 60_000) }).sign({
      tenantId, from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z'), label: '2026-11', filters: {},
    });
    const gone = await fetch(`${h.url}/reports/report.html?token=${expired.token}`);
    expect(gone.status).toBe(410);
    expect(JSON.stringify(await gone.json())).not.toMatch(/tenant|2026|expired at/i);
  });

  it('shows the key numbers and the charts in the HTML page, read back in headless Chromium', async () => {
    const text = await command(AUDITOR, 'report 2026-11', /Access report/);
    const html = local(/<(http[^|>]+)\|HTML>/.exec(text)![1]!);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    const response = await page.goto(html);
    expect(response?.status()).toBe(200);
    const metric = (name: string) => page.locator(`[data-metric="${name}"]`).innerText();
    expect(await page.locator('h1').innerText()).toBe('Database access report');
    expect(await metric('grants')).toBe('4');
    expect(await metric('people')).toBe('2');
    expect(await metric('refused')).toBe('2');
    expect(await metric('accessHours')).toBe('3.8');
    expect(await metric('mfaUsed')).toBe('1 / 4');
    expect(await metric('breakGlassUnreviewed')).toBe('1');
    expect(await metric('flaggedSessions')).toBe('1');
    // Every access is a row, with who approved it; the break-glass one is marked unreviewed.
    const rows = page.locator('table').first().locator('tbody tr');
    expect(await rows.count()).toBe(4);
    expect(await page.locator('tr[data-request="RAAAAAAAA2"] .approvers').first().innerText()).toBe('@U0ALICE, @U0CAROL MFA');
    expect(await page.locator('tr[data-request="RAAAAAAAA3"] .approvers').first().innerText()).toContain('NOT REVIEWED');
    expect(await page.locator('tr[data-request="RAAAAAAAA1"] .duration').first().innerText()).toBe('1h');
    // The charts are drawn: 30 day buckets, bars per database and per risk.
    expect(await page.locator('svg[data-chart="over-time"] g').count()).toBe(30);
    expect(await page.locator('svg[data-chart="by-database"] text').first().textContent()).toBe('orders');
    expect(await page.locator('svg[data-chart="by-risk"] g').count()).toBe(4);
    expect(await page.locator('[data-chain="not-verified"]').count()).toBe(1);
    expect(await page.locator('text=SOC 2 CC6.1').count()).toBe(1);
    const screenshot = await page.screenshot({ fullPage: true });
    expect(screenshot.length).toBeGreaterThan(10_000);
  });
});
