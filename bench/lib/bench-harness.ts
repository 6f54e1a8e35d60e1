import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { APPROVERS_CHANNEL, TEAM, deleteRedisPrefix, startHarness, type Harness } from '../../test/support/app-harness.js';
import { createTargetDatabase } from '../../test/support/databases.js';
import { SERVICES } from '../../test/support/services.js';
import { newTriggerId, plainTextInput, slashCommand, staticSelect, viewSubmission } from '../../test/support/slack-requests.js';
import { randomCode } from '../../src/lib/ids.js';
import { postgresAccessGroup, postgresGrantStatements } from '../../src/modules/credentials/engines/postgres/grants.js';
import { postgresGroupGuard } from '../../src/modules/credentials/engines/postgres/group-statements.js';
import { roleMarker } from '../../src/modules/credentials/engines/postgres/provider.js';
import { SlackIndex } from './slack-index.js';

/**
 * The test harness (test/support/app-harness.ts), with what a benchmark needs on top:
 * - its own name prefixes (`bn…_` roles, `dbaccess-bench-…` Redis keys), and a cleanup that also drops
 *   roles left on the target cluster (the harness drops the target database, but roles are cluster-wide);
 * - a submit that is safe to run 200 times at once (the harness matches views.open by count, this by trigger id);
 * - an index of what the fake Slack received, by request id.
 */
export interface BenchHarness {
  h: Harness;
  queue: 'redis' | 'postgres';
  index: SlackIndex;
  userPrefix: string;
  queuePrefix: string;
  stateUrl: string;
  /** Every target database in the catalog: `orders` (the harness's) and the extra ones (`orders2`, ...). */
  targets: Array<{ id: string; name: string; adminUrl: string }>;
  /** Pids of the `RUN_MODE=worker` processes doing the jobs (none: the in-process app does them). */
  workerPids: number[];
  /** `/dbaccess` then the form, as `user`; the request id comes back from the receipt DM. */
  submit(user: string, values?: Partial<Record<'scope' | 'duration' | 'reason' | 'ticket' | 'level', string>>): Promise<{ commandAckMs: number; submitAckMs: number; startedAt: number }>;
  /** Clicks Approve on the card of `requestId` as `approver` once the card is posted; `clickedAt` is Date.now() just before the POST. */
  approve(requestId: string, approver: string): Promise<{ clickedAt: number; ackMs: number }>;
  /** Stops the app and removes everything it created; `graceMs` bounds the wait for a clean stop. */
  close(graceMs?: number): Promise<void>;
  /** What Slack shows about a request that did not get where it should: the card's text, and the last ephemeral to `approver`. */
  explain(requestId: string, approver: string): string;
}

const cleanups = new Set<(graceMs?: number) => Promise<void>>();
/** Every Redis prefix of this run: an app that could not stop may still write keys after its cleanup. */
const usedQueuePrefixes = new Set<string>();

/** Runs every pending cleanup (also on SIGINT/SIGTERM and on a crash), then deletes this run's Redis keys once more. */
export async function cleanupAll(): Promise<void> {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    await cleanup().catch((error: unknown) => console.error(`bench cleanup failed: ${(error as Error).message}`));
  }
  for (const prefix of usedQueuePrefixes) await deleteRedisPrefix(prefix).catch(() => 0);
}

