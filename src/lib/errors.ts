/**
 * A few error classes with stable codes. Messages are written for the person who reads them
 * (requester, approver or operator) and never carry a secret or a connection string.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'CONFIG'
  | 'TARGET_UNAVAILABLE'
  | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Field-level problems, keyed by input name, for forms that can show them inline. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (message: string, fields: Record<string, string> = {}) =>
  new AppError('BAD_INPUT', message, fields);
export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} was not found.`);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const configError = (message: string) => new AppError('CONFIG', message);
export const targetUnavailable = (message: string) => new AppError('TARGET_UNAVAILABLE', message);

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** A message safe to show to a person: our own messages as written, anything else generic. */
export function publicMessage(error: unknown): string {
  return isAppError(error) ? error.message : 'Something went wrong on our side. The error is logged; try again.';
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  CONFLICT: 409,
  CONFIG: 500,
  TARGET_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export const httpStatus = (error: unknown) => (isAppError(error) ? HTTP_STATUS[error.code] : 500);
