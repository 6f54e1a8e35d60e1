import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

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