export async function startBenchHarness(
  queue: 'redis' | 'postgres',
  options: {
    settings?: Record<string, string>;
    env?: Record<string, string>;
    extraTargets?: number;
    /** Jobs done by this many `RUN_MODE=worker` processes (src/main.ts) instead of the app in the bench's process, which then runs `RUN_MODE=web`. */
    workerProcesses?: number;
    /** Catalog sections (policies, integrations) instead of the harness's default policy. */
    policy?: string;
    /** People the fake Slack knows (users.info emails). */
    slackDirectory?: { users?: Record<string, { email?: string }> };
    /** The whole catalog file (see the harness's `catalog`; `prefix` is the bench's role prefix), and the approvers' channels its cards go to. */
    catalog?: { file: (parts: { target: { name: string }; prefix: string }) => string; approverChannels: string[] };
  } = {},
): Promise<BenchHarness> {
  const userPrefix = `bn${randomBytes(3).toString('hex')}_`;
  const queuePrefix = `dbaccess-bench-${randomBytes(4).toString('hex')}`;
  if (queue === 'redis') usedQueuePrefixes.add(queuePrefix);
  // Registered before starting, so that a failure half-way still removes roles and keys.
  let harness: Harness | undefined;
  let index: SlackIndex | undefined;
  const extra: Array<{ name: string; adminUrl: string; drop(): Promise<void> }> = [];
  const workers: ChildProcess[] = [];
  const cleanup = async (graceMs = 30_000) => {
    index?.close();
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker, graceMs)));
    if (harness) await closeHarness(harness, graceMs, userPrefix);
    for (const db of extra) await db.drop().catch((error: Error) => console.error(`bench: could not drop ${db.name}: ${error.message}`));
    if (queue === 'redis') await deleteRedisPrefix(queuePrefix);
    await dropRolesWithPrefix(userPrefix);
  };
  cleanups.add(cleanup);

  // Extra target databases on the same cluster, each its own catalog entry with its own admin reference.
  for (let i = 0; i < (options.extraTargets ?? 0); i += 1) extra.push(await createTargetDatabase());
  const extraIds = extra.map((_, i) => `orders${i + 2}`);
  const extraYaml = extra
    .map((db, i) => `  - { id: ${extraIds[i]}, engine: postgres, host: 127.0.0.1, port: 5433, database: ${db.name}, environment: production, admin: "env:BENCH_TARGET_${i + 2}_URL", maxDuration: 4h }`)
    .join('\n');
  const extraEnv = Object.fromEntries(extra.map((db, i) => [`BENCH_TARGET_${i + 2}_URL`, db.adminUrl]));

  harness = await startHarness({
    // Production's row-level security (the tests' raising variant would cost a PL/pgSQL call per row).
    unscopedQueries: 'empty',
    queue,
    settings: { userPrefix, pendingTimeout: '1h', ...options.settings },
    env: { ...(queue === 'redis' ? { QUEUE_PREFIX: queuePrefix } : {}), ...extraEnv, ...(options.workerProcesses ? { RUN_MODE: 'web' } : {}), ...options.env },
    ...(extra.length > 0 ? { extraDatabases: `${extraYaml}\n` } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.slackDirectory ? { slackDirectory: options.slackDirectory } : {}),
    ...(options.catalog ? { catalog: ({ target }: { target: { name: string } }) => options.catalog!.file({ target, prefix: userPrefix }) } : {}),
  });
  const h = harness;
  for (let i = 0; i < (options.workerProcesses ?? 0); i += 1) workers.push(await startWorkerProcess(h.env));
  index = new SlackIndex(h.slack, options.catalog?.approverChannels ?? APPROVERS_CHANNEL);
  const idx = index;
  let responses = 0;

  return {
    h,
    queue,
    index: idx,
    userPrefix,
    queuePrefix,
    stateUrl: h.app.pool.options.connectionString!,
    targets: [{ id: 'orders', name: h.target.name, adminUrl: h.target.adminUrl }, ...extra.map((db, i) => ({ id: extraIds[i]!, name: db.name, adminUrl: db.adminUrl }))],
    workerPids: workers.map((worker) => worker.pid!),

    async submit(user, values = {}) {
      const startedAt = Date.now();
      const trigger = newTriggerId();
      const t0 = performance.now();
      const command = await h.post(
        slashCommand({ teamId: TEAM, userId: user, text: '', triggerId: trigger, responseUrl: h.slack.responseUrl(`bench-cmd-${++responses}`, { user }) }),
      );
      const commandAckMs = performance.now() - t0;
      if (command.status !== 200) throw new Error(`/dbaccess answered ${command.status}: ${command.body}`);
      const opened = await idx.wait('viewsOpen', trigger, 15_000);
      const view = (opened.call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view;
      const v = { level: 'read', scope: '', duration: '1h', reason: 'Investigate the failed payouts of last night for OPS-1234', ticket: '', ...values };
      const t1 = performance.now();
      const submitted = await h.post(
        viewSubmission({
          teamId: TEAM,
          userId: user,
          view,
          values: {
            databaseId: { value: staticSelect('orders') },
            level: { value: staticSelect(v.level) },
            scope: { value: plainTextInput(v.scope || null) },
            duration: { value: plainTextInput(v.duration) },
            reason: { value: plainTextInput(v.reason) },
            ticket: { value: plainTextInput(v.ticket || null) },
          },
        }),
      );
      const submitAckMs = performance.now() - t1;
      if (submitted.status !== 200 || /"errors"/.test(submitted.body)) throw new Error(`the form submission answered ${submitted.status}: ${submitted.body}`);
      return { commandAckMs, submitAckMs, startedAt };
    },

    async approve(requestId, approver) {
      const card = await idx.wait('card', requestId, 30_000);
      const message = h.slack.message(card.channel, card.ts);
      if (!message) throw new Error(`the card of ${requestId} is gone`);
      const clickedAt = Date.now();
      const t0 = performance.now();
      const answer = await h.click(approver, 'dbaccess.approve', message);
      const ackMs = performance.now() - t0;
      if (answer.status !== 200) throw new Error(`the approve click answered ${answer.status}`);
      return { clickedAt, ackMs };
    },

    explain(requestId, approver) {
      const card = idx.get('card', requestId);
      const current = card ? h.slack.message(card.channel, card.ts) : undefined;
      const ephemeral = h.slack.ephemeralsFor(approver).at(-1)?.text;
      return `card: ${current ? JSON.stringify(current.text ?? '').slice(0, 160) : 'none'}; last ephemeral to ${approver}: ${ephemeral ? JSON.stringify(ephemeral).slice(0, 160) : 'none'}`;
    },

    async close(graceMs) {
      cleanups.delete(cleanup);
      await cleanup(graceMs);
    },
  };
}

