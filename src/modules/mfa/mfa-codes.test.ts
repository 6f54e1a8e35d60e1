import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
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
  RECOVERY_ALPHABET,
  recoveryCodeMatches,
  stepAt,
  totpStep,
} from './mfa-codes.js';

/** RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const secret = newTotpSecret();
const at = new Date('2030-05-01T14:00:10Z');
const codeAt = (date: Date, seconds = 0) => generate({ secret, epoch: Math.floor(date.getTime() / 1000) + seconds });

describe('TOTP', () => {
  it('matches the RFC 6238 SHA-1 vectors (6 digits, 30 s): what authenticator apps compute', async () => {
    expect(await totpStep(RFC_SECRET, '287082', new Date(59_000))).toBe(1);
    expect(await totpStep(RFC_SECRET, '081804', new Date(1_111_111_109_000))).toBe(37_037_036);
    expect(await totpStep(RFC_SECRET, '005924', new Date(1_234_567_890_000))).toBe(41_152_263);
  });

  it('names the 30-second step of a moment', () => {
    expect(stepAt(new Date(59_000))).toBe(1);
    expect(stepAt(new Date(60_000))).toBe(2);
  });

  it('accepts the current, previous and next step, and nothing further', async () => {
    const now = stepAt(at);
    expect(await totpStep(secret, await codeAt(at), at)).toBe(now);
    expect(await totpStep(secret, await codeAt(at, -30), at)).toBe(now - 1);
    expect(await totpStep(secret, await codeAt(at, 30), at)).toBe(now + 1);
    expect(await totpStep(secret, await codeAt(at, -60), at)).toBeUndefined();
    expect(await totpStep(secret, await codeAt(at, 60), at)).toBeUndefined();
  });

  it('refuses what is not six digits without throwing', async () => {
    for (const token of ['', '12345', '1234567', 'abcdef', '12 456']) expect(await totpStep(secret, token, at)).toBeUndefined();
  });

  it('treats a step at or before the last used one as a replay', () => {
    expect(isReplay(100, 100)).toBe(true);
    expect(isReplay(99, 100)).toBe(true);
    expect(isReplay(101, 100)).toBe(false);
    expect(isReplay(1, 0)).toBe(false);
  });

  it('writes an otpauth URI with issuer, account and secret, and no stray label separator', () => {
    const uri = new URL(otpauthUri('dbaccess', 'alice: ops', secret));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/dbaccess:alice ops');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('dbaccess');
  });

  it('makes 160-bit base32 secrets, different each time', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
  });
});

describe('what the person typed', () => {
  it('reads six digits, with the space apps show', () => {
    expect(parseCode('123456')).toEqual({ kind: 'totp', token: '123456' });
    expect(parseCode(' 123 456 ')).toEqual({ kind: 'totp', token: '123456' });
  });

  it('reads a recovery code in any case, with or without dashes', () => {
    expect(parseCode('ABCD-EFGH-JKMN')).toEqual({ kind: 'recovery', code: 'abcdefghjkmn' });
    expect(parseCode('abcdefghjkmn')).toEqual({ kind: 'recovery', code: 'abcdefghjkmn' });
  });

  it('calls anything else malformed', () => {
    for (const text of ['', '12345', '1234567', 'abcd-efgh-jkm', 'abcd-efgh-jkmo', 'hello']) expect(parseCode(text)).toEqual({ kind: 'malformed' });
  });
});

describe('recovery codes', () => {
  it('are ten xxxx-xxxx-xxxx codes from the unambiguous alphabet, all different', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(new RegExp(`^[${RECOVERY_ALPHABET}]{4}-[${RECOVERY_ALPHABET}]{4}-[${RECOVERY_ALPHABET}]{4}$`));
    expect(RECOVERY_ALPHABET).not.toMatch(/[01ilo]/);
  });

  it('are stored as salted scrypt hashes that match only their code', async () => {
    const [code, other] = generateRecoveryCodes(2) as [string, string];
    const hash = await hashRecoveryCode(code);
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(hash).not.toContain(code);
    expect(hash).not.toContain(code.replaceAll('-', ''));
    expect(await hashRecoveryCode(code)).not.toBe(hash);
    expect(await recoveryCodeMatches(code, hash)).toBe(true);
    expect(await recoveryCodeMatches(code.toUpperCase().replaceAll('-', ''), hash)).toBe(true);
    expect(await recoveryCodeMatches(other, hash)).toBe(false);
    expect(await recoveryCodeMatches(code, 'sha1$nonsense')).toBe(false);
  });
});

describe('wrong codes in a row', () => {
  const now = new Date('2030-05-01T13:52:00Z');

  it('lock on the fifth, for fifteen minutes, and the count starts over', () => {
    let failed = 0;
    for (let attempt = 1; attempt < 5; attempt++) {
      const next = afterFailure(failed, now, 5, 15);
      expect(next).toEqual({ failedAttempts: attempt, lockedUntil: null, lockedNow: false });
      failed = next.failedAttempts;
    }
    expect(afterFailure(failed, now, 5, 15)).toEqual({ failedAttempts: 0, lockedUntil: new Date('2030-05-01T14:07:00Z'), lockedNow: true });
  });

  it('hold the lock until its end, exclusive', () => {
    const until = new Date('2030-05-01T14:07:00Z');
    expect(isLocked(until, new Date('2030-05-01T14:06:59Z'))).toBe(true);
    expect(isLocked(until, until)).toBe(false);
    expect(isLocked(null, now)).toBe(false);
  });

  it('show the lock end rounded up to the minute, never early', () => {
    expect(lockEndForPeople(new Date('2030-05-01T14:06:30Z'))).toEqual(new Date('2030-05-01T14:07:00Z'));
    expect(lockEndForPeople(new Date('2030-05-01T14:07:00Z'))).toEqual(new Date('2030-05-01T14:07:00Z'));
  });
});
