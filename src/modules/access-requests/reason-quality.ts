/**
 * Why a reason is not good enough, or undefined when it is. "Meaningful" means at least 10 letters
 * or digits, two or more words, and not keyboard mash or one character repeated.
 */
export function reasonProblem(reason: string): string | undefined {
  const text = reason.trim();
  const meaningful = text.replace(/[^\p{L}\p{N}]/gu, '');
  if (meaningful.length < 10) return 'Say why you need access in at least 10 letters, e.g. "Investigate failed payouts in ORD-123".';
  const words = text.split(/\s+/).filter((word) => /[\p{L}\p{N}]{2,}/u.test(word));
  if (words.length < 2) return 'Use a few words to say why you need access.';
  if (new Set(meaningful.toLowerCase()).size < 5) return 'That reason does not read as a reason; say what you will do.';
  if (/(asdf|qwer|zxcv|hjkl|test test|lorem ipsum|xxx)/i.test(text)) return 'That reason looks like a placeholder; say what you will do.';
  return undefined;
}
