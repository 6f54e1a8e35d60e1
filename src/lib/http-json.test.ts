import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson } from './http-json.js';

class Failed extends Error {}
const fail = (reason: string) => new Failed(reason);

describe('fetchJson', () => {
  let server: http.Server;
  let base: string;
  const hanging: http.ServerResponse[] = [];
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const path = request.url ?? '/';
      if (path === '/ok') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}');
      if (path === '/empty') return void response.writeHead(204).end();
      if (path === '/html') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<html>token=abc</html>');
      if (path === '/hang') return void hanging.push(response);
      if (path === '/garbled') return void request.socket.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n${request.headers.authorization}\r\n`);
      if (path === '/elsewhere') return void response.writeHead(302, { location: 'http://attacker.invalid/' }).end();
      const status = Number(path.slice(1));
      response.writeHead(status, { 'content-type': 'application/json' }).end('{"secret":"do-not-show"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const response of hanging) response.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const reason = (path: string, alsoOk?: number[]) => fetchJson(`${base}${path}`, {}, { timeoutMs: 300, fail, alsoOk }).then(() => 'no failure', (error: Error) => {
    expect(error).toBeInstanceOf(Failed);
    return error.message;
  });

  it('answers the status, the parsed body and the headers', async () => {
    const answer = await fetchJson<{ a: number }>(`${base}/ok`, {}, { timeoutMs: 1000, fail });
    expect(answer).toMatchObject({ status: 200, body: { a: 1 } });
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect((await fetchJson(`${base}/empty`, {}, { timeoutMs: 1000, fail })).body).toBeUndefined();
  });

  it('words every failure as a short reason in the caller’s own error, never with the body', async () => {
    expect(await reason('/503')).toBe('answered HTTP 503');
    expect(await reason('/401')).toBe("refused dbaccess's token (HTTP 401); check it under integrations in the catalog");
    expect(await reason('/403')).toMatch(/^refused dbaccess's token \(HTTP 403\)/);
    expect(await reason('/429')).toBe('is rate-limiting dbaccess (HTTP 429)');
    expect(await reason('/html')).toBe('answered something that is not JSON');
    const garbled = await fetchJson(`${base}/garbled`, { headers: { authorization: 'Bearer the-token' } }, { timeoutMs: 1000, fail }).catch((error: Error) => error);
    expect(garbled).toBeInstanceOf(Failed);
    expect((garbled as Error).message).toBe('broke off its answer');
    expect(JSON.stringify(garbled, Object.getOwnPropertyNames(garbled))).not.toContain('the-token');
    expect(await reason('/hang')).toBe('did not answer within 0.3 s');
    expect(await reason('/elsewhere')).toBe('could not be reached');
    expect(await reason('/404', [404])).toBe('no failure');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await fetchJson(`http://127.0.0.1:${port}/`, {}, { timeoutMs: 1000, fail }).catch((error: Error) => error.message)).toBe('could not be reached');
  });
});
