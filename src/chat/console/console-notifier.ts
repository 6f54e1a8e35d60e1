import type { MessageRef } from '../../db/schema/access-requests.js';
import { visible } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { clientCommand, connectionUri } from '../../modules/credentials/credentials.js';
import type { ChatNotifier, Notification, NotificationType } from '../core/notifications.js';
import {
  activeLine, breakGlassAlert, breakGlassBanner, closedLine, configProblemLine, databaseAvailableLine, databaseUnavailableLine, extendedLine, failingLine, flaggedAlert, headline, leftOutLine, mfaAlertLine, offboardedLine,
  ratingSource, readyLine, revokedLine, riskParts, statusLine, summaryParts, summaryPreview,
} from '../core/request-presenter.js';
import type { RequestAnalysis } from '../../modules/analysis/analysis-types.js';
import type { RequestTime } from '../../modules/risk/risk-types.js';
import { consoleLine, consoleSegments, consoleText } from './console-text.js';
import { approvedWithChangesRich, changesCardLine } from '../core/changes-presenter.js';
import type { ConsoleAction, ConsoleChannel, ConsoleMessage, ConsoleStore } from './console-store.js';

type Of<T extends NotificationType> = Extract<Notification, { type: T }>;

/** The risk section's words beside the rating, for the page: who rated it, the model's reading, a notice, the time. */
function riskWords(analysis: RequestAnalysis | null, time?: RequestTime | undefined, reasons?: string[]) {
  const parts = riskParts(analysis, time, reasons?.slice(0, 5));
  return {
    source: analysis ? ratingSource(analysis) : 'built-in rules',
    model: parts.model,
    notice: parts.notice && consoleLine(parts.notice),
    time: parts.time && consoleLine(parts.time),
  };
}

/** A message true only while its request is active: the page hides it once the request is not. */
const WHILE_ACTIVE = { onlyWhile: 'active' } as const;

/**
 * Renders every core notification for the local console: the card and its thread in the approvals
 * channel, the requester's inbox (the DM), and the analyses of open forms. Plain text and data only;
 * the page lays them out.
 */
