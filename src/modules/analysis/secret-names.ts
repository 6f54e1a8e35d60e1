/**
 * Whether a column's name says it holds a stored secret: a password or its hash, a token, an API,
 * private or signing key, a secret, credentials, recovery codes. Read word by word (snake_case and
 * camelCase alike), after the words that only say how it is stored (`_hash`, `_enc`, `_pem`, `_b64`,
 * `Digest`): `passwordDigest`, `totp_secret_enc`, `private_key_pem`, `signing_key_b64` are secrets.
 * Named for the value itself, not for facts about it: `token_expires_at`, `password_changed_at`,
 * `tokens_used`, `key_id`, `public_key` are not.
 */
export function namesASecret(column: string): boolean {
  const words = column.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/_+/).filter(Boolean);
  let stored = false;
  while (words.length > 1 && STORAGE_WORDS.has(words[words.length - 1]!)) {
    stored = true;
    words.pop();
  }
  const [last, before] = [words[words.length - 1], words[words.length - 2]];
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last)) return true;
  // `pw_hash`, `pass_digest`: short for password only when stored as a hash.
  if (stored && (last === 'pw' || last === 'pass')) return true;
  if ((last === 'key' || last === 'keys') && before !== undefined) return KEY_KINDS.has(before);
  if (last === 'codes' && before !== undefined) return before === 'recovery' || before === 'backup';
  return false;
}

const SECRET_WORDS = new Set(['password', 'passwd', 'pwd', 'passphrase', 'secret', 'secrets', 'token', 'tokens', 'credential', 'credentials', 'apikey', 'apikeys', 'privatekey']);
const STORAGE_WORDS = new Set(['hash', 'hashed', 'digest', 'enc', 'encrypted', 'crypt', 'ciphertext', 'cipher', 'pem', 'der', 'b64', 'base64', 'hex', 'raw', 'plain', 'plaintext', 'value', 'bcrypt', 'sha1', 'sha256', 'sha512', 'md5']);
const KEY_KINDS = new Set(['api', 'private', 'secret', 'signing', 'encryption', 'access', 'master', 'hmac', 'client', 'license', 'ssh']);
