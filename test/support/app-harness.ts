import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createContainer, type Container } from '../../src/app/container.js';
import { loadConfig } from '../../src/config/env.js';
import { runMigrations } from '../../src/db/client.js';
import { createLogger, type LogDestination, type Logger } from '../../src/lib/logger.js';
import { asSystem } from '../../src/db/tenant-scope.js';
import { createStateDatabase, createTargetDatabase } from './databases.js';
import { startFakeSlack, type FakeSlack, type RecordedCall, type SlackMessage } from './fake-slack.js';
import type { EnvelopeType, FakeSlackSocket, FakeSlackSocketOptions } from './fake-slack-socket.js';
import { SERVICES } from './services.js';
import {
  blockAction, plainTextInput, postSigned, slashCommand, staticSelect, viewSubmission, type SignedResponse,
} from './slack-requests.js';

export const TEAM = 'T0ACME';
export const APPROVERS_CHANNEL = 'C0APPROVALS';
export const PEOPLE = { requester: 'U0REQUESTER', alice: 'U0ALICE', bob: 'U0BOB', mallory: 'U0MALLORY' } as const;
export const SIGNING_SECRET = 'test-signing-secret';
/** The app-level token the fake Slack knows, in Socket Mode. */
export const APP_TOKEN = 'xapp-1-A0DBACCESS-1-test';

export interface HarnessOptions {
  queue: 'redis' | 'postgres';
  /** Extra YAML under `settings:`. */
  settings?: Record<string, string>;
  /** Extra databases to append to the catalog (YAML list items). */
  extraDatabases?: string;
  /**
   * Catalog sections (roles, policies, rules) in YAML. Default: one policy that never asks for MFA,
   * so that flows do not depend on the time of day the risk rating sees.
   */
  policy?: string;
  /**
   * The team's usual hours, which the risk rating reads the request's hour against. Default 'always':
   * a rating does not change with the hour a test happens to run at (one moved from High to Critical
   * after 18:00 UTC). 'catalog' keeps the built-in business-hours (or the `rules.windows` of `policy`,
   * which always wins when it has a `rules:` section).
   */
  usualHours?: 'always' | 'catalog';
  env?: Record<string, string>;
  /** Teams approvers (channel id and emails) beside the Slack ones. */
  teamsApprovers?: { channel: string; users: string[] };
  /** A target database made beforehand (for services, such as a fake Vault, that must know it first). */
  target?: { name: string; adminUrl: string; drop(): Promise<void> };
  /** The whole catalog file instead of the default one (it gets the target, the user prefix and the default catalog). */
  catalog?: (parts: { target: { name: string }; prefix: string; standard: string }) => string;
  /** People and user groups the fake Slack knows (users.info, usergroups.list). */
  slackDirectory?: { users?: Record<string, { email?: string }>; usergroups?: Record<string, string[]>; scopes?: readonly string[] };
  /** The app's logger (default: the product's, at TEST_LOG_LEVEL or silent), e.g. to read what it logs. */
  logger?: Logger;
  /**
   * What a query outside any tenant or system scope gets from a tenant's table. Default 'error': the
   * state database raises, so a code path (or a test's own query) that forgot its tenant fails where
   * it runs instead of quietly seeing nothing. 'empty': nothing, as in production.
   */
  unscopedQueries?: 'error' | 'empty';
  /** Where the app's log lines go (default stdout, at TEST_LOG_LEVEL or silent): the app's own logger, with its scrubbing. */
  log?: LogDestination;
  /**
   * How Slack reaches the app: signed HTTP posts to /slack/events (default), or Socket Mode through the
   * fake's WebSocket double, with SLACK_APP_TOKEN and no signing secret, as a newcomer sets it up.
   */
  slack?: 'http' | { socketMode: FakeSlackSocketOptions & { appToken?: string } };
  /** The app's clock for requests and leases (a test moves it instead of waiting). */
  now?: () => Date;
}

export interface Harness {
  app: Container;
  url: string;
  slack: FakeSlack;
  target: { name: string; adminUrl: string };
  prefix: string;
  redisPrefix: string;
  /** The catalog file the app watches. */
  catalogPath: string;
  /**
   * Sends a correctly signed Slack request to the running server; in Socket Mode, the same payload as
   * an envelope on the socket, answered with what the acknowledgement carried (status 0 without one).
   */
  post(body: string, sign?: { timestamp?: number; signature?: string }): Promise<SignedResponse>;
  /** `/dbaccess <text>` as `user` of a workspace (default: TEAM). */
  command(user: string, text: string, teamId?: string): Promise<SignedResponse>;
  /** Opens the form with `/dbaccess` and submits it; returns the HTTP answer to the submission. */
  submitRequest(user: string, values: Partial<Record<'databaseId' | 'level' | 'scope' | 'duration' | 'reason' | 'ticket', string>> & { breakGlass?: boolean }, teamId?: string): Promise<SignedResponse>;
  /** Clicks a button of a message as `user` (of a workspace; default: TEAM). */
  click(user: string, actionId: string, message: SlackMessage, teamId?: string): Promise<SignedResponse>;
  /** The approval card of the newest request, once posted. */
  waitForCard(predicate?: (message: SlackMessage) => boolean, timeoutMs?: number): Promise<SlackMessage>;
  waitForMessage(channel: string, predicate: (message: SlackMessage) => boolean, timeoutMs?: number): Promise<SlackMessage>;
  /** Starts another process's worth of dbaccess (RUN_MODE=worker) on the same state and queue. */
  startWorker(): Promise<Container>;
  /** The environment the app was started with (for a dbaccess started elsewhere, e.g. a worker process). */
  env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Everything a message shows, as one string (text and every text field of its blocks). */
export function shown(message: Pick<SlackMessage, 'text' | 'blocks'> | RecordedCall['args']): string {
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) if (key === 'text' || key === 'fields' || key === 'elements' || key === 'blocks') walk(inner);
    }
  };
  walk({ text: (message as { text?: unknown }).text, blocks: (message as { blocks?: unknown }).blocks });
  return parts.join('\n');
}

