import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../config/catalog.js';
import type { MessageRef } from '../../db/schema/access-requests.js';
import { Secret } from '../../lib/secret.js';
import { formatTime } from '../../lib/time.js';
import type { LeaseView, RequestView } from '../../modules/access-requests/access-request-types.js';
import { summarizeSession, type SessionSummary } from '../../modules/access-requests/session-summary.js';
import type { DraftAnalysisOutcome } from '../../modules/analysis/analysis-service.js';
import type { RequestAnalysis, SessionAnalysis } from '../../modules/analysis/analysis-types.js';
import type { Credentials } from '../../modules/credentials/credentials.js';
import type { Notification, NotificationType } from '../core/notifications.js';
import {
  CUT_MARKER, FORM_INPUTS, TEAMS_CARD_LIMIT_BYTES, VERBS, approvalCard, cardBytes, credentialsCard, credentialsRevokedCard, credentialsWaitingCard,
  escapeMarkdown, fitCard, md, mention, renderTeams, requestClosedCard, requestFormCard, sessionSummaryCard, teamsRenderers,
  type AdaptiveCard, type CardAction, type CardElement, type TeamsDelivery, type TeamsRendererTable,
} from './teams-cards.js';

// ---- Fixtures ------------------------------------------------------------------------------------

const NOW = Date.now();
const at = (minutesFromNow: number) => new Date(NOW + minutesFromNow * 60_000);

function buildView(overrides: Partial<RequestView> = {}): RequestView {
  return {
    id: 'R0000000001',
    tenantId: 'tenant-1',
    kind: 'access',
    extendsRequestId: null,
    state: 'pending',
    version: 3,
    requester: { id: 'user-1', externalId: 'alice@example.com' },
    databaseId: 'orders',
    databaseName: 'orders',
    environment: 'production',
    tags: ['pii'],
    level: 'read',
    scope: ['sales.orders'],
    durationSeconds: 3600,
    reason: 'Investigate INC-42: duplicated orders since the deploy',
    ticket: 'OPS-1234',
    risk: { level: 'medium', reasons: ['production database', 'tagged pii'], analyzer: 'heuristic' },
    policy: { name: 'default', quorum: 1, mfaRequired: false, breakGlass: false, rules: [] },
    grantsInWords: 'Read (SELECT) on sales.orders',
    grantStatements: ['GRANT USAGE ON SCHEMA "sales" TO "dba_alice_r1"', 'GRANT SELECT ON "sales"."orders" TO "dba_alice_r1"'],
    cardRef: null,
    createdAt: at(-10),
    pendingUntil: at(50),
    decidedAt: null,
    decisions: [],
    failure: null,
    reviewedByExternalId: null,
    lease: null,
    analysis: null,
    session: null,
    recording: 'Statements are recorded with pgaudit.',
    ...overrides,
  };
}

const buildLease = (overrides: Partial<LeaseView> = {}): LeaseView => ({
  id: 'lease-1',
  username: 'dba_alice_r1',
  expiresAt: at(60),
  provisionedAt: at(-1),
  revokedAt: null,
  endReason: null,
  endedByExternalId: null,
  revokeAttempts: 0,
  dmRef: null,
  ...overrides,
});

const approval = (who: string, minutesAgo = 2) => ({ decision: 'approve' as const, approverExternalId: who, reason: null, at: at(-minutesAgo) });
const denial = (who: string, reason: string | null) => ({ decision: 'deny' as const, approverExternalId: who, reason, at: at(-1) });
const active = (overrides: Partial<RequestView> = {}) =>
  buildView({ state: 'active', decisions: [approval('bob@example.com')], decidedAt: at(-2), lease: buildLease(), cardRef: ref('card'), ...overrides });
const ref = (ts: string): MessageRef => ({ platform: 'teams', channel: '19:approvals@thread.tacv2', ts });

const analysis: RequestAnalysis = {
  level: 'high',
  reasons: ['Production data tagged pii', 'First request for this database'],
  conflicts: ['Write is not allowed on production outside business hours'],
  unusual: ['Requested at 03:00 UTC, outside the usual 08-18'],
  suggestion: { level: 'read', scope: ['sales.orders'], durationSeconds: 1800, text: 'Read on sales.orders for 30m is enough to inspect duplicates.' },
  alternatives: ['Ask the on-call DBA for a report.'],
  comparison: 'The team usually asks for read for 1h.',
  analyzer: 'claude-sonnet-5-5',
  heuristicLevel: 'high',
};

const credentials: Credentials = {
  protocol: 'postgres',
  host: 'db.internal',
  port: 5432,
  database: 'orders',
  username: 'dba_alice_r1',
  password: new Secret('Pa_ss*wo[rd]`x'),
  expiresAt: at(60),
};

const catalog = parseCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5432, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL, maxDuration: 4h }
  - { id: billing, engine: mysql, host: 127.0.0.1, port: 3306, database: billing, environment: staging, admin: env:BILLING_ADMIN_URL, levels: [read, write] }
