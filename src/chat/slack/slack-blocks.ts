import type { CatalogView } from '../../config/catalog.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { DraftField } from '../../modules/access-requests/access-request-schemas.js';
import type { RequestAnalysis, Suggestion } from '../../modules/analysis/analysis-types.js';
import type { SessionSummary } from '../../modules/access-requests/session-summary.js';
import type { SystemStatus } from '../core/system-status.js';
import type { FormAnalysis, FormState as BaseFormState } from '../core/request-form.js';
import type { InsightsOverview } from '../../modules/insights/insights-types.js';
import { clientCommand, connectionUri, type Credentials } from '../../modules/credentials/credentials.js';
import { formatDuration, formatTime } from '../../lib/time.js';

/** Slack Block Kit for every screen dbaccess shows. Pure: data in, blocks out. */

type Block = Record<string, unknown>;
import { leftOutSentence } from '../../modules/credentials/postgres-grantable.js';

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

const RISK_EMOJI = { low: ':large_green_circle:', medium: ':large_yellow_circle:', high: ':large_orange_circle:', critical: ':red_circle:' } as const;
const plain = (text: string) => ({ type: 'plain_text', text: text.slice(0, 150), emoji: true });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: text.slice(0, 3000) });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
const context = (text: string): Block => ({ type: 'context', elements: [mrkdwn(text)] });
const mention = (externalId: string) => `<@${externalId}>`;
/** Requester text goes into mrkdwn: neutralise Slack's control characters so it cannot ping or link. */
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const title = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

// ---- The request form ----------------------------------------------------------------------------

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
        ...(chosenDatabase ? { initial_option: option(chosenDatabase.id, `${chosenDatabase.id} (${chosenDatabase.environment})`) } : {}),
        options: databases.map((db) => option(db.id, `${db.id} (${db.environment})`)),
      }),
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
  blocks.push(section(`${RISK_EMOJI[result.level]} *Risk: ${title(result.level)}* _(${analyzerText(result)})_${bullets(result.reasons.slice(0, 5))}`));
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

const bullets = (items: string[]) => (items.length ? `\n• ${items.map(escape).join('\n• ')}` : '');
const suggestionText = (suggestion: Suggestion) =>
  `\`${suggestion.level}\` on ${suggestion.scope.length ? suggestion.scope.map((item) => `\`${escape(item)}\``).join(', ') : 'the same scope'} for ${formatDuration(suggestion.durationSeconds)}`;

/** Who rated it, and why the built-in rules answered when a model is configured. */
function analyzerText(analysis: RequestAnalysis): string {
  if (analysis.fallback) return `built-in rules: ${analysis.fallback}`;
  if (analysis.analyzer === 'heuristic') return 'built-in rules';
  if (analysis.modelLevel) return `${analysis.analyzer} rated it ${title(analysis.modelLevel)}; the built-in rules hold it at ${title(analysis.level)}`;
  return analysis.level === analysis.heuristicLevel ? analysis.analyzer : `${analysis.analyzer}; built-in rules: ${title(analysis.heuristicLevel)}`;
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
      section(`*Key*\n\`${secret}\`\n*URI*\n\`${otpauthUri}\``),
      { type: 'actions', block_id: 'mfa-confirm', elements: [{ type: 'button', action_id: IDS.mfaConfirm, style: 'primary', text: plain('Enter a code'), value: 'confirm' }] },
    ],
  };
}

export function recoveryText(codes: string[]): string {
  return `:white_check_mark: MFA is on. Keep these one-time recovery codes somewhere safe; each works once if you lose your phone:\n\`\`\`${codes.join('\n')}\`\`\``;
}

// ---- The approvers' card ------------------------------------------------------------------------

