import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../config/catalog.js';
import { plainText } from '../../lib/rich-text.js';
import { formatTime } from '../../lib/time.js';
import type { LeaseView, RequestView } from '../../modules/access-requests/access-request-types.js';
import type { DraftAnalysisOutcome } from '../../modules/analysis/analysis-service.js';
import type { RequestAnalysis } from '../../modules/analysis/analysis-types.js';
import { recordingLine } from '../../modules/access-requests/request-view.js';
import { MEASURED_CAPTURE_COST } from '../../modules/capture/capture-types.js';
import { assessRisk } from '../../modules/risk/heuristic-analyzer.js';
import { createConsoleNotifier, statusText as consoleStatus } from '../console/console-notifier.js';
import { createConsoleStore } from '../console/console-store.js';
import { approvalCard as slackCard } from '../slack/slack-approval-card.js';
import { requestModal } from '../slack/slack-form.js';
import { approvalCard as teamsCard } from '../teams/teams-approval-card.js';
import { requestFormCard } from '../teams/teams-form.js';
import { decisionLine, endedBy, ratingSource, riskParts, statusLine } from './request-presenter.js';

const NOW = Date.parse('2026-12-07T09:00:00Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000);
const lease = (overrides: Partial<LeaseView> = {}): LeaseView => ({
  id: 'L1', username: 'dba_req_r1', expiresAt: at(30), provisionedAt: at(-30), revokedAt: null, endReason: null, endedByExternalId: null,
  revokeAttempts: 0, dmRef: null, ...overrides,
});
const view = (overrides: Partial<RequestView> = {}): RequestView => ({
  id: 'R0000000001', tenantId: 't1', kind: 'access', extendsRequestId: null, state: 'active', version: 1,
  requester: { id: 'u1', externalId: 'U0REQUESTER' }, databaseId: 'orders', databaseName: 'orders', environment: 'production', tags: [],
  level: 'read', scope: [], durationSeconds: 3600, reason: 'Incident INC-1: checking the orders', ticket: null,
  risk: { level: 'high', reasons: [], analyzer: 'heuristic' },
  policy: { name: 'emergency', quorum: 1, mfaRequired: false, breakGlass: true, rules: [] },
  grantsInWords: 'Read', grantStatements: ['GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "dba_req_r1"'], cardRef: null,
  createdAt: at(-40), pendingUntil: at(20), decidedAt: at(-40), decisions: [], failure: null, reviewedByExternalId: null,
  lease: lease(), analysis: null, session: null, recording: 'Not recorded.', ...overrides,
});

/** The status line as each platform shows it, in plain words. */
function shownStatus(v: RequestView) {
  const slack = (slackCard(v).filter((block) => block.type === 'context').map((block) => (block.elements as Array<{ text: string }>)[0]!.text).at(-1) ?? '')
    .replace(/:[a-z_]+: /g, '').replace(/<@(\w+)>/g, '@$1');
  const teamsBlock = teamsCard(v).body.find((element) => element.type === 'TextBlock' && element.separator) as { text: string };
  const teams = teamsBlock.text.replace(/\p{Extended_Pictographic}\uFE0F? /gu, '').replace(/\\/g, '');
  // People as each platform shows them (`<@U1>` on Slack, `@U1` on the console, the id on Teams), compared by id.
  const byId = (text: string) => text.replace(/@(?=U0)/g, '');
  return { slack: byId(slack), teams: byId(teams), console: byId(consoleStatus(v)) };
}

describe('the request presenter', () => {
  it('a break-glass access says so on every platform, with the same words', () => {
    const shown = shownStatus(view());
    const expected = `Taken without approval (break-glass) · access active until ${formatTime(at(30))}`;
    expect(shown).toEqual({ slack: expected, teams: expected, console: expected });
  });

  it('a quorum in progress, approvals, denial and the end read the same everywhere', () => {
    const approved = [{ decision: 'approve' as const, approverExternalId: 'U0ALICE', reason: null, at: at(-35) }];
    const cases: RequestView[] = [
      view({ state: 'pending', lease: null, decidedAt: null, policy: { name: 'p', quorum: 2, mfaRequired: false, breakGlass: false, rules: [] }, decisions: approved }),
      view({ state: 'revoked', policy: null, decisions: approved, lease: lease({ revokedAt: at(-1), endReason: 'ended', endedByExternalId: 'U0REQUESTER' }) }),
      view({ state: 'denied', lease: null, policy: null, decisions: [{ decision: 'deny', approverExternalId: 'U0BOB', reason: 'Use the replica', at: at(-5) }] }),
      view({ state: 'revoked', policy: null, decisions: approved, lease: lease({ revokedAt: at(-1), endReason: 'offboarded' }) }),
    ];
    for (const v of cases) {
      const shown = shownStatus(v);
      const expected = statusLine(v).map((line) => plainText(line.text, (id) => id)).join(' · ');
      expect(shown).toEqual({ slack: expected, teams: expected, console: expected });
    }
    expect(plainText(statusLine(cases[0]!)[0]!.text)).toMatch(/^1 of 2 approvals: @U0ALICE · Waiting for more approvers/);
    expect(plainText(endedBy(cases[1]!)!)).toBe('ended early by @U0REQUESTER');
    expect(plainText(endedBy(cases[3]!)!)).toBe('revoked: the requester left');
  });

  it('the decision line: approvers, the rule, or break-glass', () => {
    expect(plainText(decisionLine(view({ decisions: [{ decision: 'approve', approverExternalId: 'U0ALICE', reason: null, at: at(-1) }] }))!.text)).toContain('Approved by @U0ALICE');
    expect(plainText(decisionLine(view({ policy: { name: 'p', quorum: 1, mfaRequired: false, breakGlass: false, autoApprovedBy: 'read-staging', rules: [] } }))!.text)).toContain('Auto-approved by rule read-staging');
    expect(decisionLine(view({ policy: null }))).toBeUndefined();
  });
});

// ---- The risk beside the rating --------------------------------------------------------------------

/** What each platform shows, as plain words: markup, escapes and emoji taken out. */
const words = (value: unknown) => JSON.stringify(value).replace(/\\"/g, '"').replace(/\\[nt]/g, ' ').replace(/\\/g, '').replace(/[*_]/g, '').replace(/:[a-z0-9_]+: /g, '').replace(/\p{Extended_Pictographic}\uFE0F? /gu, '');
function consoleCard(v: RequestView) {
  const store = createConsoleStore();
  void createConsoleNotifier({ store }).send({ type: 'approvalCard', request: v });
  return store.get(`card-${v.id}`)!;
}
const shownOnCards = (v: RequestView) => ({ slack: words(slackCard(v)), teams: words(teamsCard(v)), console: words(consoleCard(v).data) });

const RULES_INPUT = {
  environment: 'production', level: 'read', scopeSize: 1, tableScoped: true, durationSeconds: 4 * 3600, tags: ['pii'], ticket: undefined,
  reason: 'Export all customer emails and addresses to my personal drive for a side project', requestedAt: new Date('2026-12-07T03:12:00Z'),
} as const satisfies Parameters<typeof assessRisk>[0];
const rules = assessRisk({ ...RULES_INPUT, tags: ['pii'] });
const withModel = (model: RequestAnalysis['model'], level: RequestAnalysis['level']): RequestAnalysis => ({
  level, reasons: rules.reasons, conflicts: [], unusual: [], alternatives: [], analyzer: model!.analyzer, heuristicLevel: rules.level, model, time: rules.time,
  ...(level !== model!.level ? { modelLevel: model!.level } : {}),
});
const pending = (analysis: RequestAnalysis | null) => view({
  state: 'pending', lease: null, decidedAt: null, policy: null, reason: 'Export all customer emails and addresses to my personal drive for a side project',
  risk: { level: rules.level, reasons: rules.reasons, analyzer: 'heuristic', time: rules.time }, analysis,
});

describe('the risk on the card and the form', () => {
  it("issue 18's example: Critical, its evidence first, on every platform", () => {
    expect(rules.level).toBe('critical');
    expect(consoleCard(pending(null)).data).toMatchObject({ view: { risk: { level: 'critical' } }, risk: { source: 'built-in rules' } });
    for (const [platform, shown] of Object.entries(shownOnCards(pending(null)))) {
      if (platform !== 'console') expect(shown).toContain('Risk: Critical');
      expect(shown).toContain('Reason says "to my personal drive": data leaving the company. At least Critical with personal data.');
    }
  });

  it('says when it was asked against the team\'s usual hours, on every platform', () => {
    const line = "Requested Mon 03:12 UTC, outside this team's usual hours (business-hours: Mon-Fri 09:00-18:00 UTC); one factor in the rating.";
    expect(plainText(riskParts(null, rules.time).time!.text)).toBe(line);
    // Counted, it is one of the rules' reasons, and not said twice.
    expect(rules.reasons).toContain(line);
    expect(riskParts(null, rules.time, rules.reasons).time).toBeUndefined();
    const unanalyzed = shownOnCards(pending(null));
    const analyzed = shownOnCards(pending({ ...withModel({ analyzer: 'claude-haiku-5-5', level: 'critical', reasons: ['Personal data to a personal drive.'] }, 'critical') }));
    for (const shown of [unanalyzed.slack, unanalyzed.teams, analyzed.slack, analyzed.teams]) expect(shown.split(line)).toHaveLength(2);
    expect(consoleCard(pending(null)).data).toMatchObject({ risk: { time: undefined } });
    // Not counted, it is said beside the reasons, with why.
    const inOffice = assessRisk({ ...RULES_INPUT, reason: 'Check the consent flags of customer 7001', requestedAt: new Date('2026-12-07T10:00:00Z') });
    const shown = shownOnCards(view({ state: 'pending', lease: null, policy: null, risk: { level: inOffice.level, reasons: inOffice.reasons, analyzer: 'heuristic', time: inOffice.time } }));
    for (const text of Object.values(shown)) expect(text).toContain("Requested Mon 10:00 UTC, within this team's usual hours (business-hours: Mon-Fri 09:00-18:00 UTC).");
  });

  it('shows the model\'s reading beside the rules\', and asks the approver to look when they are two bands apart', () => {
    const apart = pending(withModel({ analyzer: 'claude-haiku-5-5', level: 'medium', reasons: ['A routine export for marketing.'] }, 'critical'));
    expect(ratingSource(apart.analysis!)).toBe('claude-haiku-5-5 rated it Medium; the built-in rules hold it at Critical');
    const notice = 'Look closer: claude-haiku-5-5 rated it Medium and the built-in rules Critical, two bands apart. Read both readings before you decide.';
    for (const [platform, shown] of Object.entries(shownOnCards(apart))) {
      expect(shown, platform).toContain(notice);
      expect(shown, platform).toContain("claude-haiku-5-5's reading: Medium");
      expect(shown, platform).toContain('A routine export for marketing.');
      // The rules' reasons, with their evidence, stay.
      expect(shown, platform).toContain('Reason says "to my personal drive": data leaving the company.');
    }
  });

  it('asks for nothing more when the model is within one band of the rules', () => {
    const close = pending(withModel({ analyzer: 'claude-haiku-5-5', level: 'high', reasons: ['Bulk personal data.'] }, 'critical'));
    expect(riskParts(close.analysis).notice).toBeUndefined();
    for (const shown of Object.values(shownOnCards(close))) {
      expect(shown).not.toContain('Look closer');
      expect(shown).toContain("claude-haiku-5-5's reading: High");
    }
    const agreed = withModel({ analyzer: 'claude-haiku-5-5', level: 'critical', reasons: [] }, 'critical');
    expect(ratingSource(agreed)).toBe('built-in rules and claude-haiku-5-5 agree');
  });

  it('puts the same words on the request form of every platform', () => {
    const catalog = parseCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5432, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL, maxDuration: 4h }
`);
    const draft = { databaseId: 'orders', level: 'read' as const, scope: 'crm.customers', duration: '4h', reason: 'Export all customer emails to my personal drive', ticket: '' };
    const outcome: DraftAnalysisOutcome = {
      ok: true, tenantId: 't1', analysisId: '00000000-0000-4000-8000-000000000001', draft, viewRef: { platform: 'console', channel: 'f1', ts: 'f1' },
      analysis: withModel({ analyzer: 'claude-haiku-5-5', level: 'low', reasons: ['Looks routine.'] }, 'critical'),
    };
    const store = createConsoleStore();
    void createConsoleNotifier({ store }).send({ type: 'draftAnalysis', ...outcome });
    const forms = {
      slack: words(requestModal(catalog, { draft, analysis: { state: 'done', outcome } })),
      teams: words(requestFormCard(catalog, { draft, analysis: { state: 'done', outcome } })),
      console: words(store.get('analysis-f1')!.data),
    };
    for (const [platform, shown] of Object.entries(forms)) {
      expect(shown, platform).toContain('Look closer: claude-haiku-5-5 rated it Low and the built-in rules Critical, three bands apart.');
      expect(shown, platform).toContain("Requested Mon 03:12 UTC, outside this team's usual hours");
      expect(shown, platform).toContain('Reason says "to my personal drive": data leaving the company.');
    }
  });
});

// ---- What recording costs the server -----------------------------------------------------------------

describe('the recording line on the card', () => {
  const entry = (capture: string, cost = '') =>
    parseCatalog(`approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }\ndatabases:\n  - { id: orders, engine: postgres, host: db, port: 5432, database: orders, environment: production, admin: "env:X", capture: ${capture}${cost} }\n`).database('orders')!;
  /** A pending card with its analysis (the security context, recording included, comes with it). */
  const analyzed = (recording: string) => ({ ...pending(withModel({ analyzer: 'claude-haiku-5-5', level: 'critical', reasons: ['Personal data to a personal drive.'] }, 'critical')), recording });

  it("says the method and what it costs this server's point queries, on Slack, Teams and the console", () => {
    const line = recordingLine('pgaudit', entry('pgaudit', ', captureCost: 8'));
    expect(line).toBe("Every statement is recorded (pgaudit, about 8% slower on this server's point queries).");
    for (const shown of Object.values(shownOnCards(analyzed(line)))) expect(shown).toContain(line.replace(/[*_]/g, ''));
  });

  it("falls back on the bench's figure, and names no cost when nothing is recorded", () => {
    const line = recordingLine('pg_stat_statements', entry('pg_stat_statements'));
    expect(line).toBe(`Only statement totals are recorded (pg_stat_statements, about ${MEASURED_CAPTURE_COST.pg_stat_statements}% slower on point queries in dbaccess's bench).`);
    for (const shown of Object.values(shownOnCards(analyzed(line)))) expect(shown).toContain(line.replace(/[*_]/g, ''));
    // The database's figure is for its method: a lease recorded another way shows that method's.
    expect(recordingLine('log_statement', entry('pgaudit', ', captureCost: 8'))).toBe(`Every statement is recorded (PostgreSQL statement log, about ${MEASURED_CAPTURE_COST.log_statement}% slower on point queries in dbaccess's bench).`);
    expect(recordingLine('none', entry('none', ', captureCost: 8'))).toBe('Not recorded: capture is off for this database.');
  });
});
