import { formatDuration } from '../../lib/time.js';
import type { RequestAnalysis, Suggestion } from '../../modules/analysis/analysis-types.js';
import { escapeMrkdwn, mrkdwnOf } from './slack-rich.js';

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

export const suggestionText = (suggestion: Suggestion) =>
  `${codeSpan(suggestion.level)} on ${suggestion.scope.length ? suggestion.scope.map(codeSpan).join(', ') : 'the same scope'} for ${formatDuration(suggestion.durationSeconds)}`;

/** Who rated it, and why the built-in rules answered when a model is configured. */
export function analyzerText(analysis: RequestAnalysis): string {
  if (analysis.fallback) return `built-in rules: ${analysis.fallback}`;
  if (analysis.analyzer === 'heuristic') return 'built-in rules';
  if (analysis.modelLevel) return `${analysis.analyzer} rated it ${title(analysis.modelLevel)}; the built-in rules hold it at ${title(analysis.level)}`;
  return analysis.level === analysis.heuristicLevel ? analysis.analyzer : `${analysis.analyzer}; built-in rules: ${title(analysis.heuristicLevel)}`;
}
