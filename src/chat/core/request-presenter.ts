import { code, codeSpans, joinRich, person, rich, strong, type RichText, type RichValue } from '../../lib/rich-text.js';
import { formatDuration, formatTime } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { RequestAnalysis } from '../../modules/analysis/analysis-types.js';
import { bandsApart } from '../../modules/analysis/request-heuristics.js';
import type { RequestTime } from '../../modules/risk/risk-types.js';
import { describeRequestTime } from '../../modules/risk/usual-hours.js';
import type { SessionSummary } from '../../modules/access-requests/session-summary.js';
import { leftOutSentence } from '../../modules/credentials/postgres-grantable.js';
import type { Notification } from './notifications.js';
import { offboardingLine } from './offboarding-text.js';
import { firstLoginWords, startsInWords } from '../../modules/access-requests/request-timing.js';
import { spanWords } from '../../modules/policy/policy-timing.js';

/** `starts at 22:00 UTC (in 5 h)`, as of the moment the message is drawn. */
const startsIn = (startsAt: Date) => startsInWords(startsAt, new Date(), formatTime);
/** The lease is provisioned and waits for its first connection (the first-login clock). */
const waitsForLogin = (view: RequestView) => Boolean(view.lease?.firstLoginBy && !view.lease.firstLoginAt && !view.lease.revokedAt);

/**
 * The one request presenter: what every platform says about a request, as neutral parts (an icon
 * name and rich text, people as ids). Slack, Teams and the console render these; none of them writes
 * a status line, a decision line or an alert of its own, so the three cannot drift apart.
 */

/** A pictogram by meaning; each adapter draws it its own way (a Slack emoji, a Unicode one, nothing). */
export type Icon =
  | 'waiting' | 'approved' | 'breakGlass' | 'active' | 'denied' | 'expired' | 'cancelled' | 'warning'
  | 'ending' | 'alarm' | 'ended' | 'extended' | 'key' | 'mfa' | 'door' | 'received' | 'info' | 'clock';

export interface Line {
  icon?: Icon | undefined;
  text: RichText;
}

const line = (icon: Icon | undefined, text: RichText): Line => ({ icon, text });
const people = (ids: readonly string[]) => joinRich(ids.map(person));

/** Who let the access happen: the approvers, the rule that auto-approved it, or break-glass. */
export function decisionLine(view: RequestView): Line | undefined {
  const approvals = view.decisions.filter((d) => d.decision === 'approve');
  if (approvals.length) return line('approved', rich`Approved by ${people(approvals.map((d) => d.approverExternalId))} at ${formatTime(approvals.at(-1)!.at)}${view.changes ? ' with changes' : ''}`);
  // Break-glass is stored as an auto-approval by `break-glass`: say what it is, not a rule's name.
  if (view.policy?.breakGlass) return line('breakGlass', rich`Taken without approval (break-glass)`);
  if (view.policy?.autoApprovedBy) {
    const onCall = storedRule(view, 'on-call');
    return line('approved', rich`Auto-approved by rule ${view.policy.autoApprovedBy} at ${formatTime(view.decidedAt ?? view.createdAt)}${onCall ? rich`: ${onCall}` : ''}`);
  }
  return undefined;
}

/** A rule's explanation kept with the request's policy (`on-call`: the evidence; `on-call-unknown`: why approvers are asked). */
function storedRule(view: RequestView, name: string): RichValue | undefined {
  const found = view.policy?.rules.find((rule) => rule.rule === name);
  return found ? found.explanation : undefined;
}

/** How the access ended, when it has: `ended early by @U1`, `revoked by @U2`, `expired`, ... */
export function endedBy(view: RequestView): RichText | undefined {
  const lease = view.lease;
  if (!lease) return undefined;
  const who = lease.endedByExternalId ? person(lease.endedByExternalId) : 'someone';
  switch (lease.endReason) {
    case 'ended':
      return rich`ended early by ${who}`;
    case 'revoked':
      return rich`revoked by ${who}`;
    case 'offboarded':
      return rich`revoked: the requester left`;
    case 'no-login':
      return rich`ended unused: no connection by ${formatTime(lease.firstLoginBy ?? lease.expiresAt)}`;
    case 'emergency':
      return rich`revoked by an operator: emergency revoke-all`;
    case 'ticket-closed':
      return rich`ended: ticket ${view.policy?.ticket?.key ?? view.ticket ?? ''} was closed`;
    default:
      return rich`expired`;
  }
}

