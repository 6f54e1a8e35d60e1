import { LogLevel, SocketModeReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

const APP_TOKEN = 'xapp-1-A0DBACCESS-1-fake';
/** The SDK logs its expected failures (a refused token, a dropped connection) at error: not here. */
const silent = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };
const platformError = (error: unknown) => (error as { data?: { error?: string } }).data?.error;

/**
 * The Socket Mode double against the real client: @slack/socket-mode as Bolt's SocketModeReceiver
 * builds it, with the SDK's own reconnection (dbaccess turns that off and reconnects itself; the
 * double must serve both).
 */
describe('fake Slack: Socket Mode', () => {
  let fake: FakeSlack;
  let receivers: SocketModeReceiver[] = [];
  beforeAll(async () => {
    fake = await startFakeSlack({ teamId: 'T0ACME', socketMode: { appToken: APP_TOKEN, ackTimeoutMs: 500, pingIntervalMs: 200 } });
  });
  afterEach(async () => {
    for (const receiver of receivers) await receiver.client.disconnect();
    receivers = [];
    await fake.socket!.waitForNoConnection();
  });
  afterAll(async () => {
    await fake?.close();
  });
  const client = (appToken = APP_TOKEN) => {
    const receiver = new SocketModeReceiver({
      appToken, logger: silent, clientPingTimeout: 300,
      installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } },
    });
    receivers.push(receiver);
    return receiver.client;
  };
  const web = (token: string) => new WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });

  it('opens connections for the app-level token only, and the app-level token calls nothing else', async () => {
    expect(await web(APP_TOKEN).apps.connections.open({})).toMatchObject({ ok: true, url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f]{32}&app_id=A0DBACCESS$/) });
    await expect(web('xapp-1-A0DBACCESS-1-other').apps.connections.open({})).rejects.toSatisfy((error) => platformError(error) === 'invalid_auth');
    await expect(web('xoxb-bot').apps.connections.open({})).rejects.toSatisfy((error) => platformError(error) === 'not_allowed_token_type');
    await expect(web(APP_TOKEN).chat.postMessage({ channel: 'C0X', text: 'x' })).rejects.toSatisfy((error) => platformError(error) === 'not_allowed_token_type');
    // The SDK gives up at once on a refused token (no retry loop).
    await expect(client('xapp-1-A0DBACCESS-1-other').start()).rejects.toSatisfy((error) => platformError(error) === 'invalid_auth');
  });

  it('says hello with Slack fields, and a URL works once', async () => {
    const url = fake.socket!.mintUrl();
    const first = new WebSocket(url);
    const hello = await new Promise<Record<string, unknown>>((resolve) => first.once('message', (data) => resolve(JSON.parse(String(data)))));
    expect(hello).toMatchObject({ type: 'hello', num_connections: 1, debug_info: { host: expect.any(String), build_number: expect.any(Number) }, connection_info: { app_id: 'A0DBACCESS' } });
    const again = new WebSocket(url);
    const refused = await new Promise<string>((resolve) => again.once('error', (error) => resolve(error.message)));
    expect(refused).toMatch(/401/);
    first.close();
  });

  it('delivers envelopes the SDK acknowledges, with the answer in the acknowledgement; no acknowledgement is a failure', async () => {
    const sm = client();
    sm.on('slash_commands', ({ ack, body }: { ack: (payload?: object) => Promise<void>; body: { text: string } }) => void ack({ text: `you said ${body.text}` }));
    const events: Array<{ retry_num: number }> = [];
    sm.on('user_change', (event: { ack: () => Promise<void>; retry_num: number }) => {
      events.push(event);
      void event.ack();
    });
    await sm.start();
    const socket = fake.socket!;
    expect(await socket.deliver('slash_commands', { command: '/dbaccess', text: 'help', team_id: 'T0ACME' })).toMatchObject({ type: 'slash_commands', payload: { text: 'you said help' } });
    expect(await socket.deliver('events_api', { type: 'event_callback', event: { type: 'user_change' } }, { retryAttempt: 1, retryReason: 'timeout' })).toMatchObject({ payload: {} });
    expect(events.map((event) => event.retry_num)).toEqual([1]);
    // Nothing listens to interactive envelopes here: nobody acknowledges.
    await expect(socket.deliver('interactive', { type: 'block_actions' })).rejects.toThrow(/no acknowledgement of the interactive envelope within 500 ms/);
    expect(socket.strayMessages).toEqual([]);
  });

  it('the SDK reconnects by itself after a disconnect message and after a drop, through a new apps.connections.open', async () => {
    const sm = client();
    await sm.start();
    const socket = fake.socket!;
    const count = socket.connections.length;
    const minted = socket.urlsMinted;
    socket.disconnect('refresh_requested');
    await socket.waitForConnections(count + 1);
    socket.drop();
    await socket.waitForConnections(count + 2);
    expect(socket.urlsMinted).toBe(minted + 2);
    expect(socket.connections.slice(-3).map((connection) => connection.closeCode)).toEqual([1000, 1006, undefined]);
    // Heartbeats both ways on the live connection.
    const live = socket.connections.at(-1)!;
    await expect.poll(() => live.pingsFromClient > 0 && live.pongsFromClient > 0, { timeout: 5000 }).toBe(true);
  });
});
