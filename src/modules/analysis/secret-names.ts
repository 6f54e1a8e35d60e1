/**
 * Whether a column's name says it holds a stored secret: a password or its hash, a token, an API,
 * private, signing or session key, a secret, credentials, recovery codes, a stored PIN, a 2FA seed. Read word by word (snake_case and
 * camelCase alike), after the words that only say how it is stored (`_hash`, `_enc`, `_pem`, `_b64`,
 * `Digest`): `passwordDigest`, `totp_secret_enc`, `private_key_pem`, `signing_key_b64` are secrets.
 * A seed kept in an encoding (`seed_base32`) is a 2FA seed too; a password in other languages
 * (`salasana_hash`, `senha`, `haslo`), and a connection string or DSN (`subconninfo`, `database_url`), are secrets.
 * Named for the value itself, not for facts about it: `token_expires_at`, `password_changed_at`,
 * `tokens_used`, `key_id`, `public_key` are not.
 *
 * `pass` and `pw` are short for password when stored as a hash, when an account's word comes before
 * them (`user_pass`, `login_pass`, `admin_pw`, `userPass`), or alone in a table of accounts (Drupal's
 * `users_field_data.pass`); a `boarding_pass` or an exam's `pass` flag is not one.
 */
export function namesASecret(column: string, ofAccounts = false): boolean {
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
  if ((last === 'pw' || last === 'pass') && (stored || (before === undefined ? ofAccounts : ACCOUNT_WORDS.has(before)))) return true;
  if ((last === 'key' || last === 'keys') && before !== undefined) return KEY_KINDS.has(before);
  if ((last === 'string' || last === 'url' || last === 'uri') && before !== undefined) return ['connection', 'database', 'db', 'jdbc', 'dsn'].includes(before);
  if ((last === 'codes' || last === 'code') && before !== undefined) return before === 'recovery' || before === 'backup';
  // A PIN, a one-time password or a session's contents when stored (`pin_hash`, `otp_enc`, `session_data`); a 2FA seed; a password's salt.
  if (stored && STORED_ONLY.has(last)) return true;
  if (last === 'seed' && (stored || before !== undefined)) return stored || ['totp', 'otp', 'mfa', 'hotp'].includes(before!);
  if (last === 'salt' && before !== undefined) return ['password', 'pw', 'pass', 'passwd'].includes(before);
  return false;
}

const SECRET_WORDS = new Set([
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'secrets', 'token', 'tokens', 'credential', 'credentials', 'apikey', 'apikeys', 'privatekey',
  // password in the languages schemas are written in: salasana, Passwort, Kennwort, contraseña, senha, wachtwoord, hasło, parola, şifre, lösenord, passord, heslo, jelszó, kata sandi
  'salasana', 'passwort', 'kennwort', 'contrasena', 'contrasenya', 'senha', 'wachtwoord', 'haslo', 'parola', 'sifre', 'losenord', 'passord', 'adgangskode', 'heslo', 'jelszo', 'sandi', 'motdepasse', 'mdp',
  // connection strings and DSNs carry the password: pg_subscription.subconninfo, a service's dsn
  'conninfo', 'subconninfo', 'srvconninfo', 'dsn', 'connstr',
]);
/** Secrets only when stored: a `pin` may be a map pin, `otp_enabled` a flag. */
const STORED_ONLY = new Set(['pin', 'otp', 'session', 'sess']);
const STORAGE_WORDS = new Set(['data', 'hash', 'hashed', 'digest', 'enc', 'encrypted', 'crypt', 'ciphertext', 'cipher', 'pem', 'der', 'b64', 'base64', 'b32', 'base32', 'b58', 'base58', 'hex', 'raw', 'bytes', 'blob', 'bin', 'plain', 'plaintext', 'value', 'bcrypt', 'sha1', 'sha256', 'sha512', 'md5']);
/** Words before `pass` or `pw` that make it a password: an account's, or a server's or service's one logs in to (`mailserver_pass`, `relay_pw`). */
const ACCOUNT_WORDS = new Set([
  'user', 'users', 'login', 'logon', 'admin', 'account', 'member', 'root', 'db', 'smtp', 'ftp', 'sftp', 'mail', 'email', 'auth', 'master', 'sys',
  'operator', 'customer', 'owner', 'wp', 'site', 'app', 'server', 'mailserver', 'relay', 'imap', 'pop', 'pop3', 'ldap', 'bind', 'proxy',
  'database', 'mysql', 'postgres', 'redis', 'vpn', 'wifi', 'router', 'service', 'api',
]);
/** Tables of accounts: where a bare `pass` column is the password. */
export const ACCOUNT_TABLE = /(?:^|_)(?:users?|accounts?|logins?|members?|admins?|operators?|credentials?)(?:_|$)/i;
const KEY_KINDS = new Set(['session', 'api', 'private', 'secret', 'signing', 'encryption', 'access', 'master', 'hmac', 'client', 'license', 'ssh']);
