import { describe, expect, it } from 'vitest';
import { reasonProblem } from './reason-quality.js';

describe('reason quality', () => {
  it.each(['', 'fix', 'aaaaaaaaaaaaaaa', 'asdfasdf asdf', '!!!! ???? ....', 'investigating'])('refuses %j', (reason) => {
    expect(reasonProblem(reason)).toBeDefined();
  });

  it.each(['Investigate failed payouts in ORD-123', 'Export March invoices for the auditors'])('accepts %j', (reason) => {
    expect(reasonProblem(reason)).toBeUndefined();
  });
});