function statusLine(view: RequestView): string {
  const approvalsGiven = view.decisions.filter((d) => d.decision === 'approve');
  const approved = approvalsGiven.length
    ? `:white_check_mark: Approved by ${approvalsGiven.map((d) => mention(d.approverExternalId)).join(', ')} at ${formatTime(approvalsGiven.at(-1)!.at)}`
    : view.policy?.autoApprovedBy
      ? `:white_check_mark: Auto-approved by rule ${view.policy.autoApprovedBy} at ${formatTime(view.decidedAt ?? view.createdAt)}`
      : '';
  const lease = view.lease;
  switch (view.state) {
    case 'pending': {
      const approvals = view.decisions.filter((d) => d.decision === 'approve').map((d) => mention(d.approverExternalId));
      const quorum = view.policy?.quorum ?? 1;
      const progress = quorum > 1 ? `${approvals.length} of ${quorum} approvals${approvals.length ? `: ${approvals.join(', ')}` : ''} · ` : '';
      return `:hourglass_flowing_sand: ${progress}Waiting for ${quorum > 1 && approvals.length ? 'more approvers' : 'an approver'} · expires unanswered at ${formatTime(view.pendingUntil)}`;
    }
    case 'approved':
    case 'provisioning':
      return `${approved} · ${view.kind === 'extension' ? 'applying the extension…' : 'creating the database user…'}`;
    case 'active':
      return `${approved} · :unlock: access active until ${formatTime(lease!.expiresAt)}`;
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      return `:no_entry: Denied by ${mention(denial!.approverExternalId)} at ${formatTime(denial!.at)}${denial!.reason ? `: ${escape(denial!.reason)}` : ''}`;
    }
    case 'expired':
      return `:hourglass: Expired unanswered at ${formatTime(view.pendingUntil)}`;
    case 'cancelled':
      return `:heavy_multiplication_x: Cancelled${view.failure ? `: ${escape(view.failure)}` : ''}`;
    case 'failed':
      return `${approved} · :warning: not provisioned: ${escape(view.failure ?? 'unknown error')}`;
    case 'revoking':
      return `${approved} · :lock: ending access…`;
    case 'revoke_failed':
      return `${approved} · :rotating_light: revocation failing (${lease?.revokeAttempts ?? 0} attempts), still retrying`;
    case 'revoked':
      return `${approved} · :lock: access ended at ${formatTime(lease?.revokedAt ?? new Date())}${endedBy(view)}`;
    case 'extended':
      return `${approved} · :hourglass_flowing_sand: extension applied: ${view.extendsRequestId} now ends at ${lease ? formatTime(lease.expiresAt) : 'its new time'}`;
  }
}

function endedBy(view: RequestView): string {
  const lease = view.lease;
  if (lease?.endReason === 'ended') return ` (ended early by ${mention(lease.endedByExternalId!)})`;
  if (lease?.endReason === 'revoked') return ` (revoked by ${mention(lease.endedByExternalId!)})`;
  if (lease?.endReason === 'offboarded') return ' (revoked: the requester left)';
  if (lease?.endReason === 'emergency') return ' (revoked by an operator: emergency revoke-all)';
  return lease ? ' (expired)' : '';
}

export function approvalCardText(view: RequestView): string {
  return `Access request ${view.id}: ${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}, risk ${view.analysis?.level ?? view.risk.level} (${view.state})`;
}