const endedSuffix = (view: RequestView): RichValue => {
  const how = endedBy(view);
  return how ? rich` (${how})` : '';
};

/** Where the request stands, as segments a renderer joins with ` · `: the decision, then the state. */
export function statusLine(view: RequestView): Line[] {
  const decided = decisionLine(view);
  const after = (icon: Icon | undefined, text: RichText): Line[] => [...(decided ? [decided] : []), line(icon, text)];
  const lease = view.lease;
  switch (view.state) {
    case 'pending': {
      const approvals = view.decisions.filter((d) => d.decision === 'approve').map((d) => d.approverExternalId);
      const quorum = view.policy?.quorum ?? 1;
      const progress = quorum > 1 ? rich`${approvals.length} of ${quorum} approvals${approvals.length ? rich`: ${people(approvals)}` : ''} · ` : '';
      const onCallUnknown = storedRule(view, 'on-call-unknown');
      const start = view.startsAt ? ` · ${startsIn(view.startsAt)} once approved` : '';
      return [
        line('waiting', rich`${progress}Waiting for ${quorum > 1 && approvals.length ? 'more approvers' : 'an approver'}${start} · expires unanswered at ${formatTime(view.pendingUntil)}`),
        ...(onCallUnknown ? [line('warning', rich`${onCallUnknown}`)] : []),
      ];
    }
    case 'scheduled':
      return after('clock', rich`${startsIn(view.startsAt ?? new Date())}${view.lapsesAt ? ` · the approval lapses at ${formatTime(view.lapsesAt)} if not started` : ''}`);
    case 'lapsed':
      return after('expired', rich`approval lapsed unused${view.lapsesAt ? ` at ${formatTime(view.lapsesAt)}` : ''}: not started within ${spanWords(view.policy?.approvalLifetimeSeconds ?? 0)} of approval`);
    case 'approved':
    case 'provisioning':
      return after(undefined, rich`${view.kind === 'extension' ? 'applying the extension…' : 'creating the database user…'}`);
    case 'active':
      if (waitsForLogin(view)) return after('clock', rich`access ready; its time starts at the first connection (by ${formatTime(lease!.firstLoginBy!)})`);
      return after('active', rich`access active until ${lease ? formatTime(lease.expiresAt) : 'its end'}${lease?.firstLoginAt ? ` (from the first connection at ${formatTime(lease.firstLoginAt)})` : ''}`);
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      if (!denial) return [line('denied', rich`Denied`)];
      return [line('denied', rich`Denied by ${person(denial.approverExternalId)} at ${formatTime(denial.at)}${denial.reason ? rich`: ${denial.reason}` : ''}`)];
    }
    case 'expired':
      return [line('expired', rich`Expired unanswered at ${formatTime(view.pendingUntil)}`)];
    case 'cancelled':
      return [line('cancelled', rich`Cancelled${view.failure ? rich`: ${codeSpans(view.failure)}` : ''}`)];
    case 'failed':
      return after('warning', rich`not provisioned: ${codeSpans(view.failure ?? 'unknown error')}`);
    case 'revoking':
      return after('ended', rich`ending access…`);
    case 'revoke_failed':
      return after('alarm', rich`revocation failing (${lease?.revokeAttempts ?? 0} attempts), still retrying`);
    case 'revoked':
      return after('ended', rich`access ended at ${formatTime(lease?.revokedAt ?? new Date())}${endedSuffix(view)}`);
    case 'extended':
      return after('extended', rich`extension applied: ${view.extendsRequestId ?? 'the request'} now ends at ${lease ? formatTime(lease.expiresAt) : 'its new time'}`);
  }
}

/** The banner of a break-glass access on its card: review required, or who reviewed it. */
export function breakGlassBanner(view: RequestView): { reviewed: boolean; line: Line } | undefined {
  if (!view.policy?.breakGlass) return undefined;
  return view.reviewedByExternalId
    ? { reviewed: true, line: line('breakGlass', rich`Break-glass, reviewed by ${person(view.reviewedByExternalId)}`) }
    : { reviewed: false, line: line('breakGlass', rich`${strong('Break-glass: taken without approval. Review required.')}`) };
}

/** The card's headline: what is asked, on which database, and the request's id. */
export function headline(view: RequestView): string {
  return view.kind === 'extension'
    ? `Extension +${formatDuration(view.durationSeconds)} of ${view.extendsRequestId ?? 'a request'} on ${view.databaseId} · ${view.id}`
    : `${capitalize(view.level)} access to ${view.databaseId} · ${view.id}`;
}

