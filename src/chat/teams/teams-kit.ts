import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { Suggestion } from '../../modules/analysis/analysis-types.js';
import { formatDuration } from '../../lib/time.js';
import type { CancelData, DecisionData, RequestActionData, TeamsActionData, TeamsVerb } from './teams-actions.js';
import type { AdaptiveCard, CardAction, CardElement, ColumnSet, ExecuteAction, RichTextBlock, ShowCardAction, TextBlock, TextColor } from './teams-card-types.js';
import { fitCard } from './teams-fit.js';
import type { RiskParts } from '../core/request-presenter.js';
import { Markdown, escapeMarkdown, md, teamsLine } from './teams-markdown.js';

/** The building blocks of every Teams card. Pure: data in, card JSON out. */

export const execute = <V extends TeamsVerb>(verb: V, title: string, data: TeamsActionData[V], style?: 'positive' | 'destructive'): ExecuteAction<V> =>
  ({ type: 'Action.Execute', title, verb, data, ...(style ? { style } : {}) });
export const requestData = (view: RequestView): RequestActionData => ({ requestId: view.id, version: view.version });
export const decisionData = (view: RequestView): DecisionData => ({
  ...requestData(view),
  databaseId: view.databaseId,
  requesterExternalId: view.requester.externalId,
  // Who decides is a matter of the request as asked, whatever approvers narrowed.
  level: view.changes?.asked.level ?? view.level,
  mfa: view.policy?.mfaRequired ?? false,
});


export const card = (body: CardElement[], actions: CardAction[] = [], options: { fullWidth?: boolean } = {}): AdaptiveCard => ({
  type: 'AdaptiveCard',
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  body,
  ...(actions.length ? { actions } : {}),
  ...(options.fullWidth ? { msteams: { width: 'Full' as const } } : {}),
});
export const subCard = (body: CardElement[], actions: CardAction[]): AdaptiveCard => card(body, actions);

export const text = (content: Markdown, options: Omit<TextBlock, 'type' | 'text' | 'wrap'> = {}): TextBlock => ({ type: 'TextBlock', text: content.text, wrap: true, ...options });
export const subtle = (content: Markdown): TextBlock => text(content, { isSubtle: true, size: 'Small' });
export const heading = (label: string): TextBlock => text(md`**${label}**`, { spacing: 'Medium' });
export const bullets = (items: string[]): TextBlock => text(new Markdown(items.map((item) => `- ${escapeMarkdown(item)}`).join('\n')), { spacing: 'Small' });
/** Shown exactly as given, in a monospace font: SQL, credentials, a config error. */
export const code = (value: string): RichTextBlock => ({ type: 'RichTextBlock', spacing: 'Small', inlines: [{ type: 'TextRun', text: value, fontType: 'Monospace' }] });
export const listSection = (label: string, items: string[]): CardElement[] => (items.length ? [heading(label), bullets(items)] : []);
/** A label and a value to copy, side by side. */
export const valueRow = (label: string, value: string): ColumnSet => ({
  type: 'ColumnSet',
  spacing: 'Small',
  columns: [
    { type: 'Column', width: '90px', items: [text(md`**${label}**`)] },
    { type: 'Column', width: 'stretch', items: [code(value)] },
  ],
});
/** Slack's confirm dialog: a destructive action opens a short question first. */
export const confirmed = (title: string, question: string, action: CardAction): ShowCardAction => ({
  type: 'Action.ShowCard',
  title,
  card: subCard([text(md`${question}`)], [action]),
});

export const RISK = {
  low: { icon: '🟢', color: 'Good' },
  medium: { icon: '🟡', color: 'Warning' },
  high: { icon: '🟠', color: 'Warning' },
  critical: { icon: '🔴', color: 'Attention' },
} as const satisfies Record<RequestView['risk']['level'], { icon: string; color: TextColor }>;
export const title = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);


export const notice = (...body: CardElement[]) => fitCard(card(body));

/** Cancel while the request waits, confirmed first. */
export const cancelAction = (view: RequestView, from: CancelData['from']): ShowCardAction =>
  confirmed('Cancel request', `Cancel request ${view.id}? A database user being created for it is dropped.`, execute('cancel', 'Cancel request', { ...requestData(view), from }, 'destructive'));

/**
 * What the risk section says beside the rating (request-presenter's riskParts): the model's reading
 * under its own heading, a notice when it and the rules are two bands apart, and when it was asked.
 */
export function riskPartElements(parts: RiskParts): CardElement[] {
  const elements: CardElement[] = [];
  if (parts.notice) elements.push({ type: 'Container', style: 'warning', items: [text(teamsLine(parts.notice), { color: 'Warning' })] });
  if (parts.model) elements.push(...listSection(parts.model.heading, parts.model.reasons.slice(0, 5)));
  if (parts.time) elements.push(subtle(teamsLine(parts.time)));
  return elements;
}

export const suggestionText = (suggestion: Suggestion) =>
  `${suggestion.level} on ${suggestion.scope.length ? suggestion.scope.join(', ') : 'the same scope'} for ${formatDuration(suggestion.durationSeconds)}`;

