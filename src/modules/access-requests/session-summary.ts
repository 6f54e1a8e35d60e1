import { code, person, rich, type RichText } from '../../lib/rich-text.js';
import { formatDuration, formatTime } from '../../lib/time.js';
import type { RequestView } from './access-request-types.js';

export interface SessionSummary {
  /** Who, what, who approved, when and how it ended: neutral rich text, people as ids, the reason as plain text. */
  lines: RichText[];
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
 * No markup: each chat adapter renders (and escapes) the lines itself.
 */
export function summarizeSession(view: RequestView): SessionSummary {
  const lease = view.lease;
  const approval = view.decisions.find((d) => d.decision === 'approve');
  const lines = [
    rich`Who: ${person(view.requester.externalId)} as ${code(lease?.username ?? 'n/a')}`,
    rich`What: ${view.level} on ${view.databaseId}${view.scope.length ? ` (${view.scope.join(', ')})` : ' (whole database)'}, for "${view.reason}"`,
  ];
  if (approval) lines.push(rich`Approved by: ${person(approval.approverExternalId)} at ${formatTime(approval.at)}`);
  if (lease?.provisionedAt) {
    const end = lease.revokedAt ?? lease.expiresAt;
    lines.push(rich`Active: ${formatTime(lease.provisionedAt)} to ${formatTime(end)} (${formatDuration((end.getTime() - lease.provisionedAt.getTime()) / 1000)})`);
  }
  lines.push(rich`Ended: ${endedText(view)}`);
  lines.push(rich`Recording: ${view.recording}`);
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

function endedText(view: RequestView): RichText {
  const lease = view.lease;
  if (!lease?.revokedAt) return rich`not yet`;
  const at = formatTime(lease.revokedAt);
  const by = lease.endedByExternalId ? person(lease.endedByExternalId) : 'someone';
  switch (lease.endReason) {
    case 'ended':
      return rich`ended early by ${by}, user dropped at ${at}`;
    case 'revoked':
      return rich`revoked by ${by}, user dropped at ${at}`;
    case 'offboarded':
      return rich`revoked: the requester left; user dropped at ${at}`;
    case 'emergency':
      return rich`revoked by an operator (emergency revoke-all), user dropped at ${at}`;
    case 'ticket-closed':
      return rich`ended because ticket ${view.policy?.ticket?.key ?? view.ticket ?? ''} was closed; user dropped at ${at}`;
    default:
      return rich`expired; sessions killed and user dropped at ${at}`;
  }
}
