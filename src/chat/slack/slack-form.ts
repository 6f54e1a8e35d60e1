import type { CatalogView } from '../../config/catalog.js';
import type { DraftField } from '../../modules/access-requests/access-request-schemas.js';
import { databaseChoice, type FormAnalysis, type FormState as BaseFormState } from '../core/request-form.js';
import { formatDuration } from '../../lib/time.js';
import { IDS, RISK_EMOJI, bullets, codeSpan, context, escape, plain, riskPartBlocks, section, suggestionText, title, type Block } from './slack-kit.js';
import { ratingSource, riskParts } from '../core/request-presenter.js';

/** Slack: the request form, its analysis, and the small modals (deny, extend, MFA). */

/** The form's block ids carry a revision: a new one makes Slack show new initial values ("Use suggestion"). */
export const fieldBlockId = (field: DraftField, revision: number) => (revision === 0 ? field : `${field}.${revision}`);

const input = (blockId: string, label: string, element: Block, options: { optional?: boolean; hint?: string } = {}): Block => ({
  type: 'input',
  block_id: blockId,
  label: plain(label),
  optional: options.optional ?? false,
  element: { ...element, action_id: 'value' },
  ...(options.hint ? { hint: plain(options.hint) } : {}),
});

export type { FormAnalysis } from '../core/request-form.js';

/** Slack's form also carries its revision (see fieldBlockId). */
export interface FormState extends BaseFormState {
  revision?: number | undefined;
}

export function requestModal(catalog: CatalogView, state: FormState = {}): Block {
  const databases = catalog.catalog.databases.slice(0, 100);
  const revision = state.revision ?? 0;
  const draft = state.draft;
  const id = (field: DraftField) => fieldBlockId(field, revision);
  const option = (value: string, text: string) => ({ text: plain(text), value });
  // Slack allows 75 characters in an option's text: the whole reason goes under the list.
  const databaseOption = (db: { id: string; environment: string }) => option(db.id, databaseChoice(db, state.unavailable, 75));
  const unavailable = databases.flatMap((db) => state.unavailable?.get(db.id) ?? []);
  const levelText = (level: string) => (catalog.level(level)?.description ? `${level}: ${catalog.level(level)!.description}` : level);
  const chosenDatabase = draft && catalog.database(draft.databaseId);
  const levels = [...new Set(['read', ...databases.flatMap((db) => db.levels)])].slice(0, 100);
  const chosenLevel = draft && levels.includes(draft.level) ? draft.level : 'read';
  const text = (value: string | undefined) => (value ? { initial_value: value } : {});
  return {
    type: 'modal',
    callback_id: IDS.requestView,
    private_metadata: String(revision),
    title: plain('Request database access'),
    submit: plain('Submit'),
    close: plain('Cancel'),
    blocks: [
      input(id('databaseId'), 'Database', {
        type: 'static_select',
        placeholder: plain('Choose a database'),
        ...(chosenDatabase ? { initial_option: databaseOption(chosenDatabase) } : {}),
        options: databases.map(databaseOption),
      }),
      // Slack cannot grey an option out: the form says why, and a submission naming it is refused.
      ...(unavailable.length ? [context(unavailable.map((problem) => `:warning: ${escape(problem.message)}`).join('\n'))] : []),
      input(id('level'), 'Access level', {
        type: 'static_select',
        initial_option: option(chosenLevel, levelText(chosenLevel)),
        options: levels.map((level) => option(level, levelText(level))),
      }, { hint: 'Read is enough for most investigations. Each database allows only some levels.' }),
      input(id('scope'), 'Scope', { type: 'plain_text_input', max_length: 2000, placeholder: plain('sales, public.orders (empty: whole database)'), ...text(draft?.scope) }, {
        optional: true,
        hint: 'Schemas or schema.table names, separated by commas. Narrower scopes are approved faster.',
      }),
      input(id('duration'), 'Duration', { type: 'plain_text_input', max_length: 20, initial_value: draft?.duration || '1h' }, {
        hint: `e.g. 30m, 2h. Limits per database: ${databases.map((db) => `${db.id} ${formatDuration(db.maxDuration)}`).join(', ').slice(0, 100)}`,
      }),
      input(id('reason'), 'Reason', { type: 'plain_text_input', multiline: true, min_length: 10, max_length: 1000, placeholder: plain('What will you do, and why?'), ...text(draft?.reason) }),
      input(id('ticket'), 'Ticket', { type: 'plain_text_input', max_length: 100, placeholder: plain('e.g. OPS-1234'), ...text(draft?.ticket) }, { optional: true }),
      input(id('startsAt'), 'Start (UTC)', { type: 'plain_text_input', max_length: 40, placeholder: plain('empty: at approval; or 22:00, 2026-12-24 06:00, in 3h'), ...text(draft?.startsAt) }, {
        optional: true, hint: 'Scheduled access: approved now, created at this time.',
      }),
      input(id('breakGlass'), 'Emergency', {
        type: 'checkboxes',
        options: [breakGlassOption],
        ...(draft?.breakGlass ? { initial_options: [breakGlassOption] } : {}),
      }, { optional: true }),
      ...formAnalysisBlocks(state.analysis),
    ],
  };
}

const breakGlassOption = { text: plain('Break-glass: I need it now'), description: plain('Where policy allows: no approval wait; approvers are alerted and must review it after.'), value: 'yes' };

