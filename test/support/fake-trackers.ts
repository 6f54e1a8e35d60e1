import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answerGarbled } from './garbled-answer.js';

/**
 * Loopback doubles of three ticket trackers, each speaking its documented contract:
 * - Jira Cloud REST v3: `GET /rest/api/3/issue/{key}` (fields summary, status.statusCategory.key,
 *   assignee.accountId/emailAddress; 404 `{errorMessages, errors}`), `POST .../comment` with an ADF body
 *   (201); Basic `email:token` or Bearer;
 * - Linear GraphQL: `POST /graphql` with `query issue(id:)` (unknown id: `errors: [{message: "Entity not
 *   found"}]`, `data: null`) and `commentCreate(input: {issueId, body})`; `Authorization: <api key>`;
 * - GitHub REST: `GET /repos/{owner}/{repo}/issues/{n}` (state, state_reason, assignees[].login, html_url;
 *   404 `{message: "Not Found"}`), `POST .../comments` (201); Bearer.
 * A wrong credential gets 401 as each service answers it. `down` makes every call answer 503.
 */

export interface FakeIssue {
  title: string;
  /** Jira: status name and category (new, indeterminate, done); Linear: state name and type; GitHub: open or closed. */
  status: string;
  category: string;
  assignee?: { accountId?: string; email?: string; login?: string } | undefined;
}

export interface FakeTracker {
  url: string;
  issues: Map<string, FakeIssue>;
  comments: Array<{ key: string; body: unknown }>;
  calls: Array<{ method: string; path: string; authorization: string | undefined }>;
  down: boolean;
  /** Every call gets a broken answer that echoes its Authorization header and body (test/support/garbled-answer.ts). */
  garbled: boolean;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function serve(handler: (tracker: FakeTracker, request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<FakeTracker> {
  let server: Server;
  const tracker: FakeTracker = {
    url: '',
    issues: new Map(),
    comments: [],
    calls: [],
    down: false,
    garbled: false,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  server = createServer((request, response) => {
    void readBody(request).then((body) => {
      tracker.calls.push({ method: request.method ?? 'GET', path: request.url ?? '/', authorization: request.headers.authorization });
      if (tracker.down) return send(response, 503, { message: 'Service Unavailable' });
      if (tracker.garbled) return answerGarbled(request, body);
      handler(tracker, request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  tracker.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return tracker;
}

/** A Jira Cloud site; `auth` is the Authorization header it accepts. */
export function startFakeJira({ email, token }: { email: string; token: string }): Promise<FakeTracker> {
  const expected = `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
  return serve((tracker, request, body, response) => {
    if (request.headers.authorization !== expected) return send(response, 401, { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
    const match = /^\/rest\/api\/3\/issue\/([^/?]+)(\/comment)?(?:\?.*)?$/.exec(request.url ?? '');
    if (!match) return send(response, 404, { errorMessages: ['Not found'], errors: {} });
    const key = decodeURIComponent(match[1]!);
    const issue = tracker.issues.get(key);
    if (!issue) return send(response, 404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
    if (match[2] && request.method === 'POST') {
      const parsed = JSON.parse(body) as { body?: { type?: string; version?: number } };
      if (parsed.body?.type !== 'doc' || parsed.body.version !== 1) return send(response, 400, { errorMessages: ['Comment body is not valid!'], errors: {} });
      tracker.comments.push({ key, body: parsed.body });
      return send(response, 201, { id: String(10000 + tracker.comments.length), self: `${tracker.url}/rest/api/3/issue/${key}/comment/${10000 + tracker.comments.length}`, body: parsed.body });
    }
    return send(response, 200, {
      id: '10001', key, self: `${tracker.url}/rest/api/3/issue/10001`,
      fields: {
        summary: issue.title,
        status: { name: issue.status, statusCategory: { id: 3, key: issue.category, name: issue.category } },
        assignee: issue.assignee ? { accountId: issue.assignee.accountId ?? 'acc-unknown', emailAddress: issue.assignee.email, displayName: 'Someone', active: true } : null,
      },
    });
  });
}

/** A Linear workspace: GraphQL at /graphql, the API key as the whole Authorization header. */
export function startFakeLinear({ apiKey }: { apiKey: string }): Promise<FakeTracker> {
  return serve((tracker, request, body, response) => {
    if (request.url !== '/graphql' || request.method !== 'POST') return send(response, 404, {});
    if (request.headers.authorization !== apiKey) {
      return send(response, 400, { errors: [{ message: 'Authentication required, not authenticated', extensions: { type: 'authentication error', code: 'AUTHENTICATION_ERROR' } }] });
    }
    const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, any> };
    if (/commentCreate/.test(query)) {
      const input = variables.input as { issueId: string; body: string };
      const found = [...tracker.issues.entries()].find(([key]) => `uuid-${key}` === input.issueId || key === input.issueId);
      if (!found) return send(response, 200, { errors: [{ message: 'Entity not found: Issue', extensions: { code: 'INPUT_ERROR' } }], data: null });
      tracker.comments.push({ key: found[0], body: input.body });
      return send(response, 200, { data: { commentCreate: { success: true } } });
    }
    const id = String(variables.id);
    const entry = [...tracker.issues.entries()].find(([key]) => key === id || `uuid-${key}` === id);
    if (!entry) return send(response, 200, { errors: [{ message: 'Entity not found: Issue', path: ['issue'], extensions: { code: 'INPUT_ERROR', userPresentableMessage: 'Could not find referenced Issue.' } }], data: null });
    const [key, issue] = entry;
    return send(response, 200, {
      data: { issue: { id: `uuid-${key}`, identifier: key, title: issue.title, url: `https://linear.app/acme/issue/${key}/x`, state: { name: issue.status, type: issue.category }, assignee: issue.assignee?.email ? { email: issue.assignee.email } : null } },
    });
  });
}

/** GitHub's REST API for issues; `owner/repo#n` keys in `issues`. */
export function startFakeGithub({ token }: { token: string }): Promise<FakeTracker> {
  return serve((tracker, request, body, response) => {
    if (request.headers.authorization !== `Bearer ${token}`) return send(response, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const match = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)(\/comments)?$/.exec(request.url ?? '');
    const key = match ? `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}#${match[3]}` : '';
    const issue = tracker.issues.get(key);
    if (!match || !issue) return send(response, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/issues/issues#get-an-issue', status: '404' });
    if (match[4] && request.method === 'POST') {
      const parsed = JSON.parse(body) as { body: string };
      tracker.comments.push({ key, body: parsed.body });
      return send(response, 201, { id: tracker.comments.length, body: parsed.body, html_url: `https://github.com/${key.replace('#', '/issues/')}#issuecomment-${tracker.comments.length}` });
    }
    return send(response, 200, {
      number: Number(match[3]), title: issue.title, state: issue.status, state_reason: issue.status === 'closed' ? 'completed' : null,
      html_url: `https://github.com/${key.replace('#', '/issues/')}`, assignees: issue.assignee?.login ? [{ login: issue.assignee.login, id: 1 }] : [],
    });
  });
}

/** Signs a webhook delivery the way each tracker does. */
export function signDelivery(tracker: 'jira' | 'linear' | 'github', secret: string, body: string): Record<string, string> {
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  if (tracker === 'linear') return { 'linear-signature': hex, 'linear-event': 'Issue', 'linear-delivery': 'd-1' };
  if (tracker === 'github') return { 'x-hub-signature-256': `sha256=${hex}`, 'x-github-event': 'issues', 'x-github-delivery': 'd-1' };
  return { 'x-hub-signature': `sha256=${hex}`, 'x-atlassian-webhook-identifier': '1' };
}
