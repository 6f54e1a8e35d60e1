import { createPublicKey, createVerify, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerGarbled } from './garbled-answer.js';

/**
 * Identity providers on loopback, each speaking the documented HTTP contract of what dbaccess uses:
 * - Okta: `GET /api/v1/groups/{id}/users` (a JSON array of users, paged by `limit` and `after`, the next
 *   page in `Link: <…>; rel="next"`), `GET /api/v1/users/{id or login}`; `Authorization: SSWS <token>`,
 *   401 `{errorCode: 'E0000011'}` otherwise, 404 `{errorCode: 'E0000007'}` for what does not exist.
 * - Microsoft Entra: `POST /{tenant}/oauth2/v2.0/token` (client credentials, form-encoded) and Graph
 *   `GET /v1.0/groups/{id}/transitiveMembers` (`{value: [...], '@odata.nextLink'}`; nested groups
 *   flattened, the nested groups themselves listed as `#microsoft.graph.group`), `GET /v1.0/users/{upn}/manager`.
 * - Google Workspace: `POST /token` (the JWT bearer grant: the assertion's RS256 signature is verified
 *   against the service account's public key, and its iss, sub, aud and scope checked) and the Directory
 *   API `GET /admin/directory/v1/groups/{groupKey}/members` (`{kind, members, nextPageToken}`, nested
 *   groups' people only with includeDerivedMembership=true), `GET /admin/directory/v1/users/{userKey}`.
 * Each can be taken down (503), made to refuse every credential (401) or to answer garbled, and counts
 * the calls it answered; Entra and Google list the access tokens they issued.
 */

export interface FakeDirectory {
  url: string;
  calls: Array<{ method: string; path: string; query: Record<string, string> }>;
  /** 503 to everything while true. */
  down: boolean;
  /** 401 to everything while true (a token revoked or rotated at the provider). */
  unauthorized: boolean;
  /** Every call gets a broken answer that echoes its Authorization header and body (test/support/garbled-answer.ts). */
  garbled: boolean;
  /** The access tokens handed out (Entra, Google), so a test can look for them. */
  issued: string[];
  /** Members per page (the providers' own maximum otherwise). */
  pageSize: number;
  callsTo(pathPart: string): FakeDirectory['calls'];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, url: URL, body: string) => { status: number; json?: unknown; headers?: Record<string, string> };

async function serve(handler: Handler, pageSize: number): Promise<FakeDirectory & { base: () => string }> {
  const fake = {
    url: '', calls: [] as FakeDirectory['calls'], down: false, unauthorized: false, garbled: false, issued: [] as string[], pageSize,
    callsTo: (part: string) => fake.calls.filter((call) => call.path.includes(part)),
    base: () => fake.url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', fake.url);
      fake.calls.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams) });
      if (fake.garbled) return answerGarbled(req, body);
      const answer = fake.down ? { status: 503, json: { error: 'Service Unavailable' } }
        : fake.unauthorized ? { status: 401, json: { error: 'unauthorized', error_description: 'The credential was refused.' } }
          : handler(req, url, body);
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(answer.json === undefined ? '' : JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

const page = <T>(items: T[], start: number, size: number) => ({ items: items.slice(start, start + size), next: start + size < items.length ? start + size : undefined });

// ---- Okta ---------------------------------------------------------------------------------------

export interface OktaUser {
  id: string;
  email: string;
  status?: string;
  managerId?: string;
}

export async function startFakeOkta({ token, users, groups, pageSize = 200 }: { token: string; users: OktaUser[]; groups: Record<string, string[]>; pageSize?: number }) {
  const userJson = (user: OktaUser) => ({
    id: user.id, status: user.status ?? 'ACTIVE', created: '2026-01-01T00:00:00.000Z',
    profile: { login: user.email, email: user.email, firstName: user.id, lastName: 'Test', ...(user.managerId ? { managerId: user.managerId } : {}) },
    _links: { self: { href: `/api/v1/users/${user.id}` } },
  });
  const fake = await serve((req, url) => {
    if (req.headers.authorization !== `SSWS ${token}`) return { status: 401, json: { errorCode: 'E0000011', errorSummary: 'Invalid token provided', errorLink: 'E0000011', errorId: 'x', errorCauses: [] } };
    const notFound = { status: 404, json: { errorCode: 'E0000007', errorSummary: `Not found: Resource not found: ${url.pathname}`, errorLink: 'E0000007', errorId: 'x', errorCauses: [] } };
    const members = /^\/api\/v1\/groups\/([^/]+)\/users$/.exec(url.pathname);
    if (members) {
      const ids = groups[decodeURIComponent(members[1]!)];
      if (!ids) return notFound;
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000), fake.pageSize);
      const after = url.searchParams.get('after');
      const start = after ? ids.indexOf(after) + 1 : 0;
      const { items, next } = page(ids, start, limit);
      const self = `<${fake.url}${url.pathname}?limit=${limit}>; rel="self"`;
      const link = next !== undefined ? `${self}, <${fake.url}${url.pathname}?after=${encodeURIComponent(items.at(-1)!)}&limit=${limit}>; rel="next"` : self;
      return { status: 200, json: items.map((id) => userJson(users.find((user) => user.id === id)!)), headers: { Link: link } };
    }
    const one = /^\/api\/v1\/users\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const key = decodeURIComponent(one[1]!).toLowerCase();
      const user = users.find((candidate) => candidate.id.toLowerCase() === key || candidate.email.toLowerCase() === key);
      return user ? { status: 200, json: userJson(user) } : notFound;
    }
    return notFound;
  }, pageSize);
  return fake;
}

// ---- Microsoft Entra ------------------------------------------------------------------------------

export type EntraMember = { user: string } | { group: string };

