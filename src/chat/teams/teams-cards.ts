import type { CatalogView } from '../../config/catalog.js';
import type { FormAnalysis, FormState as BaseFormState } from '../core/request-form.js';
import type { MessageRef } from '../../db/schema.js';
import { formatDuration, formatTime } from '../../lib/time.js';
import type { DraftField } from '../../modules/access-requests/access-request-schemas.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { SessionSummary } from '../../modules/access-requests/session-summary.js';
import type { RequestAnalysis, Suggestion } from '../../modules/analysis/analysis-types.js';
import { clientCommand, connectionUri, type Credentials } from '../../modules/credentials/credentials.js';
import type { Notification, NotificationType } from '../core/notifications.js';
import { leftOutSentence } from '../../modules/credentials/postgres-grantable.js';
import { offboardingLine } from '../core/offboarding-text.js';

/**
 * Microsoft Teams: Adaptive Card 1.5 for every screen dbaccess shows, buttons as Universal Actions
 * (`Action.Execute`, answered by `onAdaptiveCardInvoke`, which replaces the card in place). Pure: data
 * in, card JSON out. Every message is a card, so one escaping regime covers everything: TextBlocks take
 * `Markdown` built with `md`, which escapes whatever it interpolates; values that must be copied exactly
 * (SQL, credentials) go in RichTextBlock runs, which Teams shows verbatim.
 */

// ---- Markdown that cannot be injected ------------------------------------------------------------

/** Text that is safe to put in a TextBlock: our own markup, with every interpolated value escaped. */
export class Markdown {
  readonly #brand = 'markdown';
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

// Bidi overrides reorder what a reader sees; other control characters have no business in a card.
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Escapes text for Teams' TextBlock markdown: emphasis, links, code, list, heading and rule markers
 * get a backslash; `<` and `>` become their full-width forms, because Teams reads `<at>…</at>` as a
 * mention before any markdown does and a backslash does not stop it in every client. Inline (default),
 * newlines become spaces so a value cannot fake a line of the card; `multiline` keeps them as
 * paragraph breaks (Teams needs a blank line for a visible break outside lists).
 */
export function escapeMarkdown(text: string, { multiline = false }: { multiline?: boolean } = {}): string {
  const clean = text.replace(/\r\n?/g, '\n').replace(/\t/g, ' ').replace(INVISIBLE, '');
  if (!multiline) return escapeLine(clean.replace(/\s*\n\s*/g, ' '));
  return clean
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line, index, lines) => line !== '' || (index > 0 && lines[index - 1] !== ''))
    .map(escapeLine)
    .join('\n\n')
    .trim();
}

