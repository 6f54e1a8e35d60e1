import type { Secret } from '../../lib/secret.js';
import { clientOf } from './engines/registry.js';

/** A temporary credential as delivered to its requester; exists only in memory and in the DM. */
export interface Credentials {
  /** The engine of the server people connect to (engines/registry.ts, serverEngineOf): a Vault-managed database speaks its server's. */
  protocol: string;
  host: string;
  port: number;
  database: string;
  username: string;
  /** Prints as [redacted]; revealed only where the DM (or the console) shows it. */
  password: Secret;
  expiresAt: Date;
}

const details = (c: Credentials) => ({ host: c.host, port: c.port, database: c.database, username: c.username, password: c.password.reveal() });

/** `postgresql://…` or `mysql://…`, every part escaped. */
export const connectionUri = (c: Credentials): string => clientOf(c.protocol).uri(details(c));

/** A command line that connects, ready to paste into a shell. */
export const clientCommand = (c: Credentials): string => clientOf(c.protocol).command(details(c));

/** The client program that command runs (`psql`, `mysql`), for a heading over it. */
export const clientName = (c: Credentials): string => clientOf(c.protocol).name;
