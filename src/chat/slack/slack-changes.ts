import { formatDuration } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { changesCardLine } from '../core/changes-presenter.js';
import type { ChangesInput } from '../core/commands.js';
import { IDS, context, plain, section, type Block } from './slack-kit.js';
import { mrkdwnOf } from './slack-rich.js';

/**
 * Slack: the "Approve with changes…" modal and the card's line about changes. The modal's options are
 * the request's own terms: levels within the one standing, the scope items asked (as indexes into the
 * list kept in the sealed private_metadata, so no name has to fit an option value), a duration and a note.
 */

export interface ChangesMetadata {
  requestId: string;
  channel: string;
  /** The scope as drawn, for the indexes of the selected options. */
  scope: string[];
}

/** Slack keeps at most 3,000 characters of private_metadata; the seal adds about 25. */
const MAX_METADATA = 2900;

export function changesModal(view: RequestView, channel: string): Block {
  const narrowing = view.narrowing!;
  let metadata: ChangesMetadata = { requestId: view.id, channel, scope: view.scope };
  // A scope too long to keep beside the form stays as it is (level and time can still change).
  if (JSON.stringify(metadata).length > MAX_METADATA) metadata = { ...metadata, scope: [] };
  const option = (label: string, value: string) => ({ text: plain(label.slice(0, 75)), value });
  const blocks: Block[] = [
    section(`Grant less than asked: a lower level, part of the scope, a shorter time. *Never more than asked.* The requester is told what changed, with your note.`),
    {
      type: 'input', block_id: 'level', label: plain('Level'),
      element: { type: 'static_select', action_id: 'value', initial_option: option(view.level, view.level), options: narrowing.levels.map((level) => option(level, level)) },
    },
  ];
  if (metadata.scope.length > 1) {
    const options = metadata.scope.map((item, index) => option(item, String(index)));
    blocks.push({
      type: 'input', block_id: 'scope', label: plain('Scope to keep'),
      element: { type: 'multi_static_select', action_id: 'value', options, initial_options: options },
    });
  }
  blocks.push(
    {
      type: 'input', block_id: 'duration', label: plain(`Duration (at most ${formatDuration(view.durationSeconds)})`),
      element: { type: 'plain_text_input', action_id: 'value', initial_value: formatDuration(view.durationSeconds), max_length: 20 },
    },
    {
      type: 'input', block_id: 'note', optional: !narrowing.noteRequired, label: plain(narrowing.noteRequired ? 'Note to the requester (required here)' : 'Note to the requester'),
      element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 },
    },
  );
  if (view.policy?.mfaRequired) {
    blocks.push({ type: 'input', block_id: 'code', label: plain('MFA code'), element: { type: 'plain_text_input', action_id: 'value', min_length: 6, max_length: 20, placeholder: plain('123456') } });
  }
  return {
    type: 'modal', callback_id: IDS.changesView, private_metadata: JSON.stringify(metadata),
    title: plain(`Approve ${view.id}`), submit: plain('Approve with changes'), close: plain('Cancel'), blocks,
  };
}

type Values = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: Array<{ value: string }> | null }>>;

/** The modal's answers as the core's, and the MFA code when the form asked for one. */
export function changesFromModal(values: Values, metadata: ChangesMetadata): { changes: ChangesInput; code?: string | undefined } {
  const field = (block: string) => values[block]?.value;
  const kept = field('scope')?.selected_options;
  return {
    changes: {
      level: field('level')?.selected_option?.value,
      scope: kept ? kept.map((option) => metadata.scope[Number(option.value)]).filter((item): item is string => item !== undefined) : undefined,
      duration: field('duration')?.value ?? undefined,
      note: field('note')?.value ?? undefined,
    },
    code: field('code')?.value?.trim() || undefined,
  };
}

/** The card's line about changes, when approvers narrowed the request. */
export function changesBlocks(view: RequestView): Block[] {
  const line = changesCardLine(view);
  return line ? [context(`:scissors: ${mrkdwnOf(line)}`)] : [];
}
