import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';

/**
 * The console beside Slack (CONSOLE=on): who may reach it, what it refuses, and that each tenant's
 * notifications reach its own adapter only. The full browser flow is in console-browser.test.ts.
 */

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1', ...headers },
});
const form = { databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '30m', reason: 'Count the failed payouts of last night for finance', ticket: '' };

describe('the console on a Slack install', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis', env: { CONSOLE: 'on' } });
  });
  afterAll(() => h.close());

  it('refuses calls that do not come from its own page, and hosts other than this machine', async () => {
    const noHeader = await fetch(`${h.url}/console/api/requests`, { method: 'POST', body: JSON.stringify(form), headers: { 'content-type': 'application/json' } });
    expect(noHeader.status).toBe(403);
    const formPost = await fetch(`${h.url}/console/api/requests`, { method: 'POST', body: new URLSearchParams({ reason: 'x' }), headers: { 'x-dbaccess-console': '1' } });
    expect(formPost.status).toBe(403);
    // DNS rebinding: a page of another site resolving to 127.0.0.1 still names its own host.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const call = request(`${h.url}/console/api/state`, { headers: { host: 'evil.example:80' } }, (res) => resolve(res.statusCode ?? 0));
      call.on('error', reject);
      call.end();
    });
    expect(status).toBe(403);
    expect((await fetch(`${h.url}/console/api/state`)).status).toBe(200);
  });

  it('leads / and /console/ to the page, and serves its files with headers that keep them to itself', async () => {
    for (const path of ['/', '/console/']) {
      const answer = await fetch(`${h.url}${path}`, { redirect: 'manual' });
      expect(answer.status, path).toBe(302);
      expect(answer.headers.get('location'), path).toBe('/console');
    }
    const files = { '/console': /^text\/html/, '/console/app.js': /^(text|application)\/javascript/, '/console/app.css': /^text\/css/ };
    for (const [path, type] of Object.entries(files)) {
      const answer = await fetch(`${h.url}${path}`);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type'), path).toMatch(type);
      expect(answer.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(answer.headers.get('cache-control'), path).toBe('no-store');
      expect(answer.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    expect(await (await fetch(`${h.url}/console`)).text()).toContain('<script type="module" src="/console/app.js">');
    // Only the page's own files: nothing else of the source tree, however the path is spelled.
    for (const path of ['/console/../console-app.ts', '/console/%2e%2e/console-app.ts', '/console/console-app.ts', '/console/public/app.js']) {
      expect((await fetch(`${h.url}${path}`)).status, path).toBe(404);
    }
  });

  it('validates the form like Slack, refuses self-approval and non-approvers, and keeps tenants apart', async () => {
    const invalid = await fetch(`${h.url}/console/api/requests`, json({ ...form, duration: '9h' }));
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toEqual({ errors: { duration: 'At most 4h for orders.' } });

    const created = await fetch(`${h.url}/console/api/requests`, json(form));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const state = async () => (await (await fetch(`${h.url}/console/api/state`)).json()) as { messages: Array<{ kind: string; requestId?: string; text: string }> };
    await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'card' && m.requestId === id), 30_000, 'the console card');

    // The console's approver is not an approver of orders in this catalog; the requester never is.
    const approve = async (as: string) => (await (await fetch(`${h.url}/console/api/actions`, json({ action: 'approve', requestId: id, as }))).json()) as { ok: boolean; message: string };
    // People as the console shows them: `@id`, never Slack's `<@id>`.
    expect(await approve('requester')).toMatchObject({ ok: false, message: expect.stringMatching(/own request|Only @U0ALICE or @U0BOB/) });
    expect(await approve('approver')).toMatchObject({ ok: false, message: expect.stringMatching(/^Only @U0ALICE or @U0BOB can approve/) });

    // The console's request never reaches Slack's channel, and a Slack request never the console.
    await h.submitRequest(PEOPLE.requester, { reason: 'Slack side: count the failed payouts of last night' });
    await h.waitForCard((message) => shown(message).includes('Slack side'));
    expect(h.slack.messagesIn(APPROVERS_CHANNEL).some((message) => shown(message).includes(id))).toBe(false);
    expect((await state()).messages.some((m) => m.text.includes('Slack side'))).toBe(false);
  });

  it('answers the text commands of Slack and Teams, and sets up MFA, in JSON', async () => {
    const say = async (as: string, body: Record<string, string>) => {
      const answer = await fetch(`${h.url}/console/api/commands`, json({ as, ...body }));
      expect(answer.status).toBe(200);
      return (await answer.json()) as { ok: boolean; message: string; mfaSetup?: { secret: string }; recoveryCodes?: string[] };
    };
    expect((await say('requester', { text: 'help' })).message).toMatch(/dbaccess list: your recent requests/);
    expect(await say('requester', { text: 'status' })).toMatchObject({ ok: false, message: 'Only admins can see the system status. Ask an admin if you need it.' });
    expect(await say('requester', { text: 'approve nothing' })).toMatchObject({ ok: false, message: expect.stringMatching(/^Usage: dbaccess approve <request id>/) });
    const setup = await say('requester', { text: 'mfa' });
    expect(setup.mfaSetup?.secret).toMatch(/^[A-Z2-7]{16,}$/);
    const confirmed = await say('requester', { code: await generate({ secret: setup.mfaSetup!.secret }) });
    expect(confirmed).toMatchObject({ ok: true, message: expect.stringMatching(/MFA is on/) });
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect((await fetch(`${h.url}/console/api/commands`, json({ as: 'someone', text: 'status' }))).status).toBe(400);
  });

  it('answers a stale or forged action without changing anything', async () => {
    const answer = await fetch(`${h.url}/console/api/actions`, json({ action: 'approve', requestId: 'not-an-id', as: 'approver' }));
    expect(answer.status).toBe(400);
    const missing = await fetch(`${h.url}/console/api/actions`, json({ action: 'end', requestId: 'R000000000', as: 'requester' }));
    expect(await missing.json()).toMatchObject({ ok: false, message: expect.stringMatching(/not found/i) });
  });
});

