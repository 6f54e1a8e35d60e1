import type { MessageRef } from '../../db/schema.js';
import { formatDuration, formatTime } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { clientCommand, connectionUri } from '../../modules/credentials/credentials.js';
import { leftOutSentence } from '../../modules/credentials/postgres-grantable.js';
import type { ChatNotifier, Notification, NotificationType } from '../core/notifications.js';
import { offboardingLine } from '../core/offboarding-text.js';
import type { ConsoleAction, ConsoleChannel, ConsoleMessage, ConsoleStore } from './console-store.js';

type Of<T extends NotificationType> = Extract<Notification, { type: T }>;

/** A message true only while its request is active: the page hides it once the request is not. */
const WHILE_ACTIVE = { onlyWhile: 'active' } as const;

/**
 * Renders every core notification for the local console: the card and its thread in the approvals
 * channel, the requester's inbox (the DM), and the analyses of open forms. Plain text and data only;
 * the page lays them out.
 */
export function createConsoleNotifier({ store, approvalsOf }: { store: ConsoleStore; approvalsOf?: (view: RequestView) => string }): ChatNotifier {
  const ref = (message: ConsoleMessage): MessageRef => ({ platform: 'console', channel: message.channel, ts: message.id });
  const cardId = (view: RequestView) => `card-${view.id}`;
  const inbox = (view: RequestView): ConsoleChannel => `dm:${view.requester.externalId}`;
  const reply = (view: RequestView, text: string, kind: ConsoleMessage['kind'] = 'reply', data?: unknown) =>
    ref(store.put({ channel: 'approvals', thread: cardId(view), kind, requestId: view.id, text, data, actions: [] }));
  const dm = (view: RequestView, text: string, extra: Partial<ConsoleMessage> = {}) =>
    ref(store.put({ channel: inbox(view), kind: 'notice', requestId: view.id, text, actions: [], ...extra }));
  const endButton = (view: RequestView): ConsoleAction => ({ action: 'end', label: 'End access now', requestId: view.id, style: 'danger', confirm: 'End your access now? Open sessions are killed.' });
  const cancelButton = (view: RequestView): ConsoleAction => ({ action: 'cancel', label: 'Cancel request', requestId: view.id, style: 'danger', confirm: `Cancel request ${view.id}? A database user being created for it is dropped.` });
  const waiting = (view: RequestView) => view.state === 'pending' || view.state === 'approved' || view.state === 'provisioning';
  /** The requester's receipt: Cancel while the request waits, and where it stands. */
  const receipt = (view: RequestView) => ref(store.put({
    id: `received-${view.id}`, channel: inbox(view), kind: 'notice', requestId: view.id,
    text: `Your request ${view.id} (${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}): ${statusText(view)}. Risk: ${view.risk.level}.`,
    actions: waiting(view) ? [cancelButton(view)] : [],
  }));

  const renderers = {
    async approvalCard({ request }: Of<'approvalCard'>) {
      const actions: ConsoleAction[] = [];
      if (request.state === 'pending') {
        actions.push({ action: 'approve', label: 'Approve', requestId: request.id, style: 'primary' }, { action: 'deny', label: 'Deny', requestId: request.id, style: 'danger' }, cancelButton(request));
      } else if (request.state === 'approved' || request.state === 'provisioning') {
        actions.push(cancelButton(request));
      } else if (request.state === 'active') {
        actions.push({ action: 'end', label: 'Revoke now', requestId: request.id, confirm: 'Revoke this access now? Open sessions are killed.' });
      } else if (request.state === 'failed' && request.kind === 'access') {
        // Admins only: anyone else's click is answered with a refusal.
        actions.push({ action: 'retry', label: 'Retry', requestId: request.id, style: 'primary' });
      }
      if (request.policy?.breakGlass && !request.reviewedByExternalId) actions.push({ action: 'review', label: 'Mark reviewed', requestId: request.id });
      // The receipt follows the card: its Cancel goes once the request no longer waits.
      if (store.get(`received-${request.id}`)) receipt(request);
      const title = request.kind === 'extension'
        ? `Extension +${formatDuration(request.durationSeconds)} of ${request.extendsRequestId} on ${request.databaseId}`
        : `${capitalize(request.level)} access to ${request.databaseId}`;
      return ref(store.put({ id: cardId(request), channel: 'approvals', kind: 'card', requestId: request.id, text: `${title}: ${statusText(request)}`, data: { view: request, status: statusText(request), duration: formatDuration(request.durationSeconds), approvals: approvalsOf?.(request) }, actions }));
    },
    async requestReceived({ request }: Of<'requestReceived'>) {
      return receipt(request);
    },
    async requestClosed({ request }: Of<'requestClosed'>) {
      return dm(request, closedText(request));
    },
    async credentialsReady({ request, credentials }: Of<'credentialsReady'>) {
      const message = store.put({
        id: `dm-${request.id}`, channel: inbox(request), kind: 'credentials', requestId: request.id,
        text: [`Your ${request.level} access to ${request.databaseId} is ready until ${formatTime(credentials.expiresAt)}.`, leftOutSentence(request.leftOut), 'This is the only copy of the password.'].filter(Boolean).join(' '),
        data: { host: credentials.host, port: credentials.port, database: credentials.database, username: credentials.username, password: credentials.password.reveal(), uri: connectionUri(credentials), command: clientCommand(credentials), expiresAt: credentials.expiresAt.toISOString() },
        actions: [{ action: 'extend', label: 'Extend', requestId: request.id }, endButton(request)],
      });
      return ref(message);
    },
    async credentialsWaiting({ request }: Of<'credentialsWaiting'>) {
      return ref(store.put({
        id: `dm-${request.id}`, channel: inbox(request), kind: 'waiting', requestId: request.id,
        text: `Your ${request.level} access to ${request.databaseId} is ready until ${formatTime(request.lease!.expiresAt)}. Reveal the credentials with your MFA code.`,
        actions: [{ action: 'reveal', label: 'Reveal', requestId: request.id, style: 'primary' }, endButton(request)],
      }));
    },
    async credentialsRevoked({ request }: Of<'credentialsRevoked'>) {
      // The password leaves the inbox with the access.
      const lease = request.lease!;
      return ref(store.put({
        id: `dm-${request.id}`, channel: inbox(request), kind: 'notice', requestId: request.id,
        text: `Your access to ${request.databaseId} (request ${request.id}) ended at ${formatTime(lease.revokedAt ?? new Date())}. The user ${lease.username} no longer exists and its password no longer works.`,
        actions: [],
      }));
    },
    async accessExtended({ request }: Of<'accessExtended'>) {
      const text = `Access to ${request.databaseId} (request ${request.id}) extended: it now ends at ${formatTime(request.lease!.expiresAt)}. Same user and password.`;
      dm(request, text, { data: WHILE_ACTIVE });
      return reply(request, text, 'reply', WHILE_ACTIVE);
    },
    async accessActive({ request }: Of<'accessActive'>) {
      return reply(request, `Access active until ${formatTime(request.lease!.expiresAt)} as ${request.lease!.username}. Credentials were sent to the requester's inbox.`, 'reply', WHILE_ACTIVE);
    },
    async operationFailing({ request, operation, attempts, error }: Of<'operationFailing'>) {
      const text = operation === 'revoke'
        ? `Revoking ${request.lease?.username} on ${request.databaseId} has failed ${attempts} times: ${error} It is still being retried.`
        : `Could not create the database user on ${request.databaseId} yet: ${error} Retrying.`;
      if (operation === 'provision') dm(request, text);
      return reply(request, text, 'alert');
    },
    async breakGlassAlert({ request }: Of<'breakGlassAlert'>) {
      return ref(store.put({ channel: 'approvals', kind: 'alert', requestId: request.id, text: `BREAK-GLASS: ${request.requester.externalId} took ${request.level} on ${request.databaseId} without approval (request ${request.id}). Reason: ${request.reason}. An approver must review it.`, actions: [] }));
    },
    async mfaAlert(alert: Of<'mfaAlert'>) {
      const text = alert.what === 'locked' ? `MFA of ${alert.personExternalId} is locked after too many wrong codes.` : `MFA of ${alert.personExternalId} was reset by ${alert.byExternalId}.`;
      return ref(store.put({ channel: 'approvals', kind: 'alert', text, actions: [] }));
    },
    async personOffboarded(left: Of<'personOffboarded'>) {
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: offboardingLine(left), actions: [] }));
    },
    async configProblem({ message }: Of<'configProblem'>) {
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: `The catalog file has mistakes; the last good catalog stays in force:\n${message}`, actions: [] }));
    },
    async sessionSummary({ request, summary }: Of<'sessionSummary'>) {
      return reply(request, `Session summary for ${request.id}${summary.review ? ' (flagged for review)' : ''}`, 'summary', summary);
    },
    async sessionFlagged({ request }: Of<'sessionFlagged'>) {
      const flags = request.session?.flags.filter((flag) => flag.severity !== 'info').map((flag) => flag.message) ?? [];
      return ref(store.put({ channel: 'approvals', kind: 'alert', requestId: request.id, text: `Session of ${request.id} on ${request.databaseId} needs review: ${flags.join(' ')}`, actions: [] }));
    },
    async draftAnalysis(outcome: Of<'draftAnalysis'>) {
      // A form's ref: `channel` is the form's id.
      const actions: ConsoleAction[] = outcome.ok && outcome.analysis.suggestion ? [{ action: 'use-suggestion', label: 'Use suggestion', value: outcome.analysisId, style: 'primary' }] : [];
      return ref(store.put({
        id: `analysis-${outcome.viewRef.channel}`, channel: `form:${outcome.viewRef.channel}`, kind: 'analysis',
        text: outcome.ok ? `Risk: ${outcome.analysis.level}` : outcome.problem, data: outcome.ok ? outcome.analysis : { problem: outcome.problem }, actions,
      }));
    },
  } satisfies { [T in NotificationType]: (notification: Of<T>) => Promise<MessageRef | undefined> };

  return {
    send: (notification) => (renderers[notification.type] as (n: Notification) => Promise<MessageRef | undefined>)(notification),
  };
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Where a request stands, in one line for its card. */
export function statusText(view: RequestView): string {
  const approvals = view.decisions.filter((d) => d.decision === 'approve');
  const approved = approvals.length
    ? `Approved by ${approvals.map((d) => d.approverExternalId).join(', ')} at ${formatTime(approvals.at(-1)!.at)}`
    : view.policy?.autoApprovedBy ? `Auto-approved by rule ${view.policy.autoApprovedBy}` : '';
  switch (view.state) {
    case 'pending': {
      const quorum = view.policy?.quorum ?? 1;
      return `${quorum > 1 ? `${approvals.length} of ${quorum} approvals · ` : ''}Waiting for an approver · expires unanswered at ${formatTime(view.pendingUntil)}`;
    }
    case 'approved':
    case 'provisioning':
      return `${approved} · creating the database user…`;
    case 'active':
      return `${approved} · access active until ${formatTime(view.lease!.expiresAt)}`;
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      return `Denied by ${denial?.approverExternalId} at ${formatTime(denial!.at)}${denial?.reason ? `: ${denial.reason}` : ''}`;
    }
    case 'expired':
      return `Expired unanswered at ${formatTime(view.pendingUntil)}`;
    case 'cancelled':
      return `Cancelled${view.failure ? `: ${view.failure}` : ''}`;
    case 'failed':
      return `${approved} · not provisioned: ${view.failure ?? 'unknown error'}`;
    case 'revoking':
      return `${approved} · ending access…`;
    case 'revoke_failed':
      return `${approved} · revocation failing (${view.lease?.revokeAttempts ?? 0} attempts), still retrying`;
    case 'revoked':
      return `${approved} · access ended at ${formatTime(view.lease?.revokedAt ?? new Date())}${view.lease?.endReason ? ` (${view.lease.endReason})` : ''}`;
    case 'extended':
      return `${approved} · extension applied`;
  }
}

function closedText(view: RequestView): string {
  switch (view.state) {
    case 'denied': {
      const denial = view.decisions.find((d) => d.decision === 'deny');
      return `Your request ${view.id} for ${view.databaseId} was denied by ${denial?.approverExternalId}${denial?.reason ? `: ${denial.reason}` : '.'}`;
    }
    case 'expired':
      return `Your request ${view.id} for ${view.databaseId} expired without a decision.`;
    case 'cancelled':
      if (!view.failure) return `Your request ${view.id} for ${view.databaseId} was cancelled; nothing was left on the database.`;
      return `Your request ${view.id} for ${view.databaseId} was not sent to approvers: ${view.failure ?? 'it was cancelled'}`;
    default:
      return `Your request ${view.id} for ${view.databaseId} was approved, but the database user could not be created: ${view.failure ?? 'unknown error'}`;
  }
}