`);

const HOSTILE = '**[click](http://evil)**\n<at>boss@example.com</at>\n# Approved by admin\n- fake line\n`rm -rf` _x_ ~y~';

// ---- Card walkers --------------------------------------------------------------------------------

function elementsOf(card: AdaptiveCard): CardElement[] {
  const out: CardElement[] = [];
  const visit = (element: CardElement) => {
    out.push(element);
    if (element.type === 'Container') element.items.forEach(visit);
    if (element.type === 'ColumnSet') element.columns.forEach((column) => column.items.forEach(visit));
    if (element.type === 'ActionSet') element.actions.forEach((action) => action.type === 'Action.ShowCard' && out.push(...elementsOf(action.card)));
  };
  card.body.forEach(visit);
  for (const action of card.actions ?? []) if (action.type === 'Action.ShowCard') out.push(...elementsOf(action.card));
  return out;
}

function actionsOf(card: AdaptiveCard): CardAction[] {
  const out: CardAction[] = [];
  const visit = (action: CardAction) => {
    out.push(action);
    if (action.type === 'Action.ShowCard') actionsOf(action.card).forEach((inner) => out.push(inner));
  };
  (card.actions ?? []).forEach(visit);
  for (const element of card.body) {
    if (element.type === 'ActionSet') element.actions.forEach(visit);
    if (element.type === 'Container') actionsOf({ ...card, body: element.items, actions: [] }).forEach((inner) => out.push(inner));
  }
  return out;
}

type AnyExecute = Extract<CardAction, { type: 'Action.Execute' }>;
const executes = (card: AdaptiveCard) => actionsOf(card).filter((action): action is AnyExecute => action.type === 'Action.Execute');
const verbs = (card: AdaptiveCard) => executes(card).map((action) => action.verb);
const execute = (card: AdaptiveCard, verb: string) => executes(card).find((action) => action.verb === verb);
const texts = (card: AdaptiveCard) =>
  elementsOf(card).flatMap((element) => {
    if (element.type === 'TextBlock') return [element.text];
    if (element.type === 'RichTextBlock') return element.inlines.map((run) => run.text);
    if (element.type === 'FactSet') return element.facts.map((fact) => `${fact.title}: ${fact.value}`);
    return [];
  });
const allText = (card: AdaptiveCard) => texts(card).join('\n');
const textBlock = (card: AdaptiveCard, pattern: RegExp) => elementsOf(card).find((element) => element.type === 'TextBlock' && pattern.test(element.text));
const inputIds = (card: AdaptiveCard) => elementsOf(card).filter((element) => element.type.startsWith('Input.')).map((element) => (element as { id: string }).id);
const fact = (card: AdaptiveCard, title: string) =>
  elementsOf(card).flatMap((element) => (element.type === 'FactSet' ? element.facts : [])).find((f) => f.title === title)?.value;
const monospace = (card: AdaptiveCard) =>
  elementsOf(card).flatMap((element) => (element.type === 'RichTextBlock' ? element.inlines.filter((run) => run.fontType === 'Monospace').map((run) => run.text) : []));
const statusText = (card: AdaptiveCard) => (elementsOf(card).find((element) => element.type === 'TextBlock' && element.separator) as { text: string }).text;

/** Markdown characters that are not preceded by an escaping backslash. */
function unescapedMarkup(text: string): string[] {
  const found: string[] = [];
  for (let index = 0; index < text.length; index++) {
    const char = text.charAt(index);
    if (!'*_[]`~<>'.includes(char)) continue;
    let backslashes = 0;
    for (let back = index - 1; back >= 0 && text.charAt(back) === '\\'; back--) backslashes++;
    if (backslashes % 2 === 0) found.push(char);
  }
  return found;
}

const REQUEST_VERBS = new Set(['approve', 'deny', 'end', 'review', 'extend', 'reveal']);

