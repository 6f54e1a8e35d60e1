import { createSign } from 'node:crypto';
import type { GoogleIntegration } from '../../config/integrations/google.js';
import { DirectoryUnavailable, lower, MAX_PAGES, requestJson, tokenCache, type DirectoryClient, type HttpOptions } from './directory-http.js';

const SCOPES = ['https://www.googleapis.com/auth/admin.directory.group.member.readonly', 'https://www.googleapis.com/auth/admin.directory.user.readonly'];

interface Member {
  email?: string;
  type?: string;
  status?: string;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** The service account's assertion for the JWT bearer grant (RFC 7523), signed RS256 with its key. */
export function serviceAccountAssertion(config: Pick<GoogleIntegration, 'serviceAccount' | 'subject' | 'tokenUrl'>, privateKey: string, nowSeconds: number): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ iss: config.serviceAccount, sub: config.subject, scope: SCOPES.join(' '), aud: config.tokenUrl, iat: nowSeconds, exp: nowSeconds + 3600 }));
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(privateKey);
  return `${header}.${claims}.${base64url(signature)}`;
}

/** The Admin SDK Directory API as a service account acting for a Workspace admin. */
export function createGoogleClient(
  config: Pick<GoogleIntegration, 'serviceAccount' | 'subject' | 'tokenUrl' | 'apiUrl'>, privateKey: () => Promise<string>, http: HttpOptions, now: () => number,
): DirectoryClient {
  const tokens = tokenCache(async () => {
    let assertion: string;
    try {
      assertion = serviceAccountAssertion(config, (await privateKey()).replace(/\\n/g, '\n'), Math.floor(now() / 1000));
    } catch {
      throw new DirectoryUnavailable('google', 'cannot be asked: the service account key is not a PEM private key');
    }
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    const answer = await requestJson<{ access_token?: string; expires_in?: number }>(
      'google', config.tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() }, http,
    );
    if (!answer.body?.access_token) throw new DirectoryUnavailable('google', 'gave no access token');
    return { token: answer.body.access_token, expiresInSeconds: answer.body.expires_in ?? 3600 };
  }, now);
  const get = async <T>(url: string, okStatuses: number[] = []) =>
    requestJson<T>('google', url, { headers: { Authorization: `Bearer ${await tokens.get()}`, Accept: 'application/json' } }, http, okStatuses);
  const api = `${config.apiUrl}/admin/directory/v1`;

  return {
    async members(groupKey) {
      const emails = new Set<string>();
      let pageToken: string | undefined;
      for (let page = 0; page === 0 || pageToken; page += 1) {
        if (page === MAX_PAGES) throw new DirectoryUnavailable('google', `listed more than ${MAX_PAGES} pages for group ${groupKey}`);
        const query = new URLSearchParams({ includeDerivedMembership: 'true', maxResults: '200', ...(pageToken ? { pageToken } : {}) });
        const answer = await get<{ members?: Member[]; nextPageToken?: string }>(`${api}/groups/${encodeURIComponent(groupKey)}/members?${query}`, [404]);
        if (answer.status === 404) throw new DirectoryUnavailable('google', `has no group ${groupKey}`);
        for (const member of answer.body?.members ?? []) {
          // Derived membership lists nested groups' people as USER members; the groups themselves are not people.
          if (member.type !== 'USER' || (member.status && member.status !== 'ACTIVE')) continue;
          const email = lower(member.email);
          if (email) emails.add(email);
        }
        pageToken = answer.body?.nextPageToken || undefined;
      }
      return emails;
    },
    async managerOf(email) {
      const answer = await get<{ relations?: Array<{ type?: string; value?: string }> }>(`${api}/users/${encodeURIComponent(email)}?projection=full`, [404]);
      if (answer.status === 404) return undefined;
      return lower(answer.body?.relations?.find((relation) => relation.type === 'manager')?.value);
    },
  };
}
