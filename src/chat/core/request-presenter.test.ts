import { describe, expect, it } from 'vitest';
import { plainText } from '../../lib/rich-text.js';
import { formatTime } from '../../lib/time.js';
import type { LeaseView, RequestView } from '../../modules/access-requests/access-request-types.js';
import { statusText as consoleStatus } from '../console/console-notifier.js';
import { approvalCard as slackCard } from '../slack/slack-approval-card.js';
import { approvalCard as teamsCard } from '../teams/teams-approval-card.js';
import { decisionLine, endedBy, statusLine } from './request-presenter.js';

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