/**
 * dbaccess as an operator runs a worker: `src/main.ts` with `RUN_MODE=worker`, in a process of its own,
 * on the app's state, queue and catalog. Resolves once it has started (its "dbaccess started" log line).
 */
async function startWorkerProcess(env: Readonly<Record<string, string>>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../../', import.meta.url),
    env: { ...process.env, ...env, RUN_MODE: 'worker', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (output.includes('"msg":"dbaccess started"')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.once('exit', (code) => reject(new Error(`bench: a worker process exited (${code}) at start: ${output.slice(-800)}`)));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bench: a worker process did not start within 60 s: ${output.slice(-800)}`)), 60_000);
  });
  try {
    await Promise.race([started, timeout]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
  // From here on only warnings and errors are shown; the rest is drained.
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (/"level":(40|50|60)/.test(line)) process.stderr.write(`[worker ${child.pid}] ${line.slice(0, 400)}\n`);
  });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[worker ${child.pid}] ${chunk.toString()}`));
  return child;
}

/** SIGTERM (dbaccess stops its worker cleanly), then SIGKILL after `graceMs`. */
async function stopWorkerProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return;
  console.error(`bench: worker process ${child.pid} did not stop within ${graceMs / 1000} s; killing it`);
  child.kill('SIGKILL');
  await exited;
}

/**
 * `harness.close()`, but bounded: if the app cannot stop (a job stuck on a pool that never frees a
 * connection never lets `pool.end()` resolve), the bench drops the state and target databases itself,
 * which ends the app's connections, and moves on.
 */
