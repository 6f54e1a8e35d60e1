import type { IncomingMessage } from 'node:http';

/**
 * Answers a request with a broken HTTP response that carries the request back: a good status line
 * and headers (so `fetch` resolves), then a chunked body whose chunk-size line is the request's
 * Authorization header and body. Reading the body fails inside undici with an HTTPParserError whose
 * `data` holds those bytes: an error thrown by a client, outside its own error types, that carries
 * the credential it was sent with. What a proxy or a broken server can do; used to check that such
 * an error reaches the log without the credential.
 */
export function answerGarbled(request: IncomingMessage, body = ''): void {
  const echoed = `${request.headers.authorization ?? ''} ${body}`.replace(/[\r\n]/g, ' ');
  request.socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n${echoed}\r\n`);
}
