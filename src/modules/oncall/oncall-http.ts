/**
 * One GET to an on-call provider, with a time limit, read as JSON. Every failure becomes a short
 * sentence for the card (`did not answer within 3 s`, `answered 500`), never the token or the body.
 */
export class ProviderUnreachable extends Error {}

export async function getJson(url: URL, headers: Record<string, string>, timeoutSeconds: number, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchImpl(url, { headers, signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new ProviderUnreachable(`did not answer within ${timeoutSeconds} s`);
    throw new ProviderUnreachable('could not be reached');
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new ProviderUnreachable(`refused the API key (${response.status}); check the token under integrations`);
  }
  if (response.status === 429) {
    await response.body?.cancel();
    throw new ProviderUnreachable('is rate-limiting us (429)');
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ProviderUnreachable(`answered ${response.status}`);
  }
  try {
    return await response.json();
  } catch {
    throw new ProviderUnreachable('answered something that is not JSON');
  }
}

/** `?a[]=1&a[]=2` the way both APIs read lists. */
export function withList(url: URL, name: string, values: readonly string[] | undefined): URL {
  for (const value of values ?? []) url.searchParams.append(name, value);
  return url;
}