export function approvalCard(view: RequestView): Block[] {
  const blocks: Block[] = [
    {
      type: 'header',
      text: plain(
        view.kind === 'extension'
          ? `${RISK_EMOJI[view.analysis?.level ?? view.risk.level]} Extension +${formatDuration(view.durationSeconds)} of ${view.extendsRequestId} on ${view.databaseId} · ${view.id}`
          : `${RISK_EMOJI[view.analysis?.level ?? view.risk.level]} ${title(view.level)} access to ${view.databaseId} · ${view.id}`,
      ),
    },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Requester*\n${mention(view.requester.externalId)}`),
        mrkdwn(`*Database*\n${view.databaseId} (${view.environment}${view.tags.length ? `, ${view.tags.join(', ')}` : ''})`),
        mrkdwn(`*Level*\n${view.level}`),
        mrkdwn(`*Scope*\n${view.scope.length ? view.scope.join(', ') : 'whole database'}`),
        mrkdwn(`*Duration*\n${formatDuration(view.durationSeconds)}`),
        mrkdwn(`*Ticket*\n${view.ticket ? escape(view.ticket) : 'none'}`),
      ],
    },
    section(`*Reason*\n${escape(view.reason)}`),
    ...riskBlocks(view),
    ...(view.policy ? [context(policyLine(view))] : []),
    section(`*Grants*\n${escape(view.grantsInWords)}\n\`\`\`${view.grantStatements.join(';\n')};\`\`\``),
    context(statusLine(view)),
  ];
  if (view.policy?.breakGlass) {
    blocks.splice(1, 0, context(view.reviewedByExternalId ? `:rotating_light: Break-glass, reviewed by ${mention(view.reviewedByExternalId)}` : ':rotating_light: *Break-glass: taken without approval. Review required.*'));
  }
  const review = view.policy?.breakGlass && !view.reviewedByExternalId
    ? [{ type: 'button', action_id: IDS.review, text: plain('Mark reviewed'), value: view.id }]
    : [];
  if (view.state === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: `decide-${view.id}`,
      elements: [
        { type: 'button', action_id: IDS.approve, style: 'primary', text: plain('Approve'), value: buttonValue(view) },
        { type: 'button', action_id: IDS.deny, style: 'danger', text: plain('Deny'), value: buttonValue(view) },
        cancelButton(view),
      ],
    });
  } else if (view.state === 'approved' || view.state === 'provisioning') {
    blocks.push({ type: 'actions', block_id: `cancel-${view.id}`, elements: [cancelButton(view), ...review] });
  } else if (view.state === 'active') {
    blocks.push({
      type: 'actions',
      block_id: `end-${view.id}`,
      elements: [{ type: 'button', action_id: IDS.end, text: plain('Revoke now'), value: view.id, confirm: confirmEnd('Revoke this access now? Open sessions are killed.') }, ...review],
    });
  } else if (view.state === 'failed' && view.kind === 'access') {
    // Admins only: anyone else's click is answered with a refusal.
    blocks.push({ type: 'actions', block_id: `retry-${view.id}`, elements: [{ type: 'button', action_id: IDS.retry, text: plain('Retry'), value: view.id }, ...review] });
  } else if (review.length > 0) {
    blocks.push({ type: 'actions', block_id: `review-${view.id}`, elements: review });
  }
  return blocks;
}

/**
 * The rating and what approvers need to decide: reasons, conflicts, the comparison with history, what
 * is unusual, a narrower option and alternatives. Until the analysis has run, the built-in rating.
 * Model text is escaped like the requester's: it may echo what the requester wrote.
 */
function riskBlocks(view: RequestView): Block[] {
  const analysis = view.analysis;
  if (!analysis) {
    const blocks = [section(`*Risk: ${title(view.risk.level)}* _(built-in rules)_${bullets(view.risk.reasons)}`)];
    if (view.kind === 'access' && view.state === 'pending') blocks.push(context(':hourglass_flowing_sand: Analysis in progress: history and suggestions follow.'));
    return blocks;
  }
  const blocks = [section(`*Risk: ${title(analysis.level)}* _(${analyzerText(analysis)})_${bullets(analysis.reasons.slice(0, 5))}`)];
  if (analysis.conflicts.length) blocks.push(section(`*Policy conflicts*${bullets(analysis.conflicts)}`));
  if (analysis.unusual.length) blocks.push(section(`*Unusual*${bullets(analysis.unusual.slice(0, 5))}`));
  if (analysis.comparison) blocks.push(context(`*History:* ${escape(analysis.comparison)}`));
  if (analysis.suggestion) blocks.push(context(`*Narrower option:* ${escape(analysis.suggestion.text)} (${suggestionText(analysis.suggestion)})`));
  if (analysis.alternatives.length) blocks.push(context(`*Instead:* ${analysis.alternatives.map(escape).join(' ')}`));
  blocks.push(context(`*Security context:* ${view.environment}${view.tags.length ? `, tagged ${view.tags.map(escape).join(', ')}` : ''}. ${escape(view.recording)}`));
  return blocks;
}

