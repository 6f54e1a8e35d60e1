import type { RichText } from '../lib/rich-text.js';
import type { RequestTime } from '../modules/risk/risk-types.js';
import { sql } from 'drizzle-orm';
import { type AnyPgColumn, bigint, boolean, bigserial, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** Every table carries tenant_id: a Slack workspace (later a Teams tenant) is a tenant. */

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    platform: text('platform').notNull(),
    externalId: text('external_id').notNull(),
    name: text('name'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('tenants_platform_external_id').on(t.platform, t.externalId)],
);

export const chatUsers = pgTable(
  'chat_users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    platform: text('platform').notNull(),
    externalId: text('external_id').notNull(),
    displayName: text('display_name'),
    /** The 1:1 conversation with the bot, once opened. */
    dmChannel: text('dm_channel'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('chat_users_tenant_platform_external').on(t.tenantId, t.platform, t.externalId)],
);

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
     * When the first attempt to post the approvers' card began. Set before posting: a later attempt that
     * finds it set but no cardRef (the poster died, or the answer was lost) looks for that card first.
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

export const leases = pgTable(
  'leases',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    requestId: text('request_id').notNull().references(() => accessRequests.id),
    databaseId: text('database_id').notNull(),
    username: text('username').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** The temporary password, sealed, only until it has been delivered. */
    passwordSealed: text('password_sealed'),
    /** Engines with leases of their own (Vault): their lease id, sealed. */
    externalLeaseSealed: text('external_lease_sealed'),
    dmRef: jsonb('dm_ref').$type<MessageRef>(),
    provisionedAt: timestamp('provisioned_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** expired | ended | revoked | emergency (an operator's revoke-all): how the access ended, with who ended it. */
    endReason: text('end_reason'),
    endedBy: uuid('ended_by').references(() => chatUsers.id),
    revokeAttempts: integer('revoke_attempts').notNull().default(0),
    lastError: text('last_error'),
    /** How the session is recorded (a capture method, or `none`), fixed at provision. */
    captureMethod: text('capture_method').notNull().default('none'),
    capturedCount: integer('captured_count').notNull().default(0),
    /** More statements were run than are kept per lease. */
    captureTruncated: boolean('capture_truncated').notNull().default(false),
    /**
     * The clock from first login (policy `clock: first-login`): the first connection must come by this
     * time (meanwhile `expires_at` is this deadline); null for leases whose clock started at approval.
     */
    firstLoginBy: timestamp('first_login_by', { withTimezone: true }),
    /** When the sweep first saw a session of the user: `expires_at` is then this plus the duration. */
    firstLoginAt: timestamp('first_login_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('leases_request').on(t.requestId),
    uniqueIndex('leases_database_username').on(t.databaseId, t.username),
    index('leases_tenant').on(t.tenantId),
    index('leases_ended_by').on(t.endedBy),
    index('leases_due').on(t.expiresAt).where(sql`revoked_at IS NULL`),
    index('leases_awaiting_login').on(t.firstLoginBy).where(sql`first_login_at IS NULL AND revoked_at IS NULL`),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject').notNull(),
    outcome: text('outcome').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [uniqueIndex('audit_events_tenant_seq').on(t.tenantId, t.seq)],
);

/** A user's TOTP authenticator: one per user, usable once confirmed with a first valid code. */
export const mfaEnrollments = pgTable(
  'mfa_enrollments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    userId: uuid('user_id').notNull().references(() => chatUsers.id),
    /** The base32 TOTP secret, sealed (SecretBox); never stored or logged in clear. */
    secretSealed: text('secret_sealed').notNull(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    /** The highest 30-second step a code was accepted for: a code of that step or earlier is a replay. */
    lastUsedStep: bigint('last_used_step', { mode: 'number' }).notNull().default(0),
    /** Wrong codes in a row since the last success or lock. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('mfa_enrollments_tenant_user').on(t.tenantId, t.userId), index('mfa_enrollments_user').on(t.userId)],
);

/** One-time recovery codes, stored only as salted scrypt hashes. */
export const mfaRecoveryCodes = pgTable(
  'mfa_recovery_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    userId: uuid('user_id').notNull().references(() => chatUsers.id),
    codeHash: text('code_hash').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('mfa_recovery_codes_tenant_user').on(t.tenantId, t.userId), index('mfa_recovery_codes_user').on(t.userId)],
);

/**
 * One analysis of a draft (before submission), a request (for approvers) or a finished session, by
 * the model or the built-in heuristics, with what it cost. A draft's analysis is created pending with
 * its input and completed by a job; the modal it answers is `viewRef`.
 */
export const analyses = pgTable(
  'analyses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    /** draft | request | session */
    kind: text('kind').notNull(),
    userId: uuid('user_id').notNull().references(() => chatUsers.id),
    requestId: text('request_id').references(() => accessRequests.id),
    leaseId: uuid('lease_id').references(() => leases.id),
    /** pending | done */
    status: text('status').notNull(),
    input: jsonb('input').$type<Record<string, unknown>>(),
    viewRef: jsonb('view_ref').$type<MessageRef>(),
    result: jsonb('result').$type<Record<string, unknown>>(),
    /** claude | heuristic: who produced the result; `fallback` says why the model's answer was not used. */
    analyzer: text('analyzer'),
    model: text('model'),
    fallback: text('fallback'),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheReadTokens: integer('cache_read_tokens').notNull().default(0),
    cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
    costMicroUsd: integer('cost_micro_usd').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    createdAt: createdAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    index('analyses_tenant').on(t.tenantId, t.createdAt),
    index('analyses_request').on(t.requestId),
    index('analyses_lease').on(t.leaseId),
    index('analyses_user').on(t.userId),
  ],
);

/**
 * Statements a temporary user ran, read from the target's own logs while and after the lease is
 * active. Bounded per lease (see capture-types.ts); the text is untrusted data.
 */
export const capturedStatements = pgTable(
  'captured_statements',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    leaseId: uuid('lease_id').notNull().references(() => leases.id),
    at: timestamp('at', { withTimezone: true }).notNull(),
    statement: text('statement').notNull(),
    /** The server's refusal (SQLSTATE and message) when the statement failed. */
    error: text('error'),
    createdAt: createdAt(),
  },
  (t) => [index('captured_statements_lease').on(t.leaseId, t.at), index('captured_statements_tenant').on(t.tenantId)],
);

