import type { AccessLevel } from '../../config/catalog.js';
import type { MessageRef, StoredChanges, StoredPolicy, StoredRisk } from '../../db/schema/access-requests.js';
import type { RequestAnalysis, SessionAnalysis } from '../analysis/analysis-types.js';
import type { RequestState } from './access-request-state.js';

/** Everything a chat adapter needs to render a request, with people as platform ids. */
export interface RequestView {
  id: string;
  tenantId: string;
  kind: 'access' | 'extension';
  /** For an extension: the request whose access it extends. */
  extendsRequestId: string | null;
  state: RequestState;
  version: number;
  requester: { id: string; externalId: string };
  databaseId: string;
  databaseName: string;
  environment: string;
  tags: string[];
  level: AccessLevel;
  scope: string[];
  durationSeconds: number;
  reason: string;
  ticket: string | null;
  risk: StoredRisk;
  /**
   * Approved with changes: the terms as asked, and who narrowed them (level, scope and duration above
   * are the terms approved so far). Their notes are their decisions' reasons.
   */
  changes?: StoredChanges | null | undefined;
  /** Approve with changes, while it may be used: the approver's choices (request-narrow.ts). */
  narrowing?: NarrowingChoices | undefined;
  /** The policy decision taken at submission: quorum, MFA, auto-approval, rules that fired. */
  policy: StoredPolicy | null;
  /** What the grant includes, in words, with what it leaves out (objects the admin cannot grant) and why. */
  grantsInWords: string;
  /** What the grant leaves out, one entry per object: `public.pg_stat_statements (owned by postgres, an extension)`. */
  leftOut?: string[];
  grantStatements: string[];
  cardRef: MessageRef | null;
  /** The requester's receipt, edited in place once the request no longer waits. */
  receiptRef?: MessageRef | null | undefined;
  createdAt: Date;
  pendingUntil: Date;
  decidedAt: Date | null;
  decisions: Array<{ decision: 'approve' | 'deny'; approverExternalId: string; reason: string | null; at: Date }>;
  failure: string | null;
  /** Break-glass: who reviewed it afterwards, if anyone has. */
  reviewedByExternalId: string | null;
  lease: LeaseView | null;
  /** Scheduled access: the requested start; and when an approval not started lapses (request-timing.ts). */
  startsAt?: Date | null | undefined;
  lapsesAt?: Date | undefined;
  /** The analysis for approvers (rating, reasons, history, suggestion), once it has run. */
  analysis: RequestAnalysis | null;
  /** After the access ended: what the session did, once summarized. */
  session: SessionAnalysis | null;
  /** How the session is recorded, in words. */
  recording: string;
}

export interface LeaseView {
  id: string;
  username: string;
  expiresAt: Date;
  provisionedAt: Date | null;
  revokedAt: Date | null;
  endReason: string | null;
  endedByExternalId: string | null;
  revokeAttempts: number;
  dmRef: MessageRef | null;
  /** The clock from first login: the deadline for the first connection, and when it came. */
  firstLoginBy?: Date | null | undefined;
  firstLoginAt?: Date | null | undefined;
}

/** What a requester fills in; validated before it is stored. */
export interface RequestDraft {
  databaseId: string;
  level: AccessLevel;
  scope: string;
  duration: string;
  reason: string;
  ticket: string;
  /** Access now, approvers alerted and a review required afterwards, where policy allows it. */
  breakGlass?: boolean;
  /** Scheduled access: when to provision it (start-time.ts); empty or absent, at approval. */
  startsAt?: string | undefined;
}

/** What an approver may choose when approving with changes: never wider than the terms standing. */
export interface NarrowingChoices {
  /** The levels within the one standing, it first. */
  levels: string[];
  noteRequired: boolean;
  /** The policy that says so. */
  policy: string;
  minDuration: number;
}
