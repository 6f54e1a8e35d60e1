import { scrubSecrets } from '../../lib/logger.js';
import type { Target } from './credential-types.js';

/** How messages name a target: its catalog id and address, never its credentials. */
export const where = (target: Target) => `${target.entry.id} (${target.entry.host}:${target.entry.port})`;

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