/**
 * How far the target's log has been read. A log belongs to a target server, not to a tenant: this
 * table holds positions only, never statements, and is read and written by the system scope.
 */
export const captureCursors = pgTable('capture_cursors', {
  databaseId: text('database_id').primaryKey(),
  source: text('source').notNull(),
  position: bigint('position', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Signed heads of a tenant's audit chain: an HMAC (key derived from the master key, which the state
 * database never holds) over the head's seq and hash, each bound to the checkpoint before it. A chain
 * cut short or rewritten before a checkpoint no longer matches it. Append-only, like the log.
 */
export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
    /** The mac of the checkpoint before (or 64 zeros), so that one cannot be dropped from the middle. */
    prevMac: text('prev_mac').notNull(),
    mac: text('mac').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull(),
  },
  (t) => [index('audit_checkpoints_tenant').on(t.tenantId, t.id)],
);

/**
 * How far each export sink (a file, a SIEM endpoint) has received a tenant's audit events. Within a
 * tenant, seq N+1 commits only after N (the chain lock), so "everything up to seq" never skips one.
 */
export const auditExportCursors = pgTable(
  'audit_export_cursors',
  {
    sink: text('sink').notNull(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sink, t.tenantId] }), index('audit_export_cursors_tenant').on(t.tenantId)],
);

/**
 * Where a chat platform can reach people and channels later (Teams: conversation references). Keys:
 * `channel:<id>`, `personal:<email>`, `member:<email>`, `conversation:<id>`. No secret is stored here.
 */
export const chatConversations = pgTable(
  'chat_conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    platform: text('platform').notNull(),
    key: text('key').notNull(),
    reference: jsonb('reference').$type<Record<string, unknown>>().notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('chat_conversations_platform_key').on(t.platform, t.key), index('chat_conversations_tenant').on(t.tenantId)],
);

/**
 * This install's identity (one row): made once, at the first start on this state database, and
 * never changed. Every user, account and access group the providers create carries it, so two
 * installs on one target (same user prefix or not) never take each other's objects for their own.
 */