function policyLine(view: RequestView): string {
  const policy = view.policy!;
  const parts = [`Policy *${policy.name}*`];
  if (policy.quorum > 1) parts.push(`${policy.quorum} distinct approvers`);
  if (policy.mfaRequired) parts.push(':closed_lock_with_key: approval needs an MFA code');
  const fired = policy.rules.filter((rule) => rule.outcome !== 'pass').map((rule) => rule.explanation);
  return [parts.join(' · '), ...fired].join('\n').slice(0, 2900);
}

/**
 * Request id, database, requester, level and whether MFA is needed: enough for a click to be
 * answered (refused, or the MFA form opened) before any database read.
 */
const buttonValue = (view: RequestView) => `${view.id}|${view.databaseId}|${view.requester.externalId}|${view.level}|${view.policy?.mfaRequired ? 'mfa' : ''}`;
export function parseButtonValue(value: string): { requestId: string; databaseId: string; requesterExternalId: string; level: string; mfa: boolean } | undefined {
  const [requestId = '', databaseId = '', requesterExternalId = '', level = 'read', mfa = ''] = value.split('|');
  const valid = /^R[0-9A-Z]{9}$/.test(requestId) && /^[a-z][a-z0-9_-]{0,39}$/.test(databaseId) && /^[A-Z0-9]{2,20}$/.test(requesterExternalId) && /^[a-z][a-z0-9_-]{0,30}$/.test(level);
  return valid ? { requestId, databaseId, requesterExternalId, level, mfa: mfa === 'mfa' } : undefined;
}

const cancelButton = (view: RequestView) => ({
  type: 'button', action_id: IDS.cancel, text: plain('Cancel request'), value: view.id,
  confirm: { title: plain('Cancel request'), text: plain(`Cancel request ${view.id}? A database user being created for it is dropped.`), confirm: plain('Cancel it'), deny: plain('Keep it') },
});

/** The requester's receipt, with Cancel while the request waits. */
export function receivedBlocks(view: RequestView, approvers: string[]): { text: string; blocks: Block[] } {
  const text = receivedText(view, approvers);
  return { text, blocks: [section(text), { type: 'actions', block_id: `received-${view.id}`, elements: [cancelButton(view)] }] };
}

const confirmEnd = (text: string) => ({ title: plain('End access'), text: plain(text), confirm: plain('End it'), deny: plain('Keep it') });

// ---- Messages to the requester ------------------------------------------------------------------

export function receivedText(view: RequestView, approvers: string[]): string {
  return `Your request *${view.id}* (${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}) is waiting for ${approvers.map(mention).join(', ')}. Risk: ${view.risk.level}. I will message you here when it is decided.`;
}

export function closedText(view: RequestView): string {
  switch (view.state) {
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      return `Your request *${view.id}* for ${view.databaseId} was denied by ${mention(denial?.approverExternalId ?? '')}${denial?.reason ? `: ${escape(denial.reason)}` : '.'}`;
    }
    case 'expired':
      return `Your request *${view.id}* for ${view.databaseId} expired without a decision. Ask again with \`/dbaccess\` if you still need it.`;
    case 'cancelled':
      if (!view.failure) return `Your request *${view.id}* for ${view.databaseId} was cancelled${view.lease?.endReason === 'offboarded' ? ' (offboarding)' : ''}; nothing was left on the database.`;
      return `Your request *${view.id}* for ${view.databaseId} was not sent to approvers: ${escape(view.failure ?? 'it was cancelled')} Fix the scope and ask again with \`/dbaccess\`.`;
    default:
      return `Your request *${view.id}* for ${view.databaseId} was approved, but the database user could not be created: ${escape(view.failure ?? 'unknown error')}`;
  }
}

