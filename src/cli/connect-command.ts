import { EXIT, type CliIo } from './cli-io.js';
import { ApiError, call, forgetSession, readSession, serverOf, signIn, type StoredSession } from './cli-session.js';
import type { Command } from './command.js';
import { envLines, runClient, type FetchedCredentials } from './db-client.js';
import { openSessions } from './local-sessions.js';

/**
 * `dbaccess connect <database>`: from the terminal to a psql or mysql prompt. Signs in once (a code
 * confirmed in chat), files the request as the form would (the risk and any narrower suggestion
 * shown), waits while approvers decide in chat, then starts the client with the password in its
 * environment or a temporary option file: never on a command line, never printed unless asked.
 * While the person's access to that database lives, it opens another session without a new request.
 */

interface RequestStatus {
  id: string;
  state: string;
  approvals: number;
  required: number;
  mfaRequired: boolean;
  failure: string | null;
  lease: { expiresAt: string; ready: boolean } | null;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const ENDED = new Set(['denied', 'expired', 'cancelled', 'failed', 'revoked', 'revoking', 'revoke_failed']);
/** Prompts read the terminal only: piped input belongs to the database client. */
const promptable = (io: CliIo) => io.interactive && Boolean(process.stdin.isTTY);

const serverOption = { server: { type: 'string' } } as const;

export const connectCommand: Command = {
  name: 'connect',
  summary: 'request access to a database and open psql or mysql on it (approved in chat)',
  usage: 'dbaccess connect <database> [--level read] [--scope <schema.table,…>] [--for 1h] [--reason "…"] [--ticket <id>] [--new] [--end-on-exit] [--print-env] [--code <mfa code>] [--yes] [--server <url>]',
  help: `Signs this terminal in (once: confirm the code it prints with "login <code>" in Slack, Teams or
the console), files a request for <database> through the same checks and policy as the form, shows
its risk and any narrower suggestion, waits while approvers decide in chat, then starts psql (or
mysql/mariadb) with the temporary password in its environment or in a temporary 0600 option file
removed at exit. The password is never on a command line and never printed.

While your access to <database> from the terminal is active, connect opens another session on it
without a new request (--new files a new one anyway).

  --level <level>     access level (default read)
  --scope <names>     schemas or tables, e.g. sales.orders,sales.refunds (default: the whole database)
  --for <duration>    how long, e.g. 30m, 2h (default 1h)
  --reason "<text>"   why (asked for on a terminal when missing)
  --ticket <id>       a ticket, where policy asks for one
  --yes               take the suggested narrower request without asking
  --code <code>       your MFA code, where policy asks for one (asked for on a terminal otherwise)
  --end-on-exit       when the client exits (Ctrl-D, \\q, exit) and no other connect session on
                      this access is open on this machine, end the access: logins blocked,
                      sessions closed, the user dropped
  --print-env         print the connection variables instead of starting a client (they are then in
                      your terminal and its scrollback: for tools such as DBeaver)
  --server <url>      the dbaccess server (default: DBACCESS_URL, else the one signed in to)

Exit: the client's exit code once connected; 1 refused, denied, expired or failed; 2 usage mistake.`,
  options: {
    level: { type: 'string' }, scope: { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' }, ticket: { type: 'string' },
    new: { type: 'boolean' }, 'end-on-exit': { type: 'boolean' }, 'print-env': { type: 'boolean' }, code: { type: 'string' }, yes: { type: 'boolean' }, ...serverOption,
  },
  maxPositionals: 1,
  async run({ values, positionals }, { io, environment }) {
    const database = positionals[0]?.toLowerCase();
    if (!database) {
      io.err(`dbaccess connect: name the database.\nUsage: ${connectCommand.usage}`);
      return EXIT.usage;
    }
    try {
      const session = await signIn(serverOf(values.server, environment), io, environment);
      const requestId = (values.new ? undefined : await liveAccess(session, database, io)) ?? (await fileAndWait(session, database, values, io));
      if (!requestId) return EXIT.problems;
      const credentials = await fetchCredentials(session, requestId, values, io);
      if (!credentials) return EXIT.problems;
      if (values['print-env']) {
        io.err('Warning: the password is now in this terminal and its scrollback; it stops working when the access ends.');
        for (const line of envLines(credentials)) io.out(line);
        return EXIT.ok;
      }
      io.err(`Connecting to ${database} as ${credentials.username} (until ${credentials.expiresAt.slice(11, 16)} UTC)…`);
      if (!values['end-on-exit']) return await runClient(credentials, environment);
      const open = openSessions(environment, requestId);
      open.enter();
      const exitCode = await runClient(credentials, environment).catch((error: unknown) => {
        open.leave();
        throw error;
      });
      const { othersOpen } = open.leave();
      if (othersOpen > 0) {
        io.err(`Access ${requestId} stays: ${othersOpen} other session${othersOpen === 1 ? ' is' : 's are'} open on it here. The last one to close ends it.`);
        return exitCode;
      }
      return (await endAccess(session, requestId, io)) ? exitCode : EXIT.problems;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      io.status('');
      io.err(`dbaccess connect: ${error.message}`);
      return EXIT.problems;
    }
  },
};

/** `--end-on-exit`: the access ends as `dbaccess end` ends it, and the person reads the server's answer. */
async function endAccess(session: StoredSession, requestId: string, io: CliIo): Promise<boolean> {
  try {
    const answer = await call<{ ok: boolean; message: string }>(session.server, `/cli/api/requests/${requestId}/end`, { method: 'POST', token: session.token, body: {} });
    io.err(answer.body.message);
    return answer.body.ok;
  } catch (error) {
    io.err(`Could not end ${requestId}: ${error instanceof Error ? error.message : String(error)} End it with: dbaccess end ${requestId}`);
    return false;
  }
}

/** The person's live access to this database from the terminal, if there is one. */
async function liveAccess(session: StoredSession, database: string, io: CliIo): Promise<string | undefined> {
  const { body } = await call<{ leases: Array<{ requestId: string; level: string; expiresAt: string }> }>(session.server, `/cli/api/leases?database=${encodeURIComponent(database)}`, { token: session.token });
  const live = body.leases[0];
  if (live) io.err(`Using your active ${live.level} access ${live.requestId} (until ${live.expiresAt.slice(11, 16)} UTC); --new files a new request.`);
  return live?.requestId;
}

async function fileAndWait(session: StoredSession, database: string, values: Record<string, string | boolean | undefined>, io: CliIo): Promise<string | undefined> {
  const given = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  let reason = given('reason');
  if (!reason && promptable(io)) reason = await io.ask('Reason (what you will do, and why): ');
  if (!reason) {
    io.err('dbaccess connect: give a --reason "…" (approvers read it).');
    return undefined;
  }
  let draft = { databaseId: database, level: given('level') ?? 'read', scope: given('scope') ?? '', duration: given('for') ?? '1h', reason, ticket: given('ticket') ?? '' };

  const checked = await post<{ risk: { level: string; reasons: string[] }; conflicts: string[]; suggestion: { level: string; scope: string; duration: string; text: string } | null }>(session, '/cli/api/preview', draft, io);
  if (!checked) return undefined;
  io.err(`Risk: ${checked.risk.level}${checked.risk.reasons.length ? ` (${checked.risk.reasons.join(' ')})` : ''}`);
  for (const conflict of checked.conflicts) io.err(`Policy: ${conflict}`);
  if (checked.suggestion) {
    const { suggestion } = checked;
    io.err(`Suggestion: ${suggestion.text}`);
    const take = values.yes === true || (promptable(io) && /^y/i.test((await io.ask('Use the suggestion? [y/N] ')) ?? ''));
    if (take) draft = { ...draft, level: suggestion.level, scope: suggestion.scope || draft.scope, duration: suggestion.duration };
    else if (!promptable(io)) io.err('(--yes takes it.)');
  }

  const filed = await post<{ id: string; state: string }>(session, '/cli/api/requests', draft, io);
  if (!filed) return undefined;
  io.err(`Request ${filed.id} filed: ${draft.level} on ${database}${draft.scope ? ` (${draft.scope})` : ''} for ${draft.duration}. Approvers decide in chat.`);
  return waitForAccess(session, filed.id, io);
}

/** The form's errors, field by field, or the answer. */
async function post<T>(session: StoredSession, path: string, draft: Record<string, string>, io: CliIo): Promise<T | undefined> {
  try {
    return (await call<T>(session.server, path, { token: session.token, body: draft })).body;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 422) throw error;
    const names: Record<string, string> = { databaseId: 'database', duration: '--for', level: '--level', scope: '--scope', reason: '--reason', ticket: '--ticket' };
    for (const [field, message] of Object.entries(error.body.errors as Record<string, string>)) io.err(`${names[field] ?? field}: ${message}`);
    return undefined;
  }
}

/** Polls the request with a live status line until its access is ready, or it ends. */
async function waitForAccess(session: StoredSession, requestId: string, io: CliIo): Promise<string | undefined> {
  const started = Date.now();
  let shown = '';
  for (let frame = 0; ; frame++) {
    const { body } = await call<RequestStatus>(session.server, `/cli/api/requests/${requestId}`, { token: session.token });
    if (body.state === 'active' && body.lease?.ready) {
      io.status('');
      io.err(`Approved: ${requestId} is active until ${body.lease.expiresAt.slice(11, 16)} UTC.`);
      return requestId;
    }
    if (ENDED.has(body.state)) {
      io.status('');
      io.err(`Request ${requestId} is ${body.state}${body.failure ? `: ${body.failure}` : '.'}`);
      return undefined;
    }
    const words = body.state === 'pending' ? `waiting for approval (${body.approvals}/${body.required})` : body.state === 'approved' || body.state === 'provisioning' || body.state === 'active' ? 'approved; creating your user' : body.state;
    if (io.interactive) io.status(`${SPINNER[frame % SPINNER.length]} ${requestId}: ${words} · ${Math.round((Date.now() - started) / 1000)}s`);
    else if (words !== shown) io.err(`${requestId}: ${words}`);
    shown = words;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function fetchCredentials(session: StoredSession, requestId: string, values: Record<string, string | boolean | undefined>, io: CliIo): Promise<FetchedCredentials | undefined> {
  let code = typeof values.code === 'string' ? values.code : undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return (await call<FetchedCredentials>(session.server, `/cli/api/requests/${requestId}/credentials`, { token: session.token, body: code ? { code } : {} })).body;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || error.body.mfa !== true) throw error;
      if (code) io.err(error.message);
      if (!promptable(io)) {
        if (!code) io.err(`${error.message} Give it with --code.`);
        return undefined;
      }
      code = (await io.ask('MFA code (not shown as you type): ', { hidden: true })) ?? '';
    }
  }
  return undefined;
}

