import { describe, expect, it } from 'vitest';
import { autoApprovalCandidates, narrowerLevels, recommend, rubberStampers, type DecisionRecord, type RequestRecord, type SessionRecord } from './insights-recommendations.js';

const START = Date.UTC(2026, 8, 1, 9);
const HOUR = 3_600_000;
const mention = (id: string) => `<@${id}>`;

let sequence = 0;
/** A request approved by a person `waitSeconds` after it was made, one a day from START. */
const request = (changes: Partial<RequestRecord> & { waitSeconds?: number } = {}): RequestRecord => {
  const { waitSeconds = 120, ...rest } = changes;
  const createdAt = new Date(START + sequence++ * 24 * HOUR);
  return {
    id: `R${sequence}`, requesterId: `u${sequence % 3}`, requesterExternalId: `U${sequence % 3}`, databaseId: 'analytics', environment: 'staging',
    level: 'read', countsAs: 'read', scopeWidth: 'tables', durationSeconds: 3600, state: 'revoked', risk: 'low', autoApproved: false, breakGlass: false,
    createdAt, decidedAt: new Date(createdAt.getTime() + waitSeconds * 1000), ...rest,
  };
};
const many = (n: number, changes: Parameters<typeof request>[0] = {}) => Array.from({ length: n }, (_, i) => request({ waitSeconds: 60 + i * 20, ...changes }));

describe('auto-approval candidates', () => {
  it('proposes a rule for a kind of request always approved within minutes, with the numbers and the YAML', () => {
    sequence = 0;
    const [candidate, ...rest] = autoApprovalCandidates([...many(12), ...many(3, { durationSeconds: 8 * 3600 })]);
    expect(rest).toEqual([]);
    expect(candidate).toEqual({
      kind: 'auto-approve',
      text: 'Candidate auto-approval rule: read on analytics (staging), named tables, up to 1h.',
      evidence: '12 such requests since 2026-09-01 were all approved by a person, none denied or left to expire; median 2m50s from request to approval, slowest 4m40s; '
        + '3 requesters; highest risk low. In the catalog, under the policy that covers analytics: '
        + 'autoApprove: [{ name: analytics-read-tables-1h, databases: [analytics], levels: [read], scoped: true, maxDuration: 1h, maxRisk: low }]',
    });
  });

  it('proposes nothing when one was denied or left to expire, approvals were slow, or there are too few', () => {
    sequence = 0;
    expect(autoApprovalCandidates([...many(12), request({ state: 'denied' })])).toEqual([]);
    expect(autoApprovalCandidates([...many(12), request({ state: 'expired', decidedAt: null })])).toEqual([]);
    expect(autoApprovalCandidates(many(12, { waitSeconds: 40 * 60 }))).toEqual([]);
    expect(autoApprovalCandidates(many(9))).toEqual([]);
  });

  it('never proposes admin, nor write on production, and counts auto-approved requests apart', () => {
    sequence = 0;
    expect(autoApprovalCandidates(many(12, { level: 'admin', countsAs: 'admin' }))).toEqual([]);
    expect(autoApprovalCandidates(many(12, { level: 'write', countsAs: 'write', environment: 'production' }))).toEqual([]);
    const [withAuto] = autoApprovalCandidates([...many(10), ...many(5, { autoApproved: true })]);
    expect(withAuto!.evidence).toMatch(/^10 such requests .* none denied or left to expire \(and 5 auto-approved\);/);
  });

  it('groups by kind: a different duration band or scope width is another kind', () => {
    sequence = 0;
    expect(autoApprovalCandidates([...many(6), ...many(6, { scopeWidth: 'whole' })])).toEqual([]);
  });
});

