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

function hashOf(row: { tenantId: string; seq: number; actor: string; action: string; subject: string; outcome: string; details: unknown; createdAt: string; prevHash: string }): string {
  return createHash('sha256').update(canonical(row)).digest('hex');
}

/**
 * The audit log: append-only (a trigger refuses UPDATE and DELETE) and hash-chained per tenant.
 * Appends for one tenant are serialized by a transaction-scoped advisory lock.
 */
export function createAuditService({ db }: { db: Db }) {
  async function appendIn(tx: DbOrTx, event: AuditEvent): Promise<void> {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${event.tenantId}, 7))`);
    const [last] = await tx
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.tenantId, event.tenantId))
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    const row = {
      tenantId: event.tenantId,
      seq: (last?.seq ?? 0) + 1,
      actor: event.actor,
      action: event.action,
      subject: event.subject,
      outcome: event.outcome,
      details: event.details ?? {},
      createdAt: new Date().toISOString(),
      prevHash: last?.hash ?? GENESIS,
    };
    await tx.insert(auditEvents).values({ ...row, hash: hashOf(row) });
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
        const { id: _id, hash, ...content } = row;
        // PostgreSQL returns its own timestamp text; the hash was taken over the ISO form.
        if (hashOf({ ...content, createdAt: new Date(content.createdAt).toISOString() }) !== hash) return { ok: false, seq: row.seq, problem: 'content was changed' };
        prevHash = hash;
      }
      return { ok: true, events: rows.length };
    },

    list(tenantId: string, limit = 100) {
      return db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId)).orderBy(desc(auditEvents.seq)).limit(limit);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
