import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's own default (scram_iterations in PostgreSQL 16+, fixed in 15). */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * A PostgreSQL SCRAM-SHA-256 password verifier (RFC 5802 / RFC 7677), the same string PostgreSQL
 * stores in pg_authid.rolpassword:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts).
 *
 * Sending this instead of the password keeps the plaintext off the wire and out of the server log:
 * PostgreSQL logs a failing `CREATE ROLE ... PASSWORD '...'` statement verbatim.
 */
export async function scramSha256Verifier(
  password: string,
  options: { salt?: Buffer; iterations?: number } = {},
): Promise<string> {
  if (password.length === 0) throw new Error('A SCRAM verifier needs a non-empty password.');
  // PostgreSQL runs the password through SASLprep (RFC 4013) at login. SASLprep leaves ASCII as it
  // is (prohibited control characters make PostgreSQL fall back to the raw bytes, also as they are),
  // so only ASCII is safe without a SASLprep implementation here.
  if (!/^[\x00-\x7f]*$/.test(password)) throw new Error('SCRAM verifiers are only computed for ASCII passwords.');
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const iterations = options.iterations ?? SCRAM_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('SCRAM iterations must be a positive integer.');

  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