/** One line for previews and notifications: ids and words we validated, no markup. */
export function cardSummary(view: RequestView): string {
  return `Access request ${view.id}: ${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}, risk ${view.analysis?.level ?? view.risk.level} (${view.state})`;
}

// ---- The risk, on the card and on the form -----------------------------------------------------------

/**
 * Who rated it: the built-in rules, or the rules and a model side by side; why the rules answered alone
 * when a model is configured. The rating shown may be the model's only within one band below the
 * rules' (never below a Critical), and the rules' rating is what policies, auto-approval and MFA use.
 */
export function ratingSource(analysis: RequestAnalysis): string {
  if (analysis.fallback) return `built-in rules: ${analysis.fallback}`;
  if (analysis.analyzer === 'heuristic') return 'built-in rules';
  const model = analysis.model;
  // Analyses stored before the model's reading was kept.
  if (!model) {
    if (analysis.modelLevel) return `${analysis.analyzer} rated it ${capitalize(analysis.modelLevel)}; the built-in rules hold it at ${capitalize(analysis.level)}`;
    return analysis.level === analysis.heuristicLevel ? analysis.analyzer : `${analysis.analyzer}; built-in rules: ${capitalize(analysis.heuristicLevel)}`;
  }
  const rules = capitalize(analysis.heuristicLevel);
  if (model.level === analysis.heuristicLevel) return `built-in rules and ${model.analyzer} agree`;
  if (analysis.level !== model.level) return `${model.analyzer} rated it ${capitalize(model.level)}; the built-in rules hold it at ${capitalize(analysis.level)}`;
  return `${model.analyzer} rated it ${capitalize(model.level)}; built-in rules: ${rules}`;
}

export interface RiskParts {
  /** The model's reading, beside the rules' reasons (never instead of them). */
  model?: { heading: string; reasons: string[] } | undefined;
  /** The model and the rules two bands or more apart: the approver is asked to look. */
  notice?: Line | undefined;
  /** When it was asked, against the team's usual hours. */
  time?: Line | undefined;
}

const BANDS = ['', 'one band', 'two bands', 'three bands'];

/**
 * What the risk section says beside the rating and the rules' reasons: `reasons` are those shown, so
 * that an hour the rules counted (and so already explain) is not said twice.
 */
export function riskParts(analysis: RequestAnalysis | null | undefined, time?: RequestTime | undefined, reasons: readonly string[] = analysis?.reasons ?? []): RiskParts {
  const model = analysis?.fallback ? undefined : analysis?.model;
  const apart = analysis ? bandsApart(analysis) : 0;
  const stated = analysis?.time ?? time;
  const when = stated && !reasons.includes(describeRequestTime(stated)) ? stated : undefined;
  return {
    model: model ? { heading: `${model.analyzer}'s reading: ${capitalize(model.level)}`, reasons: model.reasons } : undefined,
    notice: model && apart >= 2
      ? line('warning', rich`${strong('Look closer:')} ${model.analyzer} rated it ${capitalize(model.level)} and the built-in rules ${capitalize(analysis!.heuristicLevel)}, ${BANDS[apart] ?? `${apart} bands`} apart. Read both readings before you decide.`)
      : undefined,
    time: when ? line(when.counted ? 'warning' : 'clock', rich`${describeRequestTime(when)}`) : undefined,
  };
}

// ---- To the requester ----------------------------------------------------------------------------

/** `command`: how to ask again on the platform (`/dbaccess` on Slack), if it has one. */
export interface AskAgain {
  command?: string | undefined;
}

export function receivedLine(view: RequestView, approvers: readonly string[]): Line {
  // The same receipt, edited once the request moved on: where it stands now, nothing to cancel.
  if (view.state === 'cancelled') return line(undefined, rich`Request ${view.id} is cancelled.`);
  if (view.state !== 'pending') {
    return line('received', rich`Your request ${strong(view.id)} (${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}): ${joinRich(statusLine(view).map((part) => part.text), ' · ')}.`);
  }
  const who = approvers.length ? people(approvers) : rich`an approver`;
  return line('received', rich`Your request ${strong(view.id)} (${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}) is waiting for ${who}. Risk: ${view.analysis?.level ?? view.risk.level}. I will message you here when it is decided.`);
}

/** Whether the requester may still cancel: until the access is active. */
export const cancellable = (view: RequestView): boolean => view.state === 'pending' || view.state === 'scheduled' || view.state === 'approved' || view.state === 'provisioning';

