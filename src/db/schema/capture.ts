import { bigint, bigserial, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { leases } from './leases.js';
import { tenants } from './tenants.js';

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
