import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLines, filesUnder } from '../support/traces.js';
import { CONSOLE_PEOPLE } from '../../src/app/sandbox.js';
import { PEOPLE, SIGNING_SECRET, TEAM, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { postSigned } from '../support/slack-requests.js';

/**
 * `dbaccess connect` as a person runs it: the package's bin in a child process with its own HOME,
 * signed in by a code typed in the console (and in Slack, through the fake Slack), its request
 * approved in the console, and psql started on the real PostgreSQL target. The password must appear
 * nowhere but in psql's environment: not in the CLI's output, not on any command line, not in any
 * file left in HOME.
 */
const BIN = fileURLToPath(new URL('../../bin/dbaccess.js', import.meta.url));
const REASON = 'Count the failed payouts of last night for finance';
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers },
});
const consolePost = (url: string, path: string, body: unknown) => fetch(`${url}${path}`, json(body, { 'x-dbaccess-console': '1' }));

interface CliRun {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, stream?: 'out' | 'err'): Promise<RegExpMatchArray>;
}

function dbaccess(args: string[], home: string, url: string): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: home, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, USER: 'tester', DBACCESS_URL: url }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  void exited.then(() => clearTimeout(timer));
  return {
    child, out: () => out, err: () => err, exited,
    waitFor: (pattern, stream = 'err') => waitUntil(() => (stream === 'out' ? out : err).match(pattern) ?? undefined, 90_000, `${pattern} in the CLI's ${stream === 'out' ? 'stdout' : 'stderr'} (so far: ${err.slice(-400)})`),
  };
}

