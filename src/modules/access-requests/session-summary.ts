import { formatDuration, formatTime } from '../../lib/time.js';
import type { RequestView } from './access-request-types.js';

export interface SessionSummary {
  lines: string[];
}

/**
 * What happened, in a few lines for the approval thread. This is the seam where captured queries and
 * the AI's reading of them join later; today it states who, what, who approved, when and how it ended.
 */
export function summarizeSession(view: RequestView): SessionSummary {
  const lease = view.lease;
  const approval = view.decisions.find((d) => d.decision === 'approve');
  const lines = [
    `Who: <@${view.requester.externalId}> as \`${lease?.username ?? 'n/a'}\``,
    `What: ${view.level} on ${view.databaseId}${view.scope.length ? ` (${view.scope.join(', ')})` : ' (whole database)'}, for "${view.reason}"`,
  ];
  if (approval) lines.push(`Approved by: <@${approval.approverExternalId}> at ${formatTime(approval.at)}`);
  if (lease?.provisionedAt) {
    const end = lease.revokedAt ?? lease.expiresAt;
    lines.push(`Active: ${formatTime(lease.provisionedAt)} to ${formatTime(end)} (${formatDuration((end.getTime() - lease.provisionedAt.getTime()) / 1000)})`);
  }
  lines.push(`Ended: ${endedText(view)}`);
  lines.push('Queries: not captured for this database.');
  return { lines };
}

function endedText(view: RequestView): string {
  const lease = view.lease;
  if (!lease?.revokedAt) return 'not yet';
  const at = formatTime(lease.revokedAt);
  switch (lease.endReason) {
    case 'ended':
      return `ended early by <@${lease.endedByExternalId}>, user dropped at ${at}`;
    case 'revoked':
      return `revoked by <@${lease.endedByExternalId}>, user dropped at ${at}`;
    default:
      return `expired; sessions killed and user dropped at ${at}`;
  }
}
