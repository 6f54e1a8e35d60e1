import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { policyText } from '../../modules/access-requests/policy-text.js';
import { ticketCell } from '../core/ticket-presenter.js';
import { breakGlassBanner, cardSummary, headline, ratingSource, riskParts, statusLine } from '../core/request-presenter.js';
import { INPUTS } from './teams-actions.js';
import { approveWithChangesAction, changesElements } from './teams-changes.js';
import type { AdaptiveCard, CardAction, CardElement, InputText } from './teams-card-types.js';
import { fitCard } from './teams-fit.js';
import {
  RISK, bullets, cancelAction, card, code, confirmed, decisionData, execute, heading, listSection, requestData, riskPartElements, subCard, subtle, suggestionText, text, title,
} from './teams-kit.js';
import { formatDuration } from '../../lib/time.js';
import { Markdown, joinMarkdown, md, mention, paragraphs, richMarkdown, richParagraphs, teamsLine, teamsSegments } from './teams-markdown.js';

/** Teams: the approvers' card, replaced in place as the request changes. */

/** The approval card's plain-text preview (notifications, the chat list): ids and words we validated. */
export const approvalCardSummary = (view: RequestView): string => cardSummary(view);

export function approvalCard(view: RequestView): AdaptiveCard {
  const risk = RISK[view.analysis?.level ?? view.risk.level];
  const body: CardElement[] = [text(md`${risk.icon} ${headline(view)}`, { size: 'Large', weight: 'Bolder' })];
  const banner = breakGlassBanner(view);
  if (banner) {
    body.push(banner.reviewed
      ? subtle(teamsLine(banner.line))
      : { type: 'Container', style: 'attention', items: [text(teamsLine(banner.line), { color: 'Attention' })] });
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
        fact('Ticket', richMarkdown(ticketCell(view))),
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
    text(teamsSegments(statusLine(view)), { separator: true, spacing: 'Medium' }),
    ...changesElements(view),
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
      // The same order as on Slack and in the console: Approve, Approve with changes, Deny, Cancel.
      ...approveWithChangesAction(view),
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
  if (view.state === 'scheduled' || view.state === 'approved' || view.state === 'provisioning') return [cancelAction(view, 'approval-card'), ...review];
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
      ...(view.risk.reasons.length ? [bullets(view.risk.reasons.slice(0, 5))] : []),
      ...riskPartElements(riskParts(null, view.risk.time, view.risk.reasons.slice(0, 5))),
    ];
    if (view.kind === 'access' && view.state === 'pending') elements.push(subtle(md`⏳ Analysis in progress: history and suggestions follow.`));
    return [...elements, context];
  }
  const elements: CardElement[] = [
    text(md`**Risk: ${title(analysis.level)}** _(${ratingSource(analysis)})_`, { spacing: 'Medium', color: RISK[analysis.level].color }),
    ...(analysis.reasons.length ? [bullets(analysis.reasons.slice(0, 5))] : []),
    ...riskPartElements(riskParts(analysis, view.risk.time, analysis.reasons.slice(0, 5))),
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
  const fired = policy.rules.filter((rule) => rule.outcome !== 'pass').map((rule) => richParagraphs(policyText(rule.explanation)));
  return joinMarkdown([joinMarkdown(parts, ' · '), ...fired], '\n\n');
}
