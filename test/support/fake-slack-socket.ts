/**
 * Slack's Socket Mode on loopback: the WebSocket end of it, for tests that drive the real
 * @slack/socket-mode client (through Bolt's SocketModeReceiver). The fake Web API (fake-slack.ts)
 * answers `apps.connections.open`, with the app-level token as bearer, with a URL minted here: single
 * use, as Slack's tickets are.
 *
 * What it speaks, as Slack does and as @slack/socket-mode 3 expects (dist/src/SocketModeClient.js,
 * SlackWebSocket.js):
 * - `hello` first, with `num_connections`, `debug_info` and `connection_info`: the client counts as
 *   connected only once it arrives;
 * - envelopes `{envelope_id, type, payload, accepts_response_payload}` (`events_api` also with
 *   `retry_attempt` and `retry_reason`), each to one open connection, the newest; the client
 *   acknowledges with `{envelope_id, payload?}`, and Slack waits 3 s for it;
 * - `disconnect` messages (`warning`, `refresh_requested`, ...), after which the client closes and asks
 *   apps.connections.open for a new URL; Slack ends the connection itself a little later if it does not;
 * - ping frames every `pingIntervalMs` (the client drops a connection whose pings stop for 30 s), and
 *   pongs to the client's own pings, which it sends every 5/3 s and needs answered within 5 s;
 * - a dropped connection (`drop()`): the TCP connection ends without a close frame.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket from 'ws';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';
export type DisconnectReason = 'warning' | 'refresh_requested' | 'too_many_websockets' | 'link_disabled';

export interface FakeSlackSocketOptions {
  appId?: string;
  /** How long Slack waits for an acknowledgement (3 s). */
  ackTimeoutMs?: number;
  /** How often the server pings each connection. */
  pingIntervalMs?: number;
  /** How long after a `disconnect` message the server ends a connection the client left open. */
  disconnectGraceMs?: number;
}

/** One WebSocket connection, from the upgrade to its close. */
export interface SocketConnection {
  id: number;
  openedAt: number;
  closedAt?: number;
  /** 1000 when the client closed it properly, 1006 when it just ended. */
  closeCode?: number;
  /** Pings the client sent (its heartbeat), and pongs it returned to ours. */
  pingsFromClient: number;
  pongsFromClient: number;
}

export interface Ack {
  envelopeId: string;
  type: EnvelopeType;
  /** What the client put in the acknowledgement (`payload`), if anything. */
  payload: Record<string, unknown> | undefined;
  connection: number;
  /** Milliseconds from sending the envelope to its acknowledgement. */
  ms: number;
}

export interface DeliverOptions {
  /** Default: true for slash commands and view submissions, false for events and button clicks. */
  acceptsResponsePayload?: boolean;
  retryAttempt?: number;
  retryReason?: string;
  /** How long to wait for an open connection first (Slack holds deliveries while none is). Default 15 s. */
  connectionTimeoutMs?: number;
}

export interface FakeSlackSocket {
  /** A single-use `ws://` URL for the next connection: what apps.connections.open answers with. */
  mintUrl(): string;
  /** Every connection that opened, oldest first. */
  readonly connections: readonly SocketConnection[];
  /** URLs minted (one per apps.connections.open answered). */
  readonly urlsMinted: number;
  /** Resolves once `count` connections have opened in all and the newest is open. */
  waitForConnections(count: number, timeoutMs?: number): Promise<SocketConnection>;
  /** Resolves once no connection is open. */
  waitForNoConnection(timeoutMs?: number): Promise<void>;
  /** Sends an envelope to the newest open connection and resolves with its acknowledgement; rejects without one in time. */
  deliver(type: EnvelopeType, payload: Record<string, unknown>, options?: DeliverOptions): Promise<Ack>;
  readonly acks: readonly Ack[];
  /** Messages from the client that were not an acknowledgement of an envelope in flight. */
  readonly strayMessages: readonly string[];
  /** Sends `{type: 'disconnect', reason}` on the newest open connection. */
  disconnect(reason: DisconnectReason): void;
  /** Ends the newest open connection's TCP connection without a close frame, as a network failure does. */
  drop(): void;
  close(): Promise<void>;
}

interface Live {
  info: SocketConnection;
  ws: WebSocket;
  timers: NodeJS.Timeout[];
}

