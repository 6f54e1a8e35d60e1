import type { CatalogView } from '../../config/catalog.js';
import type { MessageRef } from '../../db/schema/access-requests.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { Notification, NotificationType } from '../core/notifications.js';
import type { UnavailableDatabases } from '../core/request-form.js';
import { summaryPreview } from '../core/request-presenter.js';
import { approvalCard, approvalCardSummary } from './teams-approval-card.js';
import type { AdaptiveCard, CardAttachment } from './teams-card-types.js';
import { attachment } from './teams-fit.js';
import { requestFormCard } from './teams-form.js';
import { approvedWithChangesCard } from './teams-changes.js';
import { accessExtendedCard, credentialsCard, credentialsRevokedCard, credentialsWaitingCard, requestClosedCard, requestReceivedCard } from './teams-requester.js';
import {
  accessActiveCard, breakGlassAlertCard, configProblemCard, databaseAvailableCard, databaseUnavailableCard, mfaAlertCard, offboardedCard, operationFailingCard, sessionFlaggedCard, sessionSummaryCard,
} from './teams-thread.js';

/** Teams: where each notification goes and what it shows; every type has a renderer, or this does not compile. */

export interface TeamsMessage {
  attachment: CardAttachment;
  /** Plain text for the activity's `summary` (notification and chat-list preview). Never markdown. */
  summary: string;
}

/**
 * One message to send. The notifier sends the deliveries in order and returns the MessageRef of the
 * first (the one the core stores: the card, the credentials message, the thread reply).
 */
export type TeamsDelivery =
  | {
      to: 'approvers-channel';
      /** Routes to the database's approvers; absent for tenant-wide alerts (MFA, catalog). */
      databaseId?: string;
      requestId?: string;
      /** The approval card of this request: update it in place when `replace` is set, else post it. */
      replaceCardOf?: string;
      replace?: MessageRef;
      message: TeamsMessage;
    }
  | {
      to: 'card-thread';
      requestId: string;
      databaseId: string;
      /** The approval card to reply under; null when it never posted (then post in the approvers' channel). */
      cardRef: MessageRef | null;
      message: TeamsMessage;
    }
  | {
      to: 'requester';
      userExternalId: string;
      requestId: string;
      /** Update this message of the 1:1 chat in place (waiting → credentials → revoked). */
      replace?: MessageRef;
      message: TeamsMessage;
    }
  | {
      /** Replace the request form the person is filling in. */
      to: 'form';
      replace: MessageRef;
      message: TeamsMessage;
    };

export interface TeamsRenderContext {
  /** The catalog, for the request form. */
  catalog: CatalogView;
  /** Who decides a request, named in "request received"; without it, "an approver". */
  approversOf?: ((view: RequestView) => string[]) | undefined;
  /** The databases the request form marks unavailable. */
  unavailable?: UnavailableDatabases | undefined;
}

type Of<T extends NotificationType> = Extract<Notification, { type: T }>;
export type TeamsRendererTable = { [T in NotificationType]: (notification: Of<T>, context: TeamsRenderContext) => TeamsDelivery[] };

const message = (content: AdaptiveCard, summary: string): TeamsMessage => ({ attachment: attachment(content), summary });
const toRequester = (view: RequestView, content: AdaptiveCard, summary: string, replace?: MessageRef | null): TeamsDelivery => ({
  to: 'requester', userExternalId: view.requester.externalId, requestId: view.id, ...(replace ? { replace } : {}), message: message(content, summary),
});
const toThread = (view: RequestView, content: AdaptiveCard, summary: string): TeamsDelivery => ({
  to: 'card-thread', requestId: view.id, databaseId: view.databaseId, cardRef: view.cardRef, message: message(content, summary),
});
const toChannel = (view: RequestView, content: AdaptiveCard, summary: string): TeamsDelivery => ({
  to: 'approvers-channel', databaseId: view.databaseId, requestId: view.id, message: message(content, summary),
});