export const loginCommand: Command = {
  name: 'login',
  summary: 'sign this terminal in to dbaccess (confirmed in chat)',
  usage: 'dbaccess login [--server <url>]',
  help: `Prints a code to type in Slack, Teams or the console ("login <code>"), and waits for it: this
terminal then acts as you for 12 hours. The sign-in is kept in a 0600 file under ~/.config/dbaccess.
dbaccess connect signs in by itself when needed.`,
  options: { ...serverOption },
  maxPositionals: 0,
  async run({ values }, { io, environment }) {
    try {
      await signIn(serverOf(values.server, environment), io, environment, { fresh: true });
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      io.err(`dbaccess login: ${error.message}`);
      return EXIT.problems;
    }
  },
};

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'end this terminal\'s sign-in',
  usage: 'dbaccess logout',
  help: 'Revokes this terminal\'s token on the server and removes it from ~/.config/dbaccess.',
  options: {},
  maxPositionals: 0,
  async run(_args, { io, environment }) {
    const stored = readSession(environment);
    if (stored) await call(stored.server, '/cli/api/token', { method: 'DELETE', token: stored.token }).catch(() => undefined);
    forgetSession(environment);
    io.err(stored ? 'Signed out.' : 'This terminal was not signed in.');
    return EXIT.ok;
  },
};