function escapeLine(line: string): string {
  return line
    .replace(/[\\`*_[\]~]/g, '\\$&')
    .replace(/</g, '＜')
    .replace(/>/g, '＞')
    .replace(/^(\s*)([#+=|-])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

type MarkdownValue = string | number | Markdown;

/** Tagged template: the literal parts are our markup, every `${value}` is escaped unless it is Markdown. */
export function md(strings: TemplateStringsArray, ...values: MarkdownValue[]): Markdown {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += (value instanceof Markdown ? value.text : escapeMarkdown(String(value))) + (strings[index + 1] ?? '');
  });
  return new Markdown(text);
}

/** Untrusted text of several lines (a reason, a model's summary), each line escaped. */
export const paragraphs = (text: string) => new Markdown(escapeMarkdown(text, { multiline: true }));
const joinMarkdown = (parts: Markdown[], separator: string) => new Markdown(parts.map((part) => part.text).join(separator));

/** A person, shown by their platform id (an email address for Teams users). */
export function mention(externalId: string): Markdown {
  return md`${externalId}`;
}

// ---- Adaptive Card types -------------------------------------------------------------------------

export type TextColor = 'Default' | 'Good' | 'Warning' | 'Attention' | 'Accent';
type Spacing = 'None' | 'Small' | 'Default' | 'Medium' | 'Large';

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  size?: 'Small' | 'Medium' | 'Large';
  weight?: 'Bolder';
  color?: TextColor;
  isSubtle?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}
export interface TextRun {
  type: 'TextRun';
  text: string;
  fontType?: 'Monospace';
}
/** No markdown: what it shows is exactly its text. */
export interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  spacing?: Spacing;
}
export interface FactSet {
  type: 'FactSet';
  facts: Array<{ title: string; value: string }>;
}
export interface Container {
  type: 'Container';
  items: CardElement[];
  style?: 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
  bleed?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}
export interface ColumnSet {
  type: 'ColumnSet';
  columns: Array<{ type: 'Column'; width: 'auto' | 'stretch' | string; items: CardElement[] }>;
  spacing?: Spacing;
}
export interface ActionSet {
  type: 'ActionSet';
  actions: CardAction[];
}
export interface InputText {
  type: 'Input.Text';
  id: string;
  label: string;
  value?: string;
  placeholder?: string;
  isMultiline?: boolean;
  maxLength?: number;
  isRequired?: boolean;
  errorMessage?: string;
}
export interface InputChoiceSet {
  type: 'Input.ChoiceSet';
  id: string;
  label: string;
  choices: Array<{ title: string; value: string }>;
  value?: string;
  placeholder?: string;
  style?: 'compact' | 'filtered';
}
export interface InputToggle {
  type: 'Input.Toggle';
  id: string;
  label: string;
  title: string;
  value: 'true' | 'false';
  valueOn: 'true';
  valueOff: 'false';
}
export type CardElement = TextBlock | RichTextBlock | FactSet | Container | ColumnSet | ActionSet | InputText | InputChoiceSet | InputToggle;

export interface ExecuteAction<V extends TeamsVerb = TeamsVerb> {
  type: 'Action.Execute';
  title: string;
  verb: V;
  data: TeamsActionData[V];
  style?: 'positive' | 'destructive';
}
export interface ShowCardAction {
  type: 'Action.ShowCard';
  title: string;
  card: AdaptiveCard;
  style?: 'positive' | 'destructive';
}
export type CardAction = { [V in TeamsVerb]: ExecuteAction<V> }[TeamsVerb] | ShowCardAction;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.5';
  body: CardElement[];
  actions?: CardAction[];
  msteams?: { width: 'Full' };
}

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
export interface CardAttachment {
  contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
  content: AdaptiveCard;
}
export const attachment = (card: AdaptiveCard): CardAttachment => ({ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: fitCard(card) });

// ---- Universal Actions: verbs, their data, the inputs Teams merges into it -----------------------

export const VERBS = ['analyze', 'submit', 'useSuggestion', 'approve', 'deny', 'end', 'cancel', 'review', 'retry', 'extend', 'reveal'] as const;
export type TeamsVerb = (typeof VERBS)[number];

/** Ids of the inputs; Teams adds their values to `action.data` under these names. */
export const INPUTS = {
  /** The approval card's MFA code (approve) and the credentials message's (reveal). */
  code: 'code',
  /** Deny: the reason sent to the requester. Extend: why, for approvers. */
  reason: 'reason',
  /** Extend: how much more time, e.g. `30m`. */
  duration: 'duration',
} as const;
/** The request form's inputs are named after the draft's fields. */
export const FORM_INPUTS = ['databaseId', 'level', 'scope', 'duration', 'reason', 'ticket', 'breakGlass'] as const satisfies readonly DraftField[];

export interface RequestActionData {
  requestId: string;
  /** The request's version when the card was drawn: a click on an older card is stale. */
  version: number;
}
/**
 * Approve and deny: enough for a click to be answered (refused, or told a code is missing) before any
 * database read.
 */
export interface DecisionData extends RequestActionData {
  databaseId: string;
  requesterExternalId: string;
  level: string;
  mfa: boolean;
}
export interface EndData extends RequestActionData {
  /** Which message the click came from, so the handler redraws the right card. */
  from: 'approval-card' | 'credentials';
}
export interface CancelData extends RequestActionData {
  /** The approvers' card (redrawn with the outcome) or the requester's receipt (replaced by it). */
  from: 'approval-card' | 'received';
}
export interface RequestFormData {
  form: 'request';
}
export interface TeamsActionData {
  analyze: RequestFormData;
  submit: RequestFormData;
  useSuggestion: RequestFormData & { analysisId: string };
  approve: DecisionData;
  deny: DecisionData;
  end: EndData;
  cancel: CancelData;
  review: RequestActionData;
  retry: RequestActionData;
  extend: RequestActionData;
  reveal: RequestActionData;
}

const execute = <V extends TeamsVerb>(verb: V, title: string, data: TeamsActionData[V], style?: 'positive' | 'destructive'): ExecuteAction<V> =>
  ({ type: 'Action.Execute', title, verb, data, ...(style ? { style } : {}) });
const requestData = (view: RequestView): RequestActionData => ({ requestId: view.id, version: view.version });
const decisionData = (view: RequestView): DecisionData => ({
  ...requestData(view),
  databaseId: view.databaseId,
  requesterExternalId: view.requester.externalId,
  level: view.level,
  mfa: view.policy?.mfaRequired ?? false,
});

// ---- Building blocks -----------------------------------------------------------------------------

const card = (body: CardElement[], actions: CardAction[] = [], options: { fullWidth?: boolean } = {}): AdaptiveCard => ({
  type: 'AdaptiveCard',
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  body,
  ...(actions.length ? { actions } : {}),
  ...(options.fullWidth ? { msteams: { width: 'Full' as const } } : {}),
});
const subCard = (body: CardElement[], actions: CardAction[]): AdaptiveCard => card(body, actions);

const text = (content: Markdown, options: Omit<TextBlock, 'type' | 'text' | 'wrap'> = {}): TextBlock => ({ type: 'TextBlock', text: content.text, wrap: true, ...options });
const subtle = (content: Markdown): TextBlock => text(content, { isSubtle: true, size: 'Small' });
const heading = (label: string): TextBlock => text(md`**${label}**`, { spacing: 'Medium' });
const bullets = (items: string[]): TextBlock => text(new Markdown(items.map((item) => `- ${escapeMarkdown(item)}`).join('\n')), { spacing: 'Small' });
/** Shown exactly as given, in a monospace font: SQL, credentials, a config error. */
const code = (value: string): RichTextBlock => ({ type: 'RichTextBlock', spacing: 'Small', inlines: [{ type: 'TextRun', text: value, fontType: 'Monospace' }] });
const listSection = (label: string, items: string[]): CardElement[] => (items.length ? [heading(label), bullets(items)] : []);
/** A label and a value to copy, side by side. */
const valueRow = (label: string, value: string): ColumnSet => ({
  type: 'ColumnSet',
  spacing: 'Small',
  columns: [
    { type: 'Column', width: '90px', items: [text(md`**${label}**`)] },
    { type: 'Column', width: 'stretch', items: [code(value)] },
  ],
});
/** Slack's confirm dialog: a destructive action opens a short question first. */
const confirmed = (title: string, question: string, action: CardAction): ShowCardAction => ({
  type: 'Action.ShowCard',
  title,
  card: subCard([text(md`${question}`)], [action]),
});

const RISK = {
  low: { icon: '🟢', color: 'Good' },
  medium: { icon: '🟡', color: 'Warning' },
  high: { icon: '🟠', color: 'Warning' },
  critical: { icon: '🔴', color: 'Attention' },
} as const satisfies Record<RequestView['risk']['level'], { icon: string; color: TextColor }>;
const FLAG_ICON = { info: 'ℹ️', warning: '⚠️', critical: '🚨' } as const;
const title = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);

// ---- The request form ----------------------------------------------------------------------------

export type { FormAnalysis } from '../core/request-form.js';

/** Teams' form also shows what to fix, per field, under the field (Slack does that through its API). */
export interface FormState extends BaseFormState {
  errors?: Partial<Record<DraftField, string>> | undefined;
}

const MAX_CHOICES = 100;

export function requestFormCard(catalog: CatalogView, state: FormState = {}): AdaptiveCard {
  const databases = catalog.catalog.databases.slice(0, MAX_CHOICES);
  const { draft, errors = {}, analysis } = state;
  const levels = [...new Set(['read', ...databases.flatMap((db) => db.levels)])].slice(0, MAX_CHOICES);
  const levelTitle = (level: string) => (catalog.level(level)?.description ? `${level}: ${catalog.level(level)!.description}` : level);
  const chosenDatabase = draft ? catalog.database(draft.databaseId) : undefined;
  const chosenLevel = draft && levels.includes(draft.level) ? draft.level : 'read';
  const error = (field: DraftField): TextBlock[] =>
    errors[field] ? [text(md`${errors[field]!}`, { color: 'Attention', size: 'Small', spacing: 'None' })] : [];
  const hint = (value: string): TextBlock => text(md`${value}`, { isSubtle: true, size: 'Small', spacing: 'None' });
  const value = (field: 'scope' | 'reason' | 'ticket') => (draft?.[field] ? { value: draft[field] } : {});
  const limits = databases.map((db) => `${db.id} ${formatDuration(db.maxDuration)}`).join(', ');

  const body: CardElement[] = [
    text(md`Request database access`, { size: 'Large', weight: 'Bolder' }),
    {
      type: 'Input.ChoiceSet', id: 'databaseId', label: 'Database', placeholder: 'Choose a database',
      ...(databases.length > 10 ? { style: 'filtered' as const } : {}),
      ...(chosenDatabase ? { value: chosenDatabase.id } : {}),
      choices: databases.map((db) => ({ title: `${db.id} (${db.environment})`, value: db.id })),
    },
    ...error('databaseId'),
    {
      type: 'Input.ChoiceSet', id: 'level', label: 'Access level', value: chosenLevel,
      choices: levels.map((level) => ({ title: levelTitle(level), value: level })),
    },
    hint('Read is enough for most investigations. Each database allows only some levels.'),
    ...error('level'),
    { type: 'Input.Text', id: 'scope', label: 'Scope', maxLength: 2000, placeholder: 'sales, public.orders (empty: whole database)', ...value('scope') },
    hint('Schemas or schema.table names, separated by commas. Narrower scopes are approved faster.'),
    ...error('scope'),
    { type: 'Input.Text', id: 'duration', label: 'Duration', maxLength: 20, value: draft?.duration || '1h' },
    hint(`e.g. 30m, 2h.${limits ? ` Limits per database: ${limits.slice(0, 300)}` : ''}`),
    ...error('duration'),
    { type: 'Input.Text', id: 'reason', label: 'Reason', isMultiline: true, maxLength: 1000, placeholder: 'What will you do, and why?', ...value('reason') },
    ...error('reason'),
    { type: 'Input.Text', id: 'ticket', label: 'Ticket (optional)', maxLength: 100, placeholder: 'e.g. OPS-1234', ...value('ticket') },
    ...error('ticket'),
    {
      type: 'Input.Toggle', id: 'breakGlass', label: 'Emergency', title: 'Break-glass: I need it now',
      value: draft?.breakGlass ? 'true' : 'false', valueOn: 'true', valueOff: 'false',
    },
    hint('Where policy allows: no approval wait; approvers are alerted and must review it after.'),
    ...error('breakGlass'),
    ...formAnalysisElements(analysis),
  ];
  const actions: CardAction[] = [execute('submit', 'Submit', { form: 'request' }, 'positive')];
  if (analysis?.state !== 'running') actions.push(execute('analyze', analysis ? 'Analyze again' : 'Analyze risk', { form: 'request' }));
  return fitCard(card(body, actions));
}

function formAnalysisElements(analysis: FormAnalysis | undefined): CardElement[] {
  const start = { type: 'Container', separator: true, spacing: 'Medium' } as const;
  if (!analysis) return [{ ...start, items: [subtle(md`Optional: "Analyze risk" rates the risk and suggests a narrower request before you submit.`)] }];
  if (analysis.state === 'running') return [{ ...start, items: [subtle(md`⏳ Analyzing the request…`)] }];
  if (analysis.state === 'applied') {
    return [{ ...start, items: [text(md`✅ **Suggestion applied:** ${analysis.text}`), subtle(md`Check the form, then submit.`)] }];
  }
  const { outcome } = analysis;
  if (!outcome.ok) return [{ ...start, items: [text(md`⚠️ ${outcome.problem}`, { color: 'Warning' })] }];
  const result = outcome.analysis;
  const items: CardElement[] = [
    text(md`${RISK[result.level].icon} **Risk: ${title(result.level)}** _(${analyzerText(result)})_`, { color: RISK[result.level].color }),
    ...(result.reasons.length ? [bullets(result.reasons.slice(0, 5))] : []),
    ...listSection('Policy conflicts', result.conflicts),
    ...listSection('Unusual', result.unusual.slice(0, 4)),
  ];
  if (result.suggestion) {
    items.push(
      text(md`**Narrower option:** ${result.suggestion.text}`, { spacing: 'Medium' }),
      text(md`${suggestionText(result.suggestion)}`, { spacing: 'None' }),
      { type: 'ActionSet', actions: [execute('useSuggestion', 'Use suggestion', { form: 'request', analysisId: outcome.analysisId }, 'positive')] },
    );
  }
  items.push(subtle(md`You may still submit the request as it is.`));
  return [{ ...start, items }];
}

const suggestionText = (suggestion: Suggestion) =>
  `${suggestion.level} on ${suggestion.scope.length ? suggestion.scope.join(', ') : 'the same scope'} for ${formatDuration(suggestion.durationSeconds)}`;

/** Who rated it, and why the built-in rules answered when a model is configured. */
function analyzerText(analysis: RequestAnalysis): string {
  if (analysis.fallback) return `built-in rules: ${analysis.fallback}`;
  if (analysis.analyzer === 'heuristic') return 'built-in rules';
  if (analysis.modelLevel) return `${analysis.analyzer} rated it ${title(analysis.modelLevel)}; the built-in rules hold it at ${title(analysis.level)}`;
  return analysis.level === analysis.heuristicLevel ? analysis.analyzer : `${analysis.analyzer}; built-in rules: ${title(analysis.heuristicLevel)}`;
}

// ---- The approvers' card -------------------------------------------------------------------------

/** The approval card's plain-text preview (notifications, the chat list): ids and words we validated. */
export function approvalCardSummary(view: RequestView): string {
  return `Access request ${view.id}: ${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}, risk ${view.analysis?.level ?? view.risk.level} (${view.state})`;
}

export function approvalCard(view: RequestView): AdaptiveCard {
  const risk = RISK[view.analysis?.level ?? view.risk.level];
  const headline = view.kind === 'extension'
    ? md`${risk.icon} Extension +${formatDuration(view.durationSeconds)} of ${view.extendsRequestId ?? 'a request'} on ${view.databaseId} · ${view.id}`
    : md`${risk.icon} ${title(view.level)} access to ${view.databaseId} · ${view.id}`;
  const body: CardElement[] = [text(headline, { size: 'Large', weight: 'Bolder' })];
  if (view.policy?.breakGlass) {
    body.push(view.reviewedByExternalId
      ? subtle(md`🚨 Break-glass, reviewed by ${mention(view.reviewedByExternalId)}`)
      : { type: 'Container', style: 'attention', items: [text(md`🚨 **Break-glass: taken without approval. Review required.**`, { color: 'Attention' })] });
  }
  const fact = (label: string, value: Markdown) => ({ title: label, value: value.text });
  body.push(
    {
      type: 'FactSet',
      facts: [
        fact('Requester', mention(view.requester.externalId)),
        fact('Database', md`${view.databaseId} (${[view.environment, ...view.tags].join(', ')})`),
        fact('Level', md`${view.level}`),
        fact('Scope', md`${view.scope.length ? view.scope.join(', ') : 'whole database'}`),
        fact('Duration', md`${formatDuration(view.durationSeconds)}`),
        fact('Ticket', md`${view.ticket ?? 'none'}`),
      ],
    },
    heading('Reason'),
    text(paragraphs(view.reason), { spacing: 'Small' }),
    ...riskElements(view),
  );
  if (view.policy) body.push(subtle(policyLine(view)));
  body.push(
    heading('Grants'),
    text(paragraphs(view.grantsInWords), { spacing: 'Small' }),
    code(view.grantStatements.map((statement) => `${statement};`).join('\n')),
    text(statusLine(view), { separator: true, spacing: 'Medium' }),
  );
  if (view.session?.review) {
    const flags = view.session.flags.filter((flag) => flag.severity !== 'info').map((flag) => flag.message);
    body.push({
      type: 'Container',
      style: 'attention',
      items: [text(md`🚨 **Session flagged for review**${flags.length ? md`: ${flags.join('; ')}` : md``} (the summary is in this card's thread)`, { color: 'Attention' })],
    });
  }
  return fitCard(card(body, approvalActions(view), { fullWidth: true }));
}

