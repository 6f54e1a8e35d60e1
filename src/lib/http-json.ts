/**
 * One call to another service's JSON API (on-call providers, ticket trackers, identity providers),
 * with a deadline. Every failure is turned by `fail` into the caller's own error, whose reason is a
 * short sentence for a card ("answered HTTP 503", "did not answer within 3 s"): never the token,
 * never the body. Redirects are refused, so a token only ever goes to the host it was set for.
 */

export interface JsonCall {
  timeoutMs: number;
  /** The caller's error for a reason (the reason reads after the service's name). */
  fail: (reason: string) => Error;
  /** Statuses answered as they are beside 2xx, e.g. 404 for "no such ticket". */
  alsoOk?: readonly number[];
  fetchImpl?: typeof fetch;
}

export interface JsonAnswer<T> {
  status: number;
  /** Undefined when the answer had no body. */
  body: T | undefined;
  headers: Headers;
}

export async function fetchJson<T = unknown>(url: string | URL, init: RequestInit, { timeoutMs, fail, alsoOk = [], fetchImpl = fetch }: JsonCall): Promise<JsonAnswer<T>> {
  let response: Response;
  try {
    response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (error) {
    const name = (error as { name?: string }).name;
    throw fail(name === 'TimeoutError' || name === 'AbortError' ? `did not answer within ${timeoutMs / 1000} s` : 'could not be reached');
  }
  if (!response.ok && !alsoOk.includes(response.status)) {
    await response.body?.cancel();
    throw fail(statusReason(response.status));
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    // A body cut off or garbled on the way (undici's error can carry the bytes, and so the request's
    // own headers when a proxy echoes them): the same short reason as any other failure.
    const name = (error as { name?: string }).name;
    throw fail(name === 'TimeoutError' || name === 'AbortError' ? `did not finish its answer within ${timeoutMs / 1000} s` : 'broke off its answer');
  }
  try {
    return { status: response.status, body: text ? (JSON.parse(text) as T) : undefined, headers: response.headers };
  } catch {
    throw fail('answered something that is not JSON');
  }
}

function statusReason(status: number): string {
  if (status === 401 || status === 403) return `refused dbaccess's token (HTTP ${status}); check it under integrations in the catalog`;
  if (status === 429) return 'is rate-limiting dbaccess (HTTP 429)';
  return `answered HTTP ${status}`;
}
