import { type AppError, badInput, configError, isAppError, targetUnavailable } from '../../../../lib/errors.js';
import type { ProvisionSpec, Target } from '../../credential-types.js';
import { networkReason, scrubTarget, where } from '../../target-text.js';

/** PostgreSQL silently truncates longer names, which would hand out a different user than the one recorded. */
const MAX_IDENTIFIER_BYTES = 63;

/** Runs one operation on a target; whatever it throws comes out as an AppError without secrets. */
export async function run<T>(target: Target, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw describeFailure(target, action, error);
  }
}

export function checkUsername(username: string): void {
  if (username.length === 0 || Buffer.byteLength(username, 'utf8') > MAX_IDENTIFIER_BYTES || username.includes('\0')) {
    throw badInput(`A PostgreSQL user name must be 1-${MAX_IDENTIFIER_BYTES} bytes without NUL characters.`);
  }
}

export function checkSpec(target: Target, spec: ProvisionSpec): void {
  if (!(spec.expiresAt instanceof Date) || Number.isNaN(spec.expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
  const limit = target.entry.connectionLimit;
  // Interpolated into DDL, so it must be a plain integer whatever the caller's types promise.
  if (!Number.isInteger(limit) || limit < 1) throw configError(`connectionLimit of ${target.entry.id} must be a positive integer.`);
}

/** Why a connection could not be made, in words, or undefined when the failure came later. */
function unreachableReason(code: string | undefined, message: string): string | undefined {
  const network = networkReason(code);
  if (network) return network;
  switch (code) {
    case '28P01':
    case '28000':
      return 'the admin login was refused (check the admin credentials)';
    case '3D000':
      return 'the database does not exist';
    case '53300':
      return 'too many connections';
    case '57P01':
    case '57P02':
    case '57P03':
      return 'the server is shutting down or starting up';
  }
  if (code?.startsWith('08')) return 'connection failure';
  if (/timeout/i.test(message) && /connect/i.test(message)) return 'connection timed out';
  if (/Connection terminated/i.test(message)) return 'connection closed unexpectedly';
  return undefined;
}

/** Driver and server errors as AppErrors that never carry the admin URL or its password. */
function describeFailure(target: Target, action: string, error: unknown): AppError {
  if (isAppError(error)) return error;
  const { code, message, detail } = (error ?? {}) as { code?: unknown; message?: unknown; detail?: unknown };
  const sqlState = typeof code === 'string' ? code : undefined;
  const text = typeof message === 'string' ? message : '';
  const reason = unreachableReason(sqlState, text);
  if (reason) return targetUnavailable(`Cannot reach ${where(target)}: ${reason}.`);
  const said = scrubTarget(target, [text, typeof detail === 'string' ? detail : ''].filter(Boolean).join(' ') || 'unknown error');
  // A scope naming a table or schema that does not exist will not get better with retries.
  if (sqlState === '42P01' || sqlState === '3F000' || sqlState === '42703' || sqlState === '42704') return badInput(`${action} on ${where(target)} failed: ${said}.`);
  // Permission denied will not get better with retries either: the admin account needs a privilege.
  if (sqlState === '42501') return configError(`The admin account of ${where(target)} lacks a privilege this needs (${said}).`);
  return targetUnavailable(`${action} on ${where(target)} failed: ${said}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}.`);
}
