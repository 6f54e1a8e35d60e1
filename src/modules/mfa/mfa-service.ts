import QRCode from 'qrcode';
import type { Db, DbOrTx } from '../../db/client.js';
import type { SecretBox } from '../../lib/crypto.js';
import { badInput, conflict, forbidden, notFound } from '../../lib/errors.js';
import { formatTime } from '../../lib/time.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../tenants/tenant-service.js';
import {
  afterFailure,
  generateRecoveryCodes,
  hashRecoveryCode,
  isLocked,
  isReplay,
  lockEndForPeople,
  newTotpSecret,
  otpauthUri,
  parseCode,
  recoveryCodeMatches,
  totpStep,
} from './mfa-codes.js';
import { Secret } from '../../lib/secret.js';
import type { MfaRepo } from './mfa-repo.js';

interface Deps {
  db: Db;
  repo: MfaRepo;
  audit: Pick<AuditService, 'record'>;
  secrets: SecretBox;
  /** The name authenticator apps show above the code. */
  issuer?: string;
  now?: () => Date;
  /** Wrong codes in a row that lock MFA... */
  maxFailures?: number;
  /** ...for this long. */
  lockMinutes?: number;
}

/** What the code is for, recorded in the audit log: `approve`, `reveal`, or another step-up. */
export type MfaPurpose = 'approve' | 'reveal' | (string & {});

export type MfaRefusal = 'not-enrolled' | 'locked' | 'invalid' | 'replayed';

export type MfaVerification =
  | { ok: true; method: 'totp' | 'recovery'; /** After a recovery code: how many are left. */ recoveryCodesLeft?: number }
  | { ok: false; reason: MfaRefusal; lockedUntil?: Date; message: string; /** This very attempt locked MFA. */ lockedNow?: boolean };

export interface MfaStatus {
  /** An enrollment exists, confirmed or still waiting for its first code. */
  enrolled: boolean;
  /** Confirmed with a first code: only then are codes accepted. */
  confirmed: boolean;
  locked: boolean;
  lockedUntil?: Date;
  recoveryCodesLeft: number;
}

