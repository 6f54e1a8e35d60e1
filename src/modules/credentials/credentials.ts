import type { Secret } from '../../lib/secret.js';

/** A temporary credential as delivered to its requester; exists only in memory and in the DM. */
export interface Credentials {
  /** The wire protocol: a Vault-managed database speaks its own engine's. */
  protocol: 'postgres' | 'mysql';
  host: string;
  port: number;
  database: string;
  username: string;
  /** Prints as [redacted]; revealed only where the DM (or the console) shows it. */
  password: Secret;
  expiresAt: Date;
}

/** `postgresql://…` or `mysql://…`, every part escaped. */
export function connectionUri(c: Credentials): string {
  const scheme = c.protocol === 'postgres' ? 'postgresql' : 'mysql';
  return `${scheme}://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password.reveal())}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** A command line that connects, ready to paste into a shell. */
export function clientCommand(c: Credentials): string {
  if (c.protocol === 'postgres') return `psql "${connectionUri(c)}"`;
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  return `mysql --host=${c.host} --port=${c.port} --user=${quote(c.username)} --password=${quote(c.password.reveal())} ${quote(c.database)}`;
}
