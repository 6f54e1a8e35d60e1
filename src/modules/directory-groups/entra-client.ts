import type { EntraIntegration } from '../../config/integrations/entra.js';
import { DirectoryUnavailable, lower, MAX_PAGES, requestJson, sameOrigin, tokenCache, type DirectoryClient, type HttpOptions } from './directory-http.js';

interface GraphObject {
  '@odata.type'?: string;
  id?: string;
  mail?: string | null;
  userPrincipalName?: string | null;
  accountEnabled?: boolean;
}

/**
 * Microsoft Graph with an app-only token (client credentials at the login endpoint):
 * transitiveMembers lists a group's members with nested groups already flattened.
 */
export function createEntraClient(config: Pick<EntraIntegration, 'tenantId' | 'clientId' | 'loginUrl' | 'graphUrl'>, secret: () => Promise<string>, http: HttpOptions, now: () => number): DirectoryClient {
  const tokens = tokenCache(async () => {
    const form = new URLSearchParams({ client_id: config.clientId, client_secret: await secret(), scope: `${config.graphUrl}/.default`, grant_type: 'client_credentials' });
    const answer = await requestJson<{ access_token?: string; expires_in?: number }>(
      'entra', `${config.loginUrl}/${config.tenantId}/oauth2/v2.0/token`,
      { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() }, http,
    );
    if (!answer.body?.access_token) throw new DirectoryUnavailable('entra', 'gave no access token');
    return { token: answer.body.access_token, expiresInSeconds: answer.body.expires_in ?? 3600 };
  }, now);
  const get = async <T>(url: string, okStatuses: number[] = []) =>
    requestJson<T>('entra', url, { headers: { Authorization: `Bearer ${await tokens.get()}`, Accept: 'application/json' } }, http, okStatuses);

  return {
    async members(groupId) {
      const emails = new Set<string>();
      let url: string | undefined = `${config.graphUrl}/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers?$select=id,mail,userPrincipalName,accountEnabled`;
      for (let page = 0; url; page += 1) {
        if (page === MAX_PAGES) throw new DirectoryUnavailable('entra', `listed more than ${MAX_PAGES} pages for group ${groupId}`);
        const answer: Awaited<ReturnType<typeof get<{ value?: GraphObject[]; '@odata.nextLink'?: string }>>> = await get(url, [404]);
        if (answer.status === 404) throw new DirectoryUnavailable('entra', `has no group ${groupId}`);
        for (const member of answer.body?.value ?? []) {
          // Nested groups come flattened; the groups themselves (and devices, apps) are not people.
          if (member['@odata.type'] !== '#microsoft.graph.user' || member.accountEnabled === false) continue;
          for (const email of [lower(member.mail), lower(member.userPrincipalName)]) if (email) emails.add(email);
        }
        url = sameOrigin('entra', config.graphUrl, answer.body?.['@odata.nextLink']);
      }
      return emails;
    },
    async managerOf(email) {
      const answer = await get<GraphObject>(`${config.graphUrl}/v1.0/users/${encodeURIComponent(email)}/manager?$select=id,mail,userPrincipalName`, [404]);
      if (answer.status === 404) return undefined;
      return lower(answer.body?.mail) ?? lower(answer.body?.userPrincipalName);
    },
  };
}
