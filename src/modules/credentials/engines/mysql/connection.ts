import { createHash } from 'node:crypto';
import type { PoolOptions } from 'mysql2/promise';
import { type AppError, badInput, configError, isAppError, targetUnavailable } from '../../../../lib/errors.js';
import type { ProvisionSpec, Target } from '../../credential-types.js';
import { networkReason, scrubTarget, where } from '../../target-text.js';
import { type MysqlFlavor, maxUserNameLength } from './grants.js';

/** The admin connection: its settings from the admin URL, the checks of names, and failures in words. */

const CONNECT_TIMEOUT_MS = 5_000;
export const STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Connection settings from the admin URL. Settings that would make our escaping unsafe or widen what a
 * statement can do (another character set, several statements per query) cannot come from the URL.
 */
export function connectionOptions(adminUrl: string): PoolOptions {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw configError('An admin connection string is not a valid URL (expected mysql://user:password@host:port/database).');
  }
  const extra: Record<string, unknown> = {};
  for (const [key, value] of url.searchParams) {
    try {
      extra[key] = JSON.parse(value);
    } catch {
      extra[key] = value;
    }
  }
  return {
    ...extra,
    host: decodeURIComponent(url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname),
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
    // utf8mb4 only: in multi-byte character sets such as GBK or SJIS a backslash escape can be swallowed.
    charset: 'UTF8MB4_GENERAL_CI',
    multipleStatements: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableKeepAlive: true,
    waitForConnections: true,
    queueLimit: 0,
    connectAttributes: { program_name: 'dbaccess' },
  };
}

/** Lock names are limited to 64 characters: the user name hashed. */
export function userLockName(username: string): string {
  return `dbaccess:${createHash('sha1').update(username, 'utf8').digest('hex')}`;
}

export function checkUsername(target: Target, username: string, flavor: MysqlFlavor): void {
  const limit = maxUserNameLength(flavor, target.entry.legacyUserNames);
  const length = [...username].length;
  // Trailing spaces are not significant in the server's comparisons ('x ' = 'x'); control characters
  // have no business in a user name.
  if (length === 0 || length > limit || /[\u0000-\u001f\u007f]/.test(username) || username.trim() !== username) {
    throw badInput(`A user name on ${target.entry.id} must be 1-${limit} characters, without control characters or surrounding spaces.`);
  }
}

export function checkSpec(target: Target, spec: ProvisionSpec): string[] {
  if (!(spec.expiresAt instanceof Date) || Number.isNaN(spec.expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
  const limit = target.entry.connectionLimit;
  // Interpolated into DDL, so it must be a plain integer whatever the caller's types promise.
  if (!Number.isInteger(limit) || limit < 1) throw configError(`connectionLimit of ${target.entry.id} must be a positive integer.`);
  const hosts = [...new Map((target.entry.allowedHosts ?? ['%']).map((host) => [host.toLowerCase(), host])).values()];
  if (hosts.length === 0 || hosts.some((host) => host.length === 0 || host.length > 255)) {
    throw configError(`allowedHosts of ${target.entry.id} must list 1-20 host names or patterns.`);
  }
  return hosts;
}


// Server error numbers. mysql2 names errors after MySQL's numbering, and MariaDB reuses some numbers
// for other errors (4151 is "account is locked" on MariaDB), so match on numbers.
export const ER_NO_SUCH_THREAD = 1094;
export const ER_CANNOT_USER_REFERENCED_AS_DEFINER = 4006;

export function errnoOf(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/**
 * A connection that must not go back to the pool: broken, or with a statement that timed out on our
 * side (the server may still answer it, and the answer would be read as the next statement's).
 */
export function mustDiscard(error: unknown): boolean {
  const { fatal, code } = (error ?? {}) as { fatal?: unknown; code?: unknown };
  return fatal === true || (typeof code === 'string' && code.startsWith('PROTOCOL_'));
}

/** Why a connection could not be made or was lost, in words, or undefined when the failure came later. */
export function unreachableReason(error: unknown): string | undefined {
  const { code, errno, fatal, message } = (error ?? {}) as { code?: unknown; errno?: unknown; fatal?: unknown; message?: unknown };
  const network = networkReason(code);
  if (network) return network;
  switch (code) {
    case 'PROTOCOL_CONNECTION_LOST':
      return 'connection closed unexpectedly';
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
      return `no answer within ${STATEMENT_TIMEOUT_MS / 1000} s`;
  }
  switch (errno) {
    case 1045: // ER_ACCESS_DENIED_ERROR
    case 1698: // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
      return 'the admin login was refused (check the admin credentials)';
    case 1049: // ER_BAD_DB_ERROR: only the admin URL's database can be unknown (nothing here runs USE)
      return 'the database in the admin URL does not exist';
    case 1040: // ER_CON_COUNT_ERROR
      return 'too many connections';
    case 1226: // ER_USER_LIMIT_REACHED
    case 1203: // ER_TOO_MANY_USER_CONNECTIONS
      return 'the admin account has reached its connection limit';
    case 1053: // ER_SERVER_SHUTDOWN
    case 1927: // MariaDB ER_CONNECTION_KILLED
    case 3169: // MySQL ER_SESSION_WAS_KILLED
      return 'the server is shutting down or ended the session';
  }
  // Driver-side failures of the connection itself (TLS, handshake) carry no server error number.
  if (fatal === true && typeof errno !== 'number') {
    return typeof message === 'string' && /timeout/i.test(message) ? 'connection timed out' : 'connection failure';
  }
  return undefined;
}

/** Driver and server errors as AppErrors that never carry the admin URL, its password or a password hash. */
export function describeFailure(target: Target, action: string, error: unknown, secrets: string[] = []): AppError {
  if (isAppError(error)) return error;
  const reason = unreachableReason(error);
  if (reason) return targetUnavailable(`Cannot reach ${where(target)}: ${reason}.`);
  const { message, sqlMessage } = (error ?? {}) as { message?: unknown; sqlMessage?: unknown };
  const errno = errnoOf(error);
  const said = scrubTarget(target, typeof sqlMessage === 'string' ? sqlMessage : typeof message === 'string' ? message : 'unknown error', secrets);
  switch (errno) {
    case 1146: // ER_NO_SUCH_TABLE: a scope naming a missing table will not get better with retries.
    case 1054: // ER_BAD_FIELD_ERROR: a missing column in a column grant
      return badInput(`${action} on ${where(target)} failed: ${said}.`);
    case 1044: // ER_DBACCESS_DENIED_ERROR
    case 1142: // ER_TABLEACCESS_DENIED_ERROR (e.g. no UPDATE on mysql.global_priv for the marker)
    case 1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
    case 1410: // ER_CANT_CREATE_USER_WITH_GRANT
    case 1370: // ER_PROCACCESS_DENIED_ERROR
      return configError(`The admin account of ${where(target)} lacks a privilege this needs (${said}).`);
    case 1524: // ER_PLUGIN_IS_NOT_LOADED
      return configError(
        `${where(target)} cannot create mysql_native_password users (${said}). MySQL 8.4 disables that plugin by default (mysql_native_password=ON enables it) and MySQL 9 removed it.`,
      );
  }
  return targetUnavailable(`${action} on ${where(target)} failed: ${said}${errno ? ` (error ${errno})` : ''}.`);
}
