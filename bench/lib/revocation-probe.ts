import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * What a person holding a lease's credentials sees when the lease ends, from outside the app:
 * - a fresh login with the credentials is refused (PostgreSQL 28000 "not permitted to log in" after
 *   NOLOGIN, 28P01 once the role is gone; MariaDB 4151 "account is locked", 1045/1698 once the user is gone);
 * - the session that was open is ended by the server (the client's 'error' or 'end' event).
 * Logins are tried one at a time, a new attempt `intervalMs` after the previous one began (or as soon as
 * it ended, if it took longer): the first refusal's answer time over-states the moment by at most one
 * interval plus one login.
 */
export type Engine = 'postgres' | 'mariadb';

const PG_REFUSED = new Set(['28000', '28P01']);
const MARIADB_REFUSED = new Set([1045, 1698, 4151, 3118]);

export type LoginOutcome = 'ok' | 'refused' | 'error';

/** Whether an error of a login attempt is the server refusing the credentials (not a network or load failure). */
export function isRefusal(engine: Engine, error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown };
  return engine === 'postgres' ? PG_REFUSED.has(String(e.code)) : MARIADB_REFUSED.has(Number(e.errno));
}

export function engineOf(uri: string): Engine {
  return uri.startsWith('mysql:') ? 'mariadb' : 'postgres';
}

/** One login with the credentials of `uri`, closed at once when it succeeds. */
export async function tryLogin(uri: string, timeoutMs = 5_000): Promise<{ outcome: LoginOutcome; error?: string }> {
  const engine = engineOf(uri);
  try {
    if (engine === 'postgres') {
      const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: timeoutMs, application_name: 'bench-login-probe' });
      client.on('error', () => {});
      await client.connect();
      await client.end().catch(() => {});
    } else {
      const connection = await mysql.createConnection({ uri, connectTimeout: timeoutMs });
      inner(connection).on('error', () => {});
      await connection.end().catch(() => {});
    }
    return { outcome: 'ok' };
  } catch (error) {
    return isRefusal(engine, error) ? { outcome: 'refused' } : { outcome: 'error', error: (error as Error).message };
  }
}

export interface OpenSession {
  engine: Engine;
  /** The server's id of the session (backend pid or connection id). */
  id: number;
  /** Date.now() when the client saw the server end the session (undefined while it is up). */
  endedAt(): number | undefined;
  /** Resolves with Date.now() when the client sees the session end. */
  ended: Promise<number>;
  /** Whether a query still gets an answer. */
  answers(): Promise<boolean>;
  close(): Promise<void>;
}

/** A session opened with the lease's credentials and held, listening for its end (event-driven, nothing polled). */
export async function openSession(uri: string): Promise<OpenSession> {
  const engine = engineOf(uri);
  let endedAt: number | undefined;
  let resolveEnded!: (at: number) => void;
  const ended = new Promise<number>((resolve) => (resolveEnded = resolve));
  const mark = () => {
    if (endedAt !== undefined) return;
    endedAt = Date.now();
    resolveEnded(endedAt);
  };
  if (engine === 'postgres') {
    const client = new pg.Client({ connectionString: uri, application_name: 'bench-open-session' });
    client.on('error', mark);
    client.on('end', mark);
    await client.connect();
    const id = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return {
      engine, id, ended, endedAt: () => endedAt,
      answers: () => client.query('SELECT 1').then(() => true, () => false),
      close: () => client.end().catch(() => {}),
    };
  }
  const connection = await mysql.createConnection({ uri });
  inner(connection).on('error', mark);
  inner(connection).on('end', mark);
  const [rows] = await connection.query('SELECT CONNECTION_ID() AS id');
  const id = Number((rows as Array<{ id: number }>)[0]!.id);
  return {
    engine, id, ended, endedAt: () => endedAt,
    answers: () => connection.query('SELECT 1').then(() => true, () => false),
    close: async () => {
      if (endedAt === undefined) await connection.end().catch(() => {});
      else connection.destroy();
    },
  };
}

export interface Blocked {
  /** Date.now() when the first refused login came back. */
  loginRefusedAt: number;
  /** Date.now() when the open session's client saw it end. */
  sessionEndedAt: number;
  /** Logins tried (including the refused one), and those that failed for another reason (network, load). */
  attempts: number;
  otherErrors: string[];
}

/**
 * From now on, tries a login every `intervalMs` until one is refused, and waits for the session's end;
 * gives up after `timeoutMs` (undefined).
 */
export async function waitUntilBlocked(uri: string, session: OpenSession, { intervalMs = 20, timeoutMs = 30_000 }: { intervalMs?: number; timeoutMs?: number } = {}): Promise<Blocked | undefined> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  const otherErrors: string[] = [];
  let loginRefusedAt: number | undefined;
  while (Date.now() < deadline) {
    const began = Date.now();
    const { outcome, error } = await tryLogin(uri, Math.min(5_000, Math.max(500, deadline - began)));
    attempts += 1;
    if (outcome === 'refused') {
      loginRefusedAt = Date.now();
      break;
    }
    if (outcome === 'error' && otherErrors.length < 5) otherErrors.push(error ?? 'unknown');
    await sleep(Math.max(0, intervalMs - (Date.now() - began)));
  }
  if (loginRefusedAt === undefined) return undefined;
  const sessionEndedAt = await Promise.race([session.ended, sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
  if (sessionEndedAt === undefined) return undefined;
  return { loginRefusedAt, sessionEndedAt, attempts, otherErrors };
}

/** The callback connection under mysql2's promise wrapper: its 'error' and 'end' events. */
const inner = (connection: mysql.Connection) => (connection as unknown as { connection: NodeJS.EventEmitter }).connection;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
