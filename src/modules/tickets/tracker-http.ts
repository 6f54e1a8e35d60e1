import { fetchJson } from '../../lib/http-json.js';
import { TrackerUnreachable } from './ticket-types.js';

/** One HTTP call to a tracker; a `missing` status (no such ticket) answers undefined. */
export async function trackerFetch(
  label: string,
  url: string,
  init: { method?: string; headers: Record<string, string>; body?: string },
  { timeoutMs = 5000, missing = [404] as readonly number[] } = {},
): Promise<{ status: number; json: unknown } | undefined> {
  const answer = await fetchJson(url, init, { timeoutMs, alsoOk: missing, fail: (reason) => new TrackerUnreachable(label, reason) });
  return missing.includes(answer.status) ? undefined : { status: answer.status, json: answer.body };
}
