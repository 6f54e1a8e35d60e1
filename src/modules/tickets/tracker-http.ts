import { TrackerUnreachable } from './ticket-types.js';

/** One HTTP call to a tracker, with a deadline; an answer the caller does not expect becomes TrackerUnreachable. */
export async function trackerFetch(
  label: string,
  url: string,
  init: { method?: string; headers: Record<string, string>; body?: string },
  { timeoutMs = 5000, accept = [200, 201] as readonly number[], missing = [404] as readonly number[] } = {},
): Promise<{ status: number; json: unknown } | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (error) {
    const name = (error as Error).name;
    throw new TrackerUnreachable(label, name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'the connection failed');
  }
  if (missing.includes(response.status)) {
    await response.body?.cancel();
    return undefined;
  }
  if (!accept.includes(response.status)) {
    await response.body?.cancel();
    const why = response.status === 401 || response.status === 403
      ? `it refused dbaccess's token (HTTP ${response.status}); check the token in the catalog's integrations`
      : response.status === 429 ? 'it is rate-limiting dbaccess (HTTP 429)' : `it answered HTTP ${response.status}`;
    throw new TrackerUnreachable(label, why);
  }
  const text = await response.text();
  try {
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  } catch {
    throw new TrackerUnreachable(label, 'it answered something that is not JSON');
  }
}
