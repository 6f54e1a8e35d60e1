import { and, count, eq, isNull, lt } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { mfaEnrollments, mfaRecoveryCodes } from '../../db/schema/mfa.js';
import { chatUsers } from '../../db/schema/tenants.js';

export type MfaEnrollmentRow = typeof mfaEnrollments.$inferSelect;
export type RecoveryCodeRow = typeof mfaRecoveryCodes.$inferSelect;

/** MFA enrollments and recovery codes. Every query names the tenant. */
export function createMfaRepo({ db }: { db: Db }) {
  const ofUser = (tenantId: string, userId: string) => and(eq(mfaEnrollments.tenantId, tenantId), eq(mfaEnrollments.userId, userId));
  const codesOf = (tenantId: string, userId: string) => and(eq(mfaRecoveryCodes.tenantId, tenantId), eq(mfaRecoveryCodes.userId, userId));

  return {
    async find(tenantId: string, userId: string, tx: DbOrTx = db): Promise<MfaEnrollmentRow | undefined> {
      const [row] = await tx.select().from(mfaEnrollments).where(ofUser(tenantId, userId));
      return row;
    },

    /** The enrollment, locked until the transaction ends: verifications of one user run one at a time. */
    async findForUpdate(tenantId: string, userId: string, tx: DbOrTx): Promise<MfaEnrollmentRow | undefined> {
      const [row] = await tx.select().from(mfaEnrollments).where(ofUser(tenantId, userId)).for('update');
      return row;
    },

    /**
     * Stores a new, unconfirmed secret, replacing an unconfirmed one. Returns undefined when the user
     * already has a confirmed enrollment, which only a reset may replace.
     */
    async upsertPending(tenantId: string, userId: string, secretSealed: string, now: Date, tx: DbOrTx = db): Promise<MfaEnrollmentRow | undefined> {
      const fresh = { secretSealed, confirmedAt: null, lastUsedStep: 0, failedAttempts: 0, lockedUntil: null, updatedAt: now };
      const [row] = await tx
        .insert(mfaEnrollments)
        .values({ tenantId, userId, ...fresh, createdAt: now })
        .onConflictDoUpdate({ target: [mfaEnrollments.tenantId, mfaEnrollments.userId], set: fresh, setWhere: isNull(mfaEnrollments.confirmedAt) })
        .returning();
      return row;
    },

    /** Confirms the enrollment whose secret the first code was checked against, once. */
    async confirm(tenantId: string, userId: string, secretSealed: string, step: number, now: Date, tx: DbOrTx = db): Promise<MfaEnrollmentRow | undefined> {
      const [row] = await tx
        .update(mfaEnrollments)
        .set({ confirmedAt: now, lastUsedStep: step, failedAttempts: 0, lockedUntil: null, updatedAt: now })
        .where(and(ofUser(tenantId, userId), eq(mfaEnrollments.secretSealed, secretSealed), isNull(mfaEnrollments.confirmedAt)))
        .returning();
      return row;
    },

    /**
     * A right TOTP code: its step becomes the last used one and the count of wrong codes starts over.
     * Conditional on the step being newer, so even without the row lock a code could not be used twice.
     */
    async useStep(tenantId: string, userId: string, step: number, now: Date, tx: DbOrTx): Promise<boolean> {
      const rows = await tx
        .update(mfaEnrollments)
        .set({ lastUsedStep: step, failedAttempts: 0, lockedUntil: null, updatedAt: now })
        .where(and(ofUser(tenantId, userId), lt(mfaEnrollments.lastUsedStep, step)))
        .returning({ id: mfaEnrollments.id });
      return rows.length === 1;
    },

    /** A right recovery code: the count of wrong codes starts over. */
    async clearFailures(tenantId: string, userId: string, now: Date, tx: DbOrTx): Promise<void> {
      await tx.update(mfaEnrollments).set({ failedAttempts: 0, lockedUntil: null, updatedAt: now }).where(ofUser(tenantId, userId));
    },

    async recordFailure(tenantId: string, userId: string, state: { failedAttempts: number; lockedUntil: Date | null }, now: Date, tx: DbOrTx): Promise<void> {
      await tx
        .update(mfaEnrollments)
        .set({ failedAttempts: state.failedAttempts, lockedUntil: state.lockedUntil, updatedAt: now })
        .where(ofUser(tenantId, userId));
    },

    async remove(tenantId: string, userId: string, tx: DbOrTx = db): Promise<MfaEnrollmentRow | undefined> {
      await tx.delete(mfaRecoveryCodes).where(codesOf(tenantId, userId));
      const [row] = await tx.delete(mfaEnrollments).where(ofUser(tenantId, userId)).returning();
      return row;
    },

    async replaceRecoveryCodes(tenantId: string, userId: string, hashes: string[], now: Date, tx: DbOrTx = db): Promise<void> {
      await tx.delete(mfaRecoveryCodes).where(codesOf(tenantId, userId));
      if (hashes.length) await tx.insert(mfaRecoveryCodes).values(hashes.map((codeHash) => ({ tenantId, userId, codeHash, createdAt: now })));
    },

    /** All of a user's recovery codes, used ones too: a used one presented again is told apart from a wrong one. */
    async recoveryCodes(tenantId: string, userId: string, tx: DbOrTx = db): Promise<Pick<RecoveryCodeRow, 'id' | 'codeHash' | 'usedAt'>[]> {
      return tx
        .select({ id: mfaRecoveryCodes.id, codeHash: mfaRecoveryCodes.codeHash, usedAt: mfaRecoveryCodes.usedAt })
        .from(mfaRecoveryCodes)
        .where(codesOf(tenantId, userId));
    },

    /** Marks a recovery code used; false when it already was (each works once). */
    async useRecoveryCode(tenantId: string, id: string, now: Date, tx: DbOrTx): Promise<boolean> {
      const rows = await tx
        .update(mfaRecoveryCodes)
        .set({ usedAt: now })
        .where(and(eq(mfaRecoveryCodes.tenantId, tenantId), eq(mfaRecoveryCodes.id, id), isNull(mfaRecoveryCodes.usedAt)))
        .returning({ id: mfaRecoveryCodes.id });
      return rows.length === 1;
    },

    async countUnusedRecoveryCodes(tenantId: string, userId: string, tx: DbOrTx = db): Promise<number> {
      const [row] = await tx.select({ n: count() }).from(mfaRecoveryCodes).where(and(codesOf(tenantId, userId), isNull(mfaRecoveryCodes.usedAt)));
      return row?.n ?? 0;
    },

    /** Whether the user belongs to the tenant: an id from another tenant is "not found". */
    async userExists(tenantId: string, userId: string, tx: DbOrTx = db): Promise<boolean> {
      const [row] = await tx.select({ id: chatUsers.id }).from(chatUsers).where(and(eq(chatUsers.tenantId, tenantId), eq(chatUsers.id, userId)));
      return row !== undefined;
    },
  };
}

export type MfaRepo = ReturnType<typeof createMfaRepo>;
