import { bigint, bigserial, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

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
