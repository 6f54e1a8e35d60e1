// What the page can tell by itself about a form field, mirroring the server's rules (validateDraft in
// access-request-schemas.ts, reasonProblem in reason-quality.ts, parseDuration in lib/time.ts). It
// only decides whether the server's last word on a field still stands once the person changed the
// field: the server checks everything again on submit, and fields whose rules need the server (the
// database, the scope) have no check here.

/** Seconds, or undefined: the server's parseDuration. */
export function seconds(text) {
  const trimmed = String(text).trim().toLowerCase().replace(/\s+/g, '');
  if (!/^(\d+[smhd])+$/.test(trimmed)) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const [, amount, u] of trimmed.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * unit[u];
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

const checks = {
  duration(value, db) {
    const s = seconds(value);
    if (s === undefined) return 'Write a duration such as 30m, 2h or 1h30m.';
    const max = db && seconds(db.maxDuration);
    return max && s > max ? `At most ${db.maxDuration} for ${db.id}.` : undefined;
  },
  reason(value) {
    const text = value.trim();
    if (text.length > 1000) return 'Keep the reason under 1000 characters.';
    const meaningful = text.replace(/[^\p{L}\p{N}]/gu, '');
    if (meaningful.length < 10) return 'Say why you need access in at least 10 letters, e.g. "Investigate failed payouts in ORD-123".';
    if (text.split(/\s+/).filter((word) => /[\p{L}\p{N}]{2,}/u.test(word)).length < 2) return 'Use a few words to say why you need access.';
    if (new Set(meaningful.toLowerCase()).size < 5) return 'That reason does not read as a reason; say what you will do.';
    if (/(asdf|qwer|zxcv|hjkl|test test|lorem ipsum|xxx)/i.test(text)) return 'That reason looks like a placeholder; say what you will do.';
    return undefined;
  },
  ticket(value) {
    const ticket = value.trim();
    return ticket && !/^[\p{L}\p{N}][\p{L}\p{N}._#/:-]*$/u.test(ticket) ? 'A ticket is an id or a link, e.g. OPS-1234.' : undefined;
  },
  level: (value, db) => (db?.levels.includes(value) ? undefined : 'Choose a level from the list.'),
};

/** The page's own word on a field's value, or undefined when it sees nothing wrong (or cannot tell). */
export const fieldProblem = (field, value, db) => checks[field]?.(value, db);