function approvalActions(view: RequestView): CardAction[] {
  const review = view.policy?.breakGlass && !view.reviewedByExternalId ? [execute('review', 'Mark reviewed', requestData(view))] : [];
  if (view.state === 'pending') {
    const approve = execute('approve', 'Approve', decisionData(view), 'positive');
    const codeInput: InputText = {
      type: 'Input.Text', id: INPUTS.code, label: 'MFA code', placeholder: '123456', maxLength: 20,
      isRequired: true, errorMessage: 'Enter the 6-digit code from your authenticator app (or a recovery code).',
    };
    return [
      view.policy?.mfaRequired
        ? { type: 'Action.ShowCard', title: 'Approve', style: 'positive', card: subCard([text(md`This request needs a second factor to approve. Enter the code from your authenticator app.`), codeInput], [approve]) }
        : approve,
      {
        type: 'Action.ShowCard',
        title: 'Deny',
        style: 'destructive',
        card: subCard(
          [{ type: 'Input.Text', id: INPUTS.reason, label: 'Reason (sent to the requester)', isMultiline: true, maxLength: 500 }],
          [execute('deny', 'Deny', decisionData(view), 'destructive')],
        ),
      },
      cancelAction(view, 'approval-card'),
    ];
  }
  if (view.state === 'approved' || view.state === 'provisioning') return [cancelAction(view, 'approval-card'), ...review];
  if (view.state === 'active') {
    const end = execute('end', 'Revoke now', { ...requestData(view), from: 'approval-card' }, 'destructive');
    return [confirmed('Revoke now', 'Revoke this access now? Open sessions are killed.', end), ...review];
  }
  // Admins only: anyone else's click is answered with a refusal.
  if (view.state === 'failed' && view.kind === 'access') return [execute('retry', 'Retry', requestData(view)), ...review];
  return review;
}

