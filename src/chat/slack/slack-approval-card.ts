import { person, rich, strong } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { policyText } from '../../modules/access-requests/policy-text.js';
import { ticketCell } from '../core/ticket-presenter.js';
import { breakGlassBanner, cardSummary, headline, ratingSource, riskParts, statusLine } from '../core/request-presenter.js';
import { IDS, RISK_EMOJI, bullets, codeSpan, confirmEnd, context, escape, mrkdwn, plain, riskPartBlocks, section, suggestionText, title, type Block } from './slack-kit.js';
import { codeBlock, mrkdwnOf, slackLine, slackLines, slackSegments } from './slack-rich.js';
import { changesBlocks } from './slack-changes.js';

/** Slack: the approvers' card, redrawn in place as the request changes. */

export const approvalCardText = (view: RequestView): string => cardSummary(view);

export function approvalCard(view: RequestView): Block[] {
  const blocks: Block[] = [
    {
      type: 'header',
      text: plain(`${RISK_EMOJI[view.analysis?.level ?? view.risk.level]} ${headline(view)}`),
    },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Requester*\n${mrkdwnOf(rich`${person(view.requester.externalId)}`)}`),
        mrkdwn(`*Database*\n${escape(`${view.databaseId} (${view.environment}${view.tags.length ? `, ${view.tags.join(', ')}` : ''})`)}`),
        mrkdwn(`*Level*\n${view.level}`),
        mrkdwn(`*Scope*\n${view.scope.length ? view.scope.map(codeSpan).join(', ') : 'whole database'}`),
        mrkdwn(`*Duration*\n${formatDuration(view.durationSeconds)}`),
        mrkdwn(`*Ticket*\n${mrkdwnOf(ticketCell(view), { inline: true })}`),
      ],
    },
    section(`*Reason*\n${escape(view.reason)}`),
    ...riskBlocks(view),
    ...(view.policy ? [context(policyLine(view))] : []),
    section(`*Grants*\n${escape(view.grantsInWords)}\n\`\`\`${codeBlock(`${view.grantStatements.join(';\n')};`)}\`\`\``),
    context(slackSegments(statusLine(view))),
    ...changesBlocks(view),
  ];
  const banner = breakGlassBanner(view);
  if (banner) blocks.splice(1, 0, context(slackLine(banner.line)));
  const review = view.policy?.breakGlass && !view.reviewedByExternalId
    ? [{ type: 'button', action_id: IDS.review, text: plain('Mark reviewed'), value: view.id }]
    : [];
  if (view.state === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: `decide-${view.id}`,
      elements: [
        { type: 'button', action_id: IDS.approve, style: 'primary', text: plain('Approve'), value: buttonValue(view) },
        ...(view.narrowing ? [{ type: 'button', action_id: IDS.approveWithChanges, text: plain('Approve with changes…'), value: buttonValue(view) }] : []),
        { type: 'button', action_id: IDS.deny, style: 'danger', text: plain('Deny'), value: buttonValue(view) },
        cancelButton(view),
      ],
    });
  } else if (view.state === 'scheduled' || view.state === 'approved' || view.state === 'provisioning') {
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
    const blocks = [section(`*Risk: ${title(view.risk.level)}* _(built-in rules)_${bullets(view.risk.reasons.slice(0, 5))}`), ...riskPartBlocks(riskParts(null, view.risk.time, view.risk.reasons.slice(0, 5)))];
    if (view.kind === 'access' && view.state === 'pending') blocks.push(context(':hourglass_flowing_sand: Analysis in progress: history and suggestions follow.'));
    return blocks;
  }
  const blocks = [section(`*Risk: ${title(analysis.level)}* _(${escape(ratingSource(analysis))})_${bullets(analysis.reasons.slice(0, 5))}`), ...riskPartBlocks(riskParts(analysis, view.risk.time, analysis.reasons.slice(0, 5)))];
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
  const parts = [`Policy ${mrkdwnOf(rich`${strong(policy.name)}`)}`];
  if (policy.quorum > 1) parts.push(`${policy.quorum} distinct approvers`);
  if (policy.mfaRequired) parts.push(':closed_lock_with_key: approval needs an MFA code');
  const fired = policy.rules.filter((rule) => rule.outcome !== 'pass').map((rule) => slackLines(policyText(rule.explanation)));
  return [parts.join(' · '), ...fired].join('\n').slice(0, 2900);
}

/**
 * Request id, database, requester, level and whether MFA is needed: enough for a click to be
 * answered (refused, or the MFA form opened) before any database read.
 */
const buttonValue = (view: RequestView) => `${view.id}|${view.databaseId}|${view.requester.externalId}|${view.changes?.asked.level ?? view.level}|${view.policy?.mfaRequired ? 'mfa' : ''}`;
export function parseButtonValue(value: string): { requestId: string; databaseId: string; requesterExternalId: string; level: string; mfa: boolean } | undefined {
  const [requestId = '', databaseId = '', requesterExternalId = '', level = 'read', mfa = ''] = value.split('|');
  const valid = /^R[0-9A-Z]{9}$/.test(requestId) && /^[a-z][a-z0-9_-]{0,39}$/.test(databaseId) && /^[A-Z0-9]{2,20}$/.test(requesterExternalId) && /^[a-z][a-z0-9_-]{0,30}$/.test(level);
  return valid ? { requestId, databaseId, requesterExternalId, level, mfa: mfa === 'mfa' } : undefined;
}

export const cancelButton = (view: RequestView) => ({
  type: 'button', action_id: IDS.cancel, text: plain('Cancel request'), value: view.id,
  confirm: { title: plain('Cancel request'), text: plain(`Cancel request ${view.id}? A database user being created for it is dropped.`), confirm: plain('Cancel it'), deny: plain('Keep it') },
});

