import { createServer, connect, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy that can be cut and restored: a target that goes away and comes back. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const sockets = new Set<Socket>();
  /** Client sockets and their upstreams, so that traffic can be held and let through again. */
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let held = false;
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        const pair = { client, upstream };
        pairs.add(pair);
        client.on('close', () => pairs.delete(pair));
        upstream.pipe(client);
        if (held) client.pause();
        else client.pipe(upstream);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });

  await listen();
  return {
    get port() {
      return port;
    },
    /** Refuses new connections and cuts the open ones, as a network outage would. */
    async cut() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
    restore: listen,
    /** Stops what clients send from reaching the server (it waits in the sockets), as a stalled network would. */
    hold() {
      held = true;
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        client.pause();
      }
    },
    /** Lets everything held through, in the order each connection sent it. */
    release() {
      held = false;
      for (const { client, upstream } of pairs) client.pipe(upstream);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}