/** Denied (the reason is returned apart, to be shown as the requester's own words), expired, cancelled or failed. */
export function closedLine(view: RequestView, { command }: AskAgain = {}): { line: Line; reason?: string | undefined } {
  const again = command ? rich` with ${code(command)}` : '';
  const request = rich`Your request ${strong(view.id)} for ${view.databaseId}`;
  switch (view.state) {
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      const by = denial ? person(denial.approverExternalId) : 'an approver';
      return { line: line('denied', rich`${request} was denied by ${by}${denial?.reason ? ':' : '.'}`), reason: denial?.reason ?? undefined };
    }
    case 'expired':
      return { line: line('expired', rich`${request} expired without a decision. Ask again${again} if you still need it.`) };
    case 'cancelled':
      if (!view.failure) return { line: line('cancelled', rich`${request} was cancelled${view.lease?.endReason === 'offboarded' ? ' (offboarding)' : ''}; nothing was left on the database.`) };
      // A refusal that says how to ask again (a ticket refused by its tracker) needs no advice about the scope.
      return { line: line('cancelled', rich`${request} was not sent to approvers: ${codeSpans(view.failure)}${/ask again/i.test(view.failure) ? '' : rich` Fix the scope and ask again${again}.`}`) };
    case 'lapsed':
      return { line: line('expired', rich`${request} was approved, but the approval lapsed unused: it was not started within ${spanWords(view.policy?.approvalLifetimeSeconds ?? 0)}. Nothing was created on the database. Ask again${again} when you need it.`) };
    default:
      return { line: line('warning', rich`${request} was approved, but the database user could not be created: ${codeSpans(view.failure ?? 'unknown error')}`) };
  }
}

export function readyLine(view: RequestView, until: Date | undefined, { needsMfa = false } = {}): Line {
  const lease = view.lease;
  if (waitsForLogin(view) && lease?.firstLoginBy) {
    const wait = (lease.firstLoginBy.getTime() - (lease.provisionedAt ?? view.decidedAt ?? lease.firstLoginBy).getTime()) / 1000;
    return line('key', rich`Your ${strong(view.level)} access to ${strong(view.databaseId)} (${view.environment}) is ready: ${firstLoginWords(view.durationSeconds, view.policy?.firstLoginWaitSeconds ?? wait)}, by ${strong(formatTime(lease.firstLoginBy))}. Request ${view.id}.${needsMfa ? ' This access needs a second factor: reveal the credentials with your MFA code.' : ''}`);
  }
  return line('key', rich`Your ${strong(view.level)} access to ${strong(view.databaseId)} (${view.environment}) is ready until ${strong(until ? formatTime(until) : 'its end')}. Request ${view.id}.${needsMfa ? ' This access needs a second factor: reveal the credentials with your MFA code.' : ''}`);
}

/** What the grant leaves out, if anything. */
export const leftOutLine = (view: RequestView): RichText | undefined => (view.leftOut?.length ? rich`${leftOutSentence(view.leftOut)}` : undefined);

export function revokedLine(view: RequestView): Line {
  const lease = view.lease;
  return line('ended', rich`Your access to ${strong(view.databaseId)} (request ${view.id}) ended at ${formatTime(lease?.revokedAt ?? new Date())}${endedSuffix(view)}. The user ${code(lease?.username ?? 'n/a')} no longer exists and its password no longer works.`);
}

export function extendedLine(view: RequestView): Line {
  return line('extended', rich`Access to ${strong(view.databaseId)} (request ${view.id}) extended: it now ends at ${view.lease ? formatTime(view.lease.expiresAt) : 'its new time'}. Same user and password; open sessions keep running.`);
}

// ---- The approval thread and the approvers' channel ----------------------------------------------

export function activeLine(view: RequestView): Line {
  const lease = view.lease;
  return line('active', rich`Access active until ${lease ? formatTime(lease.expiresAt) : 'its end'} as ${code(lease?.username ?? 'the temporary user')}. Credentials were sent to ${person(view.requester.externalId)} privately.`);
}

export function failingLine(view: RequestView, operation: 'provision' | 'revoke', attempts: number, error: string): Line {
  return operation === 'revoke'
    ? line('alarm', rich`Revoking ${code(view.lease?.username ?? 'the temporary user')} on ${view.databaseId} (request ${view.id}) has failed ${attempts} times: ${codeSpans(error)} It is still being retried; check the database.`)
    : line('warning', rich`Could not create the database user on ${view.databaseId} yet (request ${view.id}): ${codeSpans(error)} Retrying until it works or the approved time runs out.`);
}