async function closeHarness(harness: Harness, graceMs: number, userPrefix: string): Promise<void> {
  const stateUrl = harness.app.pool.options.connectionString!;
  const closing = harness.close().then(() => true, (error: unknown) => {
    console.error(`bench: harness.close failed: ${(error as Error).message}`);
    return true;
  });
  if (await Promise.race([closing, sleep(graceMs).then(() => false)])) return;
  console.error(`bench: the app did not stop within ${graceMs / 1000} s; dropping its databases to free it`);
  tolerateTerminatedConnections();
  const stateName = new URL(stateUrl).pathname.slice(1);
  await dropDatabase(SERVICES.statePg, stateName).catch((error: Error) => console.error(`bench: ${error.message}`));
  await dropDatabase(SERVICES.targetPg, harness.target.name).catch((error: Error) => console.error(`bench: ${error.message}`));
  await harness.slack.close().catch(() => {});
  removeDataDir(userPrefix);
  if (!(await Promise.race([closing, sleep(5_000).then(() => false)]))) console.error('bench: the app still did not stop; its databases are gone, continuing');
}

/** The harness's temporary DATA_DIR (it removes it only at the end of a clean close): the one whose catalog names our prefix. */
function removeDataDir(userPrefix: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('dbaccess-test-')) continue;
    const dir = join(tmpdir(), name);
    try {
      if (readFileSync(join(dir, 'dbaccess.yaml'), 'utf8').includes(`userPrefix: ${userPrefix}`)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours, or already gone
    }
  }
}

let tolerating = false;
/**
 * Dropping a database under a running app ends its connections; a pool client that is checked out has
 * no 'error' listener, so pg throws an uncaught 'terminating connection' error. After a forced stop the
 * bench ignores exactly those, and nothing else.
 */
