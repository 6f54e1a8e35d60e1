import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { type MessageRef, accessRequests } from './access-requests.js';
import { leases } from './leases.js';
import { chatUsers, tenants } from './tenants.js';

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
