import { codeOf, commands, dangerous, names, selectList, type Rule } from './session-check-helpers.js';
import { ACCOUNT_TABLE, namesASecret } from './secret-names.js';
import type { Seen } from './session-types.js';

/**
 * The application's stored secrets: columns whose names say they hold passwords, hashes, tokens, keys
 * or secrets, read in a select list (or `*` of a table named for them), and rows of a settings table
 * named so by their key (`'smtp_password'`, `'stripe_secret_key'`). The server's own credential
 * tables are credentialTables' flag.
 */
const SECRET_TABLE = /(?:^|_)(?:tokens?|secrets?|credentials?|api_?keys?|passwords?)$/i;
/** Tags a catalog gives tables of stored secrets. */
const SECRET_TAGS = ['secret', 'secrets', 'credentials'];
const SESSION_TABLE = /(?:^|_)sessions?(?:_attributes)?$/i;
/** OAuth servers' token tables (Laravel Passport's), whose `id` is the token itself. */
const OAUTH_TOKENS = /^oauth_(?:access|refresh|auth)_(?:tokens|codes)$/i;
/** Laravel's `payload`, Drupal's `session`, Spring Session's `attribute_bytes`. */
const BARE_SECRETS = new Set(['key', 'token', 'secret', 'data', 'payload', 'session', 'attribute_bytes', 'digest', 'hash']);
/** Tables of settings and key-value meta, whose secrets are rows named by a key (`WHERE name = 'smtp_password'`, `meta_key = 'session_tokens'`, `path = 'payment/stripe/secret_key'`). */
export const SETTINGS_TABLE = /(?:^|_)(?:\w*meta|kv|settings?|config(?:uration)?s?|parameters?|params|options|preferences|env|environment|properties|key_?values?|einstellungen|konfiguration|parametres|parametros|configuracion|configuracao|impostazioni|instellingen|ustawienia|asetukset|installningar|innstillinger|ayarlar)(?:_|$)/i;
export const applicationSecrets: Rule = (seen, input) => {
  /** The evidence: the secret columns it reads out, or `*` of a table of secrets. */
  const evidence = (s: Seen): string[] => {
    if (s.objects.some((o) => o.credential)) return [];
    // A change hands back what its RETURNING lists (`UPDATE partners SET active = true ... RETURNING api_key`).
    const returning = ['update', 'delete', 'insert'].includes(s.statement.kind) ? /\bRETURNING\b([\s\S]*)$/i.exec(codeOf(s, input))?.[1] : undefined;
    if (returning !== undefined) return withoutPresenceTests(returning).split(/[^\w*]+/).filter((column) => namesASecret(column, true));
    if (!(['select', 'copy', 'insert'].includes(s.statement.kind) || FILLS_FROM_QUERY.test(s.statement.command))) return [];
    const columns = withoutPresenceTests(selectList(codeOf(s, input))).split(/[^\w*]+/).filter(Boolean);
    // In a table of secrets or sessions a bare `key`, `data` or `payload` is the secret itself (Django's authtoken_token.key);
    // a `value` only where the name says so (a gift card's value, in a table tagged secret, is an amount).
    const namedSo = s.objects.some((o) => o.access === 'read' && (SECRET_TABLE.test(o.name) || SESSION_TABLE.test(o.name)));
    const ofSecrets = namedSo || s.objects.some((o) => o.access === 'read' && SECRET_TAGS.some((tag) => o.tags.has(tag)));
    const oauth = s.objects.some((o) => o.access === 'read' && OAUTH_TOKENS.test(o.name));
    const bareSecret = (column: string) => {
      const word = column.toLowerCase().replace(/_(?:hash|hashed|digest|enc|encrypted)$/, '');
      return BARE_SECRETS.has(word) || (namedSo && word === 'value') || (oauth && word === 'id');
    };
    // Read out (not written: storing or rotating a secret is a change).
    const ofSettings = (s.statement.kind === 'select' || s.statement.kind === 'copy') && s.objects.some((o) => o.access === 'read' && SETTINGS_TABLE.test(o.name));
    // A settings table read by its keys (`WHERE name IN ('shop_name', 'currency')`): the keys say what is read, not its `key` and `value` columns.
    const pinned = ofSettings && keyPinned(codeOf(s, input));
    const bare = ofSecrets && !pinned ? columns.filter(bareSecret) : [];
    // Every value of a settings table tagged secret, no key named: its secrets among them.
    const everyValue = ofSettings && !pinned && s.objects.some((o) => o.access === 'read' && SETTINGS_TABLE.test(o.name) && SECRET_TAGS.some((tag) => o.tags.has(tag)));
    const values = everyValue ? columns.filter((column) => VALUE_COLUMN.test(column)) : [];
    const star = s.statement.selectStar && s.objects.some((o) => o.access === 'read' && (SECRET_TABLE.test(o.name) || SECRET_TAGS.some((tag) => o.tags.has(tag))));
    const ofAccounts = s.objects.some((o) => o.access === 'read' && (ACCOUNT_TABLE.test(o.name) || SECRET_TAGS.some((tag) => o.tags.has(tag))));
    const keys = ofSettings ? [...codeOf(s, input).matchAll(/'([\w./:%-]{1,80})'/g)].map((match) => match[1]!).filter((key) => namesASecret(key.replace(/[./:%-]/g, '_'))) : [];
    return [...(star ? ['*'] : []), ...bare, ...values, ...columns.filter((column) => namesASecret(column, ofAccounts)), ...keys.map((key) => `'${key}'`)];
  };
  const found = seen.filter((s) => evidence(s).length > 0);
  const what = (those: Seen[]) => `${names(those.flatMap(evidence))} of ${names(those.flatMap((s) => s.objects.map((o) => o.label)))}`;
  return [
    dangerous('stored-secrets', found, (done) => `Read stored secrets of the application (${commands(done)} of ${what(done)}).`, (tried) => `Tried to read stored secrets of the application (${what(tried)}); the server refused.`),
  ];
};
/** A settings table's value column: `value`, `option_value`, `meta_value`, `v`. */
const VALUE_COLUMN = /^(?:\w+_)?(?:value|val|v|wert|valor|valeur|valore|waarde|wartosc|arvo|verdi|varde|deger)$/i;
/** Its key column (`name`, `key`, `option_name`, `meta_key`, `path`) compared with strings: `= 'x'`, `IN ('x', 'y')`, `LIKE 'carriers/%'` (not `LIKE '%'`). */
const KEY_COMPARED = /[`"]?(\w+)[`"]?\s*(?:=|\bIN\s*\(|\bLIKE\b)\s*'(?!%*')/gi;
const KEY_COLUMN = /^(?:\w+_)?(?:key|name|k|path|code|setting|option|param|variable|schluessel|schlussel|clave|chave|chiave|sleutel|nom|nombre|nome|avain|klucz)$/i;
const keyPinned = (code: string) => [...code.matchAll(KEY_COMPARED)].some((match) => KEY_COLUMN.test(match[1]!));
/**
 * Whether a secret is there, not what it is: `JSON_CONTAINS_PATH(s, 'one', '$.bot_token')`, `s ? 'api_key'`,
 * `token IS NOT NULL`; and output names (`AS has_token`), which read nothing.
 */
const withoutPresenceTests = (list: string) =>
  list.replace(/\bAS\s+(?:"[^"]*"|`[^`]*`|\w+)/gi, '').replace(/\b(?:json_contains_path|jsonb?_exists(?:_any|_all)?|json_exists)\s*\([^()]*\)|\?[|&]?\s*'[^']*'|[\w.]+(?:\s*->>?\s*'[^']*')?\s+IS\s+(?:NOT\s+)?NULL\b/gi, '');
/** DDL whose query's rows land where the session reads them next: secrets copied into a temporary table are read all the same. */
const FILLS_FROM_QUERY = /^(?:SELECT INTO|CREATE (?:TEMP |TEMPORARY )?TABLE(?: AS)?|CREATE (?:MATERIALIZED )?VIEW)$/;