export interface MfaEnrollmentStart {
  /** Base32, for typing into an app by hand; show it once (it prints as [redacted] anywhere else). */
  secret: Secret;
  otpauthUri: Secret;
  qrPng: Buffer;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CODE_LENGTH = 64;

const MESSAGES = {
  notEnrolled: 'You have not set up two-factor authentication yet: add dbaccess to an authenticator app first, then try again.',
  replayed: 'That code was already used; wait for the next one.',
  recoveryUsed: 'That recovery code was already used; each one works once.',
  malformed: 'Enter the 6-digit code your authenticator app shows for dbaccess, or one of your recovery codes.',
  locked: (until: Date, now: Date) => `Too many wrong codes: MFA is locked until ${formatTime(lockEndForPeople(until), now)}.`,
  invalid: (triesLeft: number, lockMinutes: number) =>
    `That code did not match. Check that your phone sets its clock automatically, then enter the current code (${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left before MFA locks for ${lockMinutes} minutes).`,
};

/**
 * TOTP multi-factor authentication: enrollment with a first code, step-up verification with replay
 * refusal and lockout, one-time recovery codes, admin reset. A user's verifications run one at a time
 * (the enrollment row is locked for the duration), so a code can never be accepted twice.
 */
export function createMfaService({ db, repo, audit, secrets, issuer = 'dbaccess', now: clock = () => new Date(), maxFailures = 5, lockMinutes = 15 }: Deps) {
  const userSubject = (userId: string) => `user:${userId}`;

  function record(actor: Actor, action: string, outcome: 'success' | 'refused', details: Record<string, unknown>, tx?: DbOrTx) {
    return audit.record({ tenantId: actor.tenantId, actor: userSubject(actor.userId), action, subject: userSubject(actor.userId), outcome, details }, tx);
  }

  async function startEnrollment(actor: Actor, accountLabel: string): Promise<MfaEnrollmentStart> {
    const secret = new Secret(newTotpSecret());
    const started = await db.transaction(async (tx) => {
      const row = await repo.upsertPending(actor.tenantId, actor.userId, secrets.seal(secret.reveal()), clock(), tx);
      if (row) await record(actor, 'mfa.enrolling', 'success', {}, tx);
      return row !== undefined;
    });
    if (!started) {
      await record(actor, 'mfa.enrolling', 'refused', { reason: 'already-enrolled' });
      throw conflict('Two-factor authentication is already set up for you. To move it to a new authenticator app, ask an admin to reset it first.');
    }
    const uri = new Secret(otpauthUri(issuer, accountLabel.trim() || actor.externalUserId, secret.reveal()));
    const qrPng = await QRCode.toBuffer(uri.reveal(), { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 8 });
    return { secret, otpauthUri: uri, qrPng };
  }

  /**
   * The fast part of confirming (one read and a TOTP check, no hashing), so a chat form can show a
   * wrong code in the form itself and still acknowledge within the platform's deadline.
   */
  async function checkEnrollmentCode(actor: Actor, code: string): Promise<void> {
    await matchEnrollmentCode(actor, code, clock());
  }

  async function matchEnrollmentCode(actor: Actor, code: string, at: Date) {
    const row = await repo.find(actor.tenantId, actor.userId);
    if (!row) throw conflict('There is no two-factor set-up waiting for a code: start the set-up first.');
    if (row.confirmedAt) throw conflict('Two-factor authentication is already set up for you.');
    const input = code.length <= MAX_CODE_LENGTH ? parseCode(code) : { kind: 'malformed' as const };
    if (input.kind !== 'totp') throw badInput('Enter the 6-digit code your authenticator app now shows for dbaccess.', { code: 'Six digits.' });
    const step = await totpStep(secrets.open(row.secretSealed), input.token, at);
    if (step === undefined) {
      await record(actor, 'mfa.enrolled', 'refused', { reason: 'invalid' });
      throw badInput("That code did not match. Check that your phone sets its clock automatically, and that you scanned the latest QR code, then enter the current code.", { code: 'Did not match.' });
    }
    return { row, step };
  }

  async function confirmEnrollment(actor: Actor, code: string): Promise<{ recoveryCodes: Secret[] }> {
    const at = clock();
    const { row, step } = await matchEnrollmentCode(actor, code, at);
    // Hashing is slow on purpose: done before the transaction, which then only writes.
    const recoveryCodes = generateRecoveryCodes().map((code) => new Secret(code));
    const hashes = await Promise.all(recoveryCodes.map((code) => hashRecoveryCode(code.reveal())));
    await db.transaction(async (tx) => {
      // Conditional on the secret the code was checked against: a set-up restarted meanwhile is not confirmed with an old code.
      const confirmed = await repo.confirm(actor.tenantId, actor.userId, row.secretSealed, step, at, tx);
      if (!confirmed) throw conflict('The set-up changed while you were confirming it (it was restarted or finished elsewhere). Check your authenticator app and start again if needed.');
      await repo.replaceRecoveryCodes(actor.tenantId, actor.userId, hashes, at, tx);
      await record(actor, 'mfa.enrolled', 'success', { recoveryCodes: hashes.length }, tx);
    });
    return { recoveryCodes };
  }

  async function verify(actor: Actor, code: string, purpose: MfaPurpose): Promise<MfaVerification> {
    const at = clock();
    const input = code.length <= MAX_CODE_LENGTH ? parseCode(code) : { kind: 'malformed' as const };
    const boundedPurpose = purpose.slice(0, 64);
    const method = input.kind === 'malformed' ? undefined : input.kind;

    return db.transaction(async (tx) => {
      const refuse = async (reason: MfaRefusal, message: string, extra: { lockedUntil?: Date; details?: Record<string, unknown> } = {}): Promise<MfaVerification> => {
        await record(actor, 'mfa.verified', 'refused', { purpose: boundedPurpose, reason, method, ...extra.details }, tx);
        return { ok: false, reason, message, ...(extra.lockedUntil ? { lockedUntil: extra.lockedUntil } : {}) };
      };

      // Row lock: a second verification of this user waits here and then sees what the first one used.
      const row = await repo.findForUpdate(actor.tenantId, actor.userId, tx);
      if (!row?.confirmedAt) return refuse('not-enrolled', MESSAGES.notEnrolled);
      if (isLocked(row.lockedUntil, at)) return refuse('locked', MESSAGES.locked(row.lockedUntil, at), { lockedUntil: row.lockedUntil });

      if (input.kind === 'totp') {
        const step = await totpStep(secrets.open(row.secretSealed), input.token, at);
        if (step !== undefined) {
          // useStep is conditional on the step being newer too: the row lock is not the only wall.
          const fresh = !isReplay(step, row.lastUsedStep) && (await repo.useStep(actor.tenantId, actor.userId, step, at, tx));
          if (!fresh) return refuse('replayed', MESSAGES.replayed);
          await record(actor, 'mfa.verified', 'success', { purpose: boundedPurpose, method: 'totp' }, tx);
          return { ok: true, method: 'totp' };
        }
      } else if (input.kind === 'recovery') {
        const stored = await repo.recoveryCodes(actor.tenantId, actor.userId, tx);
        const matches = await Promise.all(stored.map((candidate) => recoveryCodeMatches(input.code, candidate.codeHash)));
        const match = stored[matches.indexOf(true)];
        if (match) {
          const fresh = !match.usedAt && (await repo.useRecoveryCode(actor.tenantId, match.id, at, tx));
          if (!fresh) return refuse('replayed', MESSAGES.recoveryUsed);
          await repo.clearFailures(actor.tenantId, actor.userId, at, tx);
          const recoveryCodesLeft = stored.filter((code) => !code.usedAt).length - 1;
          await record(actor, 'mfa.verified', 'success', { purpose: boundedPurpose, method: 'recovery', recoveryCodesLeft }, tx);
          return { ok: true, method: 'recovery', recoveryCodesLeft };
        }
      } else {
        // Not even the shape of a code: a typo, which guesses nothing, so it does not count towards the lock.
        return refuse('invalid', MESSAGES.malformed);
      }

      const next = afterFailure(row.failedAttempts, at, maxFailures, lockMinutes);
      await repo.recordFailure(actor.tenantId, actor.userId, next, at, tx);
      if (!next.lockedNow) return refuse('invalid', MESSAGES.invalid(maxFailures - next.failedAttempts, lockMinutes), { details: { failedAttempts: next.failedAttempts } });
      const lockedUntil = next.lockedUntil!;
      const refusal = await refuse('locked', MESSAGES.locked(lockedUntil, at), { lockedUntil, details: { failedAttempts: maxFailures } });
      await record(actor, 'mfa.locked', 'success', { failedAttempts: maxFailures, lockedUntil: lockedUntil.toISOString(), lockMinutes }, tx);
      return { ...refusal, lockedNow: true };
    });
  }

  async function status(actor: Actor): Promise<MfaStatus> {
    const at = clock();
    const row = await repo.find(actor.tenantId, actor.userId);
    const locked = row ? isLocked(row.lockedUntil, at) : false;
    return {
      enrolled: row !== undefined,
      confirmed: Boolean(row?.confirmedAt),
      locked,
      ...(locked && row?.lockedUntil ? { lockedUntil: row.lockedUntil } : {}),
      recoveryCodesLeft: row?.confirmedAt ? await repo.countUnusedRecoveryCodes(actor.tenantId, actor.userId) : 0,
    };
  }

  /** True once enrollment is confirmed: the user can answer a step-up. */
  async function isEnrolled(actor: Actor): Promise<boolean> {
    const row = await repo.find(actor.tenantId, actor.userId);
    return Boolean(row?.confirmedAt);
  }

  /**
   * Removes a user's enrollment and recovery codes, so that they can enroll again (a lost phone).
   * Whether the actor may administer MFA is the caller's policy decision; resetting one's own MFA is
   * refused here, since it would let a hijacked chat session replace the second factor it lacks.
   */
  async function reset(admin: Actor, targetUserId: string): Promise<{ removed: boolean }> {
    if (!UUID.test(targetUserId) || !(await repo.userExists(admin.tenantId, targetUserId))) throw notFound('That user');
    const event = { tenantId: admin.tenantId, actor: userSubject(admin.userId), action: 'mfa.reset', subject: userSubject(targetUserId) };
    if (targetUserId === admin.userId) {
      await audit.record({ ...event, outcome: 'refused', details: { reason: 'own enrollment' } });
      throw forbidden('You cannot reset your own two-factor authentication: ask another admin.');
    }
    const removed = await db.transaction(async (tx) => {
      const row = await repo.remove(admin.tenantId, targetUserId, tx);
      await audit.record({ ...event, outcome: 'success', details: { removed: row !== undefined, wasConfirmed: Boolean(row?.confirmedAt) } }, tx);
      return row;
    });
    return { removed: removed !== undefined };
  }

  return { startEnrollment, checkEnrollmentCode, confirmEnrollment, verify, status, isEnrolled, reset };
}

export type MfaService = ReturnType<typeof createMfaService>;
