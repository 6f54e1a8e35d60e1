import { pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';

/** Every table carries tenant_id: a Slack workspace (later a Teams tenant) is a tenant. */

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
