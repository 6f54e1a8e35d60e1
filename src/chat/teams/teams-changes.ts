import { formatDuration } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { approvedWithChangesText, changesCardLine } from '../core/changes-presenter.js';
import type { ChangesInput } from '../core/commands.js';
import { INPUTS } from './teams-actions.js';
import type { AdaptiveCard, CardAction, CardElement } from './teams-card-types.js';
import { decisionData, execute, notice, subCard, subtle, text } from './teams-kit.js';
import { md, paragraphs, richParagraphs } from './teams-markdown.js';

/**
 * Teams: "Approve with changes…" on the approval card (a ShowCard with the form's inputs and an
 * Action.Execute), the card's line about changes, and the requester's message.
 */

/** Input ids, apart from the decision's data fields (Teams merges input values into `action.data`). */
export const CHANGE_INPUTS = { level: 'newLevel', scope: 'keepScope', duration: 'newDuration', note: 'note' } as const;

/** Scope items travel base64url-encoded: a multi-select sends its values joined by commas, and names may hold commas. */
const encode = (item: string) => Buffer.from(item, 'utf8').toString('base64url');
const decode = (value: string) => Buffer.from(value, 'base64url').toString('utf8');

export function approveWithChangesAction(view: RequestView): CardAction[] {
  const narrowing = view.narrowing;
  if (!narrowing) return [];
  const body: CardElement[] = [
    text(md`Grant less than asked: a lower level, part of the scope, a shorter time. Never more than asked.`),
    { type: 'Input.ChoiceSet', id: CHANGE_INPUTS.level, label: 'Level', value: view.level, choices: narrowing.levels.map((level) => ({ title: level, value: level })) },
  ];
  if (view.scope.length > 1) {
    body.push({
      type: 'Input.ChoiceSet', id: CHANGE_INPUTS.scope, label: 'Scope to keep', isMultiSelect: true, isRequired: true, errorMessage: 'Keep at least one item, or deny.',
      value: view.scope.map(encode).join(','), choices: view.scope.map((item) => ({ title: item, value: encode(item) })),
    });
  }
  body.push(
    { type: 'Input.Text', id: CHANGE_INPUTS.duration, label: `Duration (at most ${formatDuration(view.durationSeconds)})`, value: formatDuration(view.durationSeconds), maxLength: 20, isRequired: true, errorMessage: 'A duration such as 30m or 1h.' },
    {
      type: 'Input.Text', id: CHANGE_INPUTS.note, label: narrowing.noteRequired ? 'Note to the requester (required here)' : 'Note to the requester', isMultiline: true, maxLength: 500,
      ...(narrowing.noteRequired ? { isRequired: true, errorMessage: `Policy "${narrowing.policy}" asks why.` } : {}),
    },
  );
  if (view.policy?.mfaRequired) body.push({ type: 'Input.Text', id: INPUTS.code, label: 'MFA code', placeholder: '123456', maxLength: 20, isRequired: true, errorMessage: 'Enter the 6-digit code from your authenticator app.' });
  return [{ type: 'Action.ShowCard', title: 'Approve with changes…', card: subCard(body, [execute('approveWithChanges', 'Approve with these changes', decisionData(view), 'positive')]) }];
}

/** The card's line about changes, when approvers narrowed the request. */
export function changesElements(view: RequestView): CardElement[] {
  const line = changesCardLine(view);
  return line ? [subtle(richParagraphs(line))] : [];
}

/** An invoke's inputs as the core's form answers. */
export function changesOf(data: Record<string, unknown>): ChangesInput {
  const str = (value: unknown, max: number) => (typeof value === 'string' ? value.slice(0, max) : undefined);
  const scope = str(data[CHANGE_INPUTS.scope], 20_000);
  return {
    level: str(data[CHANGE_INPUTS.level], 31),
    scope: scope === undefined ? undefined : scope.split(',').filter(Boolean).slice(0, 50).map(decode),
    duration: str(data[CHANGE_INPUTS.duration], 20),
    note: str(data[CHANGE_INPUTS.note], 1000),
  };
}

export function approvedWithChangesCard(view: RequestView): AdaptiveCard {
  const { line, notes } = approvedWithChangesText(view);
  return notice(text(richParagraphs(line)), ...notes.map(({ note }) => text(paragraphs(`Note: “${note}”`), { spacing: 'Small' })));
}
