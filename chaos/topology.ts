/**
 * What the chaos suite runs on, all started by the suite and stopped at the end: its own Redis (with the
 * Redis queue), its own state PostgreSQL (the product's embedded cluster, in a temporary directory; it
 * holds the queue too with CHAOS_QUEUE=postgres), its own two target servers, a PostgreSQL cluster and a
 * MariaDB server, in the same directory, each with a fresh target database (targets.ts; with
 * CHAOS_TARGETS=shared, databases on the machine's shared servers behind TCP proxies instead), the fake
 * Slack in this process, and web and worker processes of dbaccess behind a small round-robin HTTP proxy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitUntil } from '../test/support/app-harness.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { freePort } from '../test/support/ports.js';
import { spawnApp, type AppProcess } from '../test/support/processes.js';
import { sharedTargets, startOwnTargets, startPostgresCluster, type Target, type TargetKind } from './targets.js';

export type { TargetKind } from './targets.js';

export const SIGNING_SECRET = 'chaos-signing-secret';
export const APPROVERS = ['U0ALICE', 'U0BOB', 'U0CAROL'];
/**
 * Catalog entries, two on each target database, each with its own approvers' channel (Slack's rates
 * are per channel): requests are spread over both engines.
 */
export const DATABASES = ['orders1', 'orders2', 'shop1', 'shop2'];
export const targetOf = (databaseId: string): TargetKind => (databaseId.startsWith('shop') ? 'mariadb' : 'postgres');
export const channelOf = (databaseId: string) => `C0${databaseId.toUpperCase().replace(/-/g, '')}`;
/** The Slack workspace of the load's i-th workspace. */
export const teamOf = (i: number) => `T0CHAOS${String(i).padStart(2, '0')}`;
/** With a tenant section per workspace (CHAOS_TENANTS), each has its own copy of each database entry. */
export const databaseOf = (base: string, workspace: number | undefined) => (workspace === undefined ? base : `${base}-w${String(workspace).padStart(3, '0')}`);

export interface AppSlot {
  name: string;
  mode: 'web' | 'worker';
  port: number;
  process: AppProcess;
  restarts: number;
  startedAt: number;
  /** Set while the suite itself kills and restarts it. */
  killing?: boolean;
}

export type Topology = Awaited<ReturnType<typeof startTopology>>;

/**
 * `tenants`: that many workspaces, each its own tenant section of the catalog with its own approvers'
 * channels, user prefix and copies of the database entries (Slack's rates are per workspace and per
 * channel: the issue's 1,000 requests a minute over 200 workspaces is within them only so); without it,
 * one catalog serves every workspace, with one channel per database.
 */