/**
 * The rating and what approvers need to decide: reasons, conflicts, the comparison with history, what
 * is unusual, a narrower option, alternatives, the security context. Until the analysis has run, the
 * built-in rating. Model text is escaped like the requester's: it may echo what the requester wrote.
 */
function riskElements(view: RequestView): CardElement[] {
  const analysis = view.analysis;
  const context = subtle(md`**Security context:** ${view.environment}${view.tags.length ? `, tagged ${view.tags.join(', ')}` : ''}. ${view.recording}`);
  if (!analysis) {
    const elements: CardElement[] = [
      text(md`**Risk: ${title(view.risk.level)}** _(built-in rules)_`, { spacing: 'Medium', color: RISK[view.risk.level].color }),
      ...(view.risk.reasons.length ? [bullets(view.risk.reasons)] : []),
    ];
    if (view.kind === 'access' && view.state === 'pending') elements.push(subtle(md`⏳ Analysis in progress: history and suggestions follow.`));
    return [...elements, context];
  }
  const elements: CardElement[] = [
    text(md`**Risk: ${title(analysis.level)}** _(${analyzerText(analysis)})_`, { spacing: 'Medium', color: RISK[analysis.level].color }),
    ...(analysis.reasons.length ? [bullets(analysis.reasons.slice(0, 5))] : []),
    ...listSection('Policy conflicts', analysis.conflicts),
    ...listSection('Unusual', analysis.unusual.slice(0, 5)),
  ];
  if (analysis.comparison) elements.push(subtle(md`**History:** ${analysis.comparison}`));
  if (analysis.suggestion) elements.push(subtle(md`**Narrower option:** ${analysis.suggestion.text} (${suggestionText(analysis.suggestion)})`));
  if (analysis.alternatives.length) elements.push(subtle(md`**Instead:** ${analysis.alternatives.join(' ')}`));
  return [...elements, context];
}

function policyLine(view: RequestView): Markdown {
  const policy = view.policy!;
  const parts = [md`Policy **${policy.name}**`];
  if (policy.quorum > 1) parts.push(md`${policy.quorum} distinct approvers`);
  if (policy.mfaRequired) parts.push(md`🔐 approval needs an MFA code`);
  const fired = policy.rules.filter((rule) => rule.outcome !== 'pass').map((rule) => md`${rule.explanation}`);
  return joinMarkdown([joinMarkdown(parts, ' · '), ...fired], '\n\n');
}

