import { formatDuration, formatTime } from '../../lib/time.js';
import type { RequestView } from './access-request-types.js';

export interface SessionSummary {
  lines: string[];
  /** For engineers and for a non-technical reader; absent until the session has been analyzed. */
  technical?: string | undefined;
  plain?: string | undefined;
  flags: Array<{ severity: 'info' | 'warning' | 'critical'; message: string }>;
  /** Whether a person should look at this session. */
  review: boolean;
  /** What stands out against past sessions, each with its score; and what could not be compared. */
  unusual?: string[] | undefined;
  baseline?: string[] | undefined;
  /** Who wrote the explanations, and why the model did not when one is configured. */
  by?: string | undefined;
}

/**
 * What happened, for the approval thread: who, what, who approved, when and how it ended, then what
 * was run (from the captured statements) in technical and plain words, with anything flagged.
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
  lines.push(`Recording: ${view.recording}`);
  const session = view.session;
  if (!session) return { lines, flags: [], review: false };
  return {
    lines,
    technical: session.technical,
    plain: session.plain,
    flags: session.flags.map(({ severity, message }) => ({ severity, message })),
    review: session.review,
    unusual: session.unusual,
    baseline: session.baseline,
    by: session.fallback ? `built-in rules (${session.fallback})` : session.analyzer === 'heuristic' ? 'built-in rules' : session.analyzer,
  };
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
    case 'emergency':
      return `revoked by an operator (emergency revoke-all), user dropped at ${at}`;
    default:
      return `expired; sessions killed and user dropped at ${at}`;
  }
}
