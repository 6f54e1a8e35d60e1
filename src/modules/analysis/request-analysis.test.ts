import { describe, expect, it } from 'vitest';
import type { RequestFacts } from './analysis-types.js';
import { costMicroUsd } from './claude-analyzer.js';
import type { PastRequest } from '../insights/insights-types.js';
import { compareWithHistory, historyText } from './history.js';
import { analyzeRequestHeuristically, floorLevel, suggestNarrower } from './request-heuristics.js';

const AT = new Date('2026-11-24T10:00:00Z');

const facts = (changes: Partial<RequestFacts> & { reason?: string; level?: 'read' | 'write' | 'admin'; durationSeconds?: number } = {}): RequestFacts => {
  const { reason = 'Investigate the failed payouts of last night', level = 'read', durationSeconds = 3600, ...rest } = changes;
  return {
    risk: { environment: 'production', level, scopeSize: 0, tableScoped: false, durationSeconds, reason, tags: [], requestedAt: AT },
    databaseId: 'orders', levelName: level, scope: [], maxDurationSeconds: 4 * 3600, allowedLevels: ['read', 'write', 'admin'],
    tableTags: {}, conflicts: [], recording: 'Not recorded.', ...rest,
  };
};

const past = (requesterId: string, level: string, hour: number, durationSeconds = 1800, outcome: PastRequest['outcome'] = 'approved'): PastRequest => ({
  requesterId, level, durationSeconds, outcome, createdAt: new Date(Date.UTC(2026, 10, 10, hour, 5)),
});

describe('suggestNarrower', () => {
  it('suggests read, the tables named in the reason and a shorter time when the reason reads as an investigation', () => {
    const suggestion = suggestNarrower(facts({ level: 'write', durationSeconds: 8 * 3600, reason: 'Check why sales.orders totals look wrong' }));
    expect(suggestion).toMatchObject({ level: 'read', scope: ['sales.orders'], durationSeconds: 3600 });
    expect(suggestion?.text).toBe('Read instead of write, on sales.orders instead of the whole database, for 1h instead of 8h: the reason does not seem to need more.');
  });

  it('keeps write when the reason needs a change, and offers write instead of admin without schema work', () => {
    expect(suggestNarrower(facts({ level: 'write', reason: 'Fix the totals of sales.orders broken by the import' }))).toMatchObject({ level: 'write', scope: ['sales.orders'] });
    expect(suggestNarrower(facts({ level: 'admin', reason: 'Fix the totals broken by the import, ticket OPS-1' }))).toMatchObject({ level: 'write' });
    // Schema work needs admin: nothing narrower to offer.
    expect(suggestNarrower(facts({ level: 'admin', reason: 'Create an index for the slow report query' }))).toBeUndefined();
  });

  it('never suggests a level the database does not allow, and nothing when the request is already tight', () => {
    expect(suggestNarrower(facts({ level: 'write', allowedLevels: ['write'], reason: 'Check the totals' }))).toBeUndefined();
    expect(suggestNarrower(facts({ scope: ['sales.orders'], reason: 'Check the totals' }))).toBeUndefined();
  });

  it('ignores file names and hosts that look like schema.table', () => {
    expect(suggestNarrower(facts({ reason: 'Compare the rows with export.csv from files.example.com' }))).toBeUndefined();
  });

  it('scopes to tagged tables the reason names', () => {
    expect(suggestNarrower(facts({ reason: 'Check the customers table for duplicates', tableTags: { 'sales.customers': ['pii'] } }))).toMatchObject({ scope: ['sales.customers'] });
  });
});

describe('floorLevel', () => {
  it('lets the model lower a rating by one band at most and never lower a Critical one', () => {
    expect(floorLevel('low', 'critical')).toBe('critical');
    expect(floorLevel('low', 'high')).toBe('medium');
    expect(floorLevel('medium', 'high')).toBe('medium');
    expect(floorLevel('critical', 'low')).toBe('critical');
    expect(floorLevel('low', 'medium')).toBe('low');
  });
});

