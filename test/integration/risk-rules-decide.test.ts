import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, hasButton, PEOPLE, shown, startHarness, type Harness } from '../support/app-harness.js';
import { startFakeAnthropic, type FakeAnthropic, type MessagesRequest } from '../support/fake-anthropic.js';

/**
 * Issue 18, items 3 and 4, from outside: with a model key set, the model's reading is shown beside the
 * rules' but auto-approval and MFA step-up decide on the rules' rating; and the hour on the card is read
 * in the catalog's `timezone` against its own `business-hours` window, not a fixed UTC range.
 */

const ZONE = 'Asia/Tokyo';
const WINDOW = 'Mon-Fri 08:00-16:00';

/** Whether `at` falls in Mon-Fri 08:00-16:00 in ZONE, worked out here rather than by the product. */
function withinUsualHours(at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  const minutes = Number(part('hour')) * 60 + Number(part('minute'));
  return !['Sat', 'Sun'].includes(part('weekday')) && minutes >= 8 * 60 && minutes < 16 * 60;
}

describe('the rules decide, the model is shown beside them; the hour in the catalog time zone', () => {
  let h: Harness;
  let claude: FakeAnthropic;
  // The model rates the production read one band below the rules (Low against Medium), and the staging
  // read one band above them (Medium against Low): neither may change what the policy decides.
  const respond = (body: MessagesRequest) => {
    const content = JSON.stringify(body.messages);
    if (body.tool_choice && 'name' in body.tool_choice && body.tool_choice.name === 'record_request_analysis') {
      const production = content.includes('order 4410');
      return { risk: production ? 'low' : 'medium', reasons: [production ? 'Model: one order, a ticket.' : 'Model: staging read.'], unusual: [], alternatives: [], suggestion: null };
    }
    return { technical: 'Ran 1 SELECT.', plain: 'Looked at some rows.', flags: [], matchesReason: true };
  };

  beforeAll(async () => {
    claude = await startFakeAnthropic({ respond });
    h = await startHarness({
      queue: 'postgres',
      env: { ANTHROPIC_API_KEY: claude.apiKey, ANTHROPIC_BASE_URL: claude.url, DBACCESS_AI_TIMEOUT: '4s' },
      extraDatabases: `  - { id: reports, engine: postgres, host: 127.0.0.1, port: 5433, database: postgres, environment: staging, admin: "env:ORDERS_ADMIN_URL" }\n`,
      policy: `timezone: ${ZONE}
rules:
  windows:
    business-hours: { days: [mon-fri], hours: ['08:00-16:00'] }
policies:
  - name: tests
    approvers: [${PEOPLE.alice}, ${PEOPLE.bob}]
    mfa: { minRisk: medium, always: [] }
    autoApprove:
      - { name: quiet-reads, levels: [read], maxRisk: low, maxDuration: 1h }
`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await claude?.close();
  });

  const stored = async (id: string) =>
    (await asSystem('test', () => h.app.db.execute(sql`SELECT state, risk->>'level' AS level, (policy->>'mfaRequired')::boolean AS mfa, policy->>'autoApprovedBy' AS auto FROM access_requests WHERE id = ${id}`))).rows[0];
  const idOf = (text: string) => /R[0-9A-Z]{9}/.exec(text)![0];

  it('a model reading one band lower is shown, but does not auto-approve or skip MFA: those read the rules', async () => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    const asked = new Date();
    await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', duration: '30m', reason: 'Check the refunds of order 4410 before the customer call', ticket: 'SUP-4410' });
    const card = await h.waitForCard((m) => !before.has(m.ts) && shown(m).includes('order 4410') && shown(m).includes('reading:'));
    const text = shown(card);
    // orders is tagged pii: a production read of one table is Medium by the rules.
    expect(text).toContain('Production, read on named tables holding personal data: Medium by itself.');
    expect(text).toContain("claude-haiku-5-5's reading: Low");
    expect(text).not.toContain('Auto-approved');
    expect(hasButton(card, 'dbaccess.approve')).toBe(true);
    expect(await stored(idOf(card.text ?? text))).toMatchObject({ state: 'pending', level: 'medium', mfa: true, auto: null });

    // The hour, in the catalog's zone and window (with the UTC time beside it), said once.
    const line = new RegExp(`Requested (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \\d\\d:\\d\\d ${ZONE} \\(\\d\\d:\\d\\d UTC\\), (within|outside) this team's usual hours \\(business-hours: ${WINDOW} ${ZONE}\\)([^.]*)\\.`, 'g');
    const found = [...text.matchAll(line)];
    expect(found, text).toHaveLength(1);
    const [, , where, effect] = found[0]!;
    const now = new Date();
    if (withinUsualHours(asked) === withinUsualHours(now)) expect(where).toBe(withinUsualHours(asked) ? 'within' : 'outside');
    // Outside the window a named ticket keeps the hour out of the rating, and the card says why.
    if (where === 'outside') expect(effect).toBe('; not counted: a ticket is named (SUP-4410)');
    expect(text).not.toContain('07-20');
  });

  it('a model reading one band higher does not stop what the rules let through', async () => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    await h.submitRequest(PEOPLE.requester, { databaseId: 'reports', duration: '30m', reason: 'Compare the staging row counts with the fixture file for QA-310' });
    const card = await h.waitForCard((m) => !before.has(m.ts) && /Auto-approved by rule quiet-reads/.test(shown(m)));
    expect(hasButton(card, 'dbaccess.approve')).toBe(false);
    expect(await stored(idOf(card.text ?? shown(card)))).toMatchObject({ level: 'low', mfa: false, auto: 'quiet-reads' });
  });
});
