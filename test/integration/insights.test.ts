import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { accessRequests, decisions } from '../../src/db/schema/access-requests.js';
import { analyses } from '../../src/db/schema/analysis.js';
import { capturedStatements } from '../../src/db/schema/capture.js';
import { leases } from '../../src/db/schema/leases.js';
import { createInsightsRepo } from '../../src/modules/insights/insights-repo.js';
import { PEOPLE, TEAM, shown, startHarness, type Harness } from '../support/app-harness.js';

/**
 * Insights through the running app: `/dbaccess insights` for admins over a seeded history with
 * planted outliers, the report builder's `insights(tenantId, period)`, and a scored anomaly on a
 * real approval card.
 */

const DAY = 86_400_000;
const MINUTE = 60_000;

describe('insights', () => {
  let h: Harness;
  let tenantId: string;
  const users: Record<string, string> = {};
  let sequence = 0;
  let outlierId = '';

  /** One past access request on orders, decided by `approver` after `waitSeconds`, and the decision row. */
  async function seedRequest(o: {
    requester: string; createdAt: Date; level?: string; scope?: string[]; durationSeconds?: number; approver: string; waitSeconds: number; databaseId?: string;
  }): Promise<string> {
    const id = `RSEED${String(++sequence).padStart(5, '0')}`;
    const decidedAt = new Date(o.createdAt.getTime() + o.waitSeconds * 1000);
    await asSystem('test', async () => {
      await asSystem('test', () => h.app.db.insert(accessRequests).values({
        id, tenantId, requesterId: users[o.requester]!, databaseId: o.databaseId ?? 'orders', level: o.level ?? 'read', scope: o.scope ?? ['sales.orders'],
        durationSeconds: o.durationSeconds ?? 1800, reason: 'Seeded history: look at the orders of a batch', state: 'revoked',
        risk: { level: 'low', reasons: [], analyzer: 'heuristic' }, pendingUntil: new Date(o.createdAt.getTime() + 60 * MINUTE),
        decidedAt, createdAt: o.createdAt, updatedAt: decidedAt,
      }));
      await asSystem('test', () => h.app.db.insert(decisions).values({ tenantId, requestId: id, approverId: users[o.approver]!, decision: 'approve', createdAt: decidedAt }));
    });
    return id;
  }

  /** A recorded session of a seeded request, as the session analysis stores it (without statement kinds, as before they were stored). */
  async function seedSession(requestId: string, requester: string, at: Date, byKind: Record<string, number>, options: { databaseId?: string; kindsStored?: boolean } = {}) {
    return asSystem('test', async () => {
      const [lease] = await asSystem('test', () => h.app.db.insert(leases).values({
        tenantId, requestId, databaseId: options.databaseId ?? 'orders', username: `seed_${requestId.toLowerCase()}`, expiresAt: new Date(at.getTime() + 30 * MINUTE),
        provisionedAt: at, revokedAt: new Date(at.getTime() + 30 * MINUTE), endReason: 'expired', captureMethod: 'pgaudit',
      }).returning());
      const statements = Object.values(byKind).reduce((sum, n) => sum + n, 0);
      await asSystem('test', () => h.app.db.insert(analyses).values({
        tenantId, kind: 'session', userId: users[requester]!, requestId, leaseId: lease!.id, status: 'done', analyzer: 'heuristic',
        result: { counts: { statements, denied: 0, objects: ['sales.orders'], ...(options.kindsStored === false ? {} : { byKind }) } }, createdAt: at,
      }));
      return lease!.id;
    });
  }

  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres' });
    for (const person of Object.values(PEOPLE)) {
      const actor = await h.app.tenants.actor('slack', TEAM, person);
      users[person] = actor.userId;
      tenantId = actor.tenantId;
    }
    const now = Date.now();
    const at = (daysAgo: number, hour: number) => {
      const day = new Date(now - daysAgo * DAY);
      return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour, 0));
    };
    // The requester and Bob: 24 reads of sales.orders for 30m at 10:00 UTC over 80 days, each approved by Alice in 15-26 s.
    for (let i = 0; i < 24; i++) {
      await seedRequest({ requester: i % 2 ? PEOPLE.bob : PEOPLE.requester, createdAt: at(80 - i * 3, 10), approver: PEOPLE.alice, waitSeconds: 15 + (i % 12) });
    }
    // Bob's write grants on orders, 40-60 days ago, approved by Mallory after 10 minutes: their sessions only read.
    for (let i = 0; i < 5; i++) {
      const id = await seedRequest({ requester: PEOPLE.bob, level: 'write', createdAt: at(60 - i * 5, 14), approver: PEOPLE.mallory, waitSeconds: 600 });
      await seedSession(id, PEOPLE.bob, new Date(at(60 - i * 5, 14).getTime() + 11 * MINUTE), { select: 12 + i });
    }
    // The planted outlier, 2 days ago: the requester's first write, on the whole database, for 4h, at 03:00.
    outlierId = await seedRequest({ requester: PEOPLE.requester, level: 'write', scope: [], durationSeconds: 4 * 3600, createdAt: at(2, 3), approver: PEOPLE.alice, waitSeconds: 20 });
  });
  afterAll(() => h.close());

  it('tells a non-admin to ask an admin', async () => {
    await h.command(PEOPLE.requester, 'insights');
    await h.slack.waitFor('response_url', (call) => /Only admins can see insights .* Ask an admin/.test(String(call.args.text ?? '')));
  });

  it('shows admins the scored anomalies of the last 30 days and recommendations with their evidence', async () => {
    await h.command(PEOPLE.alice, 'insights');
    const answer = await h.slack.waitFor('response_url', (call) => /Insights: the last 30 days/.test(String(call.args.text ?? '')));
    const text = String(answer.args.text);
    // The outlier, scored against the requester's own baseline, highest first.
    const anomalies = text.slice(text.indexOf('*Anomalies*'), text.indexOf('*Recommendations*'));
    expect(anomalies).toContain(`\`${outlierId}\` by <@${PEOPLE.requester}> on orders: Requested at 03:00 (UTC); usual hours 10-11 for this person over 12 requests`);
    expect(anomalies).toMatch(new RegExp(`${outlierId}\` by <@${PEOPLE.requester}> on orders: First write request by this person on orders in 7\\d days \\(12 requests: 12 read\\)`));
    expect(anomalies).toMatch(/Duration 4h is 8x this person's median of 30m over 12 requests/);
    expect(anomalies).toMatch(/The whole database on orders, where this person asked for named tables in 12 of 12 requests/);
    const scores = [...anomalies.matchAll(/• \*(\d+\.\d)\*/g)].map((match) => Number(match[1]));
    expect(scores.length).toBeGreaterThanOrEqual(4);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(3.5);
    // Nothing from the ordinary seeded reads.
    expect(anomalies).not.toMatch(/RSEED000(0\d|1\d|2[0-4])\b/);

    const recommendations = text.slice(text.indexOf('*Recommendations*'));
    expect(recommendations).toContain('Candidate auto-approval rule: read on orders (production), named tables, up to 30m.');
    expect(recommendations).toMatch(/2\d such requests since \d{4}-\d\d-\d\d were all approved by a person, none denied or left to expire; median 2\ds from request to approval/);
    expect(recommendations).toContain('Narrower default level on orders: read instead of write; the write rights it adds were never used.');
    expect(recommendations).toContain(`5 recorded write sessions since`);
    expect(recommendations).toContain(`by 1 person (<@${PEOPLE.bob}> 5) ran 70 statements: none of them INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY or DDL`);
    expect(recommendations).toContain(`<@${PEOPLE.alice}> approves almost at once and has never denied`);
    expect(recommendations).toMatch(/25 approvals since \d{4}-\d\d-\d\d, none denied; median 2\ds from request to approval/);
    // Mallory took 10 minutes each time: no note.
    expect(recommendations).not.toContain(`<@${PEOPLE.mallory}> approves`);
  });

  it('gives the report builder the same findings, people by their ids, and nothing of another tenant', async () => {
    const period = { from: new Date(Date.now() - 30 * DAY), to: new Date() };
    const found = await h.app.insights(tenantId, period);
    expect(found.anomalies.length).toBeGreaterThanOrEqual(4);
    expect(found.anomalies[0]).toEqual({ subject: `${outlierId} by ${PEOPLE.requester} on orders`, text: expect.any(String), score: expect.any(Number) });
    expect(found.anomalies.map((anomaly) => anomaly.text)).toContain('Requested at 03:00 (UTC); usual hours 10-11 for this person over 12 requests');
    expect(found.recommendations.map((r) => r.text)).toEqual([
      'Candidate auto-approval rule: read on orders (production), named tables, up to 30m.',
      'Narrower default level on orders: read instead of write; the write rights it adds were never used.',
      `${PEOPLE.alice} approves almost at once and has never denied: worth checking that approvals are read (a note for admins).`,
    ]);
    expect(found.recommendations.every((r) => /\d/.test(r.evidence))).toBe(true);

    const other = await h.app.tenants.actor('slack', 'T0OTHER', PEOPLE.alice);
    expect(await h.app.insights(other.tenantId, period)).toEqual({ anomalies: [], recommendations: [] });
  });

  it('shows a scored anomaly on the approval card, against the person\'s own baseline', async () => {
    // Mallory: 6 reads of 30m at the opposite side of the clock from now, over the last two months.
    const now = new Date();
    for (let i = 0; i < 6; i++) {
      await seedRequest({ requester: PEOPLE.mallory, createdAt: new Date(now.getTime() - (40 + i * 4) * DAY - 12 * 60 * MINUTE), approver: PEOPLE.bob, waitSeconds: 300 });
    }
    await h.submitRequest(PEOPLE.mallory, { level: 'write', duration: '4h', ticket: 'OPS-42', reason: 'Fix the totals of the orders of batch 9 that the import broke' });
    const card = await h.waitForCard((message) => shown(message).includes('Write access') && shown(message).includes(`<@${PEOPLE.mallory}>`) && shown(message).includes('Unusual'));
    const text = shown(card);
    expect(text).toMatch(/First write request by this person on orders in 6\d days \(6 requests: 6 read\) · score 3\.8\./);
    expect(text).toContain("Duration 4h is 8x this person's median of 30m over 6 requests · score 6.0.");
    expect(text).toMatch(/Requested at \d\d:\d\d \(UTC\); usual hours \d\d-\d\d for this person over 6 requests · score 1[12]\.\d\./);
  });

  it('counts the writes of sessions analyzed before statement kinds were stored from their captured text', async () => {
    const createdAt = new Date(Date.now() - 50 * DAY);
    const requestId = await seedRequest({ requester: PEOPLE.bob, level: 'write', databaseId: 'legacy', createdAt, approver: PEOPLE.mallory, waitSeconds: 600 });
    const leaseId = await seedSession(requestId, PEOPLE.bob, createdAt, { select: 6 }, { databaseId: 'legacy', kindsStored: false });
    const statements = [
      'SELECT * FROM sales.orders', "select 'update' AS word", 'UPDATE sales.orders SET total = 0 WHERE id = 1', '  delete from sales.orders where id = 2',
      'COPY sales.orders FROM STDIN', 'CREATE INDEX orders_total ON sales.orders (total)', 'updated_rows_report()', 'GRANT SELECT ON sales.orders TO public',
    ];
    await asSystem('test', () => h.app.db.insert(capturedStatements).values(statements.map((statement, i) => ({ tenantId, leaseId, at: new Date(createdAt.getTime() + i * 1000), statement }))));
    const sessions = await asSystem('test', () => createInsightsRepo({ db: h.app.db }).sessions(tenantId, new Date(createdAt.getTime() - DAY), new Date(), { databaseId: 'legacy' }));
    expect(sessions).toEqual([expect.objectContaining({ requestId, requesterExternalId: PEOPLE.bob, statements: 6, dml: 3, ddl: 2 })]);
  });
});
