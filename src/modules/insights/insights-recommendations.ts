import { formatDuration } from '../../lib/time.js';
import { RISK_LEVELS, type RiskLevel } from '../risk/risk-types.js';
import { count, median } from './insights-scoring.js';
import type { Recommendation, ScopeWidth, SessionPoint } from './insights-types.js';

/**
 * Policy recommendations from the tenant's history, each with the numbers behind it. Pure.
 *
 * - Auto-approval candidates: requests of one kind (database, level, environment, scope width,
 *   duration band) approved by a person every time, at least 10 times, never denied nor left to
 *   expire, with a median of 15 minutes or less from request to approval. Admin levels and write on
 *   production are never proposed: quick approvals there are a question for the approvers instead.
 * - Narrower levels: write or admin grants whose recorded sessions (5 at least) never used what the
 *   level adds: no INSERT, UPDATE, DELETE, MERGE, TRUNCATE or COPY/LOAD DATA (counted as writes
 *   whatever their direction, to err on the safe side) for write; no DDL or GRANT for admin. Per
 *   database and level; else per person.
 * - Rubber-stamping: approvers with 20 approvals or more, none denied, and a median of 60 seconds or
 *   less from request to approval: a note for admins, with how many of those were rated High or
 *   Critical.
 */

export const AUTO_APPROVE = { minRequests: 10, maxMedianSeconds: 15 * 60 } as const;
export const NARROWER_LEVEL = { minSessions: 5 } as const;
export const RUBBER_STAMP = { minApprovals: 20, maxMedianSeconds: 60 } as const;

/** Upper bounds of the duration bands requests are grouped by. */
const DURATION_BANDS = [1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, Number.POSITIVE_INFINITY];
const APPROVED_STATES = new Set(['approved', 'provisioning', 'active', 'failed', 'revoking', 'revoke_failed', 'revoked', 'extended', 'scheduled', 'lapsed']);

export type CountsAs = 'read' | 'write' | 'admin';

export interface RequestRecord {
  id: string;
  requesterId: string;
  requesterExternalId: string;
  databaseId: string;
  /** From the catalog; undefined when the database has left it. */
  environment?: string | undefined;
  level: string;
  /** The built-in level the grant counts as; undefined when the level has left the catalog. */
  countsAs?: CountsAs | undefined;
  scopeWidth?: ScopeWidth | undefined;
  durationSeconds: number;
  state: string;
  risk: RiskLevel;
  autoApproved: boolean;
  breakGlass: boolean;
  createdAt: Date;
  decidedAt: Date | null;
}

export interface DecisionRecord {
  approverExternalId: string;
  decision: string;
  at: Date;
  requestCreatedAt: Date;
  risk: RiskLevel;
}

export interface SessionRecord extends SessionPoint {
  requestId: string;
  requesterExternalId: string;
  databaseId: string;
  level: string;
  countsAs?: CountsAs | undefined;
}

/** How a person is named in the text: a chat mention, or the plain id for reports. */
export type Naming = (externalId: string) => string;

export function recommend(input: { requests: RequestRecord[]; decisions: DecisionRecord[]; sessions: SessionRecord[] }, who: Naming = (id) => id): Recommendation[] {
  return [...autoApprovalCandidates(input.requests), ...narrowerLevels(input.sessions, who), ...rubberStampers(input.decisions, who)];
}

export function autoApprovalCandidates(requests: RequestRecord[]): Recommendation[] {
  const groups = new Map<string, RequestRecord[]>();
  for (const request of requests) {
    if (request.breakGlass || !request.countsAs || request.countsAs === 'admin' || !request.environment || !request.scopeWidth) continue;
    if (request.environment === 'production' && request.countsAs !== 'read') continue;
    const band = DURATION_BANDS.find((bound) => request.durationSeconds <= bound)!;
    const key = [request.databaseId, request.level, request.environment, request.scopeWidth, band].join('|');
    const group = groups.get(key);
    if (group) group.push(request);
    else groups.set(key, [request]);
  }
  const found: Array<Recommendation & { n: number }> = [];
  for (const group of groups.values()) {
    const approved = group.filter((request) => APPROVED_STATES.has(request.state));
    const byPerson = approved.filter((request) => !request.autoApproved && request.decidedAt);
    const denied = group.filter((request) => request.state === 'denied').length;
    const expired = group.filter((request) => request.state === 'expired').length;
    if (denied > 0 || expired > 0 || byPerson.length < AUTO_APPROVE.minRequests) continue;
    const waits = byPerson.map((request) => (request.decidedAt!.getTime() - request.createdAt.getTime()) / 1000);
    const typical = median(waits);
    if (typical > AUTO_APPROVE.maxMedianSeconds) continue;
    const { databaseId, level, environment, scopeWidth } = group[0]!;
    const longest = Math.max(...group.map((request) => request.durationSeconds));
    const highest = RISK_LEVELS[Math.max(...group.map((request) => RISK_LEVELS.indexOf(request.risk)))]!;
    const people = new Set(group.map((request) => request.requesterId)).size;
    const auto = approved.length - byPerson.length;
    const rule = [
      `name: ${databaseId}-${level}-${scopeWidth}-${formatDuration(longest)}`, `databases: [${databaseId}]`, `levels: [${level}]`,
      ...(scopeWidth === 'whole' ? [] : ['scoped: true']), `maxDuration: ${formatDuration(longest)}`, `maxRisk: ${highest}`,
    ].join(', ');
    found.push({
      kind: 'auto-approve',
      n: byPerson.length,
      text: `Candidate auto-approval rule: ${level} on ${databaseId} (${environment}), ${WIDTH_WORDS[scopeWidth!]}, up to ${formatDuration(longest)}.`,
      evidence: `${count(byPerson.length, 'such request')} since ${day(earliest(group))} were all approved by a person, none denied or left to expire${auto ? ` (and ${auto} auto-approved)` : ''}; `
        + `median ${wait(typical)} from request to approval, slowest ${wait(Math.max(...waits))}; ${count(people, 'requester')}; highest risk ${highest}. `
        + `In the catalog, under the policy that covers ${databaseId}: autoApprove: [{ ${rule} }]`,
    });
  }
  return found.sort((a, b) => b.n - a.n).map(({ n: _n, ...recommendation }) => recommendation);
}

