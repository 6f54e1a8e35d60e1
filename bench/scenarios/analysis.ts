/**
 * Tokens, cost and latency of the three analyses (draft, request, session) through the real SDK
 * against the fake Anthropic API, with answers of realistic length. Cost is at the published
 * Haiku 5.5 prices (claude-analyzer.ts); the target is at most $0.005 per request for all three.
 */
import { createClaudeAnalyzer } from '../../src/modules/analysis/claude-analyzer.js';
import type { ModelUsage, RequestFacts, SessionContext } from '../../src/modules/analysis/analysis-types.js';
import { compareWithHistory } from '../../src/modules/analysis/history.js';
import type { PastRequest } from '../../src/modules/insights/insights-types.js';
import { analyzeRequestHeuristically } from '../../src/modules/analysis/request-heuristics.js';
import { startFakeAnthropic, type MessagesRequest } from '../../test/support/fake-anthropic.js';
import { summarize, type ResultRow } from '../lib/stats.js';

const MODEL = 'claude-haiku-5-5';
/** A small organisation's policies and rules, as the catalog gives them to the prompt. */
const POLICY = JSON.stringify({
  timezone: 'Europe/Berlin',
  policies: [
    { name: 'prod-admin', match: { environment: 'production', level: 'admin' }, approvers: ['dba-leads'], quorum: 2, mfa: 'always' },
    { name: 'prod-write', match: { environment: 'production', level: 'write' }, approvers: ['dbas', 'team-leads'], quorum: 1, mfa: 'high' },
    { name: 'staging', match: { environment: 'staging' }, approvers: ['dbas'], autoApprove: [{ name: 'staging-read', level: 'read', maxRisk: 'low', maxDuration: '1h', hours: 'business' }] },
    { name: 'default', approvers: ['dbas'], pendingTimeout: '2h', breakGlass: { allowed: true, review: '24h' } },
  ],
  rules: {
    timeWindows: [{ environment: 'production', level: 'write', days: 'mon-fri', from: '08:00', to: '19:00' }],
    maxDuration: [{ environment: 'production', level: 'admin', max: '1h' }, { environment: 'production', level: 'write', max: '2h' }],
    ticket: [{ environment: 'production', level: ['write', 'admin'], pattern: '[A-Z]+-\\d+' }],
    concurrentLeases: { max: 3 },
  },
});
const TARGET_MICRO_USD = 5_000;

/** Answers as long as a real one: five reasons, two unusual facts, alternatives and a suggestion. */
function answer(body: MessagesRequest): Record<string, unknown> {
  const tool = body.tool_choice && 'name' in body.tool_choice ? body.tool_choice.name : '';
  if (tool === 'record_request_analysis') {
    return {
      risk: 'high',
      reasons: [
        'Write access to a production database that holds personal data.',
        'The whole database is requested although the reason names one table.',
        'Three hours is longer than this person usually asks for (30 minutes).',
        'The ticket OPS-1234 matches the reason given.',
        'Requested in business hours.',
      ],
      unusual: ['First write request by this person on orders in 12 requests.', 'Longer than usual: 3h, their median is 30m.'],
      alternatives: ['A reviewed script run by the deploy pipeline.', 'Read on sales.orders to confirm the problem first.'],
      suggestion: { level: 'write', scope: ['sales.orders'], durationMinutes: 60, explanation: 'Write on sales.orders for 1h covers the fix the reason describes.' },
    };
  }
  return {
    technical: 'Ran 38 SELECT statements on sales.orders and sales.customers, then 2 UPDATE statements on sales.orders with a WHERE clause on id. One statement on pg_authid was refused.',
    plain: 'The person looked up the affected orders and corrected two of them, as the reason said. They also tried to read a system table holding passwords, which the database refused.',
    flags: [{ severity: 'warning', message: 'Tried to read pg_authid (refused): not needed for the stated task.' }],
    matchesReason: true,
  };
}

function requestFacts(i: number): RequestFacts {
  const at = new Date(Date.UTC(2026, 10, 24, 10, i % 60));
  const past: PastRequest[] = Array.from({ length: 40 }, (_, k) => ({
    requesterId: k % 3 === 0 ? 'u1' : `u${k % 7}`, level: k % 9 === 0 ? 'write' : 'read', durationSeconds: 1800 + (k % 4) * 900,
    createdAt: new Date(Date.UTC(2026, 10, 1 + (k % 20), 9 + (k % 8))), outcome: k % 11 === 0 ? 'denied' : 'approved',
  }));
  return {
    risk: { environment: 'production', level: 'write', scopeSize: 0, tableScoped: false, durationSeconds: 3 * 3600, reason: `Fix the totals of the orders the import of batch ${i} broke, see OPS-1234`, ticket: 'OPS-1234', tags: ['pii'], requestedAt: at },
    databaseId: 'orders', levelName: 'write', scope: [], maxDurationSeconds: 4 * 3600, allowedLevels: ['read', 'write', 'admin'],
    tableTags: { 'sales.customers': ['pii'] }, conflicts: ['Write on production without a ticket.'],
    history: compareWithHistory({ requesterId: 'u1', level: 'write', durationSeconds: 3 * 3600, at, databaseId: 'orders' }, past),
    recording: 'Every statement is recorded (pgaudit).',
  };
}

