import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainer, type Container } from '../../src/app/container.js';
import { CONSOLE_PEOPLE } from '../../src/app/sandbox.js';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/lib/logger.js';
import { PEOPLE, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { targetSessionsOf } from '../support/databases.js';
import { auditOf, requestRow, waitForState } from '../support/ways-out.js';

/**
 * The console's ways out (Cancel for the requester and the approver, Revoke), and its memory: after
 * a restart on the same state database it draws every request in flight again, with its buttons.
 */
interface Message { id: string; kind: string; channel: string; requestId?: string; text: string; actions: Array<{ action: string }>; data?: { password?: string } }

const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' } });
const form = (reason: string) => ({ databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '30m', reason, ticket: '' });

describe('ways out in the console, and a restart', () => {
  let h: Harness;
  let url: string;
  let restarted: Container | undefined;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis', env: { CONSOLE: 'on' },
      policy: `policies:\n  - { name: tests, approvers: [${PEOPLE.alice}, ${CONSOLE_PEOPLE.approver}], mfa: never }\n`,
    });
    url = h.url;
  });
  afterAll(async () => {
    await restarted?.stop();
    await h?.close();
  });

  const messages = async () => ((await (await fetch(`${url}/console/api/state`)).json()) as { messages: Message[] }).messages;
  const cardOf = async (id: string) => (await messages()).find((m) => m.kind === 'card' && m.requestId === id);
  const receiptOf = async (id: string) => (await messages()).find((m) => m.id === `received-${id}`);
  const act = async (action: string, requestId: string, as: 'requester' | 'approver') => (await (await fetch(`${url}/console/api/actions`, json({ action, requestId, as }))).json()) as { ok: boolean; message: string };
  const actions = (message: Message | undefined) => message?.actions.map((a) => a.action);
  async function submit(reason: string): Promise<string> {
    const created = await fetch(`${url}/console/api/requests`, json(form(reason)));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await waitUntil(async () => (await receiptOf(id)) && (await cardOf(id)), 20_000, 'the card and the receipt');
    return id;
  }

  it('Cancel for the requester (receipt) and the approver (card); the buttons go at once', async () => {
    const mine = await submit('Cancel me: count the failed payouts of last night');
    expect(actions(await cardOf(mine))).toEqual(['approve', 'approveWithChanges', 'deny', 'cancel']);
    expect(actions(await receiptOf(mine))).toEqual(['cancel']);
    expect(await act('cancel', mine, 'requester')).toEqual({ ok: true, message: `Request ${mine} is cancelled.` });
    await waitUntil(async () => actions(await cardOf(mine))!.length === 0 && actions(await receiptOf(mine))!.length === 0, 10_000, 'no buttons left');
    expect((await cardOf(mine))!.text).toMatch(/Cancelled$/);

    const theirs = await submit('Approver cancels: check the payouts batch of last night');
    expect(await act('cancel', theirs, 'approver')).toEqual({ ok: true, message: `Request ${theirs} is cancelled.` });
    await waitForState(h.app, theirs, 'cancelled');
    expect(await act('cancel', theirs, 'approver')).toEqual({ ok: false, message: `Request ${theirs} is already cancelled. Nothing changed.` });
    expect(await auditOf(h.app, `request:${theirs}`)).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'request.cancelled', details: expect.objectContaining({ by: 'approver' }) })]));
  });

  it('after a restart on the same state database, requests in flight are all on screen again, with their ways out', async () => {
    const pending = await submit('Still pending across a restart: refunds of last week');
    const active = await submit('Active across a restart: payouts of last night');
    expect(await act('approve', active, 'approver')).toMatchObject({ ok: true });
    const credentials = await waitUntil(async () => (await messages()).find((m) => m.kind === 'credentials' && m.requestId === active), 20_000, 'the credentials');
    const username = (credentials.data as { username: string }).username;

    await h.app.stop();
    const config = loadConfig(h.env);
    restarted = await createContainer(config, { logger: createLogger(config.env.LOG_LEVEL) });
    await restarted.start();
    const address = restarted.http!.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    // Everything in flight is back: the cards with their buttons, and the requester's messages.
    expect(actions(await cardOf(pending))).toEqual(['approve', 'approveWithChanges', 'deny', 'cancel']);
    expect(actions(await receiptOf(pending))).toEqual(['cancel']);
    expect(actions(await cardOf(active))).toEqual(['end']);
    const inbox = (await messages()).find((m) => m.id === `dm-${active}`)!;
    expect(inbox.text).toContain(`active until`);
    expect(actions(inbox)).toEqual(['end']);
    // No password comes back from the state database.
    expect(JSON.stringify(await messages())).not.toMatch(/"password"/);

    // And its ways out work: Revoke kills the access, Cancel ends the pending one.
    expect(await act('end', active, 'approver')).toMatchObject({ ok: true, message: expect.stringMatching(/^Ending access for/) });
    await waitForState(restarted, active, 'revoked');
    expect(await targetSessionsOf(username)).toBe(0);
    await expect(new pg.Client({ connectionString: `postgresql://${username}:x@127.0.0.1:5433/postgres` }).connect()).rejects.toThrow();
    expect(await act('cancel', pending, 'requester')).toMatchObject({ ok: true });
    expect((await requestRow(restarted, pending))!.state).toBe('cancelled');
  });
});
