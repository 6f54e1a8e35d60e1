/**
 * The load driver of the burst-ack scenario, in a process of its own (`forkAckDriver`), so that the
 * app's process does nothing but the app's work and the client's figure is not the app's event loop
 * waiting on the driver. It receives signed-request bodies over IPC, sends them all at once as Slack
 * does (each on a connection of its own), and answers with each one's status and time: from just
 * before its request is written to the end of its response.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { signSlackRequest } from '../../test/support/slack-requests.js';

export interface BurstOrder {
  url: string;
  secret: string;
  bodies: string[];
}

export interface BurstAnswer {
  status: number;
  ms: number;
  body: string;
}

function send(url: URL, secret: string, body: string): Promise<BurstAnswer> {
  return new Promise((resolve) => {
    const headers = signSlackRequest(secret, body);
    const started = performance.now();
    const req = request(
      { host: url.hostname, port: url.port, path: '/slack/events', method: 'POST', agent: false, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: Buffer.concat(chunks).toString().slice(0, 300) }));
      },
    );
    req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, body: error.message }));
    req.end(body);
  });
}

/** Runs in the child: one burst per message. */
if (process.send && process.argv.includes('--ack-driver')) {
  process.on('message', (order: BurstOrder) => {
    const url = new URL(order.url);
    void Promise.all(order.bodies.map((body) => send(url, order.secret, body))).then((answers) => process.send!(answers));
  });
  process.on('disconnect', () => process.exit(0));
  process.send('ready');
}

/** A driver process; `burst(order)` sends one burst and resolves with its answers in order. */
export async function forkAckDriver(): Promise<{ burst(order: BurstOrder): Promise<BurstAnswer[]>; pid: number; close(): void }> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--ack-driver'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Loaded (tsx takes seconds on a busy machine) before any burst is handed over.
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench: the ack driver exited at start (${code})`)));
  });
  child.removeAllListeners('exit');
  return {
    pid: child.pid!,
    burst(order) {
      return new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`bench: the ack driver exited (${code})`));
        child.once('exit', onExit);
        child.once('message', (answers) => {
          child.off('exit', onExit);
          resolve(answers as BurstAnswer[]);
        });
        child.send(order);
      });
    },
    close() {
      child.disconnect();
    },
  };
}
