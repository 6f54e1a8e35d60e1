import type { OktaIntegration } from '../../config/integrations/okta.js';
import { DirectoryUnavailable, lower, MAX_PAGES, requestJson, sameOrigin, type DirectoryClient, type HttpOptions } from './directory-http.js';

interface OktaUser {
  id: string;
  status?: string;
  profile?: { login?: string; email?: string; manager?: string; managerId?: string };
}

/** Statuses of people who cannot sign in: never counted as members. */
const INACTIVE = new Set(['SUSPENDED', 'DEPROVISIONED', 'STAGED']);

/** `<https://…/users?after=…>; rel="next"` from a Link header. */
export function nextLink(header: string | null): string | undefined {
  for (const part of (header ?? '').split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1];
  }
  return undefined;
}

/** Okta's Groups and Users APIs with an API token (`Authorization: SSWS …`). */
export function createOktaClient(config: Pick<OktaIntegration, 'url'>, token: () => Promise<string>, http: HttpOptions): DirectoryClient {
  const get = async <T>(url: string, okStatuses: number[] = []) =>
    requestJson<T>('okta', url, { headers: { Authorization: `SSWS ${await token()}`, Accept: 'application/json' } }, http, okStatuses);

  const user = async (idOrLogin: string) => {
    const answer = await get<OktaUser>(`${config.url}/api/v1/users/${encodeURIComponent(idOrLogin)}`, [404]);
    return answer.status === 404 ? undefined : answer.body;
  };

  return {
    async members(groupId) {
      const emails = new Set<string>();
      let url: string | undefined = `${config.url}/api/v1/groups/${encodeURIComponent(groupId)}/users?limit=200`;
      for (let page = 0; url; page += 1) {
        if (page === MAX_PAGES) throw new DirectoryUnavailable('okta', `listed more than ${MAX_PAGES} pages for group ${groupId}`);
        const answer: Awaited<ReturnType<typeof get<OktaUser[]>>> = await get<OktaUser[]>(url, [404]);
        if (answer.status === 404) throw new DirectoryUnavailable('okta', `has no group ${groupId}`);
        for (const member of answer.body ?? []) {
          if (member.status && INACTIVE.has(member.status)) continue;
          for (const email of [lower(member.profile?.email), lower(member.profile?.login)]) if (email) emails.add(email);
        }
        url = sameOrigin('okta', config.url, nextLink(answer.headers.get('link')));
      }
      return emails;
    },
    async managerOf(email) {
      const person = await user(email);
      const profile = person?.profile;
      if (!profile) return undefined;
      if (profile.managerId) {
        const manager = await user(profile.managerId);
        return lower(manager?.profile?.email) ?? lower(manager?.profile?.login);
      }
      return lower(profile.manager);
    },
  };
}
