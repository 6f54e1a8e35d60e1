import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { CliIo } from './cli-io.js';

/**
 * The terminal's side of the sign-in: where its token is kept (a 0600 file under
 * ~/.config/dbaccess, or $XDG_CONFIG_HOME/dbaccess), the server it belongs to, and the calls to the
 * server's /cli/api with it. The token is never printed.
 */
export interface StoredSession {
  server: string;
  token: string;
  expiresAt: string;
  person: { platform: string; id: string };
}

export const sessionFile = (environment: Record<string, string | undefined>) =>
  join(environment.XDG_CONFIG_HOME || join(environment.HOME || '.', '.config'), 'dbaccess', 'session.json');

export function readSession(environment: Record<string, string | undefined>): StoredSession | undefined {
  try {
    const stored = JSON.parse(readFileSync(sessionFile(environment), 'utf8')) as StoredSession;
    return new Date(stored.expiresAt) > new Date() ? stored : undefined;
  } catch {
    return undefined;
  }
}

function writeSession(environment: Record<string, string | undefined>, session: StoredSession): void {
  const file = sessionFile(environment);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(session), { mode: 0o600 });
  chmodSync(file, 0o600);
}

export const forgetSession = (environment: Record<string, string | undefined>) => rmSync(sessionFile(environment), { force: true });

/** The server: --server, else DBACCESS_URL, else the one signed in to, else a local dbaccess. */
export const serverOf = (given: string | boolean | undefined, environment: Record<string, string | undefined>) =>
  (typeof given === 'string' && given) || environment.DBACCESS_URL || readSession(environment)?.server || 'http://127.0.0.1:3000';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: Record<string, unknown>) {
    super(message);
  }
}

/** One JSON call to the server; an answer of 400 and above is an ApiError with the server's words (and a 429's Retry-After, in seconds, as `retryAfter`). */
export async function call<T>(server: string, path: string, options: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  let response: Response;
  try {
    response = await fetch(`${server.replace(/\/$/, '')}${path}`, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    throw new ApiError(0, `cannot reach dbaccess at ${server} (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}); set --server or DBACCESS_URL.`, {});
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status === 429) body.retryAfter = Number(response.headers.get('retry-after')) || undefined;
  if (response.status >= 400) throw new ApiError(response.status, typeof body.error === 'string' ? body.error : `dbaccess answered ${response.status}.`, body);
  return { status: response.status, body: body as T };
}

/**
 * The stored session for this server, or a new one: the device-code sign-in, confirmed by the person
 * in chat (`login <code>`), polled until confirmed or expired.
 */
export async function signIn(server: string, io: CliIo, environment: Record<string, string | undefined>, options: { fresh?: boolean; pollMs?: number } = {}): Promise<StoredSession> {
  const stored = readSession(environment);
  if (!options.fresh && stored && stored.server === server) {
    try {
      await call(server, '/cli/api/me', { token: stored.token });
      return stored;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      io.err('dbaccess: your terminal sign-in has expired or was revoked; signing in again.');
    }
  }
  const started = (await call<{ deviceCode: string; userCode: string; expiresAt: string; interval: number; login: string }>(server, '/cli/api/device', { body: { client: `${environment.USER ?? 'someone'}@${hostname()}`.slice(0, 100) } })).body;
  io.err(`To sign in this terminal, type in Slack, Teams or the dbaccess console:\n\n    ${started.login}\n\n(the code works once, within 10 minutes)`);
  const deadline = new Date(started.expiresAt).getTime();
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.pollMs ?? started.interval * 1000));
  /** Polls in a row whose answer did not arrive (a dropped connection); a few are polled again. */
  let lost = 0;
  let slowed = false;
  for (;;) {
    io.status(`Waiting for you to confirm ${started.userCode} in chat…`);
    let answer: { body: { pending?: boolean; token?: string; expiresAt?: string; person?: { platform: string; id: string } } };
    try {
      answer = await call(server, '/cli/api/token', { body: { deviceCode: started.deviceCode } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 0 && lost < 3 && Date.now() < deadline) {
        lost += 1;
        await pause();
        continue;
      }
      // Asked to slow down (another terminal behind the same address, or a burst): wait as told, within the code's life.
      if (error.status === 429 && Date.now() < deadline) {
        const seconds = Math.min(60, Math.max(1, Number(error.body.retryAfter) || started.interval));
        // Said once as a line (it shows in a log too), then on the status line.
        if (!slowed) io.err(`dbaccess asked this terminal to slow down; polling again in ${seconds} s.`);
        else io.status(`dbaccess asked this terminal to slow down; polling again in ${seconds} s…`);
        slowed = true;
        await new Promise((resolve) => setTimeout(resolve, Math.min(seconds * 1000, Math.max(0, deadline - Date.now()))));
        continue;
      }
      // The server hands the token out once: a poll sent again after an answer that carried it was
      // lost hears "already used", and that token is ended on the server. Say so, and the way out.
      if (error.status === 410 && lost > 0) throw new ApiError(410, `${error.message} (An earlier answer of dbaccess did not reach this terminal.)`, error.body);
      throw error;
    }
    lost = 0;
    if (answer.body.token) {
      io.status('');
      const session = { server, token: answer.body.token, expiresAt: answer.body.expiresAt!, person: answer.body.person! };
      writeSession(environment, session);
      io.err(`Signed in as ${session.person.id} (${session.person.platform}) until ${session.expiresAt.slice(0, 16).replace('T', ' ')} UTC.`);
      return session;
    }
    if (Date.now() > deadline) throw new ApiError(410, 'the sign-in code expired; run the command again.', {});
    await pause();
  }
}
