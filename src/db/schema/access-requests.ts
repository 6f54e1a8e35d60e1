import type { RichText } from '../../lib/rich-text.js';
import type { RequestTime } from '../../modules/risk/risk-types.js';
import { sql } from 'drizzle-orm';
import { type AnyPgColumn, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { chatUsers, tenants } from './tenants.js';

export interface MessageRef {
  platform: string;
  channel: string;
  ts: string;
}

export interface StoredRisk {
  level: 'low' | 'medium' | 'high' | 'critical';
  reasons: string[];
  analyzer: string;
  /** When it was asked against the team's usual hours (risk/risk-types RequestTime); absent on older rows. */
  time?: RequestTime | undefined;
}

/** The policy decision taken at submission, kept so that a catalog change cannot move a pending quorum. */
export interface StoredPolicy {
  name: string;
  quorum: number;
  mfaRequired: boolean;
  autoApprovedBy?: string | undefined;
  breakGlass: boolean;
  /** When access starts (request-timing.ts): how long an approval may wait unused, and the clock from first login. */
  approvalLifetimeSeconds?: number | undefined;
  firstLoginWaitSeconds?: number | undefined;
  /** MySQL and MariaDB: where the temporary user may connect from, when a rule narrows the catalog's hosts. */
  hostPatterns?: string[] | undefined;
  /** A rule's explanation: rich text since the chat core (people as ids); rows stored before it hold strings. */
  rules: Array<{ rule: string; outcome: string; explanation: string | RichText }>;
  /** A ticket a rule verified with its tracker (modules/tickets): the card links it, its closing ends the access. */
  ticket?: { tracker: 'jira' | 'linear' | 'github'; key: string; url: string; title: string; status: string; verifiedAt: string } | undefined;
}

/** A request's terms: what it grants, for how long. */
export interface StoredTerms {
  level: string;
  scope: string[];
  durationSeconds: number;
}

/**
 * Approved with changes: the terms as asked (the row itself holds the terms approved so far) and the
 * approvers who narrowed them, by platform id; their notes are their decisions' reasons.
 */
export interface StoredChanges {
  asked: StoredTerms;
  changedBy: string[];
}

export const accessRequests = pgTable(
  'access_requests',
  {
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    requesterId: uuid('requester_id').notNull().references(() => chatUsers.id),
    /** `access` for new access; `extension` for more time on the access of `extendsRequestId`. */
    kind: text('kind').notNull().default('access'),
    extendsRequestId: text('extends_request_id').references((): AnyPgColumn => accessRequests.id),
    databaseId: text('database_id').notNull(),
    level: text('level').notNull(),
    scope: jsonb('scope').$type<string[]>().notNull(),
    durationSeconds: integer('duration_seconds').notNull(),
    reason: text('reason').notNull(),
    ticket: text('ticket'),
    state: text('state').notNull(),
    risk: jsonb('risk').$type<StoredRisk>().notNull(),
    policy: jsonb('policy').$type<StoredPolicy>(),
    cardRef: jsonb('card_ref').$type<MessageRef>(),
    /**
     * When the latest attempt to post the approvers' card began: its claim, live for CARD_CLAIM_MS
     * (access-request-repo.ts). Set before posting: a later attempt that finds it set but no cardRef
     * waits out a live claim, then (the poster died, or the answer was lost) looks for that card first.
     */
    cardPostingAt: timestamp('card_posting_at', { withTimezone: true }),
    /** The requester's receipt ("waiting for an approver"), edited as the request moves on. */
    receiptRef: jsonb('receipt_ref').$type<MessageRef>(),
    /** Incremented on every state change; the card renderer compares it. */
    version: integer('version').notNull().default(1),
    pendingUntil: timestamp('pending_until', { withTimezone: true }).notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    failure: text('failure'),
    /** What a grant on this scope leaves out and why (objects the admin cannot grant), found before approval. */
    leftOut: jsonb('left_out').$type<string[]>(),
    /** When an admin filed a failed request again: the lease clock then starts when it is provisioned. */
    retriedAt: timestamp('retried_at', { withTimezone: true }),
    /** Break-glass access must be reviewed after the fact: by whom and when. */
    reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
    reviewedBy: uuid('reviewed_by').references(() => chatUsers.id),
    /** Where the credentials go: `dm` (the requester's direct message) or `cli` (their own signed-in terminal, `dbaccess connect`). */
    delivery: text('delivery').notNull().default('dm'),
    /** Set when an approver narrowed the request (approve with changes): the terms as asked. */
    changes: jsonb('changes').$type<StoredChanges>(),
    /** Scheduled access: the start the requester asked for; approved, it waits (`scheduled`) until then. */
    startsAt: timestamp('starts_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('access_requests_reviewed_by').on(t.reviewedBy),
    index('access_requests_tenant').on(t.tenantId, t.createdAt),
    index('access_requests_requester').on(t.requesterId),
    index('access_requests_extends').on(t.extendsRequestId),
    index('access_requests_pending').on(t.pendingUntil).where(sql`state = 'pending'`),
    index('access_requests_waiting_start').on(t.startsAt).where(sql`state IN ('scheduled', 'approved')`),
  ],
);

export const decisions = pgTable(
  'decisions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    requestId: text('request_id').notNull().references(() => accessRequests.id),
    approverId: uuid('approver_id').notNull().references(() => chatUsers.id),
    decision: text('decision').notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('decisions_request_approver').on(t.requestId, t.approverId),
    index('decisions_tenant').on(t.tenantId),
    index('decisions_approver').on(t.approverId),
  ],
);
