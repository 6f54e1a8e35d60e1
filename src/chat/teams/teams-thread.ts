import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { SessionSummary } from '../../modules/access-requests/session-summary.js';
import type { Notification } from '../core/notifications.js';
import {
  activeLine, breakGlassAlert, configProblemLine, databaseAvailableLine, databaseUnavailableLine, failingLine, flaggedAlert, mfaAlertLine, offboardedLine, summaryParts, type Line,
} from '../core/request-presenter.js';
import type { AdaptiveCard, CardElement } from './teams-card-types.js';
import { fitCard } from './teams-fit.js';
import { card, code, heading, listSection, notice, subtle, text } from './teams-kit.js';
import { joinMarkdown, md, paragraphs, richMarkdown, teamsLine } from './teams-markdown.js';

/** Teams: the approval thread and the approvers' channel: access active, failures, alerts, the session summary. */

export function accessActiveCard(view: RequestView): AdaptiveCard {
  return notice(text(teamsLine(activeLine(view))));
}

export function operationFailingCard(view: RequestView, operation: 'provision' | 'revoke', attempts: number, error: string): AdaptiveCard {
  return notice(text(teamsLine(failingLine(view, operation, attempts, error)), { color: operation === 'revoke' ? 'Attention' : 'Warning' }));
}

export function breakGlassAlertCard(view: RequestView): AdaptiveCard {
  const alert = breakGlassAlert(view);
  return notice({
    type: 'Container',
    style: 'attention',
    items: [text(teamsLine(alert.line)), heading('Reason'), text(paragraphs(alert.reason), { spacing: 'Small' }), text(richMarkdown(alert.review))],
  });
}

export type MfaAlert = Pick<Extract<Notification, { type: 'mfaAlert' }>, 'personExternalId' | 'what' | 'until' | 'byExternalId'>;

export function mfaAlertCard(alert: MfaAlert): AdaptiveCard {
  return notice(text(teamsLine(mfaAlertLine(alert)), alert.what === 'locked' ? { color: 'Attention' } : {}));
}

export function offboardedCard(left: Extract<Notification, { type: 'personOffboarded' }>): AdaptiveCard {
  return notice(text(teamsLine(offboardedLine(left)), { color: 'Warning' }));
}

/** Without the details (a file of several tenants), it points to where the operator finds them. */
export function configProblemCard(message: string | undefined): AdaptiveCard {
  const problem = configProblemLine(message);
  return notice(text(teamsLine(problem.line), { color: 'Warning' }), ...(problem.details ? [code(problem.details)] : []));
}

export function databaseUnavailableCard(message: string): AdaptiveCard {
  return notice(text(teamsLine(databaseUnavailableLine(message)), { color: 'Warning' }));
}

export function databaseAvailableCard(databaseId: string): AdaptiveCard {
  return notice(text(teamsLine(databaseAvailableLine(databaseId))));
}

/** What happened, after the access ended: the presenter's parts, each escaped here. */
export function sessionSummaryCard(view: RequestView, summary: SessionSummary): AdaptiveCard {
  const parts = summaryParts(view, summary);
  const body: CardElement[] = [
    text(richMarkdown(parts.title)),
    ...(parts.lines.length ? [text(joinMarkdown(parts.lines.map((line) => md`- ${line}`), '\n'), { spacing: 'Small' })] : []),
  ];
  for (const section of parts.sections) body.push(heading(section.heading), text(paragraphs(section.text), { spacing: 'Small' }));
  if (parts.flags.length) body.push(heading('Flagged for review'), flagLines(parts.flags));
  body.push(...listSection('Unusual against past sessions', parts.unusual));
  if (parts.baseline) body.push(subtle(md`${parts.baseline}`));
  if (parts.by) body.push(subtle(richMarkdown(parts.by)));
  return fitCard(card(body, [], { fullWidth: true }));
}

const flagLines = (flags: Line[]) => text(joinMarkdown(flags.map(teamsLine), '\n\n'), { spacing: 'Small' });

export function sessionFlaggedCard(view: RequestView): AdaptiveCard {
  const alert = flaggedAlert(view);
  return notice(text(teamsLine(alert.line), { color: 'Attention' }), ...(alert.flags.length ? [flagLines(alert.flags)] : []));
}
