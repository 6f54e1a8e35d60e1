import { describe, expect, it } from 'vitest';
import { normalUserCode } from './cli-session-service.js';

describe('normalUserCode: what a person types in chat', () => {
  it.each([
    ['abcd-efgh', 'ABCD-EFGH'],
    ['ABCDEFGH', 'ABCD-EFGH'],
    [' 7f3k  2qx9 ', '7F3K-2QX9'],
  ])('reads %j', (typed, code) => expect(normalUserCode(typed)).toBe(code));

  it.each(['', 'ABC-DEF', 'ABCD-EFGHJ', 'ILOU-ABCD', 'ABCD;EFGH'])('refuses %j', (typed) => expect(normalUserCode(typed)).toBeUndefined());
});
