import type { MessageRef } from '../../db/schema/access-requests.js';
import type { Credentials } from '../../modules/credentials/credentials.js';
import type { SessionSummary } from '../../modules/access-requests/session-summary.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { DraftAnalysisOutcome } from '../../modules/analysis/analysis-service.js';
import type { Platform } from '../../modules/tenants/tenant-service.js';

/**
 * What the core tells people, independent of the platform. Each adapter renders every type:
 * renderers are declared `satisfies Record<NotificationType, ...>`, so a missing one does not compile.
 */
export type Notification =
  /**
   * The approvers' card: posted once, then updated in place as the request changes. `posting`: the card
   * is not known yet, and is posted under the request's claim (jobs/handlers.ts syncCard).
   */
  | { type: 'approvalCard'; request: RequestView; posting?: CardPosting | undefined }
  /** To the requester: the request is in, who decides. */
  | { type: 'requestReceived'; request: RequestView }
  /** To the requester: denied (with reason), expired unanswered, or could not be provisioned. */
  | { type: 'requestClosed'; request: RequestView }
  /** To the requester: an approver narrowed the request (level, scope, time); what changed and why. */
  | { type: 'approvedWithChanges'; request: RequestView }
  /** To the requester only, by direct message: the secret. Returns the DM's ref so it can be edited. */
  | { type: 'credentialsReady'; request: RequestView; credentials: Credentials }
  /** To the requester: access is ready behind a Reveal button that asks for an MFA code. */
  | { type: 'credentialsWaiting'; request: RequestView }
  /** Edits the credentials DM once access has ended. */
  | { type: 'credentialsRevoked'; request: RequestView }
  /** To the requester and in the thread: the access now lasts until a later time. */
  | { type: 'accessExtended'; request: RequestView }
  /** In the approval thread: access is active until ... (never the secret). */
  | { type: 'accessActive'; request: RequestView }
  /** In the thread and the approver channel: a step is failing and keeps being retried. */
  | { type: 'operationFailing'; request: RequestView; operation: 'provision' | 'revoke'; attempts: number; error: string }
  /** To the approvers' channel, loudly: someone took break-glass access; a review is due. */
  | { type: 'breakGlassAlert'; request: RequestView }
  /** To the approvers' channel: someone's MFA locked after too many wrong codes, or was reset. */
  | { type: 'mfaAlert'; tenantId: string; personExternalId: string; what: 'locked' | 'reset'; until?: Date | undefined; byExternalId?: string | undefined }
  /** To the approvers' channel: someone left; their access was revoked and their waiting requests cancelled. */
  | { type: 'personOffboarded'; tenantId: string; personExternalId: string; source: 'slack' | 'teams' | 'cli'; ended: string[]; cancelled: string[]; failed: string[] }
  /** To every tenant's approvers' channel: the catalog file changed but has mistakes; the last good one stays. */
  | { type: 'configProblem'; message: string | undefined }
  /**
   * To the approvers' channel of a database, on one platform (each keeps its own record of what it
   * was told): it cannot be served, its admin reference gives no admin connection; the message says
   * the fix. Once per problem, not per check.
   */
  | { type: 'databaseUnavailable'; platform: Platform; databaseId: string; message: string }
  /** To the same channel: the database can be served again. */
  | { type: 'databaseAvailable'; platform: Platform; databaseId: string }
  /** In the thread: what happened, after the access ended. */
  | { type: 'sessionSummary'; request: RequestView; summary: SessionSummary }
  /** To the approvers' channel: a finished session has flags a person should review. */
  | { type: 'sessionFlagged'; request: RequestView }
  /** Replaces the request form with the analysis of what it holds (or what to fix first). */
  | ({ type: 'draftAnalysis' } & DraftAnalysisOutcome);

export type NotificationType = Notification['type'];

/** How an approvers' card not known yet is posted: once, within its claim (access-request-repo.ts claimCardPosting). */
export interface CardPosting {
  /** An earlier attempt's claim began then, and its card may have landed unseen: find that card before posting. */
  since: Date | undefined;
  /** When the post must have ended, answered or given up (a performance.now() time): before the claim does. */
  deadline: number;
  /** Aborted once the request's card lock is lost with its connection: the post must not begin. */
  lockLost: AbortSignal;
}


/** The outbound half of the chat port. */
export interface ChatNotifier {
  send(notification: Notification): Promise<MessageRef | undefined>;
}