/** Adaptive Card 1.5 basics, nested cards included; every button a Universal Action with a verb and its data. */
function expectValidCard(card: AdaptiveCard, nested = false) {
  expect(card.type).toBe('AdaptiveCard');
  expect(card.version).toBe('1.5');
  if (!nested) expect(card.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
  expect(card.body.length).toBeGreaterThan(0);
  for (const element of elementsOf(card)) {
    if (element.type === 'TextBlock') {
      expect(element.wrap).toBe(true);
      expect(element.text.length).toBeGreaterThan(0);
    }
    if (element.type.startsWith('Input.')) expect((element as { id?: string; label?: string }).label).toBeTruthy();
  }
  for (const action of actionsOf(card)) {
    expect(['Action.Execute', 'Action.ShowCard']).toContain(action.type);
    if (action.type === 'Action.ShowCard') expectValidCard(action.card, true);
    if (action.type !== 'Action.Execute') continue;
    expect(VERBS).toContain(action.verb);
    expect(action.data).toBeTypeOf('object');
    if (REQUEST_VERBS.has(action.verb)) expect((action.data as { requestId?: string }).requestId).toMatch(/^R\d+/);
  }
  expect(JSON.stringify(card)).not.toContain('Action.OpenUrl');
  expect(cardBytes(card)).toBeLessThanOrEqual(TEAMS_CARD_LIMIT_BYTES);
}

// ---- The approvers' card -------------------------------------------------------------------------

describe('approval card', () => {
  it('pending: who, what, why, risk, grants, and Approve / Deny with what a click handler needs', () => {
    const card = approvalCard(buildView());
    expectValidCard(card);
    expect(card.msteams).toEqual({ width: 'Full' });
    expect(texts(card)[0]).toBe('🟡 Read access to orders · R0000000001');
    expect(fact(card, 'Requester')).toBe('alice@example.com');
    expect(fact(card, 'Database')).toBe('orders (production, pii)');
    expect(fact(card, 'Scope')).toBe('sales.orders');
    expect(fact(card, 'Duration')).toBe('1h');
    expect(fact(card, 'Ticket')).toBe('OPS-1234');
    expect(allText(card)).toContain('Investigate INC-42: duplicated orders since the deploy');
    expect(allText(card)).toContain('**Risk: Medium** _(built-in rules)_');
    expect(allText(card)).toContain('- production database\n- tagged pii');
    expect(allText(card)).toContain('Analysis in progress');
    expect(allText(card)).toContain('Policy **default**');
    expect(monospace(card)).toContain('GRANT USAGE ON SCHEMA "sales" TO "dba_alice_r1";\nGRANT SELECT ON "sales"."orders" TO "dba_alice_r1";');
    expect(statusText(card)).toBe(`⏳ Waiting for an approver · expires unanswered at ${formatTime(at(50))}`);

    expect(verbs(card)).toEqual(['approve', 'deny', 'cancel']);
    const decision = { requestId: 'R0000000001', version: 3, databaseId: 'orders', requesterExternalId: 'alice@example.com', level: 'read', mfa: false };
    expect(execute(card, 'approve')!.data).toEqual(decision);
    expect(execute(card, 'deny')!.data).toEqual(decision);
    // Approve is one click; Deny opens a reason field first; no code is asked without MFA.
    expect(card.actions![0]).toMatchObject({ type: 'Action.Execute', verb: 'approve', title: 'Approve' });
    const deny = card.actions![1]!;
    expect(deny).toMatchObject({ type: 'Action.ShowCard', title: 'Deny' });
    expect(deny.type === 'Action.ShowCard' && inputIds(deny.card)).toEqual(['reason']);
    expect(inputIds(card)).not.toContain('code');
  });

  it('pending with MFA: Approve asks for the code, and the data says so', () => {
    const card = approvalCard(buildView({ policy: { name: 'prod', quorum: 1, mfaRequired: true, breakGlass: false, rules: [] } }));
    expectValidCard(card);
    const approve = card.actions![0]!;
    expect(approve).toMatchObject({ type: 'Action.ShowCard', title: 'Approve' });
    if (approve.type !== 'Action.ShowCard') throw new Error('Approve should open a card');
    expect(elementsOf(approve.card)).toContainEqual(expect.objectContaining({ type: 'Input.Text', id: 'code', isRequired: true }));
    expect(execute(approve.card, 'approve')!.data).toMatchObject({ requestId: 'R0000000001', mfa: true });
    expect(allText(card)).toContain('🔐 approval needs an MFA code');
  });

  it('partially approved: "1 of 2 approvals" with who, still waiting for more', () => {
    const card = approvalCard(buildView({
      policy: { name: 'prod', quorum: 2, mfaRequired: false, breakGlass: false, rules: [{ rule: 'pii', outcome: 'quorum', explanation: 'PII tables need two approvers.' }] },
      decisions: [approval('bob@example.com')],
    }));
    expectValidCard(card);
    expect(statusText(card)).toBe(`⏳ 1 of 2 approvals: bob@example.com · Waiting for more approvers · expires unanswered at ${formatTime(at(50))}`);
    expect(allText(card)).toContain('Policy **prod** · 2 distinct approvers\n\nPII tables need two approvers.');
    expect(verbs(card)).toEqual(['approve', 'deny', 'cancel']);
  });

  it('approved: who approved, the user being created, Cancel only', () => {
    const card = approvalCard(buildView({ state: 'provisioning', decisions: [approval('bob@example.com'), approval('carol@example.com', 1)] }));
    expectValidCard(card);
    expect(statusText(card)).toBe(`✅ Approved by bob@example.com, carol@example.com at ${formatTime(at(-1))} · creating the database user…`);
    expect(verbs(card)).toEqual(['cancel']);
    expect(execute(card, 'cancel')!.data).toMatchObject({ requestId: 'R0000000001', from: 'approval-card' });
  });

  it('failed: the reason, and Retry (admins only: the service refuses anyone else); no Retry elsewhere', () => {
    const card = approvalCard(buildView({ state: 'failed', failure: 'The database user could not be created: permission denied', decisions: [approval('bob@example.com')] }));
    expectValidCard(card);
    expect(statusText(card)).toContain('not provisioned: The database user could not be created: permission denied');
    expect(execute(card, 'retry')).toMatchObject({ title: 'Retry', data: { requestId: 'R0000000001', version: 3 } });
    expect(execute(approvalCard(buildView({ state: 'provisioning' })), 'retry')).toBeUndefined();
  });

  it('what a grant leaves out is on the card before approval and in the credentials', () => {
    const leftOut = ['public.pg_stat_statements (owned by postgres, an extension)'];
    const card = approvalCard(buildView({ leftOut, grantsInWords: 'Read-only (SELECT) on every schema of orders. Not included: public.pg_stat_statements (owned by postgres, an extension).' }));
    expect(allText(card)).toContain('Not included: public.pg\\_stat\\_statements (owned by postgres, an extension).');
    expect(allText(credentialsCard(buildView({ state: 'active', leftOut }), credentials))).toContain('Not included: public.pg\\_stat\\_statements');
  });

  it('denied with a reason: who and why on one line, no buttons', () => {
    const card = approvalCard(buildView({ state: 'denied', decisions: [denial('carol@example.com', 'Use the\nreporting replica')] }));
    expectValidCard(card);
    expect(statusText(card)).toBe(`⛔ Denied by carol@example.com at ${formatTime(at(-1))}: Use the reporting replica`);
    expect(actionsOf(card)).toEqual([]);
  });

  it('active: until when, and Revoke now behind a confirmation', () => {
    const card = approvalCard(active());
    expectValidCard(card);
    expect(statusText(card)).toBe(`✅ Approved by bob@example.com at ${formatTime(at(-2))} · 🔓 access active until ${formatTime(at(60))}`);
    expect(card.actions).toHaveLength(1);
    expect(card.actions![0]).toMatchObject({ type: 'Action.ShowCard', title: 'Revoke now' });
    expect(execute(card, 'end')).toMatchObject({ title: 'Revoke now', style: 'destructive', data: { requestId: 'R0000000001', version: 3, from: 'approval-card' } });
    expect(verbs(card)).toEqual(['end']);
  });

  it('revoked: when and by whom, no buttons', () => {
    const card = approvalCard(active({ state: 'revoked', lease: buildLease({ revokedAt: at(-1), endReason: 'revoked', endedByExternalId: 'dave@example.com' }) }));
    expectValidCard(card);
    expect(statusText(card)).toBe(`✅ Approved by bob@example.com at ${formatTime(at(-2))} · 🔒 access ended at ${formatTime(at(-1))} (revoked by dave@example.com)`);
    expect(actionsOf(card)).toEqual([]);
  });

  it('flagged: a finished session with flags says so on the card', () => {
    const session: SessionAnalysis = {
      technical: 'Ran 3 SELECTs.', plain: 'Looked at orders.', review: true, analyzer: 'heuristic',
      flags: [{ code: 'bulk', severity: 'critical', message: 'Exported 90k rows of customers', statements: [0] }, { code: 'x', severity: 'info', message: 'ignored info', statements: [] }],
      counts: { statements: 3, denied: 0, objects: ['sales.orders'] },
    };
    const card = approvalCard(active({ state: 'revoked', lease: buildLease({ revokedAt: at(-1), endReason: 'expired' }), session }));
    expectValidCard(card);
    const flagged = textBlock(card, /Session flagged for review/);
    expect(flagged).toMatchObject({ color: 'Attention' });
    expect((flagged as { text: string }).text).toContain('Exported 90k rows of customers');
    expect((flagged as { text: string }).text).not.toContain('ignored info');
  });

  it('break-glass unreviewed: a loud banner, Revoke now and Mark reviewed', () => {
    const card = approvalCard(active({ decisions: [], policy: { name: 'emergency', quorum: 1, mfaRequired: false, breakGlass: true, rules: [] } }));
    expectValidCard(card);
    expect(card.body[1]).toMatchObject({ type: 'Container', style: 'attention' });
    expect(allText(card)).toContain('🚨 **Break-glass: taken without approval. Review required.**');
    expect(statusText(card)).toContain('🚨 Taken without approval (break-glass) · 🔓 access active until');
    expect(verbs(card)).toEqual(['end', 'review']);
    expect(execute(card, 'review')).toMatchObject({ title: 'Mark reviewed', data: { requestId: 'R0000000001', version: 3 } });
  });

  it('break-glass reviewed: who reviewed, no review button; after it ended, no button at all', () => {
    const policy = { name: 'emergency', quorum: 1, mfaRequired: false, breakGlass: true, rules: [] };
    const reviewed = approvalCard(active({ decisions: [], policy, reviewedByExternalId: 'erin@example.com' }));
    expect(allText(reviewed)).toContain('🚨 Break-glass, reviewed by erin@example.com');
    expect(verbs(reviewed)).toEqual(['end']);
    const ended = approvalCard(active({ decisions: [], policy, state: 'revoked', lease: buildLease({ revokedAt: at(-1), endReason: 'expired' }) }));
    expect(verbs(ended)).toEqual(['review']);
  });

  it('analyzed: rating with attribution, conflicts, unusual, history, narrower option, alternatives, security context', () => {
    const card = approvalCard(buildView({ analysis: { ...analysis, modelLevel: 'medium' } }));
    expectValidCard(card);
    const body = allText(card);
    expect(texts(card)[0]).toMatch(/^🟠 /);
    expect(body).toContain('**Risk: High** _(claude-sonnet-5-5 rated it Medium; the built-in rules hold it at High)_');
    expect(body).toContain('**Policy conflicts**\n- Write is not allowed on production outside business hours');
    expect(body).toContain('**Unusual**\n- Requested at 03:00 UTC, outside the usual 08-18');
    expect(body).toContain('**History:** The team usually asks for read for 1h.');
    expect(body).toContain('**Narrower option:** Read on sales.orders for 30m is enough to inspect duplicates. (read on sales.orders for 30m)');
    expect(body).toContain('**Instead:** Ask the on-call DBA for a report.');
    expect(body).toContain('**Security context:** production, tagged pii. Statements are recorded with pgaudit.');
    expect(body).not.toContain('Analysis in progress');
  });

  it('an extension says what it extends', () => {
    const card = approvalCard(buildView({ kind: 'extension', extendsRequestId: 'R0000000000', durationSeconds: 1800 }));
    expect(texts(card)[0]).toBe('🟡 Extension +30m of R0000000000 on orders · R0000000001');
  });
});

// ---- The request form ----------------------------------------------------------------------------

describe('request form', () => {
  it('asks for every draft field, with Analyze risk and Submit', () => {
    const card = requestFormCard(catalog);
    expectValidCard(card);
    expect(inputIds(card)).toEqual([...FORM_INPUTS]);
    expect(elementsOf(card).find((e) => e.type === 'Input.ChoiceSet' && e.id === 'databaseId')).toMatchObject({
      choices: [{ title: 'orders (production)', value: 'orders' }, { title: 'billing (staging)', value: 'billing' }],
    });
    expect(elementsOf(card).find((e) => e.type === 'Input.Text' && e.id === 'reason')).toMatchObject({ isMultiline: true, maxLength: 1000 });
    expect(elementsOf(card).find((e) => e.type === 'Input.Toggle')).toMatchObject({ id: 'breakGlass', value: 'false' });
    expect(card.actions).toEqual([
      { type: 'Action.Execute', title: 'Submit', verb: 'submit', data: { form: 'request' }, style: 'positive' },
      { type: 'Action.Execute', title: 'Analyze risk', verb: 'analyze', data: { form: 'request' } },
    ]);
    expect(elementsOf(card).filter((e) => e.type === 'TextBlock' && e.color === 'Attention')).toEqual([]);
  });

  it('keeps the draft and shows each error under its own field', () => {
    const draft = { databaseId: 'billing', level: 'write', scope: 'public.invoices', duration: '9h', reason: 'short', ticket: '', breakGlass: true };
    const card = requestFormCard(catalog, { draft, errors: { duration: 'At most 4h on billing.', reason: 'Say what you will do <and> why.' } });
    expectValidCard(card);
    const inputs = elementsOf(card).filter((e) => e.type.startsWith('Input.'));
    expect(inputs.map((e) => (e as { value?: string }).value)).toEqual(['billing', 'write', 'public.invoices', '9h', 'short', undefined, undefined, 'true']);
    const errorAfter = (id: string) => {
      const start = card.body.findIndex((e) => 'id' in e && e.id === id);
      const next = card.body.findIndex((e, index) => index > start && e.type.startsWith('Input.'));
      return card.body.slice(start + 1, next).find((e) => e.type === 'TextBlock' && e.color === 'Attention');
    };
    expect(errorAfter('duration')).toMatchObject({ text: 'At most 4h on billing.' });
    expect(errorAfter('reason')).toMatchObject({ text: 'Say what you will do ＜and＞ why.' });
    expect(errorAfter('scope')).toBeUndefined();
    expect(errorAfter('databaseId')).toBeUndefined();
  });

  it('shows a finished analysis with Use suggestion carrying the analysis id', () => {
    const outcome: DraftAnalysisOutcome = {
      ok: true, tenantId: 'tenant-1', analysisId: 'an-1', analysis, viewRef: ref('form'),
      draft: { databaseId: 'orders', level: 'write', scope: '', duration: '4h', reason: 'Fix duplicated orders', ticket: '' },
    };
    const card = requestFormCard(catalog, { draft: outcome.draft, analysis: { state: 'done', outcome } });
    expectValidCard(card);
    const body = allText(card);
    expect(body).toContain('🟠 **Risk: High** _(claude-sonnet-5-5)_');
    expect(body).toContain('- Production data tagged pii');
    expect(body).toContain('**Policy conflicts**');
    expect(body).toContain('**Unusual**');
    expect(body).toContain('**Narrower option:** Read on sales.orders for 30m is enough to inspect duplicates.');
    expect(body).toContain('read on sales.orders for 30m');
    expect(execute(card, 'useSuggestion')).toMatchObject({ title: 'Use suggestion', data: { form: 'request', analysisId: 'an-1' } });
    expect(execute(card, 'analyze')!.title).toBe('Analyze again');
  });

  it('while analyzing, says so and offers no second analysis; a failed one says what to fix', () => {
    const running = requestFormCard(catalog, { analysis: { state: 'running' } });
    expect(allText(running)).toContain('Analyzing the request');
    expect(verbs(running)).toEqual(['submit']);
    const failed = requestFormCard(catalog, {
      analysis: { state: 'done', outcome: { ok: false, tenantId: 'tenant-1', analysisId: 'an-2', problem: 'Choose a database first.', draft: { databaseId: '', level: 'read', scope: '', duration: '1h', reason: '', ticket: '' }, viewRef: ref('form') } },
    });
    expect(allText(failed)).toContain('⚠️ Choose a database first.');
    expect(verbs(failed)).toEqual(['submit', 'analyze']);
    const applied = requestFormCard(catalog, { analysis: { state: 'applied', text: 'read on sales.orders for 30m' } });
    expect(allText(applied)).toContain('✅ **Suggestion applied:** read on sales.orders for 30m');
  });
});

// ---- Hostile text --------------------------------------------------------------------------------

describe('escaping', () => {
  it('neutralises emphasis, links, code, mentions, headings and list markers', () => {
    const escaped = escapeMarkdown(HOSTILE, { multiline: true });
    expect(unescapedMarkup(escaped)).toEqual([]);
    expect(escaped).not.toMatch(/<at>/);
    expect(escaped).toContain('＜at＞boss@example.com＜/at＞');
    expect(escaped).toContain('\\*\\*\\[click\\](http://evil)\\*\\*');
    expect(escaped.split('\n\n')).toEqual([
      '\\*\\*\\[click\\](http://evil)\\*\\*',
      '＜at＞boss@example.com＜/at＞',
      '\\# Approved by admin',
      '\\- fake line',
      '\\`rm -rf\\` \\_x\\_ \\~y\\~',
    ]);
    expect(escapeMarkdown('1. first')).toBe('1\\. first');
    expect(escapeMarkdown('a\u202eb\u0000c')).toBe('abc');
  });

  it('inline, a value cannot start a new line of the card', () => {
    expect(escapeMarkdown('ok\n\n**Approved by admin**\r\n- done')).toBe('ok \\*\\*Approved by admin\\*\\* - done');
    expect(md`Reason: ${'x\ny'}`.text).toBe('Reason: x y');
    expect(md`${md`**ours**`} ${'*theirs*'}`.text).toBe('**ours** \\*theirs\\*');
    expect(mention('first_last@example.com').text).toBe('first\\_last@example.com');
  });

  it('a hostile reason, denial, scope and model text stay text on every card that shows them', () => {
    const view = buildView({
      reason: HOSTILE,
      scope: ['sales.orders', '*_[x](http://evil)_*'],
      ticket: '[OPS](http://evil)',
      analysis: { ...analysis, reasons: [HOSTILE], suggestion: { ...analysis.suggestion!, text: HOSTILE } },
    });
    const card = approvalCard(view);
    expectValidCard(card);
    const reasonBlock = card.body[card.body.findIndex((e) => e.type === 'TextBlock' && e.text === '**Reason**') + 1] as { text: string };
    expect(unescapedMarkup(reasonBlock.text)).toEqual([]);
    expect(reasonBlock.text).toContain('\\# Approved by admin');
    expect(unescapedMarkup(fact(card, 'Scope')!)).toEqual([]);
    expect(unescapedMarkup(fact(card, 'Ticket')!)).toEqual([]);

    const denied = approvalCard(buildView({ state: 'denied', decisions: [denial('carol@example.com', HOSTILE)] }));
    expect(statusText(denied)).not.toContain('\n');
    expect(unescapedMarkup(statusText(denied).split(': ').slice(1).join(': '))).toEqual([]);
    const closed = requestClosedCard(buildView({ state: 'denied', decisions: [denial('carol@example.com', HOSTILE)] }));
    expect(unescapedMarkup(texts(closed)[1]!)).toEqual([]);

    const hostileView = buildView({ reason: HOSTILE, lease: buildLease({ revokedAt: at(-1), endReason: 'expired' }) });
    const summary: SessionSummary = { lines: summarizeSession(hostileView).lines, technical: HOSTILE, plain: HOSTILE, flags: [{ severity: 'warning', message: HOSTILE }], review: true, by: 'heuristic' };
    const summaryCard = sessionSummaryCard(hostileView, summary);
    for (const shown of [card, denied, closed, summaryCard]) {
      const json = JSON.stringify(shown);
      expect(json).not.toMatch(/(?<!\\\\)\]\(/); // no link anywhere: `](` only ever escaped
      expect(json).not.toContain('<at>');
      expect(json).not.toContain('Action.OpenUrl');
    }
  });
});

// ---- Messages to the requester and the thread ------------------------------------------------------

describe('requester messages', () => {
  it('credentials: every value verbatim and monospace, Extend asks for a duration, End access now confirms', () => {
    const card = credentialsCard(active(), credentials);
    expectValidCard(card);
    const values = monospace(card);
    for (const value of ['db.internal', '5432', 'orders', 'dba_alice_r1', 'Pa_ss*wo[rd]`x']) expect(values).toContain(value);
    expect(values).toContain('postgresql://dba_alice_r1:Pa_ss*wo%5Brd%5D%60x@db.internal:5432/orders');
    expect(values.some((value) => value.startsWith('psql "postgresql://'))).toBe(true);
    expect(allText(card)).toContain(`is ready until **${formatTime(at(60))}**`);
    const extend = card.actions![0]!;
    expect(extend).toMatchObject({ type: 'Action.ShowCard', title: 'Extend' });
    expect(extend.type === 'Action.ShowCard' && inputIds(extend.card)).toEqual(['duration', 'reason']);
    expect(execute(card, 'extend')!.data).toEqual({ requestId: 'R0000000001', version: 3 });
    expect(execute(card, 'end')).toMatchObject({ title: 'End access now', data: { requestId: 'R0000000001', from: 'credentials' } });
    expect(allText(credentialsCard(active(), { ...credentials, protocol: 'mysql', port: 3306 }))).toContain('mysql --host=db.internal');
  });

  it('waiting behind MFA: Reveal asks for the code; revoked: the password is gone', () => {
    const waiting = credentialsWaitingCard(active());
    expectValidCard(waiting);
    expect(verbs(waiting)).toEqual(['reveal', 'end']);
    const reveal = waiting.actions![0]!;
    expect(reveal.type === 'Action.ShowCard' && inputIds(reveal.card)).toEqual(['code']);
    const revoked = credentialsRevokedCard(active({ state: 'revoked', lease: buildLease({ revokedAt: at(-1), endReason: 'ended', endedByExternalId: 'alice@example.com' }) }));
    expectValidCard(revoked);
    expect(actionsOf(revoked)).toEqual([]);
    expect(JSON.stringify(revoked)).not.toContain(credentials.password.reveal());
    expect(allText(revoked)).toContain(`ended at ${formatTime(at(-1))} (ended early by alice@example.com). The user dba\\_alice\\_r1 no longer exists`);
  });

  it('closed: denied with the reason, expired, cancelled, failed', () => {
    expect(texts(requestClosedCard(buildView({ state: 'denied', decisions: [denial('carol@example.com', 'Use the replica')] })))).toEqual([
      '⛔ Your request **R0000000001** for orders was denied by carol@example.com:',
      'Use the replica',
    ]);
    expect(allText(requestClosedCard(buildView({ state: 'expired' })))).toContain('expired without a decision');
    expect(allText(requestClosedCard(buildView({ state: 'cancelled', failure: 'Table sales.nope does not exist.' })))).toContain('was not sent to approvers: Table sales.nope does not exist.');
    expect(allText(requestClosedCard(buildView({ state: 'failed', failure: 'connection refused' })))).toContain('could not be created: connection refused');
  });

  it('session summary: who, what, approval, times, how it ended, what was run, flags, who wrote it', () => {
    const view = active({ state: 'revoked', lease: buildLease({ revokedAt: at(-1), endReason: 'expired' }) });
    const card = sessionSummaryCard(view, {
      lines: summarizeSession(view).lines, technical: 'Ran 3 SELECTs on sales.orders.', plain: 'Alice looked at orders, as her reason said.',
      flags: [{ severity: 'critical', message: 'Exported 90k rows' }], review: true, unusual: ['3x more rows than usual (score 0.9)'], baseline: ['No past sessions on billing yet.'], by: 'built-in rules',
    });
    expectValidCard(card);
    const body = allText(card);
    expect(body).toContain('**Session summary** · R0000000001 (flagged for review)');
    expect(body).toContain('- Who: alice@example.com as dba\\_alice\\_r1');
    expect(body).toContain('- What: read on orders (sales.orders), for "Investigate INC-42: duplicated orders since the deploy"');
    expect(body).toContain(`- Approved by: bob@example.com at ${formatTime(at(-2))}`);
    expect(body).toContain(`- Ended: expired; sessions killed and user dropped at ${formatTime(at(-1))}`);
    expect(body).toContain('**What was run**\nRan 3 SELECTs on sales.orders.');
    expect(body).toContain('**In plain words**\nAlice looked at orders, as her reason said.');
    expect(body).toContain('🚨 Exported 90k rows');
    expect(body).toContain('- 3x more rows than usual (score 0.9)');
    expect(body).toContain('Summary by built-in rules.');
  });
});

// ---- Size ----------------------------------------------------------------------------------------

describe('size', () => {
  it('a huge scope and grant list and a 10 KB reason fit under the limit, cut visibly, buttons kept', () => {
    const scope = Array.from({ length: 2000 }, (_, i) => `schema_${i}.table_with_a_long_name_${i}`);
    const view = buildView({
      scope,
      reason: `${'Long reason with *stars* and <tags>. '.repeat(280)}END`,
      grantStatements: scope.map((item) => `GRANT SELECT ON ${item.split('.').map((part) => `"${part}"`).join('.')} TO "dba_alice_r1"`),
      grantsInWords: `Read (SELECT) on ${scope.join(', ')}`,
    });
    expect(Buffer.byteLength(view.reason)).toBeGreaterThan(10_000);
    const card = approvalCard(view);
    expectValidCard(card);
    expect(cardBytes(card)).toBeLessThanOrEqual(TEAMS_CARD_LIMIT_BYTES);
    expect(monospace(card)[0]!.endsWith(CUT_MARKER)).toBe(true);
    expect(fact(card, 'Scope')!.endsWith(CUT_MARKER)).toBe(true);
    expect(monospace(card)[0]!.startsWith('GRANT SELECT ON "schema_0"."table_with_a_long_name_0"')).toBe(true);
    expect(verbs(card)).toEqual(['approve', 'deny', 'cancel']);
    expect(statusText(card)).toMatch(/^⏳ Waiting for an approver/);
    expect(fact(card, 'Requester')).toBe('alice@example.com');
  });

  it('fitCard cuts the longest text first, leaves small cards and its input alone', () => {
    const small: AdaptiveCard = { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body: [{ type: 'TextBlock', text: 'hi', wrap: true }] };
    expect(fitCard(small)).toBe(small);
    const big: AdaptiveCard = {
      ...small,
      body: [
        { type: 'TextBlock', text: 'keep me', wrap: true },
        { type: 'TextBlock', text: `${'é'.repeat(20_000)}😀${'x'.repeat(20_000)}`, wrap: true },
        { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'S\\"'.repeat(3000), fontType: 'Monospace' }] },
      ],
    };
    const before = JSON.stringify(big);
    const fitted = fitCard(big, 8 * 1024);
    expect(JSON.stringify(big)).toBe(before);
    expect(cardBytes(fitted)).toBeLessThanOrEqual(8 * 1024);
    expect(texts(fitted)[0]).toBe('keep me');
    expect(texts(fitted)[1]!.endsWith(CUT_MARKER)).toBe(true);
    expect(texts(fitted)[1]).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

// ---- Where each notification goes ----------------------------------------------------------------

describe('teamsRenderers', () => {
  const revoked = active({ state: 'revoked', lease: buildLease({ revokedAt: at(-1), endReason: 'expired', dmRef: ref('dm') }) });
  const draft = { databaseId: 'orders', level: 'read', scope: '', duration: '1h', reason: 'Look at orders', ticket: '' };
  /** One of each notification: a new type without a sample here does not compile. */
  const samples: { [T in NotificationType]: Extract<Notification, { type: T }> } = {
    approvalCard: { type: 'approvalCard', request: buildView() },
    requestReceived: { type: 'requestReceived', request: buildView() },
    requestClosed: { type: 'requestClosed', request: buildView({ state: 'expired' }) },
    approvedWithChanges: { type: 'approvedWithChanges', request: buildView({ state: 'approved', changes: { asked: { level: 'write', scope: [], durationSeconds: 7200 }, changedBy: ['lead@example.com'] } }) },
    credentialsReady: { type: 'credentialsReady', request: active(), credentials },
    credentialsWaiting: { type: 'credentialsWaiting', request: active() },
    credentialsRevoked: { type: 'credentialsRevoked', request: revoked },
    accessExtended: { type: 'accessExtended', request: active() },
    accessActive: { type: 'accessActive', request: active() },
    operationFailing: { type: 'operationFailing', request: active({ state: 'revoke_failed' }), operation: 'revoke', attempts: 3, error: 'connection refused' },
    breakGlassAlert: { type: 'breakGlassAlert', request: active({ policy: { name: 'emergency', quorum: 1, mfaRequired: false, breakGlass: true, rules: [] } }) },
    mfaAlert: { type: 'mfaAlert', tenantId: 'tenant-1', personExternalId: 'alice@example.com', what: 'locked', until: at(15) },
    configProblem: { type: 'configProblem', message: 'dbaccess.yaml:3:5 databases.0.port: expected number' },
    databaseUnavailable: { type: 'databaseUnavailable', platform: 'teams', databaseId: 'orders', message: 'orders is unavailable: ORDERS_ADMIN_URL is not set. Set it to the admin connection URL and restart, or remove orders from dbaccess.yaml.' },
    databaseAvailable: { type: 'databaseAvailable', platform: 'teams', databaseId: 'orders' },
    personOffboarded: { type: 'personOffboarded', tenantId: 'tenant-1', personExternalId: 'alice@example.com', source: 'teams', ended: ['R0000000001'], cancelled: [], failed: [] },
    sessionSummary: { type: 'sessionSummary', request: revoked, summary: summarizeSession(revoked) },
    sessionFlagged: { type: 'sessionFlagged', request: revoked },
    draftAnalysis: { type: 'draftAnalysis', ok: true, tenantId: 'tenant-1', analysisId: 'an-1', analysis, draft, viewRef: ref('form') },
  };
  const context = { catalog, approversOf: () => ['bob@example.com', 'carol@example.com'] };
  const route = (deliveries: TeamsDelivery[]) => deliveries.map((d) => d.to);

  it('renders every notification as valid, size-checked cards with a plain summary', () => {
    for (const notification of Object.values(samples)) {
      const deliveries = renderTeams(notification, context);
      for (const delivery of deliveries) {
        expect(delivery.message.attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
        expectValidCard(delivery.message.attachment.content);
        expect(delivery.message.summary).toMatch(/^[^*_[\]`<>]+$/);
      }
    }
  });

  it('posts the approval card once, then replaces it in place', () => {
    expect(renderTeams(samples.approvalCard, context)).toEqual([expect.objectContaining({ to: 'approvers-channel', databaseId: 'orders', replaceCardOf: 'R0000000001' })]);
    expect(renderTeams(samples.approvalCard, context)[0]).not.toHaveProperty('replace');
    const posted = renderTeams({ type: 'approvalCard', request: active() }, context)[0]!;
    expect(posted).toMatchObject({ to: 'approvers-channel', replaceCardOf: 'R0000000001', replace: ref('card') });
  });

  it('the credentials message: posted, replaced after Reveal, replaced again with no password when access ends', () => {
    expect(renderTeams(samples.credentialsWaiting, context)).toEqual([expect.objectContaining({ to: 'requester', userExternalId: 'alice@example.com', requestId: 'R0000000001' })]);
    expect(renderTeams(samples.credentialsReady, context)[0]).not.toHaveProperty('replace');
    const revealed = renderTeams({ ...samples.credentialsReady, request: active({ lease: buildLease({ dmRef: ref('dm') }) }) }, context);
    expect(revealed[0]).toMatchObject({ to: 'requester', replace: ref('dm') });
    const ended = renderTeams(samples.credentialsRevoked, context);
    expect(ended).toEqual([expect.objectContaining({ to: 'requester', replace: ref('dm') })]);
    expect(JSON.stringify(ended)).not.toContain(credentials.password.reveal());
    expect(renderTeams({ type: 'credentialsRevoked', request: active() }, context)).toEqual([]);
  });

  it('routes thread replies, alerts and the form', () => {
    expect(route(renderTeams(samples.accessActive, context))).toEqual(['card-thread']);
    expect(renderTeams(samples.accessActive, context)[0]).toMatchObject({ requestId: 'R0000000001', cardRef: ref('card') });
    expect(route(renderTeams(samples.accessExtended, context))).toEqual(['card-thread', 'requester']);
    expect(route(renderTeams(samples.operationFailing, context))).toEqual(['card-thread', 'approvers-channel']);
    expect(route(renderTeams({ ...samples.operationFailing, operation: 'provision' }, context))).toEqual(['card-thread', 'requester']);
    expect(route(renderTeams(samples.breakGlassAlert, context))).toEqual(['approvers-channel']);
    expect(renderTeams(samples.mfaAlert, context)[0]).not.toHaveProperty('databaseId');
    expect(route(renderTeams(samples.configProblem, context))).toEqual(['approvers-channel']);
    expect(renderTeams(samples.databaseUnavailable, context)).toEqual([expect.objectContaining({ to: 'approvers-channel', databaseId: 'orders' })]);
    expect(renderTeams(samples.databaseAvailable, context)).toEqual([expect.objectContaining({ to: 'approvers-channel', databaseId: 'orders' })]);
    expect(route(renderTeams(samples.sessionSummary, context))).toEqual(['card-thread']);
    expect(route(renderTeams(samples.sessionFlagged, context))).toEqual(['approvers-channel']);
    expect(renderTeams(samples.draftAnalysis, context)).toEqual([expect.objectContaining({ to: 'form', replace: ref('form') })]);
    const received = renderTeams(samples.requestReceived, context)[0]!;
    expect(received.to).toBe('requester');
    expect(allText(received.message.attachment.content)).toContain('is waiting for bob@example.com, carol@example.com');
  });

  it('does not compile when the table forgets a notification type', () => {
    const { draftAnalysis: _forgotten, ...withoutOne } = teamsRenderers;
    // @ts-expect-error draftAnalysis is missing
    const incomplete: TeamsRendererTable = withoutOne;
    expect(Object.keys(incomplete)).not.toContain('draftAnalysis');
    expect(Object.keys(teamsRenderers).sort()).toEqual(Object.keys(samples).sort());
  });
});