describe('dbaccess connect', () => {
  let h: Harness;
  let home: string;
  let state: pg.Client;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis', env: { CONSOLE: 'on' },
      policy: `policies:\n  - { name: tests, approvers: [${PEOPLE.alice}, ${CONSOLE_PEOPLE.approver}], mfa: never }\n`,
    });
    home = mkdtempSync(join(tmpdir(), 'dbaccess-home-'));
    state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
  });
  afterAll(async () => {
    await state?.end();
    await h?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const session = () => JSON.parse(readFileSync(join(home, '.config/dbaccess/session.json'), 'utf8')) as { token: string };
  const api = (path: string, token: string, body?: unknown) => fetch(`${h.url}${path}`, body === undefined ? { headers: { authorization: `Bearer ${token}` } } : json(body, { authorization: `Bearer ${token}` }));
  let requestId = '';
  let password = '';
  let otherToken = '';

  it('signs in with a code typed in the console, files the request, waits for the approver, and runs psql without showing the password', async () => {
    const cli = dbaccess(['connect', 'orders', '--reason', REASON, '--scope', 'sales.orders', '--for', '30m'], home, h.url);
    const [, userCode] = await cli.waitFor(/login ([0-9A-Z]{4}-[0-9A-Z]{4})/);
    // A code nobody was given is refused; the right one, typed by the requester, signs the terminal in.
    const wrong = await (await consolePost(h.url, '/console/api/commands', { as: 'requester', text: 'login ZZZZ-ZZZZ' })).json() as { ok: boolean; message: string };
    expect(wrong).toMatchObject({ ok: false, message: expect.stringContaining('No terminal sign-in waits') });
    const confirmed = await (await consolePost(h.url, '/console/api/commands', { as: 'requester', text: `login ${userCode!.toLowerCase()}` })).json() as { ok: boolean; message: string };
    expect(confirmed).toMatchObject({ ok: true, message: expect.stringContaining('tester@') });
    // The code works once.
    expect(await (await consolePost(h.url, '/console/api/commands', { as: 'requester', text: `login ${userCode}` })).json()).toMatchObject({ ok: false });

    const [, id] = await cli.waitFor(/Request (R[0-9A-Z]{9}) filed/);
    requestId = id!;
    expect(cli.err()).toMatch(/Risk: (low|medium|high|critical)/);
    // Same rules as chat: the requester cannot approve their own request.
    const own = await (await consolePost(h.url, '/console/api/actions', { action: 'approve', requestId, as: 'requester' })).json() as { ok: boolean; message: string };
    expect(own).toMatchObject({ ok: false, message: expect.stringMatching(/own request/) });
    expect(await (await consolePost(h.url, '/console/api/actions', { action: 'approve', requestId, as: 'approver' })).json()).toMatchObject({ ok: true });

    await cli.waitFor(/Connecting to orders as (\S+)/);
    // psql is running, waiting on the stdin it shares with the CLI: a query, then its answer.
    cli.child.stdin.write('SELECT current_user AS who, 6 * 7 AS answer;\n');
    await cli.waitFor(/ 42\b/, 'out');
    const credentials = await (await api(`/cli/api/requests/${requestId}/credentials`, session().token, {})).json() as { password: string; username: string };
    password = credentials.password;
    expect(password.length).toBeGreaterThan(10);
    expect(cli.out()).toContain(credentials.username);
    // Not on any command line on this machine while psql runs, psql's own included.
    const lines = commandLines();
    // (psql may be a wrapper script: /usr/bin/perl /usr/bin/psql …)
    expect(lines.some((line) => /\bpsql /.test(line) && line.includes(credentials.username))).toBe(true);
    expect(lines.filter((line) => line.includes(password))).toEqual([]);
    cli.child.stdin.end('\\q\n');
    expect(await cli.exited).toBe(0);

    expect(cli.out()).not.toContain(password);
    expect(cli.err()).not.toContain(password);
    const files = filesUnder(home);
    expect(files.map((file) => file.path)).toEqual([join(home, '.config/dbaccess/session.json')]);
    expect(files[0]!.mode).toBe(0o600);
    for (const file of files) expect(file.content).not.toContain(password);
    // Nothing secret went to chat: the console shows no password for a terminal's request.
    const messages = JSON.stringify(await (await fetch(`${h.url}/console/api/state`)).json());
    expect(messages).not.toContain(password);
    // Every hand-over of the credentials is audited, with the token that took it.
    const { rows } = await state.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'lease.delivered' AND details->>'channel' = 'cli session'`);
    expect(rows[0].n).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('opens another session on the live access without a new request', async () => {
    const before = (await state.query(`SELECT count(*)::int AS n FROM access_requests`)).rows[0].n as number;
    const cli = dbaccess(['connect', 'orders'], home, h.url);
    await cli.waitFor(new RegExp(`Using your active read access ${requestId}`));
    await cli.waitFor(/Connecting to orders/);
    cli.child.stdin.end('SELECT 6 * 7 AS answer;\n');
    expect(await cli.exited).toBe(0);
    expect(cli.out()).toMatch(/ 42\b/);
    expect(cli.out() + cli.err()).not.toContain(password);
    expect((await state.query(`SELECT count(*)::int AS n FROM access_requests`)).rows[0].n).toBe(before);
  }, 120_000);

  it('prints the variables only when asked, with a warning', async () => {
    const cli = dbaccess(['connect', 'orders', '--print-env'], home, h.url);
    expect(await cli.exited).toBe(0);
    expect(cli.out()).toContain(`export PGPASSWORD=${password}`);
    expect(cli.err()).toMatch(/Warning: the password is now in this terminal/);
  }, 120_000);

  it('keeps tenants apart: a token signed in through Slack, of another workspace, cannot see the request', async () => {
    const started = await (await fetch(`${h.url}/cli/api/device`, json({ client: 'laptop' }))).json() as { deviceCode: string; userCode: string; login: string };
    expect(started.login).toBe(`/dbaccess login ${started.userCode}`);
    const pending = await fetch(`${h.url}/cli/api/token`, json({ deviceCode: started.deviceCode }));
    expect(pending.status).toBe(202);
    expect((await h.command(PEOPLE.mallory, `login ${started.userCode}`, 'T0OTHER')).status).toBe(200);
    const issued = await waitUntil(async () => {
      const answer = await fetch(`${h.url}/cli/api/token`, json({ deviceCode: started.deviceCode }));
      return answer.status === 200 ? ((await answer.json()) as { token: string; person: { platform: string; id: string } }) : undefined;
    }, 10_000, 'the token');
    expect(issued.person).toEqual({ platform: 'slack', id: PEOPLE.mallory });
    otherToken = issued.token;
    expect((await api(`/cli/api/requests/${requestId}`, issued.token)).status).toBe(404);
    expect((await api(`/cli/api/requests/${requestId}/credentials`, issued.token, {})).status).toBe(404);
    expect(await (await api('/cli/api/leases?database=orders', issued.token)).json()).toEqual({ leases: [] });
    // The requester's own token sees it.
    expect(await (await api(`/cli/api/requests/${requestId}`, session().token)).json()).toMatchObject({ id: requestId, state: 'active' });
  }, 60_000);

  it('signs out every terminal of a person who leaves (their Slack account deactivated)', async () => {
    const started = await (await fetch(`${h.url}/cli/api/device`, json({ client: 'laptop' }))).json() as { deviceCode: string; userCode: string };
    expect((await h.command(PEOPLE.bob, `login ${started.userCode}`)).status).toBe(200);
    const { token } = await waitUntil(async () => {
      const answer = await fetch(`${h.url}/cli/api/token`, json({ deviceCode: started.deviceCode }));
      return answer.status === 200 ? ((await answer.json()) as { token: string }) : undefined;
    }, 10_000, 'the token');
    expect((await api('/cli/api/me', token)).status).toBe(200);
    const event = {
      token: 'unused', team_id: TEAM, api_app_id: 'A0DBACCESS', type: 'event_callback', event_id: 'Ev0CLIOFFBOARD', event_time: Math.floor(Date.now() / 1000),
      event: { type: 'user_change', user: { id: PEOPLE.bob, team_id: TEAM, name: 'bob', deleted: true }, event_ts: `${Date.now() / 1000}` },
    };
    expect((await postSigned(h.url, '/slack/events', JSON.stringify(event), { secret: SIGNING_SECRET, contentType: 'application/json' })).status).toBe(200);
    await waitUntil(async () => (await api('/cli/api/me', token)).status === 401, 10_000, 'the token refused');
    const audit = await state.query(`SELECT actor FROM audit_events WHERE action = 'cli.token_revoked' ORDER BY id DESC LIMIT 1`);
    expect(audit.rows[0]?.actor).toBe('system:offboarding:slack');
  }, 60_000);

  it("an admin on the server ends a person's terminal sign-ins with dbaccess signout; their access stays", async () => {
    const CAROL = 'U0CAROL';
    const started = await (await fetch(`${h.url}/cli/api/device`, json({ client: 'laptop' }))).json() as { deviceCode: string; userCode: string };
    expect((await h.command(CAROL, `login ${started.userCode}`)).status).toBe(200);
    const { token } = await waitUntil(async () => {
      const answer = await fetch(`${h.url}/cli/api/token`, json({ deviceCode: started.deviceCode }));
      return answer.status === 200 ? ((await answer.json()) as { token: string }) : undefined;
    }, 10_000, 'the token');
    expect((await api('/cli/api/me', token)).status).toBe(200);
    const operator = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'signout', CAROL.toLowerCase()], { env: { ...h.env, PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(operator.code, operator.out).toBe(0);
    expect(operator.out).toMatch(new RegExp(`^${CAROL} \\(slack ${TEAM}\\): 1 terminal sign-in ended\\.$`, 'm'));
    expect((await api('/cli/api/me', token)).status).toBe(401);
    const audit = await state.query(`SELECT actor FROM audit_events WHERE action = 'cli.token_revoked' ORDER BY id DESC LIMIT 1`);
    expect(audit.rows[0]?.actor).toMatch(/^cli:/);
  }, 60_000);

  it('ends the access from the terminal with dbaccess end; a second end and a stranger\'s id are refused', async () => {
    const ended = dbaccess(['end', requestId.toLowerCase()], home, h.url);
    expect(await ended.exited, ended.out() + ended.err()).toBe(0);
    expect(ended.out()).toContain(`Ending access for ${requestId} now`);
    await waitUntil(async () => (await state.query('SELECT state FROM access_requests WHERE id = $1', [requestId])).rows[0]?.state === 'revoked', 20_000, 'the access ended');
    const again = dbaccess(['end', requestId], home, h.url);
    expect(await again.exited).toBe(1);
    const unknown = dbaccess(['end', 'R000000000'], home, h.url);
    expect(await unknown.exited).toBe(1);
    expect(unknown.err()).toContain('Request R000000000 was not found.');
    const usage = dbaccess(['end', 'nonsense'], home, h.url);
    expect(await usage.exited).toBe(2);
  }, 60_000);

  it('a poll whose answer is lost on the way: the CLI polls again, hears the sign-in was used, says how to start again, and the token it never got is ended', async () => {
    // Between the CLI and dbaccess, a front that cuts the connection instead of passing on the first
    // answer that carries a token: the token was handed out, and never arrived.
    let lost: string | undefined;
    const front = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => void (async () => {
        const upstream = await fetch(`${h.url}${request.url}`, { method: request.method, headers: { 'content-type': 'application/json' }, body: request.method === 'POST' ? Buffer.concat(chunks).toString() : undefined });
        const text = await upstream.text();
        if (request.url === '/cli/api/token' && upstream.status === 200 && !lost) {
          lost = (JSON.parse(text) as { token: string }).token;
          request.socket.destroy();
          return;
        }
        response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
      })());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const elsewhere = mkdtempSync(join(tmpdir(), 'dbaccess-home-'));
    try {
      const cli = dbaccess(['login'], elsewhere, `http://127.0.0.1:${(front.address() as AddressInfo).port}`);
      const [, userCode] = await cli.waitFor(/login ([0-9A-Z]{4}-[0-9A-Z]{4})/);
      expect(await (await consolePost(h.url, '/console/api/commands', { as: 'requester', text: `login ${userCode}` })).json()).toMatchObject({ ok: true });
      expect(await cli.exited).toBe(1);
      expect(lost).toMatch(/^dbx_/);
      expect(cli.err()).toContain('dbaccess login: This sign-in code was already used: its token is handed out once only, and is now ended. Start again (dbaccess login). (An earlier answer of dbaccess did not reach this terminal.)');
      expect(existsSync(join(elsewhere, '.config/dbaccess/session.json'))).toBe(false);
      expect((await api('/cli/api/me', lost!)).status).toBe(401);
      const ended = await state.query(`SELECT actor, details FROM audit_events WHERE action = 'cli.token_revoked' ORDER BY id DESC LIMIT 1`);
      expect(ended.rows[0]).toMatchObject({ actor: 'system:cli-sign-in', details: { reason: 'device code used again' } });
    } finally {
      await new Promise((resolve) => front.close(resolve));
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 60_000);

  it('asked to slow down (429 with Retry-After) while polling, the CLI says so, waits as told and signs in', async () => {
    // A front that answers the first two polls for the token as a busy server does.
    let refused = 0;
    const front = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => void (async () => {
        if (request.url === '/cli/api/token' && refused < 2) {
          refused += 1;
          response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ error: 'Too many calls; wait a minute and try again.' }));
          return;
        }
        const upstream = await fetch(`${h.url}${request.url}`, { method: request.method, headers: { 'content-type': 'application/json' }, body: request.method === 'POST' ? Buffer.concat(chunks).toString() : undefined });
        response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
      })());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const elsewhere = mkdtempSync(join(tmpdir(), 'dbaccess-home-'));
    try {
      const cli = dbaccess(['login'], elsewhere, `http://127.0.0.1:${(front.address() as AddressInfo).port}`);
      const [, userCode] = await cli.waitFor(/login ([0-9A-Z]{4}-[0-9A-Z]{4})/);
      await cli.waitFor(/asked this terminal to slow down; polling again in 1 s/);
      expect(await (await consolePost(h.url, '/console/api/commands', { as: 'requester', text: `login ${userCode}` })).json()).toMatchObject({ ok: true });
      expect(await cli.exited).toBe(0);
      expect(refused).toBe(2);
      const session = JSON.parse(readFileSync(join(elsewhere, '.config/dbaccess/session.json'), 'utf8')) as { token: string };
      expect((await api('/cli/api/me', session.token)).status).toBe(200);
    } finally {
      await new Promise((resolve) => front.close(resolve));
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 60_000);

  it('counts polls by sign-in, not by address: terminals behind one address poll side by side; one sign-in polled too fast hears 429 with Retry-After', async () => {
    const start = async () => (await (await fetch(`${h.url}/cli/api/device`, json({ client: 'office' }))).json()) as { deviceCode: string };
    const [first, second] = [await start(), await start()];
    // 35 polls each from the same address (more than the 30 a minute one address may start sign-ins with): all pending.
    for (let poll = 0; poll < 35; poll++) {
      for (const { deviceCode } of [first, second]) expect((await fetch(`${h.url}/cli/api/token`, json({ deviceCode }))).status).toBe(202);
    }
    // One sign-in polled far faster than a CLI does: refused with a time to wait, well within the minute.
    let refusal: Response | undefined;
    for (let poll = 0; poll < 100 && !refusal; poll++) {
      const answer = await fetch(`${h.url}/cli/api/token`, json({ deviceCode: first.deviceCode }));
      if (answer.status === 429) refusal = answer;
      else expect(answer.status).toBe(202);
    }
    expect(refusal?.status).toBe(429);
    expect(Number(refusal?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refusal?.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // The other sign-in's polls are not counted against it.
    expect((await fetch(`${h.url}/cli/api/token`, json({ deviceCode: second.deviceCode }))).status).toBe(202);
  });

  it('refuses an expired token and a revoked one (logout) with 401, and stores only hashes', async () => {
    const { token } = session();
    const { rows } = await state.query(`SELECT token_hash FROM cli_tokens WHERE token_hash IS NOT NULL`);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(rows)).not.toContain(token);

    await state.query(`UPDATE cli_tokens SET expires_at = now() - interval '1 second' WHERE token_hash IS NOT NULL AND user_id = (SELECT id FROM chat_users WHERE external_id = $1)`, [PEOPLE.mallory]);
    expect((await api('/cli/api/me', otherToken)).status).toBe(401);

    expect((await api('/cli/api/me', token)).status).toBe(200);
    const logout = dbaccess(['logout'], home, h.url);
    expect(await logout.exited).toBe(0);
    expect((await api('/cli/api/me', token)).status).toBe(401);
    expect((await api(`/cli/api/requests/${requestId}/credentials`, token, {})).status).toBe(401);
    expect((await api('/cli/api/me', 'dbx_not-a-token')).status).toBe(401);
    expect((await fetch(`${h.url}/cli/api/me`)).status).toBe(401);
    const audit = await state.query(`SELECT action FROM audit_events WHERE action LIKE 'cli.%' ORDER BY id`);
    expect(audit.rows.map((row) => row.action)).toEqual(expect.arrayContaining(['cli.sign_in_confirmed', 'cli.token_issued', 'cli.token_revoked']));
  }, 60_000);
});