export function credentialsBlocks(view: RequestView, c: Credentials): { text: string; blocks: Block[] } {
  const uri = connectionUri(c);
  return {
    text: `Your access to ${view.databaseId} is ready until ${formatTime(c.expiresAt)}.`,
    blocks: [
      section(`:key: Your *${view.level}* access to *${view.databaseId}* (${view.environment}) is ready until *${formatTime(c.expiresAt)}*. Request ${view.id}.`),
      {
        type: 'section',
        fields: [
          mrkdwn(`*Host*\n\`${c.host}\``), mrkdwn(`*Port*\n\`${c.port}\``),
          mrkdwn(`*Database*\n\`${c.database}\``), mrkdwn(`*User*\n\`${c.username}\``),
          mrkdwn(`*Password*\n\`${c.password.reveal()}\``),
        ],
      },
      section(`*URI*\n\`\`\`${uri}\`\`\``),
      section(`*${c.protocol === 'postgres' ? 'psql' : 'mysql'}*\n\`\`\`${clientCommand(c)}\`\`\``),
      ...(view.leftOut?.length ? [context(escape(leftOutSentence(view.leftOut)))] : []),
      context('This message is the only copy of the password. At expiry the user is dropped and open sessions are closed.'),
      {
        type: 'actions',
        block_id: `end-${view.id}`,
        elements: [
          { type: 'button', action_id: IDS.extend, text: plain('Extend'), value: view.id },
          { type: 'button', action_id: IDS.end, style: 'danger', text: plain('End access now'), value: view.id, confirm: confirmEnd('End your access now? Open sessions are killed.') },
        ],
      },
    ],
  };
}

export function waitingBlocks(view: RequestView): { text: string; blocks: Block[] } {
  return {
    text: `Your access to ${view.databaseId} is ready; reveal it with your MFA code.`,
    blocks: [
      section(`:key: Your *${view.level}* access to *${view.databaseId}* (${view.environment}) is ready until *${formatTime(view.lease!.expiresAt)}*. Request ${view.id}. This access needs a second factor: reveal the credentials with your MFA code.`),
      {
        type: 'actions',
        block_id: `reveal-${view.id}`,
        elements: [
          { type: 'button', action_id: IDS.reveal, style: 'primary', text: plain('Reveal'), value: view.id },
          { type: 'button', action_id: IDS.end, style: 'danger', text: plain('End access now'), value: view.id, confirm: confirmEnd('End your access now? Open sessions are killed.') },
        ],
      },
    ],
  };
}

export function revokedBlocks(view: RequestView): { text: string; blocks: Block[] } {
  const lease = view.lease!;
  const text = `:lock: Your access to *${view.databaseId}* (request ${view.id}) ended at ${formatTime(lease.revokedAt ?? new Date())}${endedBy(view)}. The user \`${lease.username}\` no longer exists and its password no longer works.`;
  return { text: `Your access to ${view.databaseId} has ended.`, blocks: [section(text)] };
}

export function extendedText(view: RequestView): string {
  return `:hourglass_flowing_sand: Access to *${view.databaseId}* (request ${view.id}) extended: it now ends at ${formatTime(view.lease!.expiresAt)}. Same user and password; open sessions keep running.`;
}

export function activeText(view: RequestView): string {
  return `:unlock: Access active until ${formatTime(view.lease!.expiresAt)} as \`${view.lease!.username}\`. Credentials were sent to ${mention(view.requester.externalId)} by direct message.`;
}

export function failingText(view: RequestView, operation: 'provision' | 'revoke', attempts: number, error: string): string {
  return operation === 'revoke'
    ? `:rotating_light: Revoking \`${view.lease?.username}\` on ${view.databaseId} (request ${view.id}) has failed ${attempts} times: ${escape(error)} It is still being retried; check the database.`
    : `:warning: Could not create the database user on ${view.databaseId} yet (request ${view.id}): ${escape(error)} Retrying until it works or the approved time runs out.`;
}

