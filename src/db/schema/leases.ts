import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { type MessageRef, accessRequests } from './access-requests.js';
import { chatUsers, tenants } from './tenants.js';

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