/** Where the request stands, in one line: the decisions, the access, how it ended. */
export function statusLine(view: RequestView): Markdown {
  const approvals = view.decisions.filter((d) => d.decision === 'approve');
  const people = (ids: string[]) => joinMarkdown(ids.map(mention), ', ');
  const approved = approvals.length
    ? md`✅ Approved by ${people(approvals.map((d) => d.approverExternalId))} at ${formatTime(approvals.at(-1)!.at)}`
    : view.policy?.autoApprovedBy
      ? md`✅ Auto-approved by rule ${view.policy.autoApprovedBy} at ${formatTime(view.decidedAt ?? view.createdAt)}`
      : view.policy?.breakGlass ? md`🚨 Taken without approval (break-glass)` : md``;
  const lease = view.lease;
  switch (view.state) {
    case 'pending': {
      const quorum = view.policy?.quorum ?? 1;
      const progress = quorum > 1
        ? md`${approvals.length} of ${quorum} approvals${approvals.length ? md`: ${people(approvals.map((d) => d.approverExternalId))}` : md``} · `
        : md``;
      return md`⏳ ${progress}Waiting for ${quorum > 1 && approvals.length ? 'more approvers' : 'an approver'} · expires unanswered at ${formatTime(view.pendingUntil)}`;
    }
    case 'approved':
    case 'provisioning':
      return md`${approved} · ${view.kind === 'extension' ? 'applying the extension…' : 'creating the database user…'}`;
    case 'active':
      return md`${approved} · 🔓 access active until ${lease ? formatTime(lease.expiresAt) : 'its end'}`;
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      if (!denial) return md`⛔ Denied`;
      return md`⛔ Denied by ${mention(denial.approverExternalId)} at ${formatTime(denial.at)}${denial.reason ? md`: ${denial.reason}` : md``}`;
    }
    case 'expired':
      return md`⌛ Expired unanswered at ${formatTime(view.pendingUntil)}`;
    case 'cancelled':
      return md`✖️ Cancelled${view.failure ? md`: ${view.failure}` : md``}`;
    case 'failed':
      return md`${approved} · ⚠️ not provisioned: ${view.failure ?? 'unknown error'}`;
    case 'revoking':
      return md`${approved} · 🔒 ending access…`;
    case 'revoke_failed':
      return md`${approved} · 🚨 revocation failing (${lease?.revokeAttempts ?? 0} attempts), still retrying`;
    case 'revoked':
      return md`${approved} · 🔒 access ended at ${formatTime(lease?.revokedAt ?? new Date())}${endedBy(view)}`;
    case 'extended':
      return md`${approved} · ⏳ extension applied: ${view.extendsRequestId ?? 'the request'} now ends at ${lease ? formatTime(lease.expiresAt) : 'its new time'}`;
  }
}

function endedBy(view: RequestView): Markdown {
  const lease = view.lease;
  if (lease?.endReason === 'ended') return md` (ended early by ${mention(lease.endedByExternalId ?? 'someone')})`;
  if (lease?.endReason === 'revoked') return md` (revoked by ${mention(lease.endedByExternalId ?? 'someone')})`;
  if (lease?.endReason === 'emergency') return md` (revoked by an operator: emergency revoke-all)`;
  return lease ? md` (expired)` : md``;
}

// ---- Messages to the requester (their 1:1 chat with the bot) -------------------------------------

const notice = (...body: CardElement[]) => fitCard(card(body));

export function requestReceivedCard(view: RequestView, approvers: string[] = []): AdaptiveCard {
  const who = approvers.length ? joinMarkdown(approvers.map(mention), ', ') : md`an approver`;
  return fitCard(card(
    [text(md`📨 Your request **${view.id}** (${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}) is waiting for ${who}. Risk: ${view.analysis?.level ?? view.risk.level}. I will message you here when it is decided.`)],
    [cancelAction(view, 'received')],
  ));
}

/** Cancel while the request waits, confirmed first. */
const cancelAction = (view: RequestView, from: CancelData['from']): ShowCardAction =>
  confirmed('Cancel request', `Cancel request ${view.id}? A database user being created for it is dropped.`, execute('cancel', 'Cancel request', { ...requestData(view), from }, 'destructive'));

export function requestClosedCard(view: RequestView): AdaptiveCard {
  switch (view.state) {
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      return notice(
        text(md`⛔ Your request **${view.id}** for ${view.databaseId} was denied by ${mention(denial?.approverExternalId ?? 'an approver')}${denial?.reason ? md`:` : md`.`}`),
        ...(denial?.reason ? [text(paragraphs(denial.reason), { spacing: 'Small' })] : []),
      );
    }
    case 'expired':
      return notice(text(md`⌛ Your request **${view.id}** for ${view.databaseId} expired without a decision. Ask again if you still need it.`));
    case 'cancelled':
      if (!view.failure) return notice(text(md`✖️ Your request **${view.id}** for ${view.databaseId} was cancelled; nothing was left on the database.`));
      return notice(text(md`✖️ Your request **${view.id}** for ${view.databaseId} was not sent to approvers: ${view.failure ?? 'it was cancelled.'} Fix the scope and ask again.`));
    default:
      return notice(text(md`⚠️ Your request **${view.id}** for ${view.databaseId} was approved, but the database user could not be created: ${view.failure ?? 'unknown error'}`));
  }
}

const endMyAccess = (view: RequestView): ShowCardAction =>
  confirmed('End access now', 'End your access now? Open sessions are killed.', execute('end', 'End access now', { ...requestData(view), from: 'credentials' }, 'destructive'));

/** The secret: shown once, in this message only, until the access ends and the message is replaced. */
export function credentialsCard(view: RequestView, c: Credentials): AdaptiveCard {
  const extend: ShowCardAction = {
    type: 'Action.ShowCard',
    title: 'Extend',
    card: subCard(
      [
        { type: 'Input.Text', id: INPUTS.duration, label: 'More time', value: '30m', maxLength: 20, isRequired: true, errorMessage: 'A duration such as 30m or 1h.' },
        text(md`Within the database's limit it is applied at once; beyond that, approvers decide.`, { isSubtle: true, size: 'Small', spacing: 'None' }),
        { type: 'Input.Text', id: INPUTS.reason, label: 'Why (for approvers, if needed)', isMultiline: true, maxLength: 1000 },
      ],
      [execute('extend', 'Extend', requestData(view), 'positive')],
    ),
  };
  return fitCard(card(
    [
      text(md`🔑 Your **${view.level}** access to **${view.databaseId}** (${view.environment}) is ready until **${formatTime(c.expiresAt)}**. Request ${view.id}.`),
      valueRow('Host', c.host),
      valueRow('Port', String(c.port)),
      valueRow('Database', c.database),
      valueRow('User', c.username),
      valueRow('Password', c.password.reveal()),
      heading('URI'),
      code(connectionUri(c)),
      heading(c.protocol === 'postgres' ? 'psql' : 'mysql'),
      code(clientCommand(c)),
      ...(view.leftOut?.length ? [subtle(md`${leftOutSentence(view.leftOut)}`)] : []),
      subtle(md`This message is the only copy of the password. At expiry the user is dropped and open sessions are closed.`),
    ],
    [extend, endMyAccess(view)],
    { fullWidth: true },
  ));
}

