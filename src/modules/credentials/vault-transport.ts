import http from 'node:http';
import https from 'node:https';

/** What node-vault hands its `request-promise` transport (its headers and JSON body included), and what it expects back. */
interface TransportRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

interface TransportResponse {
  statusCode: number;
  body: unknown;
  /** node-vault looks at the path to let sys/health answer with any status. */
  request: { path: string };
}

interface Answer {
  status: number;
  location: string | undefined;
  text: string;
}

/** Vault's answers are small (a KV secret is at most about 1 MB by default): a far bigger one is refused, not buffered. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 307, 308]);

/**
 * node-vault's HTTP transport (its `request-promise` option) on node:http(s) with keep-alive agents.
 * node-vault's default, axios with follow-redirects, costs about 0.3 ms of CPU more per request
 * (measured warm on loopback, 0.51 against 0.23 ms for a lease revocation with the fake Vault), and
 * about 1 ms in the engine bench, where it was most of what a Vault revocation added to its SQL.
 *
 * Where it matters it behaves as Vault's own Go client: one redirect at most (a standby without
 * request forwarding answers 307 with the active node's address), same method, headers and body,
 * never from https to http. Certificates are always verified. `timeoutMs` bounds the whole request,
 * redirect included. Proxy variables of the environment are not read (settings come from env.ts).
 */
export function createVaultTransport(timeoutMs: number) {
  // As Node's global agents: connections kept between requests, closed after 5 s unused.
  const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
  const httpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000, rejectUnauthorized: true });

  function exchange(url: URL, method: string, headers: http.OutgoingHttpHeaders, body: string | undefined, deadline: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, answer?: Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(answer!);
      };
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(url, { method, headers, agent: secure ? httpsAgent : httpAgent }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            settle(new Error(`its answer is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MB`));
            request.destroy();
          } else {
            chunks.push(chunk);
          }
        });
        response.on('end', () => {
          settle(undefined, { status: response.statusCode ?? 0, location: response.headers.location, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', (error) => settle(error));
        // After 'end' this changes nothing; before it, the answer was cut off.
        response.on('close', () => settle(Object.assign(new Error('the connection closed during the answer'), { code: 'ECONNRESET' })));
      });
      const timer = setTimeout(() => {
        // ETIMEDOUT is what describeVaultFailure words as "no answer within".
        settle(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
        request.destroy();
      }, Math.max(deadline - Date.now(), 0));
      request.on('error', (error) => settle(error));
      request.end(body);
    });
  }

  async function send(options: TransportRequest): Promise<TransportResponse> {
    const deadline = Date.now() + timeoutMs;
    const body = typeof options.json === 'object' && options.json !== null ? JSON.stringify(options.json) : undefined;
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (body !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    let url = new URL(options.uri);
    let answer = await exchange(url, options.method, headers, body, deadline);
    if (REDIRECT_STATUSES.has(answer.status) && answer.location) {
      url = redirectTarget(url, answer.location);
      answer = await exchange(url, options.method, headers, body, deadline);
    }
    return { statusCode: answer.status, body: parseAnswer(answer.text), request: { path: url.pathname } };
  }

  // node-vault calls defaults(rpDefaults) once and then the function it returns for every request.
  return { defaults: () => send };
}

/** Where a redirect from Vault may lead: http(s) only, and never from https to http (the token travels with it). */
export function redirectTarget(from: URL, location: string): URL {
  const to = new URL(location, from);
  if (to.protocol !== 'https:' && !(to.protocol === 'http:' && from.protocol === 'http:')) {
    throw new Error(`it redirected from ${from.protocol}// to ${to.protocol}//, which is not followed`);
  }
  return to;
}

/** JSON when it is JSON (as axios did), the text otherwise, nothing for an empty body (204). */
function parseAnswer(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
