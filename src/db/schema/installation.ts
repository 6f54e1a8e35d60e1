import { sql } from 'drizzle-orm';
import { boolean, check, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';

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