export async function startTopology(options: { web: number; workers: number; queue: 'redis' | 'postgres'; targets: 'own' | 'shared'; logDir: string; tenants?: number | undefined }) {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-chaos-'));
  // As root, the embedded server runs as the postgres user, which must be able to enter the directory.
  chmodSync(dir, 0o711);
  mkdirSync(options.logDir, { recursive: true });
  // Started together; when one fails, the others are stopped and the directory removed.
  const parts = await Promise.allSettled([
    options.queue === 'redis' ? startRedis() : Promise.resolve(undefined),
    startStatePostgres(join(dir, 'state')),
    options.targets === 'own' ? startOwnTargets(dir) : sharedTargets(),
  ] as const);
  if (parts.some((part) => part.status === 'rejected')) {
    const [r, s, tg] = parts;
    await Promise.all([
      r.status === 'fulfilled' ? r.value?.stop() : undefined,
      s.status === 'fulfilled' ? s.value.stop() : undefined,
      tg.status === 'fulfilled' ? Promise.all(Object.values(tg.value).map((target) => target.stop())) : undefined,
    ]);
    rmSync(dir, { recursive: true, force: true });
    throw (parts.find((part) => part.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const [redis, state, targets] = parts.map((part) => (part as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startRedis>> | undefined, Awaited<ReturnType<typeof startStatePostgres>>, Record<TargetKind, Target>];
  const stopTargets = () => Promise.all(Object.values(targets).map((target) => target.stop()));
  const slack = await startFakeSlack({ teamId: 'T0CHAOS00', rateLimited: true, workspaces: options.tenants ?? 1 });
  const prefix = `c${randomBytes(3).toString('hex')}_`;

  const catalogPath = join(dir, 'dbaccess.yaml');
  const entries = (workspace: number | undefined, indent: string) => DATABASES.map((base) => databaseOf(base, workspace)).map((id) => `${indent}- id: ${id}
${indent}  engine: ${targetOf(id)}
${indent}  host: 127.0.0.1
${indent}  port: ${targets[targetOf(id)].port}
${indent}  database: ${targets[targetOf(id)].database}
${indent}  environment: production
${indent}  admin: env:${targetOf(id) === 'postgres' ? 'ORDERS' : 'SHOP'}_ADMIN_URL
${indent}  maxDuration: 4h
${indent}  approvers:
${indent}    slack: { channel: ${channelOf(id)}, users: [${APPROVERS.join(', ')}] }
`).join('');
  const workspaceIds = options.tenants ? Array.from({ length: options.tenants }, (_, i) => i) : [];
  const databaseIds = options.tenants ? workspaceIds.flatMap((i) => DATABASES.map((base) => databaseOf(base, i))) : [...DATABASES];
  writeFileSync(catalogPath, options.tenants
    ? `tenants:
${workspaceIds.map((i) => `  - name: w${String(i).padStart(3, '0')}
    slack: [${teamOf(i)}]
    approvers: { slack: { channel: ${channelOf(databaseOf(DATABASES[0]!, i))}, users: [${APPROVERS.join(', ')}] } }
    settings: { minDuration: 2s, userPrefix: ${prefix}w${String(i).padStart(3, '0')}_ }
    policies:
      - { name: chaos, approvers: [${APPROVERS.join(', ')}], mfa: never }
    databases:
${entries(i, '      ')}`).join('')}`
    : `approvers:
  slack: { channel: ${channelOf(DATABASES[0]!)}, users: [${APPROVERS.join(', ')}] }
settings:
  minDuration: 2s
  userPrefix: ${prefix}
policies:
  - { name: chaos, approvers: [${APPROVERS.join(', ')}], mfa: never }
databases:
${entries(undefined, '  ')}`);
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    DATABASE_URL: state.url,
    // Without REDIS_URL the queue is BullMQ on the state database (src/app/container.ts).
    ...(redis ? { REDIS_URL: redis.url } : {}),
    DATA_DIR: dir,
    DBACCESS_CONFIG: catalogPath,
    MASTER_KEY: randomBytes(32).toString('hex'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-chaos-token',
    SLACK_API_URL: slack.apiUrl,
    ORDERS_ADMIN_URL: targets.postgres.adminUrl,
    SHOP_ADMIN_URL: targets.mariadb.adminUrl,
    LOG_LEVEL: 'info',
    SWEEP_INTERVAL: '2s',
    CATALOG_POLL_INTERVAL: '5s',
  };

  const slots: AppSlot[] = [];
  /** Processes that ended without being killed by the suite (each restarted, as a supervisor would). */
  const exits: string[] = [];
  const saveLog = (slot: AppSlot) => writeFileSync(join(options.logDir, `${slot.name}-${slot.restarts}-${slot.process.child.pid}.log`), slot.process.output());
  const startSlot = async (slot: Omit<AppSlot, 'process' | 'restarts' | 'startedAt'>, restarts = 0): Promise<AppSlot> => {
    const process = spawnApp('bin/start.js', { ...env, RUN_MODE: slot.mode, PORT: String(slot.port) });
    const started: AppSlot = { ...slot, process, restarts, startedAt: Date.now() };
    try {
      await process.waitFor('dbaccess started', 120_000);
    } catch (error) {
      saveLog(started);
      throw error;
    }
    return started;
  };
  // The first process migrates alone; the rest start together (migrations are under an advisory lock).
  const plan = [
    ...Array.from({ length: options.web }, (_, i) => ({ name: `web${i + 1}`, mode: 'web' as const })),
    ...Array.from({ length: options.workers }, (_, i) => ({ name: `worker${i + 1}`, mode: 'worker' as const })),
  ];
  const withPorts = await Promise.all(plan.map(async (slot) => ({ ...slot, port: await freePort() })));
  try {
    slots.push(await startSlot(withPorts[0]!));
    const rest = await Promise.allSettled(withPorts.slice(1).map((slot) => startSlot(slot)));
    for (const result of rest) if (result.status === 'fulfilled') slots.push(result.value);
    const failed = rest.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    // Nothing left behind when the start fails: processes, targets, clusters, the directory.
    await Promise.all(slots.map((slot) => slot.process.kill('SIGKILL')));
    await Promise.all([slack.close(), stopTargets()]);
    await state.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const proxy = await startRoundRobin(() => slots.filter((slot) => slot.mode === 'web').map((slot) => slot.port));

  let stopping = false;
  /** Starts that ended before 'dbaccess started' (e.g. during the state database's restart), retried. */
  const failedStarts: string[] = [];
  /** As a supervisor restarts a process that exits at start (systemd Restart=always, RestartSec=1). */
  const startWithRetries = async (slot: AppSlot): Promise<AppSlot> => {
    for (let tries = 1; ; tries += 1) {
      try {
        return await startSlot(slot, slot.restarts + tries);
      } catch (error) {
        failedStarts.push(`${new Date().toISOString().slice(11, 19)} ${slot.name}: ${(error as Error).message.slice(0, 200)}`);
        if (stopping || tries >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  /** A process that ends on its own is noted and started again, as systemd's Restart=always would. */
  const supervise = (slot: AppSlot) => {
    void slot.process.exited.then(async (code) => {
      if (stopping || slot.killing) return;
      saveLog(slot);
      exits.push(`${new Date().toISOString().slice(11, 19)} ${slot.name} exited on its own (${code ?? slot.process.child.signalCode})`);
      const index = slots.indexOf(slot);
      if (index < 0) return;
      const fresh = await startWithRetries(slot).catch(() => undefined);
      if (fresh) {
        slots[index] = fresh;
        supervise(fresh);
      }
    });
  };
  slots.forEach(supervise);

  return {
    dir, redis, state, targets, slack, prefix, env, slots, proxy, exits, failedStarts, queue: options.queue,
    /** Every database id of the catalog, and whether each workspace has its own (CHAOS_TENANTS). */
    databaseIds, tenants: Boolean(options.tenants),
    /** Temporary users whose names start with the prefix, on each target (a frozen one: as last read). */
    async roles(): Promise<Record<TargetKind, string[]>> {
      const [postgres, mariadb] = await Promise.all([targets.postgres.roles(prefix), targets.mariadb.roles(prefix)]);
      return { postgres, mariadb };
    },
    /** Every frozen target let go (the end checks need them; a failed run must not leave one stopped). */
    thawAll: () => Promise.all(Object.values(targets).map((target) => target.thaw())),
    /** kill -9 of one process, restarted at once; resolves when it is up again. */
    async killAndRestart(slot: AppSlot): Promise<number> {
      slot.killing = true;
      await slot.process.kill('SIGKILL');
      saveLog(slot);
      const started = Date.now();
      const fresh = await startWithRetries(slot);
      slots[slots.indexOf(slot)] = fresh;
      supervise(fresh);
      return Date.now() - started;
    },
    async stop() {
      stopping = true;
      await Promise.all(Object.values(targets).map((target) => target.thaw()));
      await proxy.close();
      await Promise.all(slots.map(async (slot) => {
        await slot.process.kill('SIGTERM');
        saveLog(slot);
      }));
      await slack.close();
      await stopTargets();
      await state.stop();
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The product's embedded PostgreSQL as the state cluster, with room for six processes (each holds up to
 * about 25 connections: a pool of 20, the audit pool of 4, a session-lock connection; the default 100 is
 * not enough, and "too many clients" is what a deployment of six would see too).
 */
function startStatePostgres(dataDir: string) {
  return startPostgresCluster(dataDir, 300);
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
