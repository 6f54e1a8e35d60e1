/** A temporary credential as delivered to its requester; exists only in memory and in the DM. */
export interface Credentials {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  expiresAt: Date;
}

/** `postgresql://user:password@host:port/database` with every part escaped. */
export function postgresUri(c: Credentials): string {
  return `postgresql://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}
