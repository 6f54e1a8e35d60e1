import { randomBytes, randomUUID } from 'node:crypto';

// Crockford base32 without I, L, O, U: easy to read aloud and to type in `/dbaccess revoke <id>`.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function randomCode(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % 32];
  return out;
}

/** Public, typable request id, e.g. `R7F3K2QX9A`. */
export const newRequestId = () => `R${randomCode(9)}`;
export const newId = () => randomUUID();