export const teamsRenderers = {
  approvalCard: ({ request }) => [{
    to: 'approvers-channel', databaseId: request.databaseId, requestId: request.id, replaceCardOf: request.id,
    ...(request.cardRef ? { replace: request.cardRef } : {}),
    message: message(approvalCard(request), approvalCardSummary(request)),
  }],
  requestReceived: ({ request }, { approversOf }) =>
    [toRequester(request, requestReceivedCard(request, approversOf?.(request) ?? []), request.state === 'pending' ? `Request ${request.id} is waiting for approval` : `Request ${request.id}: ${request.state}`, request.receiptRef)],
  approvedWithChanges: ({ request }) => [toRequester(request, approvedWithChangesCard(request), `Request ${request.id} was approved with changes`)],
  requestClosed: ({ request }) => [toRequester(request, requestClosedCard(request), `Request ${request.id} is closed (${request.state})`)],
  // After Reveal, the waiting message itself shows the credentials.
  credentialsReady: ({ request, credentials }) =>
    [toRequester(request, credentialsCard(request, credentials), `Your access to ${request.databaseId} is ready`, request.lease?.dmRef)],
  credentialsWaiting: ({ request }) => [toRequester(request, credentialsWaitingCard(request), `Your access to ${request.databaseId} is ready: reveal it with your MFA code`)],
  credentialsRevoked: ({ request }) =>
    (request.lease?.dmRef ? [toRequester(request, credentialsRevokedCard(request), `Your access to ${request.databaseId} has ended`, request.lease.dmRef)] : []),
  accessExtended: ({ request }) => {
    const summary = `Access to ${request.databaseId} extended`;
    return [toThread(request, accessExtendedCard(request), summary), toRequester(request, accessExtendedCard(request), summary)];
  },
  accessActive: ({ request }) => [toThread(request, accessActiveCard(request), `Access ${request.id} is active`)],
  operationFailing: ({ request, operation, attempts, error }) => {
    const content = operationFailingCard(request, operation, attempts, error);
    const summary = operation === 'revoke' ? `Revoking access ${request.id} is failing` : `Creating the user for ${request.id} is failing`;
    const deliveries = [toThread(request, content, summary)];
    if (operation === 'revoke' && request.cardRef) deliveries.push(toChannel(request, content, summary));
    if (operation === 'provision') deliveries.push(toRequester(request, content, summary));
    return deliveries;
  },
  breakGlassAlert: ({ request }) => [toChannel(request, breakGlassAlertCard(request), `Break-glass: ${request.level} on ${request.databaseId} (${request.id})`)],
  mfaAlert: (alert) => [{ to: 'approvers-channel', message: message(mfaAlertCard(alert), alert.what === 'locked' ? 'An MFA is locked' : 'An MFA was reset') }],
  personOffboarded: (left) => [{ to: 'approvers-channel', message: message(offboardedCard(left), 'Someone left: their access was ended') }],
  configProblem: ({ message: problem }) => [{ to: 'approvers-channel', message: message(configProblemCard(problem), 'The catalog file has mistakes') }],
  databaseUnavailable: ({ databaseId, message: said }) =>
    [{ to: 'approvers-channel', databaseId, message: message(databaseUnavailableCard(said), `${databaseId} is unavailable`) }],
  databaseAvailable: ({ databaseId }) => [{ to: 'approvers-channel', databaseId, message: message(databaseAvailableCard(databaseId), `${databaseId} is available again`) }],
  sessionSummary: ({ request, summary }) =>
    [toThread(request, sessionSummaryCard(request, summary), summaryPreview(request, summary))],
  sessionFlagged: ({ request }) => [toChannel(request, sessionFlaggedCard(request), `Session of ${request.id} needs review`)],
  draftAnalysis: (outcome, { catalog, unavailable }) => [{
    to: 'form',
    replace: outcome.viewRef,
    message: message(requestFormCard(catalog, { draft: outcome.draft, analysis: { state: 'done', outcome }, unavailable }), 'Risk analysis of your request'),
  }],
} satisfies TeamsRendererTable;

/** Where a notification goes in Teams and what it shows. */
export function renderTeams(notification: Notification, context: TeamsRenderContext): TeamsDelivery[] {
  return (teamsRenderers[notification.type] as (n: Notification, c: TeamsRenderContext) => TeamsDelivery[])(notification, context);
}