/** Access is ready behind a second factor: the code reveals the credentials in this same message. */
export function credentialsWaitingCard(view: RequestView): AdaptiveCard {
  const reveal: ShowCardAction = {
    type: 'Action.ShowCard',
    title: 'Reveal',
    style: 'positive',
    card: subCard(
      [{ type: 'Input.Text', id: INPUTS.code, label: 'MFA code', placeholder: '123456', maxLength: 20, isRequired: true, errorMessage: 'Enter the code from your authenticator app.' }],
      [execute('reveal', 'Reveal', requestData(view), 'positive')],
    ),
  };
  const until = view.lease ? formatTime(view.lease.expiresAt) : 'its end';
  return fitCard(card(
    [text(md`🔑 Your **${view.level}** access to **${view.databaseId}** (${view.environment}) is ready until **${until}**. Request ${view.id}. This access needs a second factor: reveal the credentials with your MFA code.`)],
    [reveal, endMyAccess(view)],
  ));
}

/** Replaces the credentials message once the access has ended: no password is left in the chat. */
export function credentialsRevokedCard(view: RequestView): AdaptiveCard {
  const lease = view.lease;
  return notice(text(md`🔒 Your access to **${view.databaseId}** (request ${view.id}) ended at ${formatTime(lease?.revokedAt ?? new Date())}${endedBy(view)}. The user ${lease?.username ?? ''} no longer exists and its password no longer works.`));
}

export function accessExtendedCard(view: RequestView): AdaptiveCard {
  const until = view.lease ? formatTime(view.lease.expiresAt) : 'its new time';
  return notice(text(md`⏳ Access to **${view.databaseId}** (request ${view.id}) extended: it now ends at ${until}. Same user and password; open sessions keep running.`));
}

// ---- The approval thread and the approvers' channel ----------------------------------------------

export function accessActiveCard(view: RequestView): AdaptiveCard {
  const lease = view.lease;
  return notice(text(md`🔓 Access active until ${lease ? formatTime(lease.expiresAt) : 'its end'} as ${lease?.username ?? 'the temporary user'}. Credentials were sent to ${mention(view.requester.externalId)} in a 1:1 chat.`));
}

export function operationFailingCard(view: RequestView, operation: 'provision' | 'revoke', attempts: number, error: string): AdaptiveCard {
  return notice(operation === 'revoke'
    ? text(md`🚨 Revoking ${view.lease?.username ?? 'the temporary user'} on ${view.databaseId} (request ${view.id}) has failed ${attempts} times: ${error} It is still being retried; check the database.`, { color: 'Attention' })
    : text(md`⚠️ Could not create the database user on ${view.databaseId} yet (request ${view.id}): ${error} Retrying until it works or the approved time runs out.`, { color: 'Warning' }));
}

export function breakGlassAlertCard(view: RequestView): AdaptiveCard {
  return notice({
    type: 'Container',
    style: 'attention',
    items: [
      text(md`🚨 **BREAK-GLASS** ${mention(view.requester.externalId)} took **${view.level}** on **${view.databaseId}** (${view.environment}) for ${formatDuration(view.durationSeconds)} without waiting for approval (request ${view.id}).`),
      heading('Reason'),
      text(paragraphs(view.reason), { spacing: 'Small' }),
      text(md`An approver must review it: use **Mark reviewed** on the request's card.`),
    ],
  });
}

export interface MfaAlert {
  personExternalId: string;
  what: 'locked' | 'reset';
  until?: Date | undefined;
  byExternalId?: string | undefined;
}

export function mfaAlertCard(alert: MfaAlert): AdaptiveCard {
  return notice(alert.what === 'locked'
    ? text(md`🚨 MFA of ${mention(alert.personExternalId)} is locked after too many wrong codes${alert.until ? md` until ${formatTime(alert.until)}` : md``}. If that was not them, someone is guessing.`, { color: 'Attention' })
    : text(md`🔐 MFA of ${mention(alert.personExternalId)} was reset by ${mention(alert.byExternalId ?? 'an admin')}; they must enrol again before their next step-up.`));
}

/** Plain words (ids, a person's id or email): escaped by the md template where it is used. */
function offboardedText(left: Extract<Notification, { type: 'personOffboarded' }>): string {
  return offboardingLine(left);
}

/** Without the details (a file of several tenants), it points to where the operator finds them. */
export function configProblemCard(message: string | undefined): AdaptiveCard {
  return message
    ? notice(text(md`⚠️ The catalog file was changed, but it has mistakes, so the last good catalog stays in force:`, { color: 'Warning' }), code(message.slice(0, 2500)))
    : notice(text(md`⚠️ The catalog file was changed, but it has mistakes, so the last good catalog stays in force. dbaccess check-config (or the server log) says where.`, { color: 'Warning' }));
}

/**
 * What happened, after the access ended. The who/what lines are drawn here from the request rather
 * than taken from `summary.lines`, which are Slack mrkdwn with the requester's reason inside.
 */
export function sessionSummaryCard(view: RequestView, summary: SessionSummary): AdaptiveCard {
  const body: CardElement[] = [
    text(md`**Session summary** · ${view.id}${summary.review ? ' (flagged for review)' : ''}`),
    text(joinMarkdown(summaryLines(view).map((line) => md`- ${line}`), '\n'), { spacing: 'Small' }),
  ];
  if (summary.technical) body.push(heading('What was run'), text(paragraphs(summary.technical), { spacing: 'Small' }));
  if (summary.plain) body.push(heading('In plain words'), text(paragraphs(summary.plain), { spacing: 'Small' }));
  if (summary.flags.length) body.push(heading('Flagged for review'), flagLines(summary.flags));
  body.push(...listSection('Unusual against past sessions', (summary.unusual ?? []).slice(0, 5)));
  if (summary.baseline?.length) body.push(subtle(md`${summary.baseline.join(' ')}`));
  if (summary.by) body.push(subtle(md`Summary by ${summary.by}. Statements are shown as the server logged them.`));
  return fitCard(card(body, [], { fullWidth: true }));
}