describe('compareWithHistory', () => {
  it('says there is no baseline instead of inventing one', () => {
    const history = compareWithHistory({ requesterId: 'u1', level: 'write', durationSeconds: 3600, at: AT, databaseId: 'orders' }, []);
    expect(history.unusual).toEqual([]);
    expect(historyText(history, 'orders')).toBe('No history for orders yet: nothing to compare with.');
  });

  it('counts one past request in the singular', () => {
    const history = compareWithHistory({ requesterId: 'u1', level: 'read', durationSeconds: 1800, at: AT, databaseId: 'orders' }, [past('u1', 'read', 10)]);
    expect(historyText(history, 'orders')).toMatch(/^This person: 1 past \(1 read\), .*\. Team: 1 request for orders \(1 read\)/);
  });

  // The scores themselves are tested in insights-scoring.test.ts; here, how they reach the card.
  it('names what differs from the team with scores, highest first, while the person has too few requests, and says so', () => {
    const previous = [
      past('u1', 'read', 9), past('u1', 'read', 10), past('u1', 'read', 11, 1800, 'denied'),
      ...Array.from({ length: 8 }, (_, i) => past('u2', 'read', 9 + (i % 8))),
    ];
    const history = compareWithHistory({ requesterId: 'u1', level: 'write', durationSeconds: 4 * 3600, at: new Date('2026-11-24T03:12:00Z'), databaseId: 'orders' }, previous);
    expect(history.unusual).toEqual([
      'Duration 4h is 8x the median for orders of 30m over 11 requests · score 6.0.',
      'Requested at 03:12 (UTC); usual hours 09-15 for orders over 11 requests · score 5.9.',
      'First write request on orders in 14 days (11 requests by 2 people) · score 4.6.',
      "1 of this person's 3 past requests here were denied.",
    ]);
    expect(history.anomalies?.map((anomaly) => anomaly.baseline)).toEqual(['database', 'database', 'database']);
    expect(historyText(history, 'orders')).toBe(
      "This person: 3 past (3 read), usually 30m, 2 approved, 1 denied. Team: 11 requests for orders (11 read), usually 09-16 UTC. This person has 3 past requests for orders, fewer than 5: compared with everyone's 11 instead.",
    );
  });

  it('uses the person\'s own baseline once it has 5 requests, in the catalog\'s timezone', () => {
    const previous = [9, 10, 11, 10, 9].map((hour) => past('u1', 'read', hour));
    const history = compareWithHistory({ requesterId: 'u1', level: 'write', durationSeconds: 1800, at: new Date('2026-11-24T03:12:00Z'), databaseId: 'orders' }, previous, { timeZone: 'America/New_York' });
    expect(history.unusual).toEqual([
      'Requested at 22:12 (America/New_York); usual hours 04-06 for this person over 5 requests · score 5.9.',
      'First write request by this person on orders in 14 days (5 requests: 5 read) · score 3.6.',
    ]);
    expect(history.baseline).toEqual([]);
  });

  it('calls a first request by a newcomer unusual only when the database has history', () => {
    const history = compareWithHistory({ requesterId: 'new', level: 'read', durationSeconds: 1800, at: AT, databaseId: 'orders' }, [past('u2', 'read', 10)]);
    expect(history.unusual).toEqual(['First request by this person for orders.']);
  });
});

describe('analyzeRequestHeuristically', () => {
  it('carries the rating, conflicts, history and alternatives', () => {
    const analysis = analyzeRequestHeuristically(facts({ level: 'write', conflicts: ['Write on production without a ticket.'], reason: 'Fix the monthly report numbers' }));
    expect(analysis).toMatchObject({ analyzer: 'heuristic', conflicts: ['Write on production without a ticket.'] });
    expect(analysis.level).toBe(analysis.heuristicLevel);
    expect(analysis.alternatives).toContain('An existing report or dashboard may answer this without database access.');
    expect(analysis.alternatives.length).toBeLessThanOrEqual(3);
  });
});

describe('costMicroUsd', () => {
  it('prices Haiku 5.5 tokens, cache writes at 1.25x and reads at 0.1x, and unknown models at zero', () => {
    // 2,000 input ($0.0002) + 1,000 written ($0.000125) + 10,000 read ($0.0001) + 300 output ($0.00015)
    expect(costMicroUsd('claude-haiku-5-5', { inputTokens: 2000, cacheWriteTokens: 1000, cacheReadTokens: 10_000, outputTokens: 300 })).toBe(575);
    expect(costMicroUsd('claude-sonnet-5-5', { inputTokens: 1000, cacheWriteTokens: 0, cacheReadTokens: 0, outputTokens: 100 })).toBe(3000);
    expect(costMicroUsd('claude-unknown', { inputTokens: 1000, cacheWriteTokens: 0, cacheReadTokens: 0, outputTokens: 100 })).toBe(0);
  });
});