export async function startFakeSlackSocket(options: FakeSlackSocketOptions = {}): Promise<FakeSlackSocket> {
  const appId = options.appId ?? 'A0DBACCESS';
  const ackTimeoutMs = options.ackTimeoutMs ?? 3000;
  const pingIntervalMs = options.pingIntervalMs ?? 10_000;
  const disconnectGraceMs = options.disconnectGraceMs ?? 5000;

  const tickets = new Set<string>();
  const connections: SocketConnection[] = [];
  const live = new Map<number, Live>();
  const acks: Ack[] = [];
  const strayMessages: string[] = [];
  const inFlight = new Map<string, { type: EnvelopeType; sentAt: number; connection: number; resolve: (ack: Ack) => void }>();
  const changed = new Set<() => void>();
  let urlsMinted = 0;

  const notify = () => {
    for (const listener of [...changed]) listener();
  };
  /** Resolves with `probe()`'s value once it has one, checked on every change; rejects after `timeoutMs`. */
  const until = <T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        changed.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        changed.delete(check);
        reject(new Error(`fake Slack socket: no ${what} within ${timeoutMs} ms (connections: ${JSON.stringify(connections)})`));
      }, timeoutMs);
      changed.add(check);
      check();
    });
  const newestOpen = (): Live | undefined => [...live.values()].filter((entry) => entry.ws.readyState === WebSocket.OPEN).at(-1);

  const wss = new WebSocket.Server({ noServer: true });
  const server = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket works once: a client that reuses an old URL is refused, as by Slack.
    if (url.pathname !== '/link/' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  const accept = (ws: WebSocket): void => {
    const info: SocketConnection = { id: connections.length + 1, openedAt: Date.now(), pingsFromClient: 0, pongsFromClient: 0 };
    const entry: Live = { info, ws, timers: [] };
    connections.push(info);
    live.set(info.id, entry);
    ws.on('ping', () => {
      info.pingsFromClient += 1;
    });
    ws.on('pong', () => {
      info.pongsFromClient += 1;
    });
    ws.on('message', (data) => receive(info.id, String(data)));
    ws.on('error', () => {});
    ws.on('close', (code: number) => {
      info.closedAt = Date.now();
      info.closeCode = code;
      for (const timer of entry.timers) clearTimeout(timer);
      live.delete(info.id);
      notify();
    });
    entry.timers.push(setInterval(() => ws.readyState === WebSocket.OPEN && ws.ping(), pingIntervalMs));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: live.size,
        debug_info: { host: `applink-fake-${info.id}`, build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: appId },
      }),
    );
    notify();
  };

  const receive = (connection: number, text: string): void => {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      strayMessages.push(text);
      return;
    }
    const { envelope_id: envelopeId, payload } = (message ?? {}) as { envelope_id?: unknown; payload?: unknown };
    const pending = typeof envelopeId === 'string' ? inFlight.get(envelopeId) : undefined;
    if (!pending || typeof envelopeId !== 'string' || (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload)))) {
      strayMessages.push(text);
      return;
    }
    inFlight.delete(envelopeId);
    const ack: Ack = { envelopeId, type: pending.type, payload: payload as Record<string, unknown> | undefined, connection, ms: Date.now() - pending.sentAt };
    acks.push(ack);
    pending.resolve(ack);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    mintUrl() {
      const ticket = randomBytes(16).toString('hex');
      tickets.add(ticket);
      urlsMinted += 1;
      return `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${appId}`;
    },
    connections,
    get urlsMinted() {
      return urlsMinted;
    },
    acks,
    strayMessages,
    waitForConnections(count, timeoutMs = 20_000) {
      return until(() => (connections.length >= count && newestOpen()?.info.id === connections.at(-1)?.id ? connections.at(-1) : undefined), timeoutMs, `open connection number ${count}`);
    },
    async waitForNoConnection(timeoutMs = 10_000) {
      await until(() => (live.size === 0 ? true : undefined), timeoutMs, 'moment without an open connection');
    },
    async deliver(type, payload, deliverOptions = {}) {
      const target = await until(newestOpen, deliverOptions.connectionTimeoutMs ?? 15_000, 'open connection to deliver to');
      const envelopeId = randomUUID();
      const accepts = deliverOptions.acceptsResponsePayload ?? (type === 'slash_commands' || (type === 'interactive' && payload.type === 'view_submission'));
      const ack = new Promise<Ack>((resolve, reject) => {
        const timer = setTimeout(() => {
          inFlight.delete(envelopeId);
          reject(new Error(`fake Slack socket: no acknowledgement of the ${type} envelope within ${ackTimeoutMs} ms`));
        }, ackTimeoutMs);
        inFlight.set(envelopeId, {
          type, sentAt: Date.now(), connection: target.info.id,
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
        });
      });
      target.ws.send(
        JSON.stringify({
          envelope_id: envelopeId,
          payload,
          type,
          accepts_response_payload: accepts,
          ...(type === 'events_api' ? { retry_attempt: deliverOptions.retryAttempt ?? 0, retry_reason: deliverOptions.retryReason ?? '' } : {}),
        }),
      );
      return ack;
    },
    disconnect(reason) {
      const target = newestOpen();
      if (!target) throw new Error('fake Slack socket: no open connection to send disconnect on');
      target.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: `applink-fake-${target.info.id}` } }));
      target.timers.push(setTimeout(() => target.ws.terminate(), disconnectGraceMs));
    },
    drop() {
      const target = newestOpen();
      if (!target) throw new Error('fake Slack socket: no open connection to drop');
      target.ws.terminate();
    },
    async close() {
      changed.clear();
      for (const { ws } of live.values()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