function summaryLines(view: RequestView): Markdown[] {
  const lease = view.lease;
  const approval = view.decisions.find((d) => d.decision === 'approve');
  const scope = view.scope.length ? ` (${view.scope.join(', ')})` : ' (whole database)';
  const lines = [
    md`Who: ${mention(view.requester.externalId)} as ${lease?.username ?? 'n/a'}`,
    md`What: ${view.level} on ${view.databaseId}${scope}, for "${view.reason}"`,
  ];
  if (approval) lines.push(md`Approved by: ${mention(approval.approverExternalId)} at ${formatTime(approval.at)}`);
  if (lease?.provisionedAt) {
    const end = lease.revokedAt ?? lease.expiresAt;
    lines.push(md`Active: ${formatTime(lease.provisionedAt)} to ${formatTime(end)} (${formatDuration((end.getTime() - lease.provisionedAt.getTime()) / 1000)})`);
  }
  lines.push(md`Ended: ${endedLine(view)}`, md`Recording: ${view.recording}`);
  return lines;
}

function endedLine(view: RequestView): Markdown {
  const lease = view.lease;
  if (!lease?.revokedAt) return md`not yet`;
  const at = formatTime(lease.revokedAt);
  const by = mention(lease.endedByExternalId ?? 'someone');
  switch (lease.endReason) {
    case 'ended':
      return md`ended early by ${by}, user dropped at ${at}`;
    case 'revoked':
      return md`revoked by ${by}, user dropped at ${at}`;
    case 'emergency':
      return md`revoked by an operator (emergency revoke-all), user dropped at ${at}`;
    default:
      return md`expired; sessions killed and user dropped at ${at}`;
  }
}

const flagLines = (flags: Array<{ severity: keyof typeof FLAG_ICON; message: string }>) =>
  text(joinMarkdown(flags.map((flag) => md`${FLAG_ICON[flag.severity]} ${flag.message}`), '\n\n'), { spacing: 'Small' });

export function sessionFlaggedCard(view: RequestView): AdaptiveCard {
  const flags = view.session?.flags.filter((flag) => flag.severity !== 'info') ?? [];
  const where = view.cardRef ? ' (see the summary in the request\'s thread)' : '';
  return notice(
    text(md`🚨 Session of ${view.id} by ${mention(view.requester.externalId)} on ${view.databaseId} needs review${where}:`, { color: 'Attention' }),
    ...(flags.length ? [flagLines(flags)] : []),
  );
}

// ---- Size ----------------------------------------------------------------------------------------

/** Teams refuses messages over 28 KB; the activity around the card needs the rest. */
export const TEAMS_CARD_LIMIT_BYTES = 26 * 1024;
export const CUT_MARKER = ' … (cut)';
const MIN_KEEP = 80;

export const cardBytes = (value: AdaptiveCard) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const jsonBytes = (value: string) => Buffer.byteLength(JSON.stringify(value), 'utf8') - 2;

interface TextSlot {
  get(): string;
  set(value: string): void;
}

/** Every text a card shows (TextBlocks, monospace runs, fact values), nested cards included. */
function textSlots(target: AdaptiveCard): TextSlot[] {
  const slots: TextSlot[] = [];
  const visitActions = (actions: CardAction[] | undefined) => {
    for (const action of actions ?? []) if (action.type === 'Action.ShowCard') visitCard(action.card);
  };
  const visit = (element: CardElement) => {
    switch (element.type) {
      case 'TextBlock':
        slots.push({ get: () => element.text, set: (value) => { element.text = value; } });
        break;
      case 'RichTextBlock':
        for (const run of element.inlines) slots.push({ get: () => run.text, set: (value) => { run.text = value; } });
        break;
      case 'FactSet':
        for (const fact of element.facts) slots.push({ get: () => fact.value, set: (value) => { fact.value = value; } });
        break;
      case 'Container':
        element.items.forEach(visit);
        break;
      case 'ColumnSet':
        for (const column of element.columns) column.items.forEach(visit);
        break;
      case 'ActionSet':
        visitActions(element.actions);
        break;
      default:
        break;
    }
  };
  const visitCard = (inner: AdaptiveCard) => {
    inner.body.forEach(visit);
    visitActions(inner.actions);
  };
  visitCard(target);
  return slots;
}

/** The first `keep` characters, not splitting a surrogate pair nor leaving an escape backslash dangling. */
function cut(value: string, keep: number): string {
  let end = Math.max(0, Math.min(keep, value.length));
  if (end > 0 && /[\ud800-\udbff]/.test(value.charAt(end - 1))) end -= 1;
  return value.slice(0, end).replace(/\\+$/, '').trimEnd() + CUT_MARKER;
}

/**
 * Shrinks a card until its JSON is under `limit` bytes: the longest text first (the SQL preview, a long
 * reason or scope), each cut ending with a visible "(cut)". Returns a copy; the input is left alone.
 */
export function fitCard(input: AdaptiveCard, limit = TEAMS_CARD_LIMIT_BYTES): AdaptiveCard {
  if (cardBytes(input) <= limit) return input;
  const result = structuredClone(input);
  for (let round = 0; round < 200; round++) {
    const excess = cardBytes(result) - limit;
    if (excess <= 0) break;
    const slots = textSlots(result).map((slot) => ({ slot, bytes: jsonBytes(slot.get()) }));
    const longest = slots.sort((a, b) => b.bytes - a.bytes)[0];
    if (!longest || longest.bytes <= MIN_KEEP + CUT_MARKER.length) break;
    const current = longest.slot.get();
    const original = current.endsWith(CUT_MARKER) ? current.slice(0, -CUT_MARKER.length) : current;
    // Bytes per character of this text as JSON (escapes and multi-byte characters weigh more).
    const weight = longest.bytes / Math.max(1, current.length);
    const wanted = Math.floor((longest.bytes - excess - 64) / weight) - CUT_MARKER.length;
    const keep = Math.max(MIN_KEEP, Math.min(wanted, Math.floor(original.length / 2)));
    longest.slot.set(cut(original, keep));
  }
  return result;
}

// ---- Where each notification goes ----------------------------------------------------------------

