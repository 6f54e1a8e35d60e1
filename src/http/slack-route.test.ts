import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { HTTPReceiver } from '@slack/bolt';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createSlackScreen, createViewSeal } from '../chat/slack/slack-screen.js';
import { urgentFirst } from '../lib/async.js';
import { slackRoute } from './slack-route.js';

describe('the Slack route marks arrivals for work that can wait', () => {
  const closing: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  it('counts a connection from its accept until its request is read', async () => {
    // A limit far longer than the test: only arrivals and answers move the gate.
    const gate = urgentFirst(60_000, 1);
    const app = Fastify();
    const secret = 'a-signing-secret';
    await app.register(slackRoute, { receiver: new HTTPReceiver({ signingSecret: secret, endpoints: ['/slack/events'] }), screen: createSlackScreen(secret, createViewSeal(Buffer.alloc(32, 1))), arrived: gate.begin });
    app.get('/healthz', async () => ({ status: 'ok' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closing.push(() => app.close());
    const { port } = app.server.address() as { port: number };

    // Connected, nothing sent yet: under a burst, a request the process has accepted but not yet read.
    const accepted = once(app.server, 'connection');
    const socket: Socket = connect(port, '127.0.0.1');
    closing.push(async () => void socket.destroy());
    await accepted;
    expect(gate.running).toBe(1);
    const order: string[] = [];
    const later = gate.idle().then(() => order.push('work that waited'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);

    // Its request read (this one is not Slack's, so nothing else marks it): the work goes.
    order.push('request sent');
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await later;
    expect(order).toEqual(['request sent', 'work that waited']);
    expect(gate.running).toBe(0);
  });

  it('lets go of a connection that closes without a request', async () => {
    const gate = urgentFirst(60_000, 1);
    const app = Fastify();
    const secret = 'a-signing-secret';
    await app.register(slackRoute, { receiver: new HTTPReceiver({ signingSecret: secret, endpoints: ['/slack/events'] }), screen: createSlackScreen(secret, createViewSeal(Buffer.alloc(32, 1))), arrived: gate.begin });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closing.push(() => app.close());
    const { port } = app.server.address() as { port: number };
    const accepted = once(app.server, 'connection');
    const socket = connect(port, '127.0.0.1');
    const [serverSide] = (await accepted) as [Socket];
    expect(gate.running).toBe(1);
    const closed = once(serverSide, 'close');
    socket.destroy();
    await closed;
    expect(gate.running).toBe(0);
    await gate.idle();
  });
});
