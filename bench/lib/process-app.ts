import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEOPLE, SIGNING_SECRET, TEAM, APPROVERS_CHANNEL, deleteRedisPrefix } from '../../test/support/app-harness.js';
import { MARIADB_ADMIN_URL, createMariaTarget, createStateDatabase, createTargetDatabase } from '../../test/support/databases.js';
import { startFakeSlack, type FakeSlack } from '../../test/support/fake-slack.js';
import { freePort } from '../../test/support/ports.js';
import { spawnApp, type AppProcess } from '../../test/support/processes.js';
import { SERVICES } from '../../test/support/services.js';
import { blockAction, newTriggerId, plainTextInput, postSigned, slashCommand, staticSelect, viewSubmission, type SignedResponse } from '../../test/support/slack-requests.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { dropRolesWithPrefix } from './bench-harness.js';
import { SlackIndex } from './slack-index.js';

/**
 * dbaccess as an operator runs it, for benches that kill it: `src/main.ts` in a process of its own
 * (test/support/processes.ts, as chaos/ starts it), web and worker together, on a fresh state database
 * (5432), the machine's Redis under a prefix of its own, the fake Slack in the bench's process, and two
 * targets: `orders` (PostgreSQL, the scram cluster on 5433) and `shop` (MariaDB on 3306). With
 * `proxied`, the app reaches both targets' admin connections through a TCP proxy the bench can hold or
 * cut (test/support/tcp-proxy.ts); the people's own connections (the DMed URIs) go straight to the
 * target, so an outage between the app and the target leaves their sessions up, the case that matters.
 */
export type Engine = 'postgres' | 'mariadb';
export const DATABASE_OF: Record<Engine, string> = { postgres: 'orders', mariadb: 'shop' };

