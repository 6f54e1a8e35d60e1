import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { SessionSummary } from '../../modules/access-requests/session-summary.js';
import type { Notification } from '../core/notifications.js';
import {
  activeLine, breakGlassAlert, configProblemLine, databaseAvailableLine, databaseUnavailableLine, extendedLine, failingLine, flaggedAlert, mfaAlertLine, offboardedLine, summaryParts,
} from '../core/request-presenter.js';
import { context, escape, section, type Block } from './slack-kit.js';
import { codeBlock, escapeMrkdwn, mrkdwnOf, slackLine } from './slack-rich.js';

/** Slack: the approval thread and the approvers' channel: access active, failures, alerts, the session summary. */

export function activeText(view: RequestView): string {
  return slackLine(activeLine(view));
}

export function extendedText(view: RequestView): string {
  return slackLine(extendedLine(view));
}

export function failingText(view: RequestView, operation: 'provision' | 'revoke', attempts: number, error: string): string {
  return slackLine(failingLine(view, operation, attempts, error));
}

export function breakGlassText(view: RequestView): string {
  const alert = breakGlassAlert(view);
  return `${slackLine(alert.line)} Reason: ${escapeMrkdwn(alert.reason, { inline: true })}. ${mrkdwnOf(alert.review)}`;
}

export function mfaAlertText(alert: Pick<Extract<Notification, { type: 'mfaAlert' }>, 'personExternalId' | 'what' | 'until' | 'byExternalId'>): string {
  return slackLine(mfaAlertLine(alert));
}

export function offboardedText(left: Extract<Notification, { type: 'personOffboarded' }>): string {
  return slackLine(offboardedLine(left));
}

/** Without the details (a file of several tenants), it points to where the operator finds them. */
export function configProblemText(message: string | undefined): string {
  const problem = configProblemLine(message);
  return problem.details ? `${slackLine(problem.line)}\n\`\`\`${codeBlock(problem.details)}\`\`\`` : slackLine(problem.line);
}

export const databaseUnavailableText = (message: string): string => slackLine(databaseUnavailableLine(message));

export const databaseAvailableText = (databaseId: string): string => slackLine(databaseAvailableLine(databaseId));

export function summaryBlocks(view: RequestView, summary: SessionSummary): Block[] {
  const parts = summaryParts(view, summary);
  const blocks = [section(`*Session summary*\n${parts.lines.map((line) => `• ${mrkdwnOf(line, { inline: true })}`).join('\n')}`)];
  for (const { heading, text } of parts.sections) blocks.push(section(`*${heading}*\n${escape(text)}`));
  if (parts.flags.length) blocks.push(section(`*Flagged for review*\n${parts.flags.map(slackLine).join('\n')}`));
  if (parts.unusual.length) blocks.push(section(`*Unusual against past sessions*\n${parts.unusual.map((item) => `• ${escapeMrkdwn(item, { inline: true })}`).join('\n')}`));
  if (parts.baseline) blocks.push(context(escape(parts.baseline)));
  if (parts.by) blocks.push(context(mrkdwnOf(parts.by)));
  return blocks;
}

export function flaggedText(view: RequestView): string {
  const alert = flaggedAlert(view);
  return `${slackLine(alert.line)}\n${alert.flags.map(slackLine).join('\n')}`;
}