export const endCommand: Command = {
  name: 'end',
  summary: 'end your access now (or cancel your request that waits)',
  usage: 'dbaccess end <request id>',
  help: `Ends one of your own requests from this signed-in terminal, as End access does in chat: logins
blocked, open sessions closed and the database user dropped; a request that still waits is
cancelled. The approvers' card says so.

Exit: 0 done, 1 refused (not yours, or already over), 2 usage mistake.`,
  options: {},
  maxPositionals: 1,
  async run({ positionals }, { io, environment }) {
    const id = (positionals[0] ?? '').trim().toUpperCase();
    if (!/^R[0-9A-Z]{9}$/.test(id)) {
      io.err(`dbaccess end: give the request id (R followed by 9 letters or digits).\nUsage: ${endCommand.usage}`);
      return EXIT.usage;
    }
    const stored = readSession(environment);
    if (!stored) {
      io.err('This terminal is not signed in: run dbaccess login.');
      return EXIT.problems;
    }
    try {
      const answer = await call<{ ok: boolean; message: string }>(stored.server, `/cli/api/requests/${id}/end`, { method: 'POST', token: stored.token, body: {} });
      io.out(answer.body.message);
      return answer.body.ok ? EXIT.ok : EXIT.problems;
    } catch (error) {
      // Refused (409: already over), not found (404: not yours), or signed out (401): the server says which.
      io.err(error instanceof Error ? error.message : String(error));
      return EXIT.problems;
    }
  },
};