function sessionFacts(i: number): SessionContext {
  const from = new Date(Date.UTC(2026, 10, 24, 10));
  const statements = Array.from({ length: 40 }, (_, k) => ({
    at: new Date(from.getTime() + k * 20_000),
    statement: k < 38 ? `SELECT o.id, o.total, c.name FROM sales.orders o JOIN sales.customers c ON c.id = o.customer_id WHERE o.batch = ${i} AND o.id > ${k * 100} ORDER BY o.id LIMIT 50` : `UPDATE sales.orders SET total = total_before_import WHERE id = ${k}`,
  }));
  statements.push({ at: new Date(from.getTime() + 900_000), statement: 'SELECT * FROM pg_authid', error: '42501 permission denied for table pg_authid' } as never);
  return {
    requestId: 'R0000000001', databaseId: 'orders', levelName: 'write', level: 'write', scope: [], reason: `Fix the totals of the orders the import of batch ${i} broke`,
    environment: 'production', tags: ['pii'], tableTags: { 'sales.customers': ['pii'] }, recording: 'Every statement is recorded (pgaudit).',
    statements, truncated: false, activeFrom: from, activeUntil: new Date(from.getTime() + 3600_000),
  };
}

export async function analysisScenario({ n }: { n: number }): Promise<ResultRow[]> {
  const fake = await startFakeAnthropic({ respond: answer });
  try {
    const claude = createClaudeAnalyzer({ apiKey: fake.apiKey, baseURL: fake.url, model: MODEL, summaryModel: MODEL, timeoutMs: 8000, policy: () => POLICY });
    const draft: ModelUsage[] = [];
    const request: ModelUsage[] = [];
    const session: ModelUsage[] = [];
    for (let i = 0; i < n; i++) {
      const facts = requestFacts(i);
      // The draft and the submitted request send the same facts: the second hits the cached prefix too.
      draft.push((await claude.analyzeRequest(facts, analyzeRequestHeuristically(facts))).usage);
      request.push((await claude.analyzeRequest(facts, analyzeRequestHeuristically(facts))).usage);
      const rules = { flags: [], counts: { statements: 41, denied: 1, objects: ['sales.orders', 'sales.customers', 'pg_catalog.pg_authid'] } };
      session.push((await claude.summarizeSession(sessionFacts(i), rules)).usage);
    }
    const rows: ResultRow[] = [];
    const mean = (list: ModelUsage[], pick: (u: ModelUsage) => number) => list.reduce((sum, u) => sum + pick(u), 0) / list.length;
    for (const [name, list] of [['draft', draft], ['request', request], ['session', session]] as const) {
      const latency = summarize(list.map((u) => u.latencyMs));
      rows.push({
        scenario: `8 analysis: ${name}`, backend: 'redis', metric: 'latency against the fake (ms)', ...latency, target: '-', verdict: 'info',
        notes: `tokens in ${mean(list, (u) => u.inputTokens).toFixed(0)} + cache read ${mean(list, (u) => u.cacheReadTokens).toFixed(0)} + cache write ${mean(list, (u) => u.cacheWriteTokens).toFixed(0)}, out ${mean(list, (u) => u.outputTokens).toFixed(0)}; $${(mean(list, (u) => u.costMicroUsd) / 1e6).toFixed(6)} each`,
      });
    }
    const perRequest = Array.from({ length: n }, (_, i) => draft[i]!.costMicroUsd + request[i]!.costMicroUsd + session[i]!.costMicroUsd);
    const cost = summarize(perRequest);
    rows.push({
      scenario: '8 analysis: all three', backend: 'redis', metric: 'cost per request (micro-USD, Haiku 5.5 prices)', n, p50: cost.p50, p99: cost.p99, max: cost.max,
      target: `<= ${TARGET_MICRO_USD} ($0.005)`, verdict: cost.max <= TARGET_MICRO_USD ? 'pass' : 'FAIL', notes: `$${(cost.mean / 1e6).toFixed(6)} on average`,
    });
    return rows;
  } finally {
    await fake.close();
  }
}