function tolerateTerminatedConnections(): void {
  if (tolerating) return;
  tolerating = true;
  const benign = (error: unknown) => {
    const { code, message } = (error ?? {}) as { code?: string; message?: string };
    return code === '57P01' || code === '3D000' || /Connection terminated|terminating connection|Client has encountered a connection error/i.test(message ?? '');
  };
  process.on('uncaughtException', (error) => {
    if (benign(error)) return;
    console.error('bench: uncaught exception', error);
    process.exit(2);
  });
  process.on('unhandledRejection', (error) => {
    if (!benign(error)) console.error('bench: unhandled rejection', error);
  });
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  if (!/^(dbaccess_test|target)_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}`);
  const client = await connect(serverUrl);
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Drops every role on the target cluster whose name starts with `prefix` (sessions first), in batches. */
export async function dropRolesWithPrefix(prefix: string): Promise<number> {
  if (prefix.length < 4) throw new Error('refusing to drop roles with a short prefix');
  const client = new pg.Client({ connectionString: SERVICES.targetPg });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]);
    if (rows.length === 0) return 0;
    await client.query('SELECT pg_terminate_backend(a.pid, 2000) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE starts_with(r.rolname, $1)', [prefix]);
    for (let i = 0; i < rows.length; i += 500) {
      const names = rows.slice(i, i + 500).map((row) => client.escapeIdentifier(row.rolname));
      try {
        await client.query(`DROP ROLE IF EXISTS ${names.join(', ')}`);
      } catch {
        // A role with privileges in some database: one by one, clearing what it owns in this database.
        for (const name of names) {
          await client.query(`DROP OWNED BY ${name}`).catch(() => {});
          await client.query(`DROP ROLE IF EXISTS ${name}`).catch((error: Error) => console.error(`bench: could not drop ${name}: ${error.message}`));
        }
      }
    }
    return rows.length;
  } finally {
    await client.end();
  }
}

/** A plain client on a database, for the bench's own queries (never the app's pool). */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Users created in bulk as the PostgreSQL provider leaves them: with its marker, members of the access
 * group of a read grant on the whole database (made by the provider's own guard, granted with
 * grant-mapping's statements). The group goes in the same transaction as its first members, as the
 * provider makes it: the reconciler drops a group no user is in. Batches of `batch`, a transaction
 * each; `attributes` follow `CREATE ROLE <name>`. Stops at the first batch that fails and returns
 * its error with the names created so far.
 */
export async function createGroupMembersInBulk(
  admin: pg.Client,
  input: { prefix: string; install: string; database: string; schemas: string[]; count: number; attributes: string; batch?: number },
): Promise<{ names: string[]; error?: string }> {
  const group = postgresAccessGroup({ prefix: input.prefix, install: input.install, database: input.database, level: 'read', scope: [] })!;
  const grants = postgresGrantStatements({ level: 'read', scope: [], database: input.database, username: group, schemas: input.schemas });
  const batch = input.batch ?? 500;
  const names: string[] = [];
  while (names.length < input.count) {
    const these = Array.from({ length: Math.min(batch, input.count - names.length) }, () => `${input.prefix}${randomCode(10).toLowerCase()}`);
    const sql = [
      'BEGIN',
      ...(names.length === 0 ? [postgresGroupGuard(input.install, group), ...grants] : []),
      ...these.flatMap((name) => {
        const user = pg.escapeIdentifier(name);
        return [`CREATE ROLE ${user} ${input.attributes} IN ROLE ${pg.escapeIdentifier(group)}`, `COMMENT ON ROLE ${user} IS ${pg.escapeLiteral(roleMarker(input.install))}`];
      }),
      'COMMIT',
    ].join(';\n');
    try {
      await admin.query(sql);
    } catch (error) {
      await admin.query('ROLLBACK').catch(() => {});
      return { names, error: (error as Error).message };
    }
    names.push(...these);
  }
  return { names };
}

export const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));

/** What the app's state pool and its sessions are doing: the first thing to look at when it stalls. */
export async function diagnoseStatePool(b: BenchHarness): Promise<{ text: string; pool: { total: number; idle: number; waiting: number; max: number }; sessions: Array<{ state: string; query: string; n: number }> }> {
  const p = b.h.app.pool;
  const pool = { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount, max: p.options.max ?? 10 };
  let sessions: Array<{ state: string; query: string; n: number }> = [];
  try {
    const client = await connect(b.stateUrl);
    try {
      const { rows } = await client.query<{ state: string; query: string; n: number }>(
        `SELECT coalesce(state, '?') AS state, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query, count(*)::int AS n
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'dbaccess'
          GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 4`,
      );
      sessions = rows;
    } finally {
      await client.end();
    }
  } catch {
    // diagnostics are best effort
  }
  const text = `state pool ${pool.total}/${pool.max} connections, ${pool.idle} idle, ${pool.waiting} callers waiting; sessions: ${sessions.map((s) => `${s.n}x ${s.state} after "${s.query}"`).join(', ') || 'none'}`;
  return { text, pool, sessions };
}

/**
 * Aborts a phase that stops making progress: `guard(p)` rejects once nothing called `progress()` for
 * `stallMs`, or `maxMs` after the start.
 */
export class Watchdog {
  private last = Date.now();
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  reason: string | undefined;
  private rejectAll!: (error: Error) => void;
  private readonly aborted: Promise<never>;

  constructor(private readonly stallMs: number, private readonly maxMs: number) {
    this.aborted = new Promise<never>((_, reject) => {
      this.rejectAll = reject;
    });
    this.aborted.catch(() => {});
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.last > this.stallMs) this.abort(`no progress for ${this.stallMs / 1000} s`);
      else if (now - this.started > this.maxMs) this.abort(`still running after ${this.maxMs / 1000} s`);
    }, 250);
  }

  progress(): void {
    this.last = Date.now();
  }

  abort(reason: string): void {
    if (this.reason) return;
    this.reason = reason;
    clearInterval(this.timer);
    this.rejectAll(new Error(`aborted: ${reason}`));
  }

  guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.aborted]);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