/** The loud alert of a break-glass access; the reason is returned apart, as the requester's own words. */
export function breakGlassAlert(view: RequestView): { line: Line; reason: string; review: RichText } {
  return {
    line: line('alarm', rich`${strong('BREAK-GLASS')} ${person(view.requester.externalId)} took ${strong(view.level)} on ${strong(view.databaseId)} (${view.environment}) for ${formatDuration(view.durationSeconds)} without waiting for approval (request ${view.id}).`),
    reason: view.reason,
    review: rich`An approver must review it: use ${strong('Mark reviewed')} on the request's card.`,
  };
}

type MfaAlert = Pick<Extract<Notification, { type: 'mfaAlert' }>, 'personExternalId' | 'what' | 'until' | 'byExternalId'>;

export function mfaAlertLine(alert: MfaAlert): Line {
  return alert.what === 'locked'
    ? line('alarm', rich`MFA of ${person(alert.personExternalId)} is locked after too many wrong codes${alert.until ? ` until ${formatTime(alert.until)}` : ''}. If that was not them, someone is guessing.`)
    : line('mfa', rich`MFA of ${person(alert.personExternalId)} was reset by ${alert.byExternalId ? person(alert.byExternalId) : 'an admin'}; they must enrol again before their next step-up.`);
}

export const offboardedLine = (left: Extract<Notification, { type: 'personOffboarded' }>): Line => line('door', offboardingLine(left));

export function configProblemLine(message: string | undefined): { line: Line; details?: string | undefined } {
  const intro = 'The catalog file was changed, but it has mistakes, so the last good catalog stays in force';
  return message
    ? { line: line('warning', rich`${intro}:`), details: message.slice(0, 2500) }
    : { line: line('warning', rich`${intro}. ${code('dbaccess check-config')} (or the server log) says where.`) };
}

/** A catalog database that cannot be served, as the approvers are told: the whole sentence with its fix. */
export const databaseUnavailableLine = (message: string): Line =>
  line('warning', rich`${message} Until then the request form marks it unavailable and refuses requests for it.`);

export const databaseAvailableLine = (databaseId: string): Line =>
  line('info', rich`${databaseId} is available again: its admin connection resolves, and people can ask for it.`);

type Flag = { severity: 'info' | 'warning' | 'critical'; message: string };
const FLAG_ICONS: Record<Flag['severity'], Icon> = { info: 'info', warning: 'warning', critical: 'alarm' };
/** A flag of a session: its severity as an icon, its message (model or rule text) as plain text. */
export const flagLine = (flag: Flag): Line => line(FLAG_ICONS[flag.severity], rich`${flag.message}`);

export function flaggedAlert(view: RequestView): { line: Line; flags: Line[] } {
  const flags = view.session?.flags.filter((flag) => flag.severity !== 'info') ?? [];
  const where = view.cardRef ? ' (see the summary in the request\'s thread)' : '';
  return { line: line('alarm', rich`Session of ${view.id} by ${person(view.requester.externalId)} on ${view.databaseId} needs review${where}:`), flags: flags.map(flagLine) };
}

// ---- The session summary -------------------------------------------------------------------------

export interface SummaryParts {
  title: RichText;
  /** Who, what, approval, times, how it ended, recording. */
  lines: RichText[];
  sections: Array<{ heading: string; text: string }>;
  flags: Line[];
  unusual: string[];
  baseline?: string | undefined;
  by?: RichText | undefined;
}

export function summaryParts(view: RequestView, summary: SessionSummary): SummaryParts {
  return {
    title: rich`${strong('Session summary')} · ${view.id}${summary.review ? ' (flagged for review)' : ''}`,
    lines: summary.lines,
    sections: [
      ...(summary.technical ? [{ heading: 'What was run', text: summary.technical }] : []),
      ...(summary.plain ? [{ heading: 'In plain words', text: summary.plain }] : []),
    ],
    flags: summary.flags.map(flagLine),
    unusual: (summary.unusual ?? []).slice(0, 5),
    baseline: summary.baseline?.length ? summary.baseline.join(' ') : undefined,
    by: summary.by ? rich`Summary by ${summary.by}. Statements are shown as the server logged them.` : undefined,
  };
}

/** The plain-text preview of a summary message. */
export const summaryPreview = (view: RequestView, summary: SessionSummary) => `Session summary for ${view.id}${summary.review ? ' (flagged for review)' : ''}`;

const capitalize = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);
