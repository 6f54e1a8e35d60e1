import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';

/**
 * Pure TOTP and recovery-code helpers. Parameters are what authenticator apps (Google Authenticator,
 * Authy, 1Password, Microsoft Authenticator) assume when a QR code carries no others.
 */
export const TOTP = { algorithm: 'sha1', digits: 6, period: 30 } as const;

/** Codes of the previous and next step are accepted too: phones drift, people type slowly. */
export const SKEW_STEPS = 1;

/** The 30-second step a moment falls in (RFC 6238 counter, T0 = 0). */
export const stepAt = (at: Date): number => Math.floor(at.getTime() / 1000 / TOTP.period);

/** A new base32 secret of 20 random bytes (160 bits, RFC 4226's recommendation). */
export const newTotpSecret = (): string => generateSecret({ length: 20 });

/** `otpauth://totp/<issuer>:<account>?secret=...&issuer=...`, what an authenticator app scans. */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  return generateURI({ issuer: cleanLabel(issuer), label: cleanLabel(account), secret, algorithm: TOTP.algorithm, digits: TOTP.digits, period: TOTP.period });
}

/** A colon separates issuer from account in the URI label, so neither may contain one. */
function cleanLabel(text: string): string {
  return text.replace(/[:\p{Cc}]/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 64);
}

/** The step a 6-digit code was generated for, when it is valid at `at` within the skew; otherwise undefined. */
export async function totpStep(secret: string, token: string, at: Date): Promise<number | undefined> {
  if (!/^\d{6}$/.test(token)) return undefined;
  const result = await verifyTotp({
    secret,
    token,
    algorithm: TOTP.algorithm,
    digits: TOTP.digits,
    period: TOTP.period,
    epoch: Math.floor(at.getTime() / 1000),
    // otplib's tolerance is in seconds: ±30 s around `at` covers exactly the previous and next step.
    epochTolerance: SKEW_STEPS * TOTP.period,
  });
  // The functional API types HOTP and TOTP results together; only the TOTP one has the step.
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/** A code works once: one whose step is not after the last accepted step is a replay. */
export const isReplay = (step: number, lastUsedStep: number): boolean => step <= lastUsedStep;

// ---- what the person typed ----

export type CodeInput = { kind: 'totp'; token: string } | { kind: 'recovery'; code: string } | { kind: 'malformed' };

/** Six digits (spaces allowed: apps show `123 456`) or a recovery code (any case, dashes optional). */
export function parseCode(text: string): CodeInput {
  const compact = text.replace(/[\s-]/g, '').toLowerCase();
  if (/^\d{6}$/.test(compact)) return { kind: 'totp', token: compact };
  const recovery = normalizeRecoveryCode(text);
  return recovery ? { kind: 'recovery', code: recovery } : { kind: 'malformed' };
}

// ---- recovery codes ----

/** No 0/o, 1/i/l: easy to read off paper and to type. 31 symbols, 12 of them: about 59 bits per code. */
export const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
export const RECOVERY_CODE_COUNT = 10;
const GROUPS = 3;
const GROUP_LENGTH = 4;
const RECOVERY_PATTERN = new RegExp(`^[${RECOVERY_ALPHABET}]{${GROUPS * GROUP_LENGTH}}$`);

/** `xxxx-xxxx-xxxx` codes from the unambiguous alphabet, uniformly drawn. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    let raw = '';
    while (raw.length < GROUPS * GROUP_LENGTH) {
      for (const byte of randomBytes(32)) {
        // Rejection sampling keeps every symbol equally likely.
        if (byte < Math.floor(256 / RECOVERY_ALPHABET.length) * RECOVERY_ALPHABET.length && raw.length < GROUPS * GROUP_LENGTH) raw += RECOVERY_ALPHABET[byte % RECOVERY_ALPHABET.length];
      }
    }
    return raw.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-');
  });
}

/** The canonical form (12 symbols, no dashes), or undefined when the text cannot be a recovery code. */
export function normalizeRecoveryCode(text: string): string | undefined {
  const compact = text.replace(/[\s-]/g, '').toLowerCase();
  return RECOVERY_PATTERN.test(compact) ? compact : undefined;
}

// scrypt at Node's defaults (N=2^14, r=8, p=1): slow enough that a stolen table is no shortcut.
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** `scrypt$N$r$p$<salt>$<hash>` (base64url) over the canonical code, with a fresh 16-byte salt per code. */
export async function hashRecoveryCode(code: string): Promise<string> {
  const canonical = normalizeRecoveryCode(code);
  if (!canonical) throw new Error('Not a recovery code.');
  const salt = randomBytes(16);
  const hash = await scrypt(canonical, salt, KEY_LENGTH, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function recoveryCodeMatches(code: string, stored: string): Promise<boolean> {
  const canonical = normalizeRecoveryCode(code);
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (!canonical || scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(canonical, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

// ---- wrong codes in a row ----

export interface FailureState {
  failedAttempts: number;
  lockedUntil: Date | null;
}

/**
 * After one more wrong code: the count goes up, and at `maxFailures` MFA locks for `lockMinutes`
 * (the count starts over, so the next lock again takes `maxFailures` wrong codes).
 */
export function afterFailure(failedAttempts: number, now: Date, maxFailures: number, lockMinutes: number): FailureState & { lockedNow: boolean } {
  const count = failedAttempts + 1;
  if (count < maxFailures) return { failedAttempts: count, lockedUntil: null, lockedNow: false };
  return { failedAttempts: 0, lockedUntil: new Date(now.getTime() + lockMinutes * 60_000), lockedNow: true };
}

export const isLocked = (lockedUntil: Date | null, now: Date): lockedUntil is Date => lockedUntil !== null && lockedUntil.getTime() > now.getTime();

/** The lock end as people read it, rounded up to the minute so that "until 14:07" is never early. */
export function lockEndForPeople(lockedUntil: Date): Date {
  return new Date(Math.ceil(lockedUntil.getTime() / 60_000) * 60_000);
}
