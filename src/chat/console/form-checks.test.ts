import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../lib/time.js';
import { reasonProblem } from '../../modules/access-requests/reason-quality.js';

/**
 * The page's own checks (public/form-checks.js) decide whether an error shown under a field still
 * stands once the field changed; they must say what the server says, or an error would vanish under
 * a value the server still refuses (or stay under one it accepts).
 */

type FieldProblem = (field: string, value: string, db?: { id: string; levels: string[]; maxDuration: string }) => string | undefined;
const page = (await import(new URL('./public/form-checks.js', import.meta.url).href)) as { fieldProblem: FieldProblem; seconds: (text: string) => number | undefined };

const words = fc.constantFrom('investigate', 'the', 'failed', 'payouts', 'in', 'ORD-123', 'asdf', 'x', 'ok', 'lorem', 'ipsum', 'aaaaaaaaaaaa', '—', 'données', '報告書を', '12');
const reasons = fc.oneof(fc.string({ maxLength: 40 }), fc.array(words, { maxLength: 8 }).map((list) => list.join(' ')));

describe('the console page checks the form as the server does', () => {
  it('reads durations like parseDuration', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^ ?(\d{1,20}[smhdSMHD] ?){1,3}$/)), (text) => {
      expect(page.seconds(text)).toBe(parseDuration(text));
    }));
  });

  it('finds the same problem in a reason as reasonProblem', () => {
    fc.assert(fc.property(reasons, (reason) => {
      expect(page.fieldProblem('reason', reason)).toBe(reasonProblem(reason));
    }));
  });

  it('holds a duration to the database maximum, and has no opinion on what only the server can check', () => {
    const db = { id: 'orders', levels: ['read', 'write'], maxDuration: '4h' };
    expect(page.fieldProblem('duration', '9h', db)).toBe('At most 4h for orders.');
    expect(page.fieldProblem('duration', '4h', db)).toBeUndefined();
    expect(page.fieldProblem('level', 'admin', db)).toBe('Choose a level from the list.');
    expect(page.fieldProblem('ticket', 'OPS-1234', db)).toBeUndefined();
    expect(page.fieldProblem('ticket', 'not a ticket', db)).toBe('A ticket is an id or a link, e.g. OPS-1234.');
    expect(page.fieldProblem('scope', 'sales.*', db)).toBeUndefined();
  });
});