export interface TeamsMessage {
  attachment: CardAttachment;
  /** Plain text for the activity's `summary` (notification and chat-list preview). Never markdown. */
  summary: string;
}

/**
 * One message to send. The notifier sends the deliveries in order and returns the MessageRef of the
 * first (the one the core stores: the card, the credentials message, the thread reply).
 */
export type TeamsDelivery =
  | {
      to: 'approvers-channel';
      /** Routes to the database's approvers; absent for tenant-wide alerts (MFA, catalog). */
      databaseId?: string;
      requestId?: string;
      /** The approval card of this request: update it in place when `replace` is set, else post it. */
      replaceCardOf?: string;
      replace?: MessageRef;
      message: TeamsMessage;
    }
  | {
      to: 'card-thread';
      requestId: string;
      databaseId: string;
      /** The approval card to reply under; null when it never posted (then post in the approvers' channel). */
      cardRef: MessageRef | null;
      message: TeamsMessage;
    }
  | {
      to: 'requester';
      userExternalId: string;
      requestId: string;
      /** Update this message of the 1:1 chat in place (waiting → credentials → revoked). */
      replace?: MessageRef;
      message: TeamsMessage;
    }
  | {
      /** Replace the request form the person is filling in. */
      to: 'form';
      replace: MessageRef;
      message: TeamsMessage;
    };

export interface TeamsRenderContext {
  /** The catalog, for the request form. */
  catalog: CatalogView;
  /** Who decides a request, named in "request received"; without it, "an approver". */
  approversOf?: ((view: RequestView) => string[]) | undefined;
}

type Of<T extends NotificationType> = Extract<Notification, { type: T }>;
export type TeamsRendererTable = { [T in NotificationType]: (notification: Of<T>, context: TeamsRenderContext) => TeamsDelivery[] };

const message = (content: AdaptiveCard, summary: string): TeamsMessage => ({ attachment: attachment(content), summary });
const toRequester = (view: RequestView, content: AdaptiveCard, summary: string, replace?: MessageRef | null): TeamsDelivery => ({
  to: 'requester', userExternalId: view.requester.externalId, requestId: view.id, ...(replace ? { replace } : {}), message: message(content, summary),
});
const toThread = (view: RequestView, content: AdaptiveCard, summary: string): TeamsDelivery => ({
  to: 'card-thread', requestId: view.id, databaseId: view.databaseId, cardRef: view.cardRef, message: message(content, summary),
});
const toChannel = (view: RequestView, content: AdaptiveCard, summary: string): TeamsDelivery => ({
  to: 'approvers-channel', databaseId: view.databaseId, requestId: view.id, message: message(content, summary),
});

export const teamsRenderers = {
  approvalCard: ({ request }) => [{
    to: 'approvers-channel', databaseId: request.databaseId, requestId: request.id, replaceCardOf: request.id,
    ...(request.cardRef ? { replace: request.cardRef } : {}),
    message: message(approvalCard(request), approvalCardSummary(request)),
  }],
  requestReceived: ({ request }, { approversOf }) =>
    [toRequester(request, requestReceivedCard(request, approversOf?.(request) ?? []), `Request ${request.id} is waiting for approval`)],
  requestClosed: ({ request }) => [toRequester(request, requestClosedCard(request), `Request ${request.id} is closed (${request.state})`)],
  // After Reveal, the waiting message itself shows the credentials.
  credentialsReady: ({ request, credentials }) =>
    [toRequester(request, credentialsCard(request, credentials), `Your access to ${request.databaseId} is ready`, request.lease?.dmRef)],
  credentialsWaiting: ({ request }) => [toRequester(request, credentialsWaitingCard(request), `Your access to ${request.databaseId} is ready: reveal it with your MFA code`)],
  credentialsRevoked: ({ request }) =>
    (request.lease?.dmRef ? [toRequester(request, credentialsRevokedCard(request), `Your access to ${request.databaseId} has ended`, request.lease.dmRef)] : []),
  accessExtended: ({ request }) => {
    const summary = `Access to ${request.databaseId} extended`;
    return [toThread(request, accessExtendedCard(request), summary), toRequester(request, accessExtendedCard(request), summary)];
  },
  accessActive: ({ request }) => [toThread(request, accessActiveCard(request), `Access ${request.id} is active`)],
  operationFailing: ({ request, operation, attempts, error }) => {
    const content = operationFailingCard(request, operation, attempts, error);
    const summary = operation === 'revoke' ? `Revoking access ${request.id} is failing` : `Creating the user for ${request.id} is failing`;
    const deliveries = [toThread(request, content, summary)];
    if (operation === 'revoke' && request.cardRef) deliveries.push(toChannel(request, content, summary));
    if (operation === 'provision') deliveries.push(toRequester(request, content, summary));
    return deliveries;
  },
  breakGlassAlert: ({ request }) => [toChannel(request, breakGlassAlertCard(request), `Break-glass: ${request.level} on ${request.databaseId} (${request.id})`)],
  mfaAlert: (alert) => [{ to: 'approvers-channel', message: message(mfaAlertCard(alert), alert.what === 'locked' ? 'An MFA is locked' : 'An MFA was reset') }],
  personOffboarded: (left) => [{ to: 'approvers-channel', message: message(notice(text(md`🚪 ${offboardedText(left)}`, { color: 'Warning' })), 'Someone left: their access was ended') }],
  configProblem: ({ message: problem }) => [{ to: 'approvers-channel', message: message(configProblemCard(problem), 'The catalog file has mistakes') }],
  sessionSummary: ({ request, summary }) =>
    [toThread(request, sessionSummaryCard(request, summary), `Session summary for ${request.id}${summary.review ? ' (flagged for review)' : ''}`)],
  sessionFlagged: ({ request }) => [toChannel(request, sessionFlaggedCard(request), `Session of ${request.id} needs review`)],
  draftAnalysis: (outcome, { catalog }) => [{
    to: 'form',
    replace: outcome.viewRef,
    message: message(requestFormCard(catalog, { draft: outcome.draft, analysis: { state: 'done', outcome } }), 'Risk analysis of your request'),
  }],
} satisfies TeamsRendererTable;

/** Where a notification goes in Teams and what it shows. */
export function renderTeams(notification: Notification, context: TeamsRenderContext): TeamsDelivery[] {
  return (teamsRenderers[notification.type] as (n: Notification, c: TeamsRenderContext) => TeamsDelivery[])(notification, context);
}
