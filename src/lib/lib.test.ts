import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSecretBox, generatePassword, loadMasterKey } from './crypto.js';
import { scrubSecrets } from './logger.js';
import { formatDuration, parseDuration } from './time.js';

describe('secret box (AES-256-GCM)', () => {
  const box = createSecretBox(Buffer.alloc(32, 7));

  it('round-trips and never repeats a ciphertext', () => {
    const a = box.seal('s3cret');
    expect(box.open(a)).toBe('s3cret');
    expect(box.seal('s3cret')).not.toBe(a);
    expect(a).not.toContain('s3cret');
  });

  it('refuses a tampered ciphertext or another key', () => {
    const sealed = box.seal('s3cret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3]!, 'base64url').toString('latin1')).toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => createSecretBox(Buffer.alloc(32, 8)).open(sealed)).toThrow();
  });

  it('generates a key file with mode 0600 on first run and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-key-'));
    try {
      const first = loadMasterKey(undefined, dir);
      expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
      expect(loadMasterKey(undefined, dir).equals(first)).toBe(true);
      expect(() => loadMasterKey('too-short', dir)).toThrow(/MASTER_KEY must be 32 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('passwords, durations and scrubbing', () => {
  it('generates long, varied, URI-safe passwords', () => {
    const passwords = new Set(Array.from({ length: 200 }, () => generatePassword()));
    expect(passwords.size).toBe(200);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z2-9]{24}$/);
  });

  it('parses and formats durations', () => {
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration(' 2 h ')).toBe(7200);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('0m')).toBeUndefined();
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(86400 + 60)).toBe('1d1m');
  });

  it('removes passwords from connection strings in messages', () => {
    expect(scrubSecrets('failed for postgresql://admin:hunter2@db:5432/x')).toBe('failed for postgresql://admin:[redacted]@db:5432/x');
  });
});