export const hasButton = (message: Pick<SlackMessage, 'blocks'>, actionId: string) => JSON.stringify(message.blocks ?? []).includes(`"action_id":"${actionId}"`);

export async function waitUntil<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts dbaccess against a fresh state database, a fresh target database and a fake Slack. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const socketMode = options.slack && options.slack !== 'http' ? options.slack.socketMode : undefined;
  const [state, target, slack] = await Promise.all([
    createStateDatabase(),
    options.target ?? createTargetDatabase(),
    startFakeSlack({ teamId: TEAM, ...options.slackDirectory, ...(socketMode ? { socketMode: { ...socketMode, appToken: APP_TOKEN } } : {}) }),
  ]);
  if (options.unscopedQueries !== 'empty') await failUnscopedQueries(state.url);
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-test-'));
  const prefix = `t${randomBytes(3).toString('hex')}_`;
  const redisPrefix = `dbaccess-test-${randomBytes(4).toString('hex')}`;
  const settings = { minDuration: '2s', userPrefix: prefix, ...options.settings };
  const catalogPath = join(dir, 'dbaccess.yaml');
  const policy = options.policy ?? `policies:\n  - { name: tests, approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never }\n`;
  const usualHoursAlways = (options.usualHours ?? 'always') === 'always' && !/^rules:/m.test(policy);
  const standard =
    `approvers:
  slack: { channel: ${APPROVERS_CHANNEL}, users: [${PEOPLE.alice}, ${PEOPLE.bob}] }
${options.teamsApprovers ? `  teams: { channel: "${options.teamsApprovers.channel}", users: [${options.teamsApprovers.users.join(', ')}] }\n` : ''}settings:
${Object.entries(settings).map(([key, value]) => `  ${key}: ${value}`).join('\n')}
${policy}${usualHoursAlways ? `rules:\n  windows:\n    business-hours: { days: [daily], hours: ['00:00-24:00'] }\n` : ''}databases:
  - id: orders
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: ${target.name}
    environment: production
    admin: env:ORDERS_ADMIN_URL
    maxDuration: 4h
    tags: [pii]
${options.extraDatabases ?? ''}`;
  writeFileSync(catalogPath, options.catalog ? options.catalog({ target, prefix, standard }) : standard);
  const envVars: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: state.url,
    DATA_DIR: dir,
    DBACCESS_CONFIG: catalogPath,
    MASTER_KEY: randomBytes(32).toString('hex'),
    ...(socketMode ? { SLACK_APP_TOKEN: socketMode.appToken ?? APP_TOKEN } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ORDERS_ADMIN_URL: target.adminUrl,
    SWEEP_INTERVAL: '1s',
    CATALOG_POLL_INTERVAL: '1s',
    ...(options.queue === 'redis' ? { REDIS_URL: SERVICES.redis, QUEUE_PREFIX: redisPrefix } : {}),
    ...options.env,
  };
  const config = loadConfig(envVars);
  const app = await createContainer(config, { logger: options.logger ?? createLogger(config.env.LOG_LEVEL, options.log), now: options.now });
  const extra: Container[] = [];
  const cleanUp = async () => {
    await slack.close();
    if (options.queue === 'redis') await deleteRedisPrefix(redisPrefix);
    await Promise.all([state.drop(), target.drop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await app.start();
  } catch (error) {
    // A start that fails (a refused token) leaves nothing behind.
    await app.stop();
    await cleanUp();
    throw error;
  }
  const address = app.http!.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  let responses = 0;

  const harness: Harness = {
    app, url, slack, target, prefix, redisPrefix, catalogPath, env: envVars,
    post: (body, sign = {}) => (slack.socket ? overSocket(slack.socket, body) : postSigned(url, '/slack/events', body, { secret: SIGNING_SECRET, ...sign })),
    command: (user, text, teamId = TEAM) => harness.post(slashCommand({ teamId, userId: user, text, responseUrl: slack.responseUrl(`cmd-${++responses}`, { user }) })),
    async submitRequest(user, values, teamId = TEAM) {
      const opened = slack.callsTo('views.open').length;
      const answer = await harness.command(user, '', teamId);
      if (answer.status !== 200) throw new Error(`/dbaccess answered ${answer.status}`);
      const call = await waitUntil(() => slack.callsTo('views.open')[opened], 5000, 'views.open');
      const view = (call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view;
      const v = {
        databaseId: 'orders', level: 'read', scope: '', duration: '1h', reason: 'Investigate the failed payouts of last night for OPS-1234', ticket: '', ...values,
      };
      return harness.post(
        viewSubmission({
          teamId,
          userId: user,
          view,
          values: {
            databaseId: { value: staticSelect(v.databaseId) },
            level: { value: staticSelect(v.level) },
            scope: { value: plainTextInput(v.scope || null) },
            duration: { value: plainTextInput(v.duration) },
            reason: { value: plainTextInput(v.reason) },
            ticket: { value: plainTextInput(v.ticket || null) },
            ...(values.breakGlass
              ? { breakGlass: { value: { type: 'checkboxes', selected_options: [{ text: { type: 'plain_text', text: 'Break-glass: I need it now', emoji: true }, value: 'yes' }] } } }
              : {}),
          },
        }),
      );
    },
    click(user, actionId, message, teamId = TEAM) {
      return harness.post(
        blockAction({ teamId, userId: user, actionId, message, channelId: message.channel, responseUrl: slack.responseUrl(`click-${++responses}`, { user, channel: message.channel, messageTs: message.ts }) }),
      );
    },
    waitForMessage(channel, predicate, timeoutMs = 30_000) {
      return waitUntil(() => [...slack.messagesIn(channel)].reverse().find(predicate), timeoutMs, `a message in ${channel}`);
    },
    waitForCard(predicate = () => true, timeoutMs) {
      return harness.waitForMessage(APPROVERS_CHANNEL, (message) => !message.threadTs && predicate(message), timeoutMs);
    },
    async startWorker() {
      const workerConfig = loadConfig({ ...envVars, RUN_MODE: 'worker' });
      const worker = await createContainer(workerConfig, { logger: createLogger(workerConfig.env.LOG_LEVEL, options.log) });
      await worker.start();
      extra.push(worker);
      return worker;
    },
    async close() {
      for (const worker of extra) await worker.stop();
      await app.stop();
      await cleanUp();
    },
  };
  return harness;
}

/**
 * A body as Slack would post it to /slack/events, delivered as Socket Mode sends the same thing: a
 * slash command's form fields as the payload object, an interaction's `payload=` JSON, an event's JSON.
 */
async function overSocket(socket: FakeSlackSocket, body: string): Promise<SignedResponse> {
  const form = new URLSearchParams(body);
  const interaction = form.get('payload');
  const [type, payload]: [EnvelopeType, Record<string, unknown>] =
    interaction !== null ? ['interactive', JSON.parse(interaction)] : form.has('command') ? ['slash_commands', Object.fromEntries(form)] : ['events_api', JSON.parse(body)];
  try {
    const ack = await socket.deliver(type, payload);
    // The SDK sends `payload: {}` for a bare ack(); over HTTP, Bolt answers that with an empty body.
    const answer = ack.payload && Object.keys(ack.payload).length > 0 ? ack.payload : undefined;
    return { status: 200, body: answer ? JSON.stringify(answer) : '', json: answer };
  } catch (error) {
    return { status: 0, body: (error as Error).message, json: undefined };
  }
}

/**
 * Migrates a state database and makes its row-level security raise, instead of hiding the row, when
 * a query touches a tenant's row with no scope set (production hides it: see migration 0003).
 */
/** A request's lease, read as the system. */
export const leaseOf = (h: Harness, requestId: string) =>
  asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) }));

