import type { DraftField } from '../../modules/access-requests/access-request-schemas.js';

// ---- Universal Actions: verbs, their data, the inputs Teams merges into it -----------------------

export const VERBS = ['analyze', 'submit', 'useSuggestion', 'approve', 'approveWithChanges', 'deny', 'end', 'cancel', 'review', 'retry', 'extend', 'reveal'] as const;
export type TeamsVerb = (typeof VERBS)[number];

/** Ids of the inputs; Teams adds their values to `action.data` under these names. */
export const INPUTS = {
  /** The approval card's MFA code (approve) and the credentials message's (reveal). */
  code: 'code',
  /** Deny: the reason sent to the requester. Extend: why, for approvers. */
  reason: 'reason',
  /** Extend: how much more time, e.g. `30m`. */
  duration: 'duration',
} as const;
/** The request form's inputs are named after the draft's fields. */
export const FORM_INPUTS = ['databaseId', 'level', 'scope', 'duration', 'reason', 'ticket', 'startsAt', 'breakGlass'] as const satisfies readonly DraftField[];

export interface RequestActionData {
  requestId: string;
  /** The request's version when the card was drawn: a click on an older card is stale. */
  version: number;
}
/**
 * Approve and deny: enough for a click to be answered (refused, or told a code is missing) before any
 * database read.
 */
export interface DecisionData extends RequestActionData {
  databaseId: string;
  requesterExternalId: string;
  level: string;
  mfa: boolean;
}
export interface EndData extends RequestActionData {
  /** Which message the click came from, so the handler redraws the right card. */
  from: 'approval-card' | 'credentials';
}
export interface CancelData extends RequestActionData {
  /** The approvers' card (redrawn with the outcome) or the requester's receipt (replaced by it). */
  from: 'approval-card' | 'received';
}
export interface RequestFormData {
  form: 'request';
}
export interface TeamsActionData {
  analyze: RequestFormData;
  submit: RequestFormData;
  useSuggestion: RequestFormData & { analysisId: string };
  approve: DecisionData;
  /** With the inputs of teams-changes.ts (CHANGE_INPUTS). */
  approveWithChanges: DecisionData;
  deny: DecisionData;
  end: EndData;
  cancel: CancelData;
  review: RequestActionData;
  retry: RequestActionData;
  extend: RequestActionData;
  reveal: RequestActionData;
}