export function narrowerLevels(sessions: SessionRecord[], who: Naming): Recommendation[] {
  const known = sessions.filter((session) => (session.countsAs === 'write' || session.countsAs === 'admin') && session.dml !== undefined && session.ddl !== undefined);
  const found: Recommendation[] = [];
  const byLevel = groupBy(known, (session) => `${session.databaseId}|${session.level}`);
  for (const group of byLevel.values()) {
    if (group.length < NARROWER_LEVEL.minSessions) continue;
    const advice = narrower(group);
    if (advice) {
      const people = tally(group.map((session) => session.requesterExternalId));
      found.push({
        kind: 'narrower-level',
        text: `Narrower default level on ${group[0]!.databaseId}: ${advice.to} instead of ${group[0]!.level}; the ${advice.unused} it adds ${group.length === 1 ? 'was' : 'were'} never used.`,
        evidence: `${count(group.length, `recorded ${group[0]!.level} session`)} since ${day(earliestAt(group))} by ${count(people.length, 'person', 'people')} (${people.slice(0, 5).map(([id, n]) => `${who(id)} ${n}`).join(', ')}) ran ${count(sum(group, (s) => s.statements), 'statement')}: ${advice.evidence}. `
          + `Offer ${advice.to} on ${group[0]!.databaseId} first, and keep ${group[0]!.level} for who needs it (a \`requesters\` entry, or a ticket rule).`,
      });
      continue;
    }
    // The level is used by some: name the people who never use it.
    for (const mine of groupBy(group, (session) => session.requesterExternalId).values()) {
      const personal = narrower(mine);
      if (!personal || mine.length < NARROWER_LEVEL.minSessions) continue;
      const { databaseId, level, requesterExternalId } = mine[0]!;
      found.push({
        kind: 'narrower-level',
        text: `${who(requesterExternalId)} asks for ${level} on ${databaseId} but never uses it: ${personal.to} would do.`,
        evidence: `${count(mine.length, `recorded ${level} session`)} since ${day(earliestAt(mine))} ran ${count(sum(mine, (s) => s.statements), 'statement')}: ${personal.evidence}; others' ${level} sessions on ${databaseId} do use it.`,
      });
    }
  }
  return found;
}

/** What a group of write or admin sessions could have done with: read when nothing changed, write when only data did. */
function narrower(group: SessionRecord[]): { to: CountsAs; unused: string; evidence: string } | undefined {
  const dml = sum(group, (session) => session.dml!);
  const ddl = sum(group, (session) => session.ddl!);
  if (dml === 0 && ddl === 0) return { to: 'read', unused: 'write rights', evidence: 'none of them INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY or DDL' };
  if (group[0]!.countsAs === 'admin' && ddl === 0) return { to: 'write', unused: 'schema and privilege rights', evidence: `${count(dml, 'data change')} but no DDL or GRANT` };
  return undefined;
}

export function rubberStampers(decisions: DecisionRecord[], who: Naming): Recommendation[] {
  const found: Array<Recommendation & { n: number }> = [];
  for (const mine of groupBy(decisions, (decision) => decision.approverExternalId).values()) {
    const approvals = mine.filter((decision) => decision.decision === 'approve');
    if (mine.some((decision) => decision.decision === 'deny') || approvals.length < RUBBER_STAMP.minApprovals) continue;
    const waits = approvals.map((decision) => Math.max(0, (decision.at.getTime() - decision.requestCreatedAt.getTime()) / 1000)).sort((a, b) => a - b);
    const typical = median(waits);
    if (typical > RUBBER_STAMP.maxMedianSeconds) continue;
    const risky = approvals.filter((decision) => decision.risk === 'high' || decision.risk === 'critical').length;
    const ninetieth = waits[Math.min(waits.length - 1, Math.ceil(0.9 * waits.length) - 1)]!;
    found.push({
      kind: 'rubber-stamp',
      n: approvals.length,
      text: `${who(mine[0]!.approverExternalId)} approves almost at once and has never denied: worth checking that approvals are read (a note for admins).`,
      evidence: `${count(approvals.length, 'approval')} since ${day(new Date(Math.min(...approvals.map((d) => d.requestCreatedAt.getTime()))))}, none denied; median ${wait(typical)} from request to approval, 9 in 10 within ${wait(ninetieth)}; ${risky} of them rated High or Critical.`,
    });
  }
  return found.sort((a, b) => b.n - a.n).map(({ n: _n, ...recommendation }) => recommendation);
}

const WIDTH_WORDS: Record<ScopeWidth, string> = { tables: 'named tables', schemas: 'schemas', whole: 'whole database' };

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

function tally(values: string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

const sum = <T>(items: T[], value: (item: T) => number) => items.reduce((total, item) => total + value(item), 0);
const earliest = (requests: RequestRecord[]) => new Date(Math.min(...requests.map((request) => request.createdAt.getTime())));
const earliestAt = (sessions: SessionRecord[]) => new Date(Math.min(...sessions.map((session) => session.at.getTime())));
const day = (date: Date) => date.toISOString().slice(0, 10);
const wait = (seconds: number) => formatDuration(Math.max(1, Math.round(seconds)));
