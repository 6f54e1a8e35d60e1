import { describe, expect, it } from 'vitest';
import { clipStatement, completeLines, decodeTies, encodeTies } from './capture-text.js';

describe('clipStatement', () => {
  it('keeps short statements as they are', () => {
    expect(clipStatement('SELECT 1', 100)).toBe('SELECT 1');
  });

  it('cuts long ones to the bound with a marker saying how long they were', () => {
    const long = `SELECT '${'x'.repeat(10_000)}'`;
    const clipped = clipStatement(long, 8192);
    expect(clipped.length).toBeLessThanOrEqual(8192);
    expect(clipped.startsWith("SELECT 'xxxx")).toBe(true);
    expect(clipped.endsWith(`\n/* dbaccess: statement cut here, ${long.length} characters in all */`)).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(99)}😀${'b'.repeat(200)}`;
    // Every bound around the emoji: one of them falls between its two halves.
    for (let max = 140; max <= 180; max++) {
      const clipped = clipStatement(text, max);
      expect(clipped.length).toBeLessThanOrEqual(max);
      expect(clipped).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });
});

describe('completeLines', () => {
  it('returns only complete lines and the bytes they take, so a line being written is read again', () => {
    expect(completeLines(Buffer.from('a\nbb\ncc'))).toEqual({ lines: ['a', 'bb'], bytes: 5 });
    expect(completeLines(Buffer.from('partial'))).toEqual({ lines: [], bytes: 0 });
    expect(completeLines(Buffer.from('\n'))).toEqual({ lines: [''], bytes: 1 });
  });

  it('counts bytes, not characters, and decodes a multi-byte character split only at a line end', () => {
    const chunk = Buffer.concat([Buffer.from('é\n'), Buffer.from('ü').subarray(0, 1)]);
    expect(completeLines(chunk)).toEqual({ lines: ['é'], bytes: 3 });
  });
});

describe('tie cursors', () => {
  it('round-trips the rows taken at the cursor position and refuses another kind', () => {
    expect(encodeTies('general_log', [])).toBe('general_log');
    expect(decodeTies(encodeTies('general_log', ['12', '15']), 'general_log')).toEqual(['12', '15']);
    expect(decodeTies('general_log', 'general_log')).toEqual([]);
    expect(decodeTies('server_audit:12', 'general_log')).toBeUndefined();
    expect(decodeTies(undefined, 'general_log')).toBeUndefined();
  });
});
