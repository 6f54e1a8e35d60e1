import { scrubSecrets } from '../../lib/logger.js';
import type { Target } from './credential-types.js';

/** How messages name a target: its catalog id and address, never its credentials. */
export const where = (target: Target) => `${target.entry.id} (${target.entry.host}:${target.entry.port})`;

/** Socket-level failures to reach a server, in words; undefined for anything else. */
export function networkReason(code: unknown): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    default:
      return undefined;
  }
}

/** A driver's message made safe to show: the admin URL, its password and any `extra` secrets removed. */
export function scrubTarget(target: Target, text: string, extra: string[] = []): string {
  const secrets = [target.adminUrl, ...extra];
  try {
    const password = new URL(target.adminUrl).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL: the whole string is already in the list.
  }
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return scrubSecrets(out).slice(0, 500);
}