export function createConsoleNotifier({ store, approvalsOf, serves = () => true }: {
  store: ConsoleStore;
  approvalsOf?: (view: RequestView) => string;
  /** Whether a database is in the console's catalog (of a file with tenants, only one section is). */
  serves?: (databaseId: string) => boolean;
}): ChatNotifier {
  const ref = (message: ConsoleMessage): MessageRef => ({ platform: 'console', channel: message.channel, ts: message.id });
  const cardId = (view: RequestView) => `card-${view.id}`;
  const inbox = (view: RequestView): ConsoleChannel => `dm:${view.requester.externalId}`;
  const reply = (view: RequestView, text: string, kind: ConsoleMessage['kind'] = 'reply', data?: unknown) =>
    ref(store.put({ channel: 'approvals', thread: cardId(view), kind, requestId: view.id, text, data, actions: [] }));
  const dm = (view: RequestView, text: string, extra: Partial<ConsoleMessage> = {}) =>
    ref(store.put({ channel: inbox(view), kind: 'notice', requestId: view.id, text, actions: [], ...extra }));
  const endButton = (view: RequestView): ConsoleAction => ({ action: 'end', label: 'End access now', requestId: view.id, style: 'danger', confirm: 'End your access now? Open sessions are killed.' });
  const cancelButton = (view: RequestView): ConsoleAction => ({ action: 'cancel', label: 'Cancel request', requestId: view.id, style: 'danger', confirm: `Cancel request ${view.id}? A database user being created for it is dropped.` });
  const waiting = (view: RequestView) => view.state === 'pending' || view.state === 'scheduled' || view.state === 'approved' || view.state === 'provisioning';
  /** The requester's receipt: Cancel while the request waits, and where it stands. */
  const receipt = (view: RequestView) => ref(store.put({
    id: `received-${view.id}`, channel: inbox(view), kind: 'notice', requestId: view.id,
    text: `Your request ${view.id} (${view.level} on ${view.databaseId} for ${formatDuration(view.durationSeconds)}): ${statusText(view)}. Risk: ${view.analysis?.level ?? view.risk.level}.`,
    actions: waiting(view) ? [cancelButton(view)] : [],
  }));

  const renderers = {
    async approvalCard({ request }: Of<'approvalCard'>) {
      const actions: ConsoleAction[] = [];
      if (request.state === 'pending') {
        actions.push({ action: 'approve', label: 'Approve', requestId: request.id, style: 'primary' });
        if (request.narrowing) actions.push({ action: 'approveWithChanges', label: 'Approve with changes…', requestId: request.id });
        actions.push({ action: 'deny', label: 'Deny', requestId: request.id, style: 'danger' }, cancelButton(request));
      } else if (request.state === 'scheduled' || request.state === 'approved' || request.state === 'provisioning') {
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
      const banner = breakGlassBanner(request);
      const changes = changesCardLine(request);
      return ref(store.put({ id: cardId(request), channel: 'approvals', kind: 'card', requestId: request.id, text: `${headline(request)}: ${statusText(request)}${banner ? `\n${consoleLine(banner.line)}` : ''}${changes ? `\n${consoleText(changes)}` : ''}`, data: { view: request, changes: changes ? consoleText(changes) : undefined, status: statusText(request), banner: banner ? consoleLine(banner.line) : undefined, duration: formatDuration(request.durationSeconds), approvals: approvalsOf?.(request), risk: riskWords(request.analysis, request.risk.time, request.analysis?.reasons ?? request.risk.reasons) }, actions }));
    },
    async requestReceived({ request }: Of<'requestReceived'>) {
      return receipt(request);
    },
    async approvedWithChanges({ request }: Of<'approvedWithChanges'>) {
      return dm(request, consoleText(approvedWithChangesRich(request)));
    },
    async requestClosed({ request }: Of<'requestClosed'>) {
      return dm(request, closedText(request));
    },
    async credentialsReady({ request, credentials }: Of<'credentialsReady'>) {
      const message = store.put({
        id: `dm-${request.id}`, channel: inbox(request), kind: 'credentials', requestId: request.id,
        text: [consoleLine(readyLine(request, credentials.expiresAt)), leftOutLine(request) && consoleText(leftOutLine(request)!), 'This is the only copy of the password.'].filter(Boolean).join(' '),
        data: { host: credentials.host, port: credentials.port, database: credentials.database, username: credentials.username, password: credentials.password.reveal(), uri: connectionUri(credentials), command: clientCommand(credentials), expiresAt: credentials.expiresAt.toISOString() },
        actions: [{ action: 'extend', label: 'Extend', requestId: request.id }, endButton(request)],
      });
      return ref(message);
    },
    async credentialsWaiting({ request }: Of<'credentialsWaiting'>) {
      return ref(store.put({
        id: `dm-${request.id}`, channel: inbox(request), kind: 'waiting', requestId: request.id,
        text: consoleLine(readyLine(request, request.lease?.expiresAt, { needsMfa: true })),
        actions: [{ action: 'reveal', label: 'Reveal', requestId: request.id, style: 'primary' }, endButton(request)],
      }));
    },
    async credentialsRevoked({ request }: Of<'credentialsRevoked'>) {
      // The password leaves the inbox with the access.
      return ref(store.put({
        id: `dm-${request.id}`, channel: inbox(request), kind: 'notice', requestId: request.id,
        text: consoleLine(revokedLine(request)),
        actions: [],
      }));
    },
    async accessExtended({ request }: Of<'accessExtended'>) {
      const text = consoleLine(extendedLine(request));
      dm(request, text, { data: WHILE_ACTIVE });
      return reply(request, text, 'reply', WHILE_ACTIVE);
    },
    async accessActive({ request }: Of<'accessActive'>) {
      return reply(request, consoleLine(activeLine(request)), 'reply', WHILE_ACTIVE);
    },
    async operationFailing({ request, operation, attempts, error }: Of<'operationFailing'>) {
      const text = consoleLine(failingLine(request, operation, attempts, error));
      if (operation === 'provision') dm(request, text);
      return reply(request, text, 'alert');
    },
    async breakGlassAlert({ request }: Of<'breakGlassAlert'>) {
      const alert = breakGlassAlert(request);
      return ref(store.put({ channel: 'approvals', kind: 'alert', requestId: request.id, text: `${consoleLine(alert.line)} Reason: ${visible(alert.reason)}. ${consoleText(alert.review)}`, actions: [] }));
    },
    async mfaAlert(alert: Of<'mfaAlert'>) {
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: consoleLine(mfaAlertLine(alert)), actions: [] }));
    },
    async personOffboarded(left: Of<'personOffboarded'>) {
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: consoleLine(offboardedLine(left)), actions: [] }));
    },
    async configProblem({ message }: Of<'configProblem'>) {
      const problem = configProblemLine(message);
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: [consoleLine(problem.line), problem.details].filter(Boolean).join('\n'), actions: [] }));
    },
    async databaseUnavailable({ databaseId, message }: Of<'databaseUnavailable'>) {
      if (!serves(databaseId)) return undefined;
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: consoleLine(databaseUnavailableLine(message)), actions: [] }));
    },
    async databaseAvailable({ databaseId }: Of<'databaseAvailable'>) {
      if (!serves(databaseId)) return undefined;
      return ref(store.put({ channel: 'approvals', kind: 'alert', text: consoleLine(databaseAvailableLine(databaseId)), actions: [] }));
    },
    async sessionSummary({ request, summary }: Of<'sessionSummary'>) {
      // The page lists `lines` as text: the presenter's lines in plain words, no markup.
      const parts = summaryParts(request, summary);
      return reply(request, summaryPreview(request, summary), 'summary', { ...summary, lines: parts.lines.map(consoleText) });
    },
    async sessionFlagged({ request }: Of<'sessionFlagged'>) {
      const alert = flaggedAlert(request);
      return ref(store.put({ channel: 'approvals', kind: 'alert', requestId: request.id, text: [consoleLine(alert.line), ...alert.flags.map(consoleLine)].join(' '), actions: [] }));
    },
    async draftAnalysis(outcome: Of<'draftAnalysis'>) {
      // A form's ref: `channel` is the form's id.
      const actions: ConsoleAction[] = outcome.ok && outcome.analysis.suggestion ? [{ action: 'use-suggestion', label: 'Use suggestion', value: outcome.analysisId, style: 'primary' }] : [];
      return ref(store.put({
        id: `analysis-${outcome.viewRef.channel}`, channel: `form:${outcome.viewRef.channel}`, kind: 'analysis',
        text: outcome.ok ? `Risk: ${outcome.analysis.level}` : outcome.problem, data: outcome.ok ? { ...outcome.analysis, words: riskWords(outcome.analysis) } : { problem: outcome.problem }, actions,
      }));
    },
  } satisfies { [T in NotificationType]: (notification: Of<T>) => Promise<MessageRef | undefined> };

  return {
    send: (notification) => (renderers[notification.type] as (n: Notification) => Promise<MessageRef | undefined>)(notification),
  };
}

/** Where a request stands, in one line for its card: the presenter's, as plain text. */
export const statusText = (view: RequestView): string => consoleSegments(statusLine(view));

function closedText(view: RequestView): string {
  const closed = closedLine(view);
  return `${consoleLine(closed.line)}${closed.reason ? ` ${visible(closed.reason)}` : ''}`;
}