export const installation = pgTable(
  'installation',
  {
    /** Always true: the primary key that allows one row only. */
    singleton: boolean('singleton').primaryKey().default(true),
    /** 8 lower-case base32 characters ([a-z2-7]), short enough to go into role names. */
    id: text('id').notNull(),
    createdAt: createdAt(),
  },
  () => [check('installation_singleton', sql`singleton`), check('installation_id_format', sql`id ~ '^[a-z2-7]{8}$'`)],
);

/**
 * Slack deliveries already taken in (a command's or interaction's trigger id, an event's id): Slack
 * retries a delivery it thinks failed, and a retry must not act twice. Kept for an hour.
 */
export const slackDeliveries = pgTable(
  'slack_deliveries',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    key: text('key').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), index('slack_deliveries_seen_at').on(t.seenAt)],
);

/**
 * The inbox of deliveries that reduce access (End access or `revoke`, an account deactivated): written
 * before the platform is acknowledged, marked done when the work is, and replayed by the sweep when it
 * is not (the process died between the two). One row per delivery: a retry of it finds it there.
 */
export const inboundIntents = pgTable(
  'inbound_intents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id),
    platform: text('platform').notNull(),
    /** The platform's id of the workspace (Slack's team id): the actor is looked up in it again at replay. */
    workspaceId: text('workspace_id').notNull(),
    kind: text('kind').$type<'revoke' | 'offboard'>().notNull(),
    /** Who asked (a revoke), in the platform's ids; null for an event (the platform itself). */
    actorExternalId: text('actor_external_id'),
    /** The request id (a revoke) or the platform's user id (an offboarding). */
    subject: text('subject').notNull(),
    deliveryKey: text('delivery_key').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    /** When a sweep last took it up for replay (one sweep at a time; another after a minute). */
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    doneAt: timestamp('done_at', { withTimezone: true }),
    /** How it ended: 'live', 'replayed', 'refused: …', 'not found', 'abandoned: …'. */
    outcome: text('outcome'),
  },
  (t) => [uniqueIndex('inbound_intents_delivery').on(t.tenantId, t.deliveryKey), index('inbound_intents_open').on(t.receivedAt).where(sql`done_at IS NULL`)],
);

/**
 * What each platform's approvers were told about catalog databases that cannot be served (their admin
 * reference gives no admin connection): a row while the problem lasts, so that every process and every
 * restart tells them once per problem, and once more when it is fixed. Not a tenant's row: database
 * ids are unique across the catalog file, and the operator's configuration is what it is about.
 */
export const databaseNotices = pgTable(
  'database_notices',
  {
    databaseId: text('database_id').notNull(),
    platform: text('platform').notNull(),
    /** The sentence the approvers were given: a different one is a new problem, told again. */
    problem: text('problem').notNull(),
    noticedAt: timestamp('noticed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.databaseId, t.platform] })],
);

/**
 * Terminal sign-ins (`dbaccess connect`): a device code the CLI polls with, confirmed by a person in
 * chat (`login <code>`), then a bearer token bound to that person and tenant. Only hashes are kept;
 * the tenant and person are empty until the sign-in is confirmed.
 */
export const cliTokens = pgTable(
  'cli_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** What the person types in chat (`ABCD-EFGH`), while the sign-in waits. */
    userCode: text('user_code').notNull(),
    deviceCodeHash: text('device_code_hash').notNull(),
    /** The machine the CLI said it runs on, shown to the person who confirms. */
    client: text('client').notNull(),
    tenantId: uuid('tenant_id').references(() => tenants.id),
    userId: uuid('user_id').references(() => chatUsers.id),
    /** Set when the token is handed out (once); the token itself is never stored. */
    tokenHash: text('token_hash'),
    createdAt: createdAt(),
    /** The sign-in must be confirmed before this. */
    confirmBy: timestamp('confirm_by', { withTimezone: true }).notNull(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('cli_tokens_device_code').on(t.deviceCodeHash),
    uniqueIndex('cli_tokens_token').on(t.tokenHash),
    index('cli_tokens_user_code').on(t.userCode),
    index('cli_tokens_tenant').on(t.tenantId),
    index('cli_tokens_user').on(t.userId),
  ],
);
