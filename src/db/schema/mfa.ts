import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { chatUsers, tenants } from './tenants.js';

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
