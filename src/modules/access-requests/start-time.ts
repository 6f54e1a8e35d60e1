import { parseDuration } from '../../lib/time.js';

/** The longest a start may be ahead, whatever a policy's approval lifetime (a typo must not book next year). */
const MAX_AHEAD_MS = 30 * 86400_000;

/**
 * A requested start as people write it, in UTC: `22:00` (the next 22:00), `2026-12-08 22:00` (or with
 * a `T`), `in 3h` / `+3h`. Empty: now. The forms say "UTC"; a time zone of one's own is not guessed.
 */
export function parseStart(text: string, now: Date): { startsAt?: Date } | { error: string } {
  const written = text.trim().toLowerCase();
  if (written === '' || written === 'now') return {};
  const relative = /^(?:in\s*|\+)\s*([0-9smhd\s]+)$/.exec(written);
  let startsAt: Date | undefined;
  if (relative) {
    const seconds = parseDuration(relative[1]!);
    if (seconds !== undefined) startsAt = new Date(now.getTime() + seconds * 1000);
  } else {
    const time = /^(\d{1,2}):(\d{2})(?:\s*utc)?$/.exec(written);
    const full = /^(\d{4})-(\d{2})-(\d{2})[t\s]+(\d{1,2}):(\d{2})(?:\s*(?:utc|z))?$/.exec(written);
    if (time && Number(time[1]) < 24 && Number(time[2]) < 60) {
      const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), Number(time[1]), Number(time[2]));
      startsAt = new Date(today <= now.getTime() ? today + 86400_000 : today);
    } else if (full && Number(full[4]) < 24 && Number(full[5]) < 60) {
      const at = new Date(Date.UTC(Number(full[1]), Number(full[2]) - 1, Number(full[3]), Number(full[4]), Number(full[5])));
      if (at.getUTCDate() === Number(full[3])) startsAt = at;
    }
  }
  if (!startsAt) return { error: 'Write a start such as 22:00, 2026-12-24 06:00 or in 3h (UTC), or leave it empty to start at approval.' };
  if (startsAt.getTime() < now.getTime() - 60_000) return { error: 'That start has passed: leave it empty to start at approval, or write a later time.' };
  if (startsAt.getTime() > now.getTime() + MAX_AHEAD_MS) return { error: 'A start at most 30 days ahead.' };
  return { startsAt };
}
