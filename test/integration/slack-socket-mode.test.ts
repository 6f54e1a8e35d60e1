import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_TOKEN, PEOPLE, SIGNING_SECRET, TEAM, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createStateDatabase } from '../support/databases.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { freePort } from '../support/ports.js';
import { spawnApp } from '../support/processes.js';
import { postSigned, slashCommand } from '../support/slack-requests.js';

const STACK_LINE = /^\s+at .+/m;
const REFUSED = "Slack refused SLACK_APP_TOKEN (invalid_auth): copy an app-level token with connections:write from App-Level Tokens in the Slack app settings.";

/**
 * Slack without a public URL: dbaccess opens a WebSocket to Slack with the app-level token and takes
 * commands, clicks and events from it (the lifecycle itself: slack-lifecycle.test.ts, over socket).
 * Set up as the README says: SLACK_BOT_TOKEN and SLACK_APP_TOKEN, no signing secret.
 */
describe('Slack in Socket Mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres', slack: { socketMode: { pingIntervalMs: 500 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('serves no HTTP path for Slack: POST /slack/events is 404, signed or not', async () => {
    const body = slashCommand({ teamId: TEAM, userId: PEOPLE.requester, text: 'help', responseUrl: h.slack.responseUrl('http-try') });
    expect((await postSigned(h.url, '/slack/events', body, { secret: SIGNING_SECRET })).status).toBe(404);
    expect((await fetch(`${h.url}/slack/events`, { method: 'POST', body: 'payload={}' })).status).toBe(404);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    expect(h.slack.socket!.acks).toEqual([]);
  });

  it('acknowledges each envelope (with the answer inside when it has one), keeps the heartbeat both ways, and takes events', async () => {
    const socket = h.slack.socket!;
    const help = await h.command(PEOPLE.requester, 'help');
    expect(help.status).toBe(200);
    expect((help.json as { text: string }).text).toContain('/dbaccess list');

    // An event is acknowledged at once, with nothing in the acknowledgement.
    const event = {
      token: 'unused', team_id: TEAM, api_app_id: 'A0DBACCESS', type: 'event_callback', event_id: 'Ev0SOCKET1', event_time: Math.floor(Date.now() / 1000),
      event: { type: 'user_change', user: { id: 'U0SOMEONE', team_id: TEAM, name: 'someone', deleted: false }, event_ts: `${Date.now() / 1000}` },
    };
    const eventAck = await socket.deliver('events_api', event);
    expect(eventAck.payload).toEqual({});

    // A click the app never drew (an interaction dbaccess does not offer) is refused as over HTTP: no acknowledgement.
    const stranger = await socket.deliver('interactive', { type: 'block_actions', team: { id: TEAM }, user: { id: PEOPLE.mallory, team_id: TEAM }, actions: [{ action_id: 'someone.else', type: 'button' }] }).catch((error: Error) => error);
    expect(String(stranger)).toMatch(/no acknowledgement/);

    expect(socket.acks.map((ack) => [ack.type, ack.ms < 3000])).toEqual([['slash_commands', true], ['events_api', true]]);
    expect(socket.strayMessages).toEqual([]);
    // The client pings (every 5/3 s) and answers the server's pings (every 0.5 s here).
    await waitUntil(() => socket.connections[0]!.pingsFromClient >= 1 && socket.connections[0]!.pongsFromClient >= 2, 10_000, 'pings and pongs');
  });

  it('opens a new connection when Slack asks (refresh_requested, warning) and when the connection drops; the next command still works', async () => {
    const socket = h.slack.socket!;
    const opened = () => h.slack.callsTo('apps.connections.open');
    const views = () => h.slack.callsTo('views.open').length;
    expect(opened()).toHaveLength(1);

    socket.disconnect('refresh_requested');
    await socket.waitForConnections(2);
    // The client closed the old connection itself, properly, and asked for a new URL with its app token.
    expect(socket.connections[0]).toMatchObject({ closeCode: 1000 });
    expect(opened().map((call) => [call.token, call.status, (call.response as { ok: boolean }).ok])).toEqual([[APP_TOKEN, 200, true], [APP_TOKEN, 200, true]]);
    const submitted = await h.submitRequest(PEOPLE.requester, { reason: 'Socket Mode after a refresh: look at the payouts' });
    expect(submitted.status).toBe(200);
    await h.waitForCard((card) => JSON.stringify(card.blocks).includes('Socket Mode after a refresh'));

    socket.drop();
    await socket.waitForConnections(3);
    expect(socket.connections[1]).toMatchObject({ closeCode: 1006 });
    const before = views();
    expect((await h.command(PEOPLE.requester, '')).status).toBe(200);
    await waitUntil(() => views() === before + 1, 5000, 'the form opened after the drop');

    socket.disconnect('warning');
    await socket.waitForConnections(4);
    expect((await h.command(PEOPLE.requester, 'help')).status).toBe(200);
    expect(opened()).toHaveLength(4);
    expect(socket.strayMessages).toEqual([]);
  });
});

describe('Slack in Socket Mode: starting and stopping', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let slack: FakeSlack;
  let dir: string;
  beforeAll(async () => {
    [state, slack] = await Promise.all([createStateDatabase(), startFakeSlack({ teamId: TEAM, socketMode: { appToken: APP_TOKEN } })]);
    dir = mkdtempSync(join(tmpdir(), 'dbaccess-socket-'));
  });
  afterAll(async () => {
    await slack?.close();
    await state?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const env = async (appToken: string) => ({
    PORT: String(await freePort()), HOST: '127.0.0.1', DATABASE_URL: state.url, DATA_DIR: dir, DBACCESS_CONFIG: join(dir, 'none.yaml'),
    SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_APP_TOKEN: appToken, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'info',
  });

  it('a refused app token fails the harness start at once, with the one-line reason', async () => {
    const started = Date.now();
    const failed = await startHarness({ queue: 'postgres', slack: { socketMode: { appToken: 'xapp-1-A0DBACCESS-1-revoked' } } }).then(
      (harness) => harness.close().then(() => undefined),
      (error: Error) => error,
    );
    expect(failed?.message).toBe(REFUSED);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('npm start with a refused app token: one line on stderr naming SLACK_APP_TOKEN, exit 1, no stack trace', async () => {
    const app = spawnApp('src/main.ts', await env('xapp-1-A0DBACCESS-1-revoked'));
    const code = await app.exited;
    expect(code).toBe(1);
    expect(app.stderr().trim().split('\n')).toEqual([`dbaccess: ${REFUSED}`]);
    expect(app.output()).not.toMatch(STACK_LINE);
    expect(app.output()).not.toContain('xapp-1-A0DBACCESS-1-revoked');
  }, 90_000);

  it('npm start connects after the server is ready; a Ctrl-C closes the connection properly and exits within 2 s, quietly', async () => {
    const socket = slack.socket!;
    const before = socket.connections.length;
    const app = spawnApp('src/main.ts', await env(APP_TOKEN));
    try {
      await app.waitFor('Slack: connected over Socket Mode');
      const output = app.output();
      expect(output.indexOf('Server listening at')).toBeGreaterThan(-1);
      expect(output.indexOf('Server listening at')).toBeLessThan(output.indexOf('Slack: connected over Socket Mode'));
      await socket.waitForConnections(before + 1);

      const quietFrom = app.output().length;
      const stopping = Date.now();
      app.child.kill('SIGINT');
      expect(await app.exited).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(2000);
      await socket.waitForNoConnection();
      expect(socket.connections.at(-1)).toMatchObject({ closeCode: 1000 });
      const after = app.output().slice(quietFrom);
      expect(after).not.toMatch(STACK_LINE);
      expect(after.split('\n').filter((line) => /"level":(40|50|60)/.test(line))).toEqual([]);
      expect(app.stderr()).toBe('');
      expect(app.output()).not.toContain(APP_TOKEN);
    } finally {
      await app.kill();
    }
  }, 90_000);
});