function formAnalysisBlocks(analysis: FormAnalysis | undefined): Block[] {
  const analyze = { type: 'button', action_id: IDS.analyze, text: plain(analysis ? 'Analyze again' : 'Analyze risk'), value: 'analyze' };
  const blocks: Block[] = [{ type: 'divider' }];
  if (!analysis) {
    blocks.push({ type: 'actions', block_id: 'analysis', elements: [analyze] }, context('Optional: rates the risk and suggests a narrower request before you submit.'));
    return blocks;
  }
  if (analysis.state === 'running') return [...blocks, context(':hourglass_flowing_sand: Analyzing the request…')];
  if (analysis.state === 'applied') return [...blocks, section(`:white_check_mark: *Suggestion applied:* ${escape(analysis.text)}
Check the form, then submit.`), { type: 'actions', block_id: 'analysis', elements: [analyze] }];
  const { outcome } = analysis;
  if (!outcome.ok) return [...blocks, section(`:warning: ${escape(outcome.problem)}`), { type: 'actions', block_id: 'analysis', elements: [analyze] }];
  const result = outcome.analysis;
  blocks.push(section(`${RISK_EMOJI[result.level]} *Risk: ${title(result.level)}* _(${escape(ratingSource(result))})_${bullets(result.reasons.slice(0, 5))}`), ...riskPartBlocks(riskParts(result, undefined, result.reasons.slice(0, 5))));
  if (result.conflicts.length) blocks.push(section(`*Policy conflicts*${bullets(result.conflicts)}`));
  if (result.unusual.length) blocks.push(section(`*Unusual*${bullets(result.unusual.slice(0, 4))}`));
  const elements: Block[] = [];
  if (result.suggestion) {
    blocks.push(section(`*Narrower option:* ${escape(result.suggestion.text)}
${suggestionText(result.suggestion)}`));
    elements.push({ type: 'button', action_id: IDS.useSuggestion, style: 'primary', text: plain('Use suggestion'), value: outcome.analysisId });
  }
  blocks.push({ type: 'actions', block_id: 'analysis', elements: [...elements, analyze] });
  blocks.push(context('You may still submit the request as it is.'));
  return blocks;
}

export function denyModal(requestId: string, metadata: string): Block {
  return {
    type: 'modal',
    callback_id: IDS.denyView,
    private_metadata: metadata,
    title: plain(`Deny ${requestId}`),
    submit: plain('Deny'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: 'reason',
        optional: true,
        label: plain('Reason (sent to the requester)'),
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 },
      },
    ],
  };
}

export function extendModal(requestId: string, maxDuration: number): Block {
  return {
    type: 'modal',
    callback_id: IDS.extendView,
    private_metadata: requestId,
    title: plain(`Extend ${requestId}`),
    submit: plain('Extend'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'input', block_id: 'duration', label: plain('More time'),
        hint: plain(`Up to ${formatDuration(maxDuration)} in all is applied at once; beyond that, approvers decide.`),
        element: { type: 'plain_text_input', action_id: 'value', initial_value: '30m', max_length: 20 },
      },
      {
        type: 'input', block_id: 'reason', optional: true, label: plain('Why (for approvers, if needed)'),
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 1000 },
      },
    ],
  };
}

/** Asks for a 6-digit code (or a recovery code): to approve a request, or to finish enrolling. */
const MFA_FORMS = {
  approve: { callback: IDS.mfaApproveView, title: (id: string) => `Approve ${id}`, submit: 'Approve', text: 'This request needs a second factor to approve. Enter the code from your authenticator app.' },
  confirm: { callback: IDS.mfaConfirmView, title: () => 'Finish MFA set-up', submit: 'Confirm', text: 'Enter the code your authenticator app shows now.' },
  reveal: { callback: IDS.revealView, title: (id: string) => `Reveal ${id}`, submit: 'Reveal', text: 'Enter the code from your authenticator app to see the credentials.' },
} as const;

export function mfaModal(requestId: string, metadata: string, purpose: keyof typeof MFA_FORMS = 'approve'): Block {
  const form = MFA_FORMS[purpose];
  return {
    type: 'modal',
    callback_id: form.callback,
    private_metadata: metadata,
    title: plain(form.title(requestId)),
    submit: plain(form.submit),
    close: plain('Cancel'),
    blocks: [
      section(form.text),
      { type: 'input', block_id: 'code', label: plain('Code'), element: { type: 'plain_text_input', action_id: 'value', min_length: 6, max_length: 20, placeholder: plain('123456') } },
    ],
  };
}

export function mfaEnrollmentBlocks(secret: string, otpauthUri: string, qrUrl: string | undefined): { text: string; blocks: Block[] } {
  return {
    text: 'Set up MFA for dbaccess',
    blocks: [
      section(':closed_lock_with_key: *Set up MFA for dbaccess.* Scan the QR code (or paste the key) in an authenticator app, then confirm with a code.'),
      ...(qrUrl ? [{ type: 'image', image_url: qrUrl, alt_text: 'QR code of your MFA key' }] : []),
      section(`*Key*\n${codeSpan(secret)}\n*URI*\n${codeSpan(otpauthUri)}`),
      { type: 'actions', block_id: 'mfa-confirm', elements: [{ type: 'button', action_id: IDS.mfaConfirm, style: 'primary', text: plain('Enter a code'), value: 'confirm' }] },
    ],
  };
}

