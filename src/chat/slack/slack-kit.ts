import { formatDuration } from '../../lib/time.js';
import type { Suggestion } from '../../modules/analysis/analysis-types.js';
import type { RiskParts } from '../core/request-presenter.js';
import { escapeMrkdwn, mrkdwnOf, slackLine } from './slack-rich.js';

/** Slack Block Kit's building blocks, shared by every screen. Pure: data in, blocks out. */

export type Block = Record<string, unknown>;

/** Action ids and modal callback ids; modals' names end in `View` (slack-screen tells them apart so). */
export const IDS = {
  requestView: 'dbaccess.request',
  denyView: 'dbaccess.deny',
  approve: 'dbaccess.approve',
  deny: 'dbaccess.deny',
  end: 'dbaccess.end',
  retry: 'dbaccess.retry',
  cancel: 'dbaccess.cancel',
  extend: 'dbaccess.extend',
  extendView: 'dbaccess.extend-form',
  mfaApproveView: 'dbaccess.mfa-approve',
  mfaConfirm: 'dbaccess.mfa-confirm',
  mfaConfirmView: 'dbaccess.mfa-confirm-form',
  reveal: 'dbaccess.reveal',
  review: 'dbaccess.review',
  revealView: 'dbaccess.reveal-form',
  analyze: 'dbaccess.analyze',
  useSuggestion: 'dbaccess.use-suggestion',
  approveWithChanges: 'dbaccess.approve-with-changes',
  changesView: 'dbaccess.approve-with-changes-form',
} as const;

export const RISK_EMOJI = { low: ':large_green_circle:', medium: ':large_yellow_circle:', high: ':large_orange_circle:', critical: ':red_circle:' } as const;
export const plain = (text: string) => ({ type: 'plain_text', text: text.slice(0, 150), emoji: true });
export const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: text.slice(0, 3000) });
export const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
export const context = (text: string): Block => ({ type: 'context', elements: [mrkdwn(text)] });
/** Any text we did not write (a reason, a model's words, a driver's error) goes into mrkdwn through this. */
export const escape = (text: string) => escapeMrkdwn(text);
export const title = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
export const bullets = (items: string[]) => (items.length ? `\n• ${items.map((item) => escapeMrkdwn(item, { inline: true })).join('\n• ')}` : '');
/** A value to copy exactly, in a code span it cannot close. */
export const codeSpan = (value: string) => mrkdwnOf({ parts: [{ kind: 'code', text: value }] });
export const confirmEnd = (text: string) => ({ title: plain('End access'), text: plain(text), confirm: plain('End it'), deny: plain('Keep it') });

/**
 * What the risk section says beside the rating (request-presenter's riskParts): the model's reading
 * under its own heading, a notice when it and the rules are two bands apart, and when it was asked.
 * Model text is escaped like the requester's: it may echo what the requester wrote.
 */
export function riskPartBlocks(parts: RiskParts): Block[] {
  const blocks: Block[] = [];
  if (parts.notice) blocks.push(section(slackLine(parts.notice)));
  if (parts.model) blocks.push(section(`*${escapeMrkdwn(parts.model.heading, { inline: true })}*${bullets(parts.model.reasons.slice(0, 5))}`));
  if (parts.time) blocks.push(context(slackLine(parts.time)));
  return blocks;
}

export const suggestionText = (suggestion: Suggestion) =>
  `${codeSpan(suggestion.level)} on ${suggestion.scope.length ? suggestion.scope.map(codeSpan).join(', ') : 'the same scope'} for ${formatDuration(suggestion.durationSeconds)}`;

