import { person, rich } from '../../lib/rich-text.js';
import { formatTime } from '../../lib/time.js';
import type { InsightsOverview } from '../../modules/insights/insights-types.js';
import type { SystemStatus } from '../core/system-status.js';
import { codeSpan, escape } from './slack-kit.js';
import { mrkdwnOf } from './slack-rich.js';

/** Slack: what admins and requesters ask by command: status, insights, help, their list. */

export type { SystemStatus } from '../core/system-status.js';

export function statusText(status: SystemStatus): string {
  const lines = [
    '*dbaccess status*',
    `• Active temporary users: ${status.activeLeases}`,
    `• Jobs: ${Object.entries(status.queue).map(([state, count]) => `${count} ${state}`).join(', ')}`,
  ];
  if (status.unreviewedBreakGlass.length > 0) {
    lines.push(`• :rotating_light: Break-glass access not yet reviewed: ${status.unreviewedBreakGlass.map((b) => `\`${b.id}\` (${b.level} on ${b.databaseId}, ${formatTime(b.createdAt)})`).join(', ')}`);
  } else lines.push('• Break-glass: all reviewed');
  if (status.failingRevocations.length === 0) lines.push('• Revocations: none failing :white_check_mark:');
  else {
    lines.push(`• :rotating_light: Revocations failing and retrying: ${status.failingRevocations.length}`);
    for (const stuck of status.failingRevocations) {
      lines.push(`    ◦ ${codeSpan(stuck.username)} on ${stuck.databaseId} (request ${stuck.requestId}), due ${formatTime(stuck.expiresAt)}, ${stuck.attempts} failed attempts: ${escape(stuck.lastError ?? '')}`);
    }
  }
  return lines.join('\n');
}

/** `/dbaccess insights`: the period's highest anomalies, the recommendations with their evidence, and what is not scored yet. */
export function insightsText(overview: InsightsOverview, days: number): string {
  const { period, anomalies, recommendations, notes } = overview;
  const lines = [
    `*Insights: the last ${days} days* (${period.from.toISOString().slice(0, 10)} to ${period.to.toISOString().slice(0, 10)}; ${overview.requestsScored} requests and ${overview.sessionsScored} recorded sessions, each scored against the 180 days before it)`,
    '*Anomalies* (score 3.5 or more; highest first)',
  ];
  if (anomalies.length === 0) lines.push('• Nothing stood out.');
  for (const anomaly of anomalies.slice(0, 15)) {
    lines.push(`• *${anomaly.score.toFixed(1)}* \`${anomaly.requestId}\`${anomaly.kind === 'session' ? ' session' : ''} by ${mrkdwnOf(rich`${person(anomaly.personExternalId)}`)} on ${anomaly.databaseId}: ${escape(anomaly.text)}`);
  }
  if (anomalies.length > 15) lines.push(`• …and ${anomalies.length - 15} more (the report lists them all).`);
  lines.push('*Recommendations*');
  if (recommendations.length === 0) lines.push('• None: no kind of request, grant or approver meets a recommendation\'s thresholds yet.');
  for (const recommendation of recommendations) lines.push(`• ${recommendation.text}\n    ◦ ${recommendation.evidence}`);
  if (notes.length) lines.push('*Not scored yet*', ...notes.map((note) => `• ${note}`));
  return lines.join('\n');
}

export function helpText(): string {
  return [
    '*dbaccess*: temporary database access, approved in Slack.',
    '• `/dbaccess`: request access (opens a form)',
    '• `/dbaccess list`: your recent requests and active access',
    '• `/dbaccess revoke <request id>`: end access now (yours, or any as an approver)',
    '• `/dbaccess cancel <request id>`: cancel a request that waits (yours, or any as an approver)',
    '• `/dbaccess approve <request id>` / `/dbaccess deny <request id> [reason]`: decide without the card (approvers)',
    '• `/dbaccess status`: system health and failing revocations (admins)',
    '• `/dbaccess mfa reset @person`: reset someone\'s MFA (admins)',
    '• `/dbaccess mfa`: set up the second factor some approvals need',
    '• `/dbaccess policy <database> [@person]`: who approves, what needs MFA, which rules apply (admins)',
    '• `/dbaccess insights`: anomalies of the last 30 days and policy recommendations (admins)',
    '• `/dbaccess report <period> [db:<database>] [env:<environment>] [@person]`: who had what access, approvals, MFA, break-glass, flags; with download links (auditors, admins). Periods: `2026-11`, `2026-Q4`, `last 30d`, `2026-11-01..2026-11-15`',
    '• `/dbaccess audit verify`: check that the audit log is complete and unaltered (auditors, admins)',
    '• `/dbaccess help`: this message',
  ].join('\n');
}

export function listText(rows: Array<{ id: string; databaseId: string; level: string; state: string; createdAt: Date }>, active: Map<string, Date>): string {
  if (rows.length === 0) return 'You have no requests yet. Type `/dbaccess` to ask for access.';
  return ['*Your recent requests*', ...rows.map((row) => {
    const until = active.get(row.id);
    return `• \`${row.id}\` ${row.level} on ${row.databaseId}: ${row.state}${until ? `, until ${formatTime(until)}` : ''} (asked ${formatTime(row.createdAt)})`;
  })].join('\n');
}
