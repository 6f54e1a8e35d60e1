/**
 * What the chaos suite runs on, all started by the suite and stopped at the end: its own Redis, its own
 * state PostgreSQL (the product's embedded cluster, in a temporary directory), a fresh target database
 * on the machine's scram cluster (5433) behind a TCP proxy the suite can hold, the fake Slack in this
 * process, and web and worker processes of dbaccess behind a small round-robin HTTP proxy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/app/embedded-postgres.js';
import { createLogger } from '../src/lib/logger.js';
import { waitUntil } from '../test/support/app-harness.js';
import { createTargetDatabase } from '../test/support/databases.js';
import { startFakeSlack, type FakeSlack } from '../test/support/fake-slack.js';
import { freePort } from '../test/support/ports.js';
import { spawnApp, type AppProcess } from '../test/support/processes.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';

export const SIGNING_SECRET = 'chaos-signing-secret';
export const APPROVERS = ['U0ALICE', 'U0BOB', 'U0CAROL'];
/** Catalog entries on the one target database, each with its own approvers' channel (Slack's rates are per channel). */
export const DATABASES = ['orders1', 'orders2', 'orders3', 'orders4'];
export const channelOf = (databaseId: string) => `C0${databaseId.toUpperCase()}`;

export interface AppSlot {
  name: string;
  mode: 'web' | 'worker';
  port: number;
  process: AppProcess;
  restarts: number;
}

export type Topology = Awaited<ReturnType<typeof startTopology>>;

export async function startTopology(options: { web: number; workers: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-chaos-'));
  // As root, the embedded server runs as the postgres user, which must be able to enter the directory.
  chmodSync(dir, 0o711);
  const redis = await startRedis();
  const state = await startStatePostgres(join(dir, 'state'));
  const target = await createTargetDatabase();
  const targetProxy = await startTcpProxy(5433);
  const slack = await startFakeSlack({ teamId: 'T0CHAOS00', rateLimited: true });
  const prefix = `c${randomBytes(3).toString('hex')}_`;
  const adminUrl = new URL(target.adminUrl);
  adminUrl.port = String(targetProxy.port);

  const catalogPath = join(dir, 'dbaccess.yaml');
  writeFileSync(catalogPath, `approvers:
  slack: { channel: ${channelOf(DATABASES[0]!)}, users: [${APPROVERS.join(', ')}] }
settings:
  minDuration: 2s
  userPrefix: ${prefix}
policies:
  - { name: chaos, approvers: [${APPROVERS.join(', ')}], mfa: never }
databases:
${DATABASES.map((id) => `  - id: ${id}
    engine: postgres
    host: 127.0.0.1
    port: ${targetProxy.port}
    database: ${target.name}
    environment: production
    admin: env:ORDERS_ADMIN_URL
    maxDuration: 4h
    approvers:
      slack: { channel: ${channelOf(id)}, users: [${APPROVERS.join(', ')}] }
`).join('')}`);
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    DATABASE_URL: state.url,
    REDIS_URL: redis.url,
    DATA_DIR: dir,
    DBACCESS_CONFIG: catalogPath,
    MASTER_KEY: randomBytes(32).toString('hex'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-chaos-token',
    SLACK_API_URL: slack.apiUrl,
    ORDERS_ADMIN_URL: adminUrl.toString(),
    LOG_LEVEL: 'info',
    SWEEP_INTERVAL: '2s',
    CATALOG_POLL_INTERVAL: '5s',
  };

  const slots: AppSlot[] = [];
  const startSlot = async (slot: Omit<AppSlot, 'process' | 'restarts'>, restarts = 0): Promise<AppSlot> => {
    const process = spawnApp('bin/start.js', { ...env, RUN_MODE: slot.mode, PORT: String(slot.port) });
    await process.waitFor('dbaccess started', 120_000);
    return { ...slot, process, restarts };
  };
  // The first process migrates alone; the rest start together (migrations are under an advisory lock).
  const plan = [
    ...Array.from({ length: options.web }, (_, i) => ({ name: `web${i + 1}`, mode: 'web' as const })),
    ...Array.from({ length: options.workers }, (_, i) => ({ name: `worker${i + 1}`, mode: 'worker' as const })),
  ];
  const withPorts = await Promise.all(plan.map(async (slot) => ({ ...slot, port: await freePort() })));
  slots.push(await startSlot(withPorts[0]!));
  slots.push(...(await Promise.all(withPorts.slice(1).map((slot) => startSlot(slot)))));

  const proxy = await startRoundRobin(() => slots.filter((slot) => slot.mode === 'web').map((slot) => slot.port));

  return {
    dir, redis, state, target, targetProxy, slack, prefix, env, slots, proxy,
    /** kill -9 of one process, restarted at once; resolves when it is up again. */
    async killAndRestart(slot: AppSlot): Promise<number> {
      await slot.process.kill('SIGKILL');
      const started = Date.now();
      const fresh = await startSlot(slot, slot.restarts + 1);
      slots[slots.indexOf(slot)] = fresh;
      return Date.now() - started;
    },
    async stop() {
      await proxy.close();
      await Promise.all(slots.map((slot) => slot.process.kill('SIGTERM')));
      await slack.close();
      await targetProxy.close();
      await target.drop();
      await state.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The product's embedded PostgreSQL as the state cluster, with room for six processes (each holds up to
 * about 25 connections: a pool of 20, the audit pool of 4, a session-lock connection; the default 100 is
 * not enough, and "too many clients" is what a deployment of six would see too).
 */
async function startStatePostgres(dataDir: string) {
  const port = await freePort();
  const first = await startEmbeddedPostgres({ dataDir, port, logger: createLogger('warn') });
  const admin = new pg.Client({ connectionString: first.url });
  await admin.connect();
  await admin.query('ALTER SYSTEM SET max_connections = 300');
  await admin.end();
  await first.stop();
  return startEmbeddedPostgres({ dataDir, port, logger: createLogger('warn') });
}

/** A Redis of the suite's own (no persistence), so that it can be flushed and restarted. */
async function startRedis() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    await waitUntil(async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        client.disconnect();
      }
    }, 10_000, 'the suite Redis');
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    async flush() {
      const client = new Redis(url);
      await client.flushall();
      client.disconnect();
    },
    async restart() {
      await stop();
      await start();
    },
    stop,
  };
}

/**
 * A round-robin HTTP proxy over the web processes, as a load balancer: a connection refused (a process
 * just killed) is tried on the next process; a request cut mid-way is answered 502, as nginx would.
 */
async function startRoundRobin(ports: () => number[]) {
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const all = ports();
        const port = all[next++ % all.length]!;
        const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED' && tries < all.length * 2) setTimeout(() => attempt(tries + 1), 50);
          else if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        });
        upstream.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
