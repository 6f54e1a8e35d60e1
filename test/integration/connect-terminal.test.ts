import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'otplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLines, filesUnder } from '../support/traces.js';
import { CONSOLE_PEOPLE } from '../../src/app/sandbox.js';
import { PEOPLE, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createMariaTarget } from '../support/databases.js';

/**
 * `dbaccess connect` on a real terminal: a pseudo-terminal (util-linux `script`) runs an interactive
 * bash with its history on, in which the person types the command; the CLI prompts on that terminal
 * (reason, suggestion, MFA code), the approver approves in the console, and mysql or psql runs on the
 * same terminal until Ctrl-D. The password must be nowhere the person or another user of the machine
 * could find it: not in what the terminal showed, not in any process's command line, not in the
 * shell's or the client's history, not in any file left in HOME or TMPDIR. `--end-on-exit` ends the
 * access when the last session closes, and `leases --mine` lists it meanwhile.
 */
const BIN = fileURLToPath(new URL('../../bin/dbaccess.js', import.meta.url));
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers },
});

interface Terminal {
  child: ChildProcessWithoutNullStreams;
  /** Everything the terminal showed. */
  screen: () => string;
  type(text: string): void;
  waitFor(pattern: RegExp, what?: string): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** A command on a pseudo-terminal of its own: what it prints is what a person would see. */
function terminal(command: string, env: Record<string, string>): Terminal {
  // A terminal of a usual size (a new pseudo-terminal has none, and psql would page a one-row answer).
  const child = spawn('script', ['-qfec', `stty rows 40 cols 160; exec ${command}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  void exited.then(() => clearTimeout(timer));
  let seen = 0;
  return {
    child, exited, screen: () => screen,
    type: (text) => child.stdin.write(text),
    // Each wait reads on from the end of the previous match, so that an earlier prompt never answers a later wait.
    async waitFor(pattern, what = String(pattern)) {
      const match = await waitUntil(() => {
        const found = pattern.exec(screen.slice(seen));
        return found ?? undefined;
      }, 90_000, `${what} on the terminal (so far: ${JSON.stringify(screen.slice(-600))})`);
      seen += match.index! + match[0].length;
      return match;
    },
  };
}

/** What dbaccess left in a TMPDIR (not tsx's compile cache, there when the CLI runs from src/). */
const ours = (folder: string) => filesUnder(folder).filter((file) => !file.path.includes('/tsx-'));

describe('dbaccess connect on a terminal', () => {
  let h: Harness;
  let maria: Awaited<ReturnType<typeof createMariaTarget>>;
  let state: pg.Client;
  let home: string;
  let temp: string;
  let env: Record<string, string>;
  const recovery: Record<'requester' | 'approver', string[]> = { requester: [], approver: [] };

  const consolePost = async (path: string, body: unknown) => (await fetch(`${h.url}${path}`, json(body, { 'x-dbaccess-console': '1' }))).json() as Promise<{ ok: boolean; message: string; mfaSetup?: { secret: string }; recoveryCodes?: string[] }>;
  const approve = (requestId: string, code?: string) => consolePost('/console/api/actions', { action: 'approve', requestId, as: 'approver', ...(code ? { code } : {}) });
  const stateOf = async (id: string) => (await state.query('SELECT state FROM access_requests WHERE id = $1', [id])).rows[0]?.state as string | undefined;
  /** The password as the CLI API hands it to the signed-in terminal (with a recovery code where MFA is asked). */
  const passwordOf = async (id: string, code?: string) => {
    const { token } = JSON.parse(readFileSync(join(home, '.config/dbaccess/session.json'), 'utf8')) as { token: string };
    const answer = await fetch(`${h.url}/cli/api/requests/${id}/credentials`, json(code ? { code } : {}, { authorization: `Bearer ${token}` }));
    expect(answer.status).toBe(200);
    return ((await answer.json()) as { password: string }).password;
  };
  /** `dbaccess <args>` with pipes (not a terminal), as a script would run it. */
  const piped = (args: string[], input = '') => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });

  beforeAll(async () => {
    maria = await createMariaTarget();
    h = await startHarness({
      queue: 'redis',
      env: { CONSOLE: 'on', SHOP_ADMIN_URL: maria.adminUrl },
      policy: `policies:
  - { name: shop, databases: [shop], approvers: [${PEOPLE.alice}, ${CONSOLE_PEOPLE.approver}], mfa: never }
  - { name: orders, databases: [orders], approvers: [${PEOPLE.alice}, ${CONSOLE_PEOPLE.approver}], mfa: always }
`,
      extraDatabases: `  - id: shop\n    engine: mariadb\n    host: 127.0.0.1\n    port: 3306\n    database: ${maria.name}\n    environment: staging\n    admin: env:SHOP_ADMIN_URL\n`,
    });
    state = new pg.Client({ connectionString: h.env.DATABASE_URL });
    await state.connect();
    home = mkdtempSync(join(tmpdir(), 'dbaccess-home-'));
    temp = mkdtempSync(join(tmpdir(), 'dbaccess-tmp-'));
    // `dbaccess` on the PATH, as after `npm install -g`.
    const bin = join(home, 'bin');
    mkdirSync(bin);
    symlinkSync(BIN, join(bin, 'dbaccess'));
    env = {
      PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home, TMPDIR: temp, USER: 'tester', TERM: 'dumb',
      DBACCESS_URL: h.url, HISTFILE: join(home, '.bash_history'), MYSQL_HISTFILE: join(home, '.mysql_history'), PSQL_HISTORY: join(home, '.psql_history'), PS1: 'you@laptop$ ',
    };
    // Both people set up MFA in the console; their recovery codes answer the step-ups below (a TOTP
    // code works once per 30 s step, and the one that confirmed the set-up is used).
    for (const who of ['requester', 'approver'] as const) {
      const setup = await consolePost('/console/api/commands', { as: who, text: 'mfa' });
      expect(setup, who).toHaveProperty('mfaSetup');
      const confirmed = await consolePost('/console/api/commands', { as: who, code: await generate({ secret: setup.mfaSetup!.secret }) });
      expect(confirmed.ok).toBe(true);
      recovery[who] = confirmed.recoveryCodes!;
    }
  }, 120_000);
  afterAll(async () => {
    await state?.end();
    await h?.close();
    await maria?.drop();
    for (const folder of [home, temp]) if (folder) rmSync(folder, { recursive: true, force: true });
  });

  let shopRequest = '';
  let shopPassword = '';
  let transcript = '';

  it('in an interactive shell: signs in, asks the reason on the terminal, runs mariadb, and Ctrl-D ends the access (--end-on-exit)', async () => {
    const shell = terminal('bash --norc --noprofile -i', env);
    await shell.waitFor(/you@laptop\$ /, 'the shell prompt');
    shell.type('dbaccess connect shop --for 30m --end-on-exit\n');
    const [, userCode] = await shell.waitFor(/login ([0-9A-Z]{4}-[0-9A-Z]{4})/, 'the sign-in code');
    expect(await consolePost('/console/api/commands', { as: 'requester', text: `login ${userCode}` })).toMatchObject({ ok: true });
    await shell.waitFor(/Reason \(what you will do, and why\): /, 'the reason prompt');
    shell.type('Check the totals of the two orders the support ticket names\n');
    const [answer] = await shell.waitFor(/Use the suggestion\? \[y\/N\] |Request R[0-9A-Z]{9} filed/, 'the suggestion prompt or the request');
    if (answer.startsWith('Use')) shell.type('n\n');
    const [, id] = /Request (R[0-9A-Z]{9}) filed/.exec(answer) ?? (await shell.waitFor(/Request (R[0-9A-Z]{9}) filed/, 'the request'));
    shopRequest = id!;
    expect(await approve(shopRequest)).toMatchObject({ ok: true });
    const [, username] = await shell.waitFor(/Connecting to shop as (\S+)/, 'the client starting');
    await shell.waitFor(/MariaDB \[[^\]]*\]> /, 'the mariadb prompt');
    shell.type('SELECT CURRENT_USER() AS who, 6 * 7 AS answer;\n');
    await shell.waitFor(/\b42\b/, 'the answer');

    shopPassword = await passwordOf(shopRequest);
    expect(shopPassword.length).toBeGreaterThan(10);
    const lines = commandLines();
    expect(lines.some((line) => /\bmariadb|\bmysql/.test(line) && line.includes(username!))).toBe(true);
    expect(lines.filter((line) => line.includes(shopPassword))).toEqual([]);
    // The option file the client reads exists only while it runs, 0600 in a 0700 folder of TMPDIR.
    const [optionFile] = ours(temp);
    expect(optionFile?.mode).toBe(0o600);
    expect(statSync(dirname(optionFile!.path)).mode & 0o777).toBe(0o700);
    // The person asks what they hold, from another terminal.
    const mine = await piped(['leases', '--mine']);
    expect(mine.code, mine.err).toBe(0);
    expect(mine.out).toMatch(new RegExp(`${shopRequest}\\s+shop\\s+read\\s+whole database\\s+.*terminal`));

    shell.type('\x04'); // Ctrl-D on the client's empty line
    await shell.waitFor(new RegExp(`Ending access for ${shopRequest} now`), 'the access ending');
    await waitUntil(async () => (await stateOf(shopRequest)) === 'revoked', 30_000, 'the request revoked');
    await shell.waitFor(/you@laptop\$ /, 'the shell prompt again');
    shell.type('exit\n');
    expect(await shell.exited).toBe(0);
    transcript = shell.screen();
    expect(transcript).not.toContain(shopPassword);
    expect(ours(temp)).toEqual([]);
  }, 180_000);

  it('leaves the password in no history and no file: the shell history holds the command only', () => {
    expect(shopPassword).not.toBe('');
    const files = filesUnder(home);
    const history = files.find((file) => file.path === join(home, '.bash_history'));
    expect(history?.content).toContain('dbaccess connect shop --for 30m --end-on-exit');
    for (const file of files) expect(file.content, file.path).not.toContain(shopPassword);
    expect(files.find((file) => file.path.endsWith('session.json'))?.mode).toBe(0o600);
    // No trace of the open session is left behind for the next --end-on-exit to count.
    expect(files.some((file) => file.path.includes(`/open/${shopRequest}`))).toBe(false);
  });

  it('asks the MFA code on the terminal, keeps the access while another session is open, and ends it with the last (psql)', async () => {
    const first = terminal(`dbaccess connect orders --scope sales.orders --reason 'Count the failed payouts of last night for finance' --yes --end-on-exit`, env);
    const [, id] = await first.waitFor(/Request (R[0-9A-Z]{9}) filed/, 'the request');
    const requestId = id!;
    // The policy asks MFA of the approver too.
    expect(await approve(requestId)).toMatchObject({ ok: false });
    expect(await approve(requestId, recovery.approver[0])).toMatchObject({ ok: true });
    await first.waitFor(/MFA code \(not shown as you type\): /, 'the MFA prompt');
    first.type('000000\n');
    await first.waitFor(/That code did not match[^\n]*\n.*MFA code \(not shown as you type\): /, 'the MFA prompt again after a wrong code');
    first.type(`${recovery.requester[0]}\n`);
    await first.waitFor(/=> $|=> /, 'the psql prompt');

    // A second session on the same access, from a script: the code given with --code.
    const second = await piped(['connect', 'orders', '--end-on-exit', '--code', recovery.requester[1]!], 'SELECT 6 * 7 AS answer;\n');
    expect(second.code, second.err).toBe(0);
    expect(second.err).toContain(`Using your active read access ${requestId}`);
    expect(second.out).toMatch(/ 42\b/);
    expect(second.err).toMatch(new RegExp(`Access ${requestId} stays: 1 other session is open on it here`));
    expect(await stateOf(requestId)).toBe('active');

    const password = await passwordOf(requestId, recovery.requester[2]);
    expect(commandLines().filter((line) => line.includes(password))).toEqual([]);
    first.type('SELECT current_user;\n');
    await first.waitFor(/current_user/);
    first.type('\x04');
    await first.waitFor(new RegExp(`Ending access for ${requestId} now`), 'the access ending');
    expect(await first.exited).toBe(0);
    await waitUntil(async () => (await stateOf(requestId)) === 'revoked', 30_000, 'the request revoked');
    expect(first.screen()).not.toContain(password);
    // The codes typed at the prompt were not shown either.
    expect(first.screen()).not.toContain('000000');
    expect(first.screen()).not.toContain(recovery.requester[0]);
    expect(second.out + second.err).not.toContain(password);
    for (const file of filesUnder(home)) expect(file.content, file.path).not.toContain(password);

    const none = await piped(['leases', '--mine']);
    expect(none).toMatchObject({ code: 0, out: 'You have no active access.\n' });
  }, 180_000);

  it('leases --mine refuses a terminal that is not signed in, and another server than the one signed in to', async () => {
    const stranger = mkdtempSync(join(tmpdir(), 'dbaccess-home-'));
    try {
      const notSignedIn = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'leases', '--mine'], { env: { ...env, HOME: stranger } });
        let err = '';
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('close', (code) => resolve({ code, err }));
      });
      expect(notSignedIn).toEqual({ code: 1, err: 'This terminal is not signed in: run dbaccess login.\n' });
    } finally {
      rmSync(stranger, { recursive: true, force: true });
    }
    const elsewhere = await piped(['leases', '--mine', '--server', 'http://127.0.0.1:9']);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.err).toContain(`This terminal is signed in to ${h.url}, not http://127.0.0.1:9`);
    const usage = await piped(['leases', '--server', h.url]);
    expect(usage.code).toBe(2);
  });
});
