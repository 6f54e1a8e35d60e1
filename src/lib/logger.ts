import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they sit in the object. */
const REDACT = [
  'password', 'token', 'secret', 'authorization', 'connectionString', 'adminUrl', 'uri', 'url',
  '*.password', '*.token', '*.secret', '*.authorization', '*.connectionString', '*.adminUrl', '*.uri',
  'headers.authorization', 'headers["x-slack-signature"]', 'credentials', '*.credentials',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'dbaccess' } });
}

/** Removes a password from anything that looks like a connection string inside a message. */
export function scrubSecrets(text: string): string {
  return text.replace(/(\w+:\/\/[^:\s/@]*:)[^@\s]*@/g, '$1[redacted]@');
}