describe('the console with CONSOLE_TOKEN', () => {
  let h: Harness;
  const token = 'console-token-for-tests-0123456789';
  beforeAll(async () => {
    h = await startHarness({ queue: 'postgres', env: { CONSOLE: 'on', CONSOLE_TOKEN: token } });
  });
  afterAll(() => h.close());

  it('needs the token, moves it from the address into a cookie, and accepts it as a bearer token', async () => {
    expect((await fetch(`${h.url}/console/api/state`)).status).toBe(401);
    expect((await fetch(`${h.url}/console/api/state`, { headers: { authorization: 'Bearer wrong-token-of-the-same-length-xx' } })).status).toBe(401);
    const entry = await fetch(`${h.url}/console?token=${token}`, { redirect: 'manual' });
    expect(entry.status).toBe(302);
    expect(entry.headers.get('location')).toBe('/console');
    const cookie = entry.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(`${h.url}/console`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${h.url}/console/api/state`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // The page's files need the token too; the address a newcomer types keeps it on the way.
    expect((await fetch(`${h.url}/console/app.js`)).status).toBe(401);
    expect((await fetch(`${h.url}/console/app.js`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    const root = await fetch(`${h.url}/?token=${token}`, { redirect: 'manual' });
    expect(root.headers.get('location')).toBe(`/console?token=${token}`);
  });
});

describe('stopping while the console has clients', () => {
  it('stops although a browser keeps its event stream open and another never reads a file it asked for', async () => {
    const h = await startHarness({ queue: 'postgres', env: { CONSOLE: 'on' } });
    const stream = await fetch(`${h.url}/console/events`);
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('connected');
    const unread = await fetch(`${h.url}/console/app.js`);
    expect(unread.status).toBe(200);
    // Without a bound on the close, both connections hold the server open for minutes.
    let stopped = false;
    const stopping = h.app.stop().then(() => (stopped = true));
    await waitUntil(async () => stopped, 10_000, 'the app stopped');
    await stopping;
    await reader.cancel().catch(() => {});
    await h.close();
  }, 60_000);
});