/** An active lease of `user`'s: asked for an hour, approved by Alice on its new card, provisioned. */
export async function activeLease(h: Harness, user: string) {
  const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
  await h.submitRequest(user, { duration: '1h' });
  const card = await h.waitForCard((m) => !before.has(m.ts));
  await h.click(PEOPLE.alice, 'dbaccess.approve', card);
  const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
  return waitUntil(async () => {
    const row = await leaseOf(h, requestId);
    return row?.provisionedAt ? row : undefined;
  }, 60_000, 'provisioning');
}

export async function failUnscopedQueries(stateUrl: string): Promise<void> {
  await runMigrations(stateUrl);
  const owner = new pg.Client({ connectionString: stateUrl });
  await owner.connect();
  try {
    await owner.query(`
      CREATE OR REPLACE FUNCTION dbaccess_tenant_visible(row_tenant uuid) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
      BEGIN
        IF coalesce(current_setting('dbaccess.tenant_id', true), '') = '' THEN
          RAISE EXCEPTION 'a query without a tenant scope touched a row of tenant %', row_tenant USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN current_setting('dbaccess.tenant_id', true) IN ('*', row_tenant::text);
      END
      $$`);
  } finally {
    await owner.end();
  }
}

/** Removes this test's keys only; the machine's Redis is shared, so never FLUSHALL. */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(SERVICES.redis);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