export async function startProcessApp(options: { proxied?: boolean; env?: Record<string, string> } = {}) {
  const [state, pgTarget, mariaTarget, slack] = await Promise.all([createStateDatabase(), createTargetDatabase(), createMariaTarget(), startFakeSlack({ teamId: TEAM })]);
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-bench-proc-'));
  const prefix = `bp${randomBytes(3).toString('hex')}_`;
  const queuePrefix = `dbaccess-bench-${randomBytes(4).toString('hex')}`;
  const proxies = options.proxied ? { postgres: await startTcpProxy(5433), mariadb: await startTcpProxy(3306) } : undefined;
  const pgAdmin = new URL(pgTarget.adminUrl);
  const mariaAdmin = new URL(mariaTarget.adminUrl);
  if (proxies) {
    pgAdmin.port = String(proxies.postgres.port);
    mariaAdmin.port = String(proxies.mariadb.port);
  }
  const catalogPath = join(dir, 'dbaccess.yaml');
  writeFileSync(catalogPath, `approvers:
  slack: { channel: ${APPROVERS_CHANNEL}, users: [${PEOPLE.alice}, ${PEOPLE.bob}] }
settings:
  minDuration: 2s
  userPrefix: ${prefix}
  pendingTimeout: 1h
policies:
  - { name: bench, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5433, database: ${pgTarget.name}, environment: production, admin: env:ORDERS_ADMIN_URL, maxDuration: 4h }
  - { id: shop, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${mariaTarget.name}, environment: production, admin: env:SHOP_ADMIN_URL, maxDuration: 4h }
`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: state.url,
    DATA_DIR: dir,
    DBACCESS_CONFIG: catalogPath,
    MASTER_KEY: randomBytes(32).toString('hex'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'info',
    ORDERS_ADMIN_URL: pgAdmin.toString(),
    SHOP_ADMIN_URL: mariaAdmin.toString(),
    REDIS_URL: SERVICES.redis,
    QUEUE_PREFIX: queuePrefix,
    ...options.env,
  };
  const index = new SlackIndex(slack, APPROVERS_CHANNEL);
  let app: AppProcess | undefined;
  let responses = 0;
  const post = (body: string, contentType?: string): Promise<SignedResponse> => postSigned(url, '/slack/events', body, { secret: SIGNING_SECRET, ...(contentType ? { contentType } : {}) });

  /** Starts the process; resolves with Date.now() when it logged "dbaccess started" (its server listening, its workers running). */
  async function start(): Promise<{ spawnedAt: number; upAt: number }> {
    const spawnedAt = Date.now();
    app = spawnApp('src/main.ts', env);
    const up = app;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        if (chunk.toString().includes('"msg":"dbaccess started"') || up.output().includes('"msg":"dbaccess started"')) {
          up.child.stdout!.off('data', onData);
          resolve();
        }
      };
      up.child.stdout!.on('data', onData);
      up.exited.then((code) => reject(new Error(`the app exited (${code}) at start: ${up.output().slice(-1500)}`)));
      setTimeout(() => reject(new Error(`the app did not start within 120 s: ${up.output().slice(-1500)}`)), 120_000).unref();
    });
    return { spawnedAt, upAt: Date.now() };
  }

  const close = async () => {
    index.close();
    if (app) await app.kill('SIGTERM');
    await slack.close();
    if (proxies) await Promise.all([proxies.postgres.close(), proxies.mariadb.close()]);
    await deleteRedisPrefix(queuePrefix);
    // The databases first: an access group cannot be dropped while it holds privileges in one.
    await Promise.all([state.drop(), pgTarget.drop(), mariaTarget.drop()]);
    await dropRolesWithPrefix(prefix).catch(() => 0);
    await dropMariaUsersWithPrefix(prefix).catch(() => 0);
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    env, url, slack, index, prefix, stateUrl: state.url, proxies,
    start,
    get process() {
      return app;
    },
    /** kill -9 of the app; resolves when it is gone. */
    async kill(): Promise<void> {
      await app?.kill('SIGKILL');
    },
    /** `/dbaccess` then the form for `databaseId`, as `user`; the request id comes back from the receipt DM. */
    async submit(user: string, databaseId: string, duration: string): Promise<string> {
      const trigger = newTriggerId();
      const command = await post(slashCommand({ teamId: TEAM, userId: user, text: '', triggerId: trigger, responseUrl: slack.responseUrl(`bench-cmd-${++responses}`, { user }) }));
      if (command.status !== 200) throw new Error(`/dbaccess answered ${command.status}: ${command.body}`);
      const opened = await index.wait('viewsOpen', trigger, 15_000);
      const view = (opened.call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view;
      const submitted = await post(viewSubmission({
        teamId: TEAM, userId: user, view,
        values: {
          databaseId: { value: staticSelect(databaseId) }, level: { value: staticSelect('read') }, scope: { value: plainTextInput(null) },
          duration: { value: plainTextInput(duration) }, reason: { value: plainTextInput('Investigate the failed payouts of last night for OPS-1234') }, ticket: { value: plainTextInput(null) },
        },
      }));
      if (submitted.status !== 200 || /"errors"/.test(submitted.body)) throw new Error(`the form submission answered ${submitted.status}: ${submitted.body}`);
      return index.requestIdOf(user, 15_000);
    },
    /** Approve on the card of `requestId` (as alice); resolves with the credentials URI from the DM. */
    async approve(requestId: string): Promise<string> {
      const card = await index.wait('card', requestId, 30_000);
      const message = slack.message(card.channel, card.ts);
      if (!message) throw new Error(`the card of ${requestId} is gone`);
      const answer = await post(blockAction({ teamId: TEAM, userId: PEOPLE.alice, actionId: 'dbaccess.approve', message, channelId: message.channel, responseUrl: slack.responseUrl(`bench-click-${++responses}`, { user: PEOPLE.alice, channel: message.channel, messageTs: message.ts }) }));
      if (answer.status !== 200) throw new Error(`the approve click answered ${answer.status}`);
      const dm = await index.wait('credentials', requestId, 30_000);
      const text = JSON.stringify(dm.call.args);
      const uri = /(postgresql|mysql):\/\/[^\s`"\\]+/.exec(text)?.[0];
      if (!uri) throw new Error(`no URI in the DM of ${requestId}`);
      return uri;
    },
    /** `/dbaccess revoke <id>` as `user` (End access, typed). */
    revoke: (user: string, requestId: string) => post(slashCommand({ teamId: TEAM, userId: user, text: `revoke ${requestId}`, responseUrl: slack.responseUrl(`bench-cmd-${++responses}`, { user }) })),
    /** The person deactivated in Slack: a signed `user_change` event with `deleted: true`. */
    offboard: (user: string) => post(JSON.stringify({
      token: 'unused', team_id: TEAM, api_app_id: 'A0DBACCESS', type: 'event_callback', event_id: `Ev0SLO${randomBytes(5).toString('hex')}`, event_time: Math.floor(Date.now() / 1000),
      event: { type: 'user_change', user: { id: user, team_id: TEAM, deleted: true }, event_ts: `${Date.now() / 1000}` },
    }), 'application/json'),
    close,
  };
}

/** MariaDB accounts are server-wide: those left with the bench's prefix go too. */
async function dropMariaUsersWithPrefix(prefix: string): Promise<number> {
  if (prefix.length < 4) throw new Error('refusing to drop users with a short prefix');
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
  try {
    const [rows] = await connection.query('SELECT User AS user, Host AS host FROM mysql.user WHERE LEFT(User, ?) = ?', [prefix.length, prefix]);
    for (const { user, host } of rows as Array<{ user: string; host: string }>) await connection.query('DROP USER IF EXISTS ?@?', [user, host]);
    return (rows as unknown[]).length;
  } finally {
    await connection.end();
  }
}

export type ProcessApp = Awaited<ReturnType<typeof startProcessApp>>;
export type { FakeSlack };
