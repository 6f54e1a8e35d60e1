import type { CatalogView } from '../../config/catalog.js';
import { formatDuration } from '../../lib/time.js';
import type { DraftField } from '../../modules/access-requests/access-request-schemas.js';
import { databaseChoice, type FormAnalysis, type FormState as BaseFormState } from '../core/request-form.js';
import type { AdaptiveCard, CardAction, CardElement, TextBlock } from './teams-card-types.js';
import { fitCard } from './teams-fit.js';
import { RISK, bullets, card, execute, listSection, riskPartElements, subtle, suggestionText, text, title } from './teams-kit.js';
import { ratingSource, riskParts } from '../core/request-presenter.js';
import { md } from './teams-markdown.js';

/** Teams: the request form and what its analysis says. */

export type { FormAnalysis } from '../core/request-form.js';

/** Teams' form also shows what to fix, per field, under the field (Slack does that through its API). */
export interface FormState extends BaseFormState {
  errors?: Partial<Record<DraftField, string>> | undefined;
}

const MAX_CHOICES = 100;

export function requestFormCard(catalog: CatalogView, state: FormState = {}): AdaptiveCard {
  const databases = catalog.catalog.databases.slice(0, MAX_CHOICES);
  const { draft, errors = {}, analysis } = state;
  const unavailable = databases.flatMap((db) => state.unavailable?.get(db.id) ?? []);
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
      choices: databases.map((db) => ({ title: databaseChoice(db, state.unavailable), value: db.id })),
    },
    // A choice cannot be greyed out: the card says why, and a submission naming it is refused.
    ...unavailable.map((problem) => text(md`⚠️ ${problem.message}`, { color: 'Warning', size: 'Small', spacing: 'None' })),
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
    { type: 'Input.Text', id: 'startsAt', label: 'Start, UTC (optional)', maxLength: 40, placeholder: 'empty: at approval; or 22:00, 2026-12-24 06:00, in 3h', ...(draft?.startsAt ? { value: draft.startsAt } : {}) },
    hint('Scheduled access: approved now, created at this time.'),
    ...error('startsAt'),
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
    text(md`${RISK[result.level].icon} **Risk: ${title(result.level)}** _(${ratingSource(result)})_`, { color: RISK[result.level].color }),
    ...(result.reasons.length ? [bullets(result.reasons.slice(0, 5))] : []),
    ...riskPartElements(riskParts(result, undefined, result.reasons.slice(0, 5))),
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