describe('narrower levels', () => {
  const session = (requester: string, changes: Partial<SessionRecord> = {}): SessionRecord => ({
    requestId: `R${sequence++}`, requesterId: requester.toLowerCase(), requesterExternalId: requester, databaseId: 'orders', level: 'write', countsAs: 'write',
    at: new Date(START + sequence * HOUR), statements: 12, objects: ['sales.orders'], dml: 0, ddl: 0, ...changes,
  });

  it('proposes read when no write session ever wrote', () => {
    sequence = 0;
    const sessions = [...Array.from({ length: 4 }, () => session('U0BOB')), ...Array.from({ length: 3 }, () => session('U0ALICE', { statements: 40 }))];
    expect(narrowerLevels(sessions, mention)).toEqual([{
      kind: 'narrower-level',
      text: 'Narrower default level on orders: read instead of write; the write rights it adds were never used.',
      evidence: '7 recorded write sessions since 2026-09-01 by 2 people (<@U0BOB> 4, <@U0ALICE> 3) ran 168 statements: none of them INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY or DDL. '
        + 'Offer read on orders first, and keep write for who needs it (a `requesters` entry, or a ticket rule).',
    }]);
  });

  it('names the person who never writes when others do, and proposes write instead of admin without DDL', () => {
    sequence = 0;
    const mixed = [...Array.from({ length: 5 }, () => session('U0BOB')), session('U0ALICE', { dml: 3 })];
    expect(narrowerLevels(mixed, mention).map((r) => r.text)).toEqual(['<@U0BOB> asks for write on orders but never uses it: read would do.']);
    const admin = Array.from({ length: 5 }, () => session('U0BOB', { level: 'admin', countsAs: 'admin', dml: 2 }));
    expect(narrowerLevels(admin, mention).map((r) => r.text)).toEqual(['Narrower default level on orders: write instead of admin; the schema and privilege rights it adds were never used.']);
  });

  it('proposes nothing from too few sessions, from sessions that wrote, or when writes are not known', () => {
    sequence = 0;
    expect(narrowerLevels(Array.from({ length: 4 }, () => session('U0BOB')), mention)).toEqual([]);
    expect(narrowerLevels(Array.from({ length: 6 }, (_, i) => session('U0BOB', { dml: i === 2 ? 1 : 0 })), mention)).toEqual([]);
    expect(narrowerLevels(Array.from({ length: 6 }, () => session('U0BOB', { dml: undefined, ddl: undefined })), mention)).toEqual([]);
    expect(narrowerLevels(Array.from({ length: 6 }, () => session('U0BOB', { level: 'read', countsAs: 'read' })), mention)).toEqual([]);
  });
});

describe('rubber-stamping approvers', () => {
  const decision = (approver: string, waitSeconds: number, changes: Partial<DecisionRecord> = {}): DecisionRecord => {
    const requestCreatedAt = new Date(START + sequence++ * HOUR);
    return { approverExternalId: approver, decision: 'approve', at: new Date(requestCreatedAt.getTime() + waitSeconds * 1000), requestCreatedAt, risk: 'low', ...changes };
  };
  const quick = (approver: string, n: number) => Array.from({ length: n }, (_, i) => decision(approver, 10 + i, { risk: i % 4 === 0 ? 'high' : 'low' }));

  it('notes an approver who approves within seconds and never denies, with how many were risky', () => {
    sequence = 0;
    expect(rubberStampers([...quick('U0ALICE', 24), ...Array.from({ length: 24 }, () => decision('U0BOB', 600))], mention)).toEqual([{
      kind: 'rubber-stamp',
      text: '<@U0ALICE> approves almost at once and has never denied: worth checking that approvals are read (a note for admins).',
      evidence: '24 approvals since 2026-09-01, none denied; median 22s from request to approval, 9 in 10 within 31s; 6 of them rated High or Critical.',
    }]);
  });

  it('does not note approvers who deny sometimes, take their time, or have decided little', () => {
    sequence = 0;
    expect(rubberStampers([...quick('U0ALICE', 24), decision('U0ALICE', 30, { decision: 'deny' })], mention)).toEqual([]);
    expect(rubberStampers(quick('U0ALICE', 19), mention)).toEqual([]);
    expect(rubberStampers(Array.from({ length: 30 }, () => decision('U0ALICE', 300)), mention)).toEqual([]);
  });
});

it('recommend gathers all three kinds, naming people as asked', () => {
  sequence = 0;
  const found = recommend({
    requests: many(10),
    sessions: Array.from({ length: 5 }, (_, i) => ({ requestId: `R${i}`, requesterId: 'b', requesterExternalId: 'U0BOB', databaseId: 'orders', level: 'write', countsAs: 'write' as const, at: new Date(START), statements: 3, objects: [], dml: 0, ddl: 0 })),
    decisions: Array.from({ length: 20 }, (_, i) => ({ approverExternalId: 'U0ALICE', decision: 'approve', at: new Date(START + i * HOUR + 5000), requestCreatedAt: new Date(START + i * HOUR), risk: 'low' as const })),
  });
  expect(found.map((r) => r.kind)).toEqual(['auto-approve', 'narrower-level', 'rubber-stamp']);
  expect(found[2]!.text).toMatch(/^U0ALICE approves/);
});