export function breakGlassText(view: RequestView): string {
  return `:rotating_light: *BREAK-GLASS* ${mention(view.requester.externalId)} took *${view.level}* on *${view.databaseId}* (${view.environment}) for ${formatDuration(view.durationSeconds)} without waiting for approval (request ${view.id}). Reason: ${escape(view.reason)}. An approver must review it: use *Mark reviewed* on the card.`;
}

export function mfaAlertText(alert: { personExternalId: string; what: 'locked' | 'reset'; until?: Date | undefined; byExternalId?: string | undefined }): string {
  return alert.what === 'locked'
    ? `:rotating_light: MFA of ${mention(alert.personExternalId)} is locked after too many wrong codes${alert.until ? ` until ${formatTime(alert.until)}` : ''}. If that was not them, someone is guessing.`
    : `:closed_lock_with_key: MFA of ${mention(alert.personExternalId)} was reset by ${mention(alert.byExternalId ?? '')}; they must enrol again before their next step-up.`;
}

/** Without the details (a file of several tenants), it points to where the operator finds them. */
export function configProblemText(message: string | undefined): string {
  const intro = ':warning: The catalog file was changed, but it has mistakes, so the last good catalog stays in force';
  return message ? `${intro}:\n\`\`\`${message.slice(0, 2500)}\`\`\`` : `${intro}. \`dbaccess check-config\` (or the server log) says where.`;
}

const FLAG_EMOJI = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

export function summaryBlocks(summary: SessionSummary): Block[] {
  const blocks = [section(`*Session summary*\n${summary.lines.map((line) => `• ${line}`).join('\n')}`)];
  if (summary.technical) blocks.push(section(`*What was run*\n${escape(summary.technical)}`));
  if (summary.plain) blocks.push(section(`*In plain words*\n${escape(summary.plain)}`));
  if (summary.flags.length) blocks.push(section(`*Flagged for review*\n${summary.flags.map((flag) => `${FLAG_EMOJI[flag.severity]} ${escape(flag.message)}`).join('\n')}`));
  if (summary.unusual?.length) blocks.push(section(`*Unusual against past sessions*${bullets(summary.unusual.slice(0, 5))}`));
  if (summary.baseline?.length) blocks.push(context(escape(summary.baseline.join(' '))));
  if (summary.by) blocks.push(context(`Summary by ${escape(summary.by)}. Statements are shown as the server logged them.`));
  return blocks;
}

export function flaggedText(view: RequestView): string {
  const flags = view.session?.flags.filter((flag) => flag.severity !== 'info') ?? [];
  const link = view.cardRef ? ' (see the summary in the request\'s thread)' : '';
  return `:rotating_light: Session of ${view.id} by ${mention(view.requester.externalId)} on ${view.databaseId} needs review${link}:\n${flags.map((flag) => `${FLAG_EMOJI[flag.severity]} ${escape(flag.message)}`).join('\n')}`;
}

export type { SystemStatus } from '../core/system-status.js';

export function statusText(status: SystemStatus): string {
  const lines = [
    '*dbaccess status*',
    `• Active temporary users: ${status.activeLeases}`,
    `• Jobs: ${Object.entries(status.queue).map(([state, count]) => `${count} ${state}`).join(', ')}`,
  ];
  if (status.unreviewedBreakGlass.length > 0) {
    lines.push(`• :rotating_light: Break-glass access not yet reviewed: ${status.unreviewedBreakGlass.map((b) => `\`${b.id}\` (${b.level} on ${b.databaseId}, ${formatTime(b.createdAt)})`).join(', ')}`);
  } else lines.push('• Break-glass: all reviewed');
  if (status.failingRevocations.length === 0) lines.push('• Revocations: none failing :white_check_mark:');
  else {
    lines.push(`• :rotating_light: Revocations failing and retrying: ${status.failingRevocations.length}`);
    for (const stuck of status.failingRevocations) {
      lines.push(`    ◦ \`${stuck.username}\` on ${stuck.databaseId} (request ${stuck.requestId}), due ${formatTime(stuck.expiresAt)}, ${stuck.attempts} failed attempts: ${escape(stuck.lastError ?? '')}`);
    }
  }
  return lines.join('\n');
}

