import { fetchJson } from '../../lib/http-json.js';

/** Why an on-call provider could not be asked, as a short sentence for the card. */
export class ProviderUnreachable extends Error {}

/** One GET to an on-call provider, read as JSON. */
export async function getJson(url: URL, headers: Record<string, string>, timeoutSeconds: number, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  const answer = await fetchJson(url, { headers }, { timeoutMs: timeoutSeconds * 1000, fetchImpl, fail: (reason) => new ProviderUnreachable(reason) });
  return answer.body;
}

/** `?a[]=1&a[]=2` the way both APIs read lists. */
export function withList(url: URL, name: string, values: readonly string[] | undefined): URL {
  for (const value of values ?? []) url.searchParams.append(name, value);
  return url;
}
