import { createHash } from 'node:crypto';
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { auditEvents } from '../../db/schema.js';

export interface AuditEvent {
  tenantId: string;
  /** `user:<chat user id>`, `system`, or `job:<name>`. */
  actor: string;
  /** e.g. `request.submitted`, `request.approved`, `lease.revoked`. */
  action: string;
  /** What it is about: `request:<id>`, `lease:<id>`. */
  subject: string;
  outcome: 'success' | 'refused' | 'failure';
  /** Facts for the record; never a secret (no passwords, tokens or connection strings). */
  details?: Record<string, unknown>;
}

const GENESIS = '0'.repeat(64);

/** Canonical JSON: keys sorted at every depth, so the same event always hashes the same. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of what an event says, over its canonical form (place in the chain excluded). */
export function contentHash(event: { tenantId: string; actor: string; action: string; subject: string; outcome: string; details: unknown; createdAt: string }): string {
  return sha256(canonical(event));
}

/** The chain hash: the content bound to its place, after the event before it. */
export const chainHash = (prevHash: string, seq: number, content: string) => sha256(`${prevHash}:${seq}:${content}`);

/**
 * The audit log: append-only (a trigger refuses UPDATE and DELETE) and hash-chained per tenant.
 * Appends for one tenant are serialized by a transaction-scoped advisory lock.
 */
export function createAuditService({ db }: { db: Db }) {
  /** One statement: lock the tenant's chain, read its head, insert (see migration 0007). */
  async function appendIn(tx: DbOrTx, event: AuditEvent): Promise<void> {
    const createdAt = new Date().toISOString();
    const details = event.details ?? {};
    const content = contentHash({ tenantId: event.tenantId, actor: event.actor, action: event.action, subject: event.subject, outcome: event.outcome, details, createdAt });
    await tx.execute(
      sql`SELECT dbaccess_audit_append(${event.tenantId}::uuid, ${event.actor}, ${event.action}, ${event.subject}, ${event.outcome}, ${JSON.stringify(details)}::jsonb, ${createdAt}::timestamptz, ${content})`,
    );
  }


  return {
    /** Appends inside the caller's transaction (so the event commits with the change), or in its own. */
    async record(event: AuditEvent, tx?: DbOrTx): Promise<void> {
      if (tx) return appendIn(tx, event);
      await db.transaction((own) => appendIn(own, event));
    },

    /** Checks the chain; returns the first broken link, if any. */
    async verify(tenantId: string): Promise<{ ok: true; events: number } | { ok: false; seq: number; problem: string }> {
      const rows = await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId)).orderBy(asc(auditEvents.seq));
      let prevHash = GENESIS;
      for (const [index, row] of rows.entries()) {
        if (row.seq !== index + 1) return { ok: false, seq: index + 1, problem: 'missing or reordered event' };
        if (row.prevHash !== prevHash) return { ok: false, seq: row.seq, problem: 'does not follow the previous event' };
        // PostgreSQL returns its own timestamp text; the hash was taken over the ISO form.
        const content = contentHash({ tenantId: row.tenantId, actor: row.actor, action: row.action, subject: row.subject, outcome: row.outcome, details: row.details, createdAt: new Date(row.createdAt).toISOString() });
        if (chainHash(row.prevHash, row.seq, content) !== row.hash) return { ok: false, seq: row.seq, problem: 'content was changed' };
        prevHash = row.hash;
      }
      return { ok: true, events: rows.length };
    },

    list(tenantId: string, limit = 100) {
      return db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId)).orderBy(desc(auditEvents.seq)).limit(limit);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
