import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerGarbled } from './garbled-answer.js';

/**
 * What PagerDuty and incident.io doubles share: a loopback HTTP server that records every request and
 * can be told to fail the way a provider does (an HTTP error, a connection reset, an answer that
 * never comes until released), or with a broken answer that echoes the request's credential
 * (test/support/garbled-answer.ts).
 */
export type Fault = { kind: 'status'; status: number } | { kind: 'reset' } | { kind: 'hang' } | { kind: 'garbled' } | undefined;

export interface RecordedCall {
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  accept: string | undefined;
}

export interface OnCallDouble {
  url: string;
  calls: RecordedCall[];
  fault: Fault;
  /** Answers every request held by a `hang` fault (with a 504), and clears the fault. */
  release(): void;
  close(): Promise<void>;
}

export async function startDouble(handle: (call: RecordedCall) => { status: number; body: unknown }): Promise<OnCallDouble> {
  const held: ServerResponse[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parsed = new URL(req.url ?? '/', 'http://double');
    const call: RecordedCall = { path: parsed.pathname, query: parsed.searchParams, authorization: req.headers.authorization, accept: req.headers.accept };
    double.calls.push(call);
    const fault = double.fault;
    if (fault?.kind === 'reset') return req.socket.destroy();
    if (fault?.kind === 'hang') return void held.push(res);
    if (fault?.kind === 'garbled') return answerGarbled(req);
    if (fault?.kind === 'status') return send(res, fault.status, { error: { message: 'Internal Server Error' } });
    const answer = handle(call);
    send(res, answer.status, answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const double: OnCallDouble = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: [],
    fault: undefined,
    release() {
      double.fault = undefined;
      for (const res of held.splice(0)) if (!res.writableEnded && !res.destroyed) send(res, 504, {});
    },
    async close() {
      double.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return double;
}