export async function startFakeEntra({ tenantId, clientId, clientSecret, groups, managers = {}, pageSize = 100 }: {
  tenantId: string; clientId: string; clientSecret: string; groups: Record<string, EntraMember[]>; managers?: Record<string, string>; pageSize?: number;
}) {
  const tokens = new Set<string>();
  const flatten = (id: string, seen = new Set<string>()): Array<{ '@odata.type': string; id: string; mail?: string; userPrincipalName?: string; displayName?: string }> => {
    if (seen.has(id)) return [];
    seen.add(id);
    return (groups[id] ?? []).flatMap((member) =>
      'user' in member
        ? [{ '@odata.type': '#microsoft.graph.user', id: `u-${member.user}`, mail: member.user, userPrincipalName: member.user }]
        : [{ '@odata.type': '#microsoft.graph.group', id: member.group, displayName: member.group }, ...flatten(member.group, seen)],
    );
  };
  const fake = await serve((req, url, body) => {
    if (req.method === 'POST' && url.pathname === `/${tenantId}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret || !form.get('scope')?.endsWith('/.default')) {
        return { status: 401, json: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } };
      }
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      fake.issued.push(token);
      return { status: 200, json: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !tokens.has(bearer)) return { status: 401, json: { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } } };
    const notFound = { status: 404, json: { error: { code: 'Request_ResourceNotFound', message: `Resource '${url.pathname}' does not exist.` } } };
    const members = /^\/v1\.0\/groups\/([^/]+)\/transitiveMembers$/.exec(url.pathname);
    if (members) {
      const id = decodeURIComponent(members[1]!);
      if (!groups[id]) return notFound;
      const all = flatten(id);
      const start = Number(url.searchParams.get('$skiptoken') ?? 0);
      const { items, next } = page(all, start, fake.pageSize);
      return {
        status: 200,
        json: {
          '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#directoryObjects',
          value: items,
          ...(next !== undefined ? { '@odata.nextLink': `${fake.url}${url.pathname}?$skiptoken=${next}` } : {}),
        },
      };
    }
    const manager = /^\/v1\.0\/users\/([^/]+)\/manager$/.exec(url.pathname);
    if (manager) {
      const boss = managers[decodeURIComponent(manager[1]!).toLowerCase()];
      return boss ? { status: 200, json: { '@odata.type': '#microsoft.graph.user', id: `u-${boss}`, mail: boss, userPrincipalName: boss } } : notFound;
    }
    return notFound;
  }, pageSize);
  return fake;
}

// ---- Google Workspace -----------------------------------------------------------------------------

export type GoogleMember = string | { group: string };

export async function startFakeGoogle({ serviceAccount, subject, publicKeyPem, groups, managers = {}, pageSize = 200 }: {
  serviceAccount: string; subject: string; publicKeyPem: string; groups: Record<string, GoogleMember[]>; managers?: Record<string, string>; pageSize?: number;
}) {
  const tokens = new Set<string>();
  const publicKey = createPublicKey(publicKeyPem);
  const fake = await serve((req, url, body) => {
    if (req.method === 'POST' && url.pathname === '/token') {
      const form = new URLSearchParams(body);
      const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
      const invalid = { status: 400, json: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !header || !claims || !signature) return invalid;
      if (!createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(publicKey, Buffer.from(signature, 'base64url'))) return invalid;
      const jwt = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss: string; sub: string; aud: string; scope: string; exp: number; iat: number };
      if (jwt.iss !== serviceAccount || jwt.sub !== subject || jwt.aud !== `${fake.url}/token` || !jwt.scope.includes('admin.directory.group.member.readonly') || jwt.exp - jwt.iat > 3600) {
        return { status: 400, json: { error: 'unauthorized_client', error_description: 'Client is unauthorized to retrieve access tokens using this method.' } };
      }
      const token = `ya29.${randomBytes(16).toString('hex')}`;
      tokens.add(token);
      fake.issued.push(token);
      return { status: 200, json: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !tokens.has(bearer)) return { status: 401, json: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } } };
    const notFound = { status: 404, json: { error: { code: 404, message: 'Resource Not Found: groupKey', errors: [{ reason: 'notFound' }] } } };
    const members = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(url.pathname);
    if (members) {
      const key = decodeURIComponent(members[1]!);
      if (!groups[key]) return notFound;
      const derived = url.searchParams.get('includeDerivedMembership') === 'true';
      const list = (id: string, seen = new Set<string>()): Array<{ kind: string; email: string; role: string; type: string; status?: string }> => {
        if (seen.has(id)) return [];
        seen.add(id);
        return (groups[id] ?? []).flatMap((member) =>
          typeof member === 'string'
            ? [{ kind: 'admin#directory#member', email: member, role: 'MEMBER', type: 'USER', status: 'ACTIVE' }]
            : [{ kind: 'admin#directory#member', email: member.group, role: 'MEMBER', type: 'GROUP' }, ...(derived ? list(member.group, seen) : [])],
        );
      };
      const all = list(key);
      const size = Math.min(Number(url.searchParams.get('maxResults') ?? 200), fake.pageSize);
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const { items, next } = page(all, start, size);
      return { status: 200, json: { kind: 'admin#directory#members', etag: '"x"', members: items, ...(next !== undefined ? { nextPageToken: String(next) } : {}) } };
    }
    const user = /^\/admin\/directory\/v1\/users\/([^/]+)$/.exec(url.pathname);
    if (user) {
      const key = decodeURIComponent(user[1]!).toLowerCase();
      const boss = managers[key];
      return { status: 200, json: { kind: 'admin#directory#user', primaryEmail: key, ...(boss ? { relations: [{ value: boss, type: 'manager' }] } : {}) } };
    }
    return notFound;
  }, pageSize);
  return fake;
}
