import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they sit in the object. */
const REDACT = [
  'password', 'token', 'secret', 'authorization', 'connectionString', 'adminUrl', 'uri', 'url',
  '*.password', '*.token', '*.secret', '*.authorization', '*.connectionString', '*.adminUrl', '*.uri',
  'headers.authorization', 'headers["x-slack-signature"]', 'credentials', '*.credentials',
];

/** JSON lines on stdout; the CLI logs to stderr so that its own output (tables, --json) stays clean. */
export function createLogger(level: string, stream: 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'dbaccess' } };
  return stream === 'stderr' ? pino(options, pino.destination(2)) : pino(options);
}

/** Removes a password from anything that looks like a connection string inside a message. */
export function scrubSecrets(text: string): string {
  return text.replace(/(\w+:\/\/[^:\s/@]*:)[^@\s]*@/g, '$1[redacted]@');
}
