import { and, asc, desc, eq, gt, isNull, ne, or } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { captureCursors, capturedStatements } from '../../db/schema/capture.js';
import { leases } from '../../db/schema/leases.js';
import type { CaptureCursor } from './capture-reader.js';

/** A lease whose statements are being recorded. */
export interface CaptureLease {
  id: string;
  tenantId: string;
  username: string;
  captureMethod: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface StatementRow {
  at: Date;
  statement: string;
  error: string | null;
}

/**
 * Captured statements, the capture columns of leases, and the read positions in targets' logs
 * (capture_cursors, which only the system scope may touch).
 */
export function createCaptureRepo({ db }: { db: Db }) {
  return {
    /** Leases of the database that record statements: live ones, and ended ones still being read. */
    async candidates(databaseId: string, endedSince: Date, tx: DbOrTx = db): Promise<CaptureLease[]> {
      return tx
        .select({ id: leases.id, tenantId: leases.tenantId, username: leases.username, captureMethod: leases.captureMethod, createdAt: leases.createdAt, revokedAt: leases.revokedAt })
        .from(leases)
        .where(and(eq(leases.databaseId, databaseId), ne(leases.captureMethod, 'none'), or(isNull(leases.revokedAt), gt(leases.revokedAt, endedSince))))
        .orderBy(asc(leases.createdAt));
    },

    async cursor(key: string, tx: DbOrTx = db): Promise<CaptureCursor | undefined> {
      const [row] = await tx.select({ source: captureCursors.source, position: captureCursors.position }).from(captureCursors).where(eq(captureCursors.databaseId, key));
      return row;
    },

    /** Moves the cursor from `from` (undefined: none yet) to `to`; false when it was not at `from`. */
    async moveCursor(key: string, from: CaptureCursor | undefined, to: CaptureCursor, tx: DbOrTx = db): Promise<boolean> {
      if (!from) {
        const inserted = await tx.insert(captureCursors).values({ databaseId: key, source: to.source, position: to.position }).onConflictDoNothing().returning({ key: captureCursors.databaseId });
        return inserted.length === 1;
      }
      const updated = await tx
        .update(captureCursors)
        .set({ source: to.source, position: to.position, updatedAt: new Date() })
        .where(and(eq(captureCursors.databaseId, key), eq(captureCursors.source, from.source), eq(captureCursors.position, from.position)))
        .returning({ key: captureCursors.databaseId });
      return updated.length === 1;
    },

    /**
     * Appends statements to a lease, keeping at most `limit`: the rest is counted, and the lease
     * marked truncated. The lease row is locked, so concurrent appends count correctly.
     */
    async append(lease: Pick<CaptureLease, 'id' | 'tenantId'>, rows: StatementRow[], limit: number, tx: DbOrTx = db): Promise<number> {
      const [current] = await tx.select({ count: leases.capturedCount }).from(leases).where(and(eq(leases.tenantId, lease.tenantId), eq(leases.id, lease.id))).for('update');
      if (!current) return 0;
      const kept = rows.slice(0, Math.max(0, limit - current.count));
      if (kept.length > 0) await tx.insert(capturedStatements).values(kept.map((row) => ({ tenantId: lease.tenantId, leaseId: lease.id, ...row })));
      const count = current.count + rows.length;
      await tx.update(leases).set({ capturedCount: count, captureTruncated: count > limit }).where(and(eq(leases.tenantId, lease.tenantId), eq(leases.id, lease.id)));
      return kept.length;
    },

    /** Replaces everything recorded for the lease (pg_stat_statements totals are a snapshot, not a log). */
    async replace(lease: Pick<CaptureLease, 'id' | 'tenantId'>, rows: StatementRow[], count: number, truncated: boolean, tx: DbOrTx = db): Promise<void> {
      await tx.delete(capturedStatements).where(and(eq(capturedStatements.tenantId, lease.tenantId), eq(capturedStatements.leaseId, lease.id)));
      if (rows.length > 0) await tx.insert(capturedStatements).values(rows.map((row) => ({ tenantId: lease.tenantId, leaseId: lease.id, ...row })));
      await tx.update(leases).set({ capturedCount: count, captureTruncated: truncated }).where(and(eq(leases.tenantId, lease.tenantId), eq(leases.id, lease.id)));
    },

    /** The lease's last stored statement, if any. */
    async lastStatement(lease: Pick<CaptureLease, 'id' | 'tenantId'>, tx: DbOrTx = db): Promise<(StatementRow & { id: number }) | undefined> {
      const [row] = await tx
        .select({ id: capturedStatements.id, at: capturedStatements.at, statement: capturedStatements.statement, error: capturedStatements.error })
        .from(capturedStatements)
        .where(and(eq(capturedStatements.tenantId, lease.tenantId), eq(capturedStatements.leaseId, lease.id)))
        .orderBy(desc(capturedStatements.id))
        .limit(1);
      return row;
    },

    async setError(tenantId: string, id: number, error: string, tx: DbOrTx = db): Promise<void> {
      await tx.update(capturedStatements).set({ error }).where(and(eq(capturedStatements.tenantId, tenantId), eq(capturedStatements.id, id)));
    },

    async statementsOf(tenantId: string, leaseId: string) {
      const [lease] = await db
        .select({ method: leases.captureMethod, count: leases.capturedCount, truncated: leases.captureTruncated })
        .from(leases)
        .where(and(eq(leases.tenantId, tenantId), eq(leases.id, leaseId)));
      if (!lease) return undefined;
      const statements = await db
        .select({ at: capturedStatements.at, statement: capturedStatements.statement, error: capturedStatements.error })
        .from(capturedStatements)
        .where(and(eq(capturedStatements.tenantId, tenantId), eq(capturedStatements.leaseId, leaseId)))
        .orderBy(asc(capturedStatements.id));
      return { ...lease, statements };
    },
  };
}

export type CaptureRepo = ReturnType<typeof createCaptureRepo>;
