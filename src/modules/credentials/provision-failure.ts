import { isAppError, publicMessage, type ErrorCode } from '../../lib/errors.js';

/**
 * Provisioning failures that retrying cannot fix: permission denied, a missing object, an admin
 * reference that does not resolve, a configuration the target refuses, a role that is not ours.
 * Everything else (connection refused, timeouts, lock timeouts, too many connections, a target
 * restarting, serialization failures, and errors we do not know) is transient: retried without end.
 * Providers turn driver errors into these codes (describeFailure in each provider).
 */
const PERMANENT: readonly ErrorCode[] = ['BAD_INPUT', 'CONFIG', 'CONFLICT', 'NOT_FOUND', 'FORBIDDEN'];

/** A permanent failure ends the request as `failed` at this attempt at the latest. */
export const MAX_PERMANENT_ATTEMPTS = 3;

export const isPermanentFailure = (error: unknown) => isAppError(error) && PERMANENT.includes(error.code);

/** The reason a failed request shows on its card, in the requester's message and in the audit log. */
export const failureReason = (error: unknown) => `The database user could not be created: ${publicMessage(error)}`;