/** `/dbaccess insights`: the period's highest anomalies, the recommendations with their evidence, and what is not scored yet. */
export function insightsText(overview: InsightsOverview, days: number): string {
  const { period, anomalies, recommendations, notes } = overview;
  const lines = [
    `*Insights: the last ${days} days* (${period.from.toISOString().slice(0, 10)} to ${period.to.toISOString().slice(0, 10)}; ${overview.requestsScored} requests and ${overview.sessionsScored} recorded sessions, each scored against the 180 days before it)`,
    '*Anomalies* (score 3.5 or more; highest first)',
  ];
  if (anomalies.length === 0) lines.push('• Nothing stood out.');
  for (const anomaly of anomalies.slice(0, 15)) {
    lines.push(`• *${anomaly.score.toFixed(1)}* \`${anomaly.requestId}\`${anomaly.kind === 'session' ? ' session' : ''} by ${mention(anomaly.personExternalId)} on ${anomaly.databaseId}: ${escape(anomaly.text)}`);
  }
  if (anomalies.length > 15) lines.push(`• …and ${anomalies.length - 15} more (the report lists them all).`);
  lines.push('*Recommendations*');
  if (recommendations.length === 0) lines.push('• None: no kind of request, grant or approver meets a recommendation\'s thresholds yet.');
  for (const recommendation of recommendations) lines.push(`• ${recommendation.text}\n    ◦ ${recommendation.evidence}`);
  if (notes.length) lines.push('*Not scored yet*', ...notes.map((note) => `• ${note}`));
  return lines.join('\n');
}

export function helpText(): string {
  return [
    '*dbaccess*: temporary database access, approved in Slack.',
    '• `/dbaccess`: request access (opens a form)',
    '• `/dbaccess list`: your recent requests and active access',
    '• `/dbaccess revoke <request id>`: end access now (yours, or any as an approver)',
    '• `/dbaccess cancel <request id>`: cancel a request that waits (yours, or any as an approver)',
    '• `/dbaccess approve <request id>` / `/dbaccess deny <request id> [reason]`: decide without the card (approvers)',
    '• `/dbaccess status`: system health and failing revocations (admins)',
    '• `/dbaccess mfa reset @person`: reset someone\'s MFA (admins)',
    '• `/dbaccess mfa`: set up the second factor some approvals need',
    '• `/dbaccess policy <database> [@person]`: who approves, what needs MFA, which rules apply (admins)',
    '• `/dbaccess insights`: anomalies of the last 30 days and policy recommendations (admins)',
    '• `/dbaccess report <period> [db:<database>] [env:<environment>] [@person]`: who had what access, approvals, MFA, break-glass, flags; with download links (auditors, admins). Periods: `2026-11`, `2026-Q4`, `last 30d`, `2026-11-01..2026-11-15`',
    '• `/dbaccess audit verify`: check that the audit log is complete and unaltered (auditors, admins)',
    '• `/dbaccess help`: this message',
  ].join('\n');
}

export function listText(rows: Array<{ id: string; databaseId: string; level: string; state: string; createdAt: Date }>, active: Map<string, Date>): string {
  if (rows.length === 0) return 'You have no requests yet. Type `/dbaccess` to ask for access.';
  return ['*Your recent requests*', ...rows.map((row) => {
    const until = active.get(row.id);
    return `• \`${row.id}\` ${row.level} on ${row.databaseId}: ${row.state}${until ? `, until ${formatTime(until)}` : ''} (asked ${formatTime(row.createdAt)})`;
  })].join('\n');
}
