import { index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { chatUsers, tenants } from './tenants.js';

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
