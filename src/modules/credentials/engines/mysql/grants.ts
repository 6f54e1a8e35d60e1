import { createHash } from 'node:crypto';
import { escape, escapeId } from 'mysql2';
import type { AccessLevel } from '../../../../config/catalog.js';
import { tablePrivileges } from '../../grant-mapping.js';
import { badInput, configError } from '../../../../lib/errors.js';
import type { ScopeItem } from '../../scope.js';

/**
 * Every SQL text the MySQL / MariaDB provider sends, as pure functions (so the MySQL-only branches,
 * which cannot run here, are unit-tested by the statements they produce).
 *
 * Literals are written with backslash escapes (mysql2's `escape`): valid only in a session without
 * NO_BACKSLASH_ESCAPES and ANSI_QUOTES. The provider pins its admin sessions' sql_mode for that.
 */

export type MysqlFlavor = 'mysql' | 'mariadb';

/**
 * Set on every account the provider creates, followed by the install id (mysqlMarker): MySQL 8 keeps
 * it in the account's ATTRIBUTE JSON (`mysql.user.User_attributes->'$.metadata.dbaccess'`), MariaDB,
 * which has no user comments, in a key of the account's `mysql.global_priv.Priv` JSON that the server
 * keeps through ALTER USER, GRANT, REVOKE and FLUSH PRIVILEGES. Provision only rewrites, and revoke
 * only drops, accounts with this install's marker, or with MARKER_VALUE alone (made before install
 * ids: adopted by the install that holds their lease; the reconciler never drops them).
 */
export const MARKER_KEY = 'dbaccess';
export const MARKER_VALUE = 'dbaccess temporary user';

/** The marker of this install's accounts. */
export function mysqlMarker(install: string): string {
  if (!/^([a-z2-7]{8}|0{8})$/.test(install)) throw new TypeError('An install id is 8 characters of [a-z2-7].');
  return `${MARKER_VALUE} ${install}`;
}

// Built-in levels' privileges come from grant-mapping's table. ALL PRIVILEGES at database or table
// level never includes GRANT OPTION or a global privilege (SUPER, FILE, PROCESS, SHUTDOWN, CREATE
// USER): those exist only ON *.*, which is never granted.

/** User name limits in characters. Longer names are refused, never truncated (two users would share one). */
export function maxUserNameLength(flavor: MysqlFlavor, legacy: boolean): number {
  if (legacy) return 16; // MySQL 5.x (and anything replicating to it)
  return flavor === 'mariadb' ? 80 : 32;
}

/**
 * `<prefix><random>` when it fits the server, otherwise a configuration error: cutting the random part
 * short would make collisions likely, and cutting the prefix would hide the user from the reconciler.
 */
export function mysqlUserName(input: { prefix: string; random: string; flavor: MysqlFlavor; legacy: boolean }): string {
  const limit = maxUserNameLength(input.flavor, input.legacy);
  const name = `${input.prefix}${input.random}`;
  const length = [...name].length;
  if (length > limit) {
    const room = limit - [...input.random].length;
    throw configError(
      `The user prefix "${input.prefix}" is too long for this server: user names may have at most ${limit} characters and the random part needs ${[...input.random].length}, so the prefix (settings.userPrefix) may have at most ${Math.max(0, room)}.`,
    );
  }
  return name;
}

/** A backtick-quoted identifier; `.` stays part of the name (mysql2 would otherwise split on it). */
export const quoteIdentifier = (name: string) => escapeId(name, true);

/**
 * A database name in `GRANT ... ON db.*`, where the server reads `_` and `%` as wildcards (`\` escapes
 * them): `sales_eu` would also grant `salesXeu`. MySQL 8 with partial_revokes ON compares such names
 * literally instead, so there they must not be escaped.
 */
export function quoteDatabasePattern(name: string, wildcards = true): string {
  return quoteIdentifier(wildcards ? name.replace(/[\\_%]/g, (char) => `\\${char}`) : name);
}

/** `'name'@'host'`. */
export const mysqlAccount = (username: string, host: string) => `${escape(username)}@${escape(host)}`;

/**
 * The exact GRANT statements for `level` on `scope`. An empty scope is the whole database; a scope
 * "schema" is a database in MySQL terms (`sales` -> `sales`.*); `schema.table` is one table, and
 * `schema.table(a, b)` some of its columns (read only). A database in scope covers its tables, and a
 * table its columns, so those are not granted again.
 */
export function mysqlGrantStatements(input: {
  level: AccessLevel;
  /** The table privileges of a custom level. */
  privileges?: string[];
  scope: ScopeItem[];
  database: string;
  username: string;
  host: string;
  flavor: MysqlFlavor;
  /** False on MySQL 8 with partial_revokes ON, where database names in grants are literal. */
  wildcardDatabaseNames?: boolean;
}): string[] {
  if (input.privileges?.includes('TRUNCATE')) throw badInput('TRUNCATE is not a privilege on MySQL or MariaDB.');
  const privileges = tablePrivileges(input.level, input.privileges);
  const account = mysqlAccount(input.username, input.host);
  const wildcards = input.flavor === 'mariadb' ? true : (input.wildcardDatabaseNames ?? true);
  const scope: ScopeItem[] = input.scope.length > 0 ? input.scope : [{ schema: input.database }];

  const tableKey = (schema: string, table: string) => JSON.stringify([schema, table]);
  const wholeDatabases = new Set(scope.filter((item) => item.table === undefined).map((item) => item.schema));
  const wholeTables = new Set(scope.filter((item) => item.table !== undefined && !item.columns).map((item) => tableKey(item.schema, item.table!)));
  const statements: string[] = [];
  const seen = new Set<string>();
  for (const item of scope) {
    let grant: string;
    if (item.table === undefined) {
      grant = `${privileges} ON ${quoteDatabasePattern(item.schema, wildcards)}.*`;
    } else {
      if (wholeDatabases.has(item.schema)) continue;
      // Table- and column-level grants name the database literally: no wildcard escaping here.
      const on = `${quoteIdentifier(item.schema)}.${quoteIdentifier(item.table)}`;
      if (item.columns) {
        if (input.level !== 'read') throw badInput('Columns can be limited only for read access.');
        if (item.columns.length === 0) throw badInput(`The column list of ${item.schema}.${item.table} is empty.`);
        if (wholeTables.has(tableKey(item.schema, item.table))) continue;
        grant = `SELECT (${item.columns.map(quoteIdentifier).join(', ')}) ON ${on}`;
      } else {
        grant = `${privileges} ON ${on}`;
      }
    }
    const statement = `GRANT ${grant} TO ${account}`;
    if (!seen.has(statement)) {
      seen.add(statement);
      statements.push(statement);
    }
  }
  return statements;
}

/** mysql_native_password's stored form: `*` + upper-case hex of SHA1(SHA1(password)). */
export function nativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

/** The authentication clause with a pre-computed hash: the plaintext never reaches the server or its logs. */
function identifiedBy(flavor: MysqlFlavor, hash: string): string {
  if (!/^\*[0-9A-F]{40}$/.test(hash)) throw new TypeError('Expected a mysql_native_password hash.');
  return flavor === 'mariadb'
    ? `IDENTIFIED BY PASSWORD ${escape(hash)}`
    : `IDENTIFIED WITH mysql_native_password AS ${escape(hash)}`;
}

function connectionLimit(limit: number): string {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('MAX_USER_CONNECTIONS must be a positive integer.');
  return `WITH MAX_USER_CONNECTIONS ${limit}`;
}

/** MySQL 8: the marker as ATTRIBUTE (merged into the account's metadata JSON). */
const attribute = (install: string) => `ATTRIBUTE ${escape(JSON.stringify({ [MARKER_KEY]: mysqlMarker(install) }))}`;

/** CREATE USER with the hash and the connection limit; on MySQL 8 the marker rides along as ATTRIBUTE. */
export function createUserStatement(input: {
  flavor: MysqlFlavor;
  install: string;
  username: string;
  host: string;
  passwordHash: string;
  maxUserConnections: number;
}): string {
  const parts = [
    `CREATE USER ${mysqlAccount(input.username, input.host)}`,
    identifiedBy(input.flavor, input.passwordHash),
    connectionLimit(input.maxUserConnections),
  ];
  if (input.flavor === 'mysql') parts.push(attribute(input.install));
  return parts.join(' ');
}

/**
 * A retried provision: new hash and limit for an account that already exists (and is ours). On MySQL
 * 8 the marker is set again, so an account made before install ids gets this install's.
 */
export function alterUserStatement(input: {
  flavor: MysqlFlavor;
  install: string;
  username: string;
  host: string;
  passwordHash: string;
  maxUserConnections: number;
}): string {
  return [
    `ALTER USER ${mysqlAccount(input.username, input.host)}`,
    identifiedBy(input.flavor, input.passwordHash),
    connectionLimit(input.maxUserConnections),
    ...(input.flavor === 'mysql' ? [attribute(input.install)] : []),
  ].join(' ');
}

/** Raised by the check in markStatements, followed by the host's index. */
const UNMARKED = 'dbaccess: no account to mark, host #';

/**
 * MariaDB only, for a block (mariadbBlock): writes this install's marker into the account's row (a new
 * one, or one made before install ids whose lease is ours), then fails the
 * block if that found no row (an UPDATE that matches nothing is no error). `index` says which host it
 * was (see unmarkedHost). The server keeps unknown keys of `Priv`, and ignores them, so no FLUSH
 * PRIVILEGES is needed.
 */
export function markStatements(install: string, username: string, host: string, index: number): string[] {
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError('A host index must be a non-negative integer.');
  return [
    `UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, ${escape(`$.${MARKER_KEY}`)}, ${escape(mysqlMarker(install))}) WHERE User = ${escape(username)} COLLATE utf8mb4_bin AND Host = ${escape(host)}`,
    `IF ROW_COUNT() <> 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${escape(`${UNMARKED}${index}`)}; END IF`,
  ];
}

/** The index given to markStatements when `error` is its check failing; otherwise undefined. */
export function unmarkedHost(error: unknown): number | undefined {
  const { errno, sqlMessage } = (error ?? {}) as { errno?: unknown; sqlMessage?: unknown };
  // 1644: ER_SIGNAL_EXCEPTION, what SIGNAL SQLSTATE '45000' raises.
  if (errno !== 1644 || typeof sqlMessage !== 'string' || !sqlMessage.startsWith(UNMARKED)) return undefined;
  const index = Number(sqlMessage.slice(UNMARKED.length));
  return Number.isSafeInteger(index) && index >= 0 ? index : undefined;
}

/**
 * MariaDB (10.1+): statements as one anonymous compound statement, sent in one round trip instead of
 * one each, with the connection's multipleStatements still off. The first statement that fails ends the
 * block, and the server reports its own error (number, state, message) as if it had been sent alone;
 * the statements before it stay done (account changes are not transactional), those after it never
 * run. No handler: the caller cleans up under the user lock, which a failure leaves held (a handler
 * releasing it would let the cleanup race the next operation on the user). Statements must be
 * complete, every name and literal escaped: the driver would fill a `?` placeholder anywhere, even
 * inside quotes.
 */
export function mariadbBlock(statements: string[]): string {
  if (statements.length === 0) throw new TypeError('A block needs at least one statement.');
  return `BEGIN NOT ATOMIC\n${statements.map((statement) => `  ${statement};\n`).join('')}END`;
}

/** Releases the user lock (inside a block, where a SELECT would send a result set). */
export const releaseLockStatement = (lockName: string) => `DO RELEASE_LOCK(${escape(lockName)})`;

/**
 * Every account with exactly this user name (any host), with its marker, lock state and whether it is a
 * role. Parameter: user. Columns: host, marker, locked (0/1), isRole (0/1).
 */
export function accountsQuery(flavor: MysqlFlavor): string {
  if (flavor === 'mariadb') {
    return `SELECT Host AS host, JSON_VALUE(Priv, ${escape(`$.${MARKER_KEY}`)}) AS marker,
        IF(JSON_VALUE(Priv, '$.account_locked') IN ('1', 'true'), 1, 0) AS locked,
        IF(JSON_VALUE(Priv, '$.is_role') IN ('1', 'true'), 1, 0) AS isRole
      FROM mysql.global_priv WHERE User = ? COLLATE utf8mb4_bin ORDER BY Host`;
  }
  return `SELECT Host AS host, JSON_UNQUOTE(JSON_EXTRACT(User_attributes, ${escape(`$.metadata.${MARKER_KEY}`)})) AS marker,
      IF(account_locked = 'Y', 1, 0) AS locked, 0 AS isRole
    FROM mysql.user WHERE User = ? COLLATE utf8mb4_bin ORDER BY Host`;
}

/**
 * MariaDB: the first GRANT to a new account creates it, with the hash and the connection limit, in one
 * statement where CREATE USER and GRANT would be two (NO_AUTO_CREATE_USER refuses only a GRANT that
 * would create an account without a password). On an existing account it would set the password:
 * only for accounts found absent under the user lock. A GRANT naming a missing table creates nothing.
 */
export function createByGrantStatement(
  grant: string,
  input: { flavor: MysqlFlavor; username: string; host: string; passwordHash: string; maxUserConnections: number },
): string {
  if (input.flavor !== 'mariadb') throw new TypeError('Only MariaDB creates accounts with GRANT; MySQL 8 removed GRANT ... IDENTIFIED BY.');
  if (!grant.startsWith('GRANT ') || !grant.endsWith(` TO ${mysqlAccount(input.username, input.host)}`)) {
    throw new TypeError('Expected a GRANT statement to exactly this account.');
  }
  return `${grant} ${identifiedBy(input.flavor, input.passwordHash)} ${connectionLimit(input.maxUserConnections)}`;
}

/**
 * One round trip instead of three: tries the user lock without waiting, and only once it is held
 * (the join reads the accounts only when l.got = 1) reads every account with exactly this user name
 * (as accountsQuery, but unordered: an ORDER BY would double the cost), whether each database to
 * check exists (columns db0, db1, ...), and on MySQL partial_revokes. Never waits for the lock: a
 * statement waiting in GET_LOCK with the grant tables open would block every CREATE USER and GRANT
 * on the server, the lock holder's included. got = 0 means another session holds the lock: take it
 * with a plain GET_LOCK, then read. One row per account, or one row with host NULL.
 */
export function lockAndAccountsQuery(flavor: MysqlFlavor, input: { lockName: string; username: string; databases: string[] }): { sql: string; values: unknown[] } {
  const databaseChecks = input.databases.map(
    (_, index) => `(SELECT COUNT(*) FROM information_schema.SCHEMATA
        WHERE SCHEMA_NAME = ? COLLATE utf8mb4_bin OR (@@lower_case_table_names <> 0 AND LOWER(SCHEMA_NAME) = LOWER(?))) AS db${index}`,
  );
  const columns =
    flavor === 'mariadb'
      ? [
          'a.Host AS host',
          `JSON_VALUE(a.Priv, ${escape(`$.${MARKER_KEY}`)}) AS marker`,
          "IF(JSON_VALUE(a.Priv, '$.account_locked') IN ('1', 'true'), 1, 0) AS locked",
          "IF(JSON_VALUE(a.Priv, '$.is_role') IN ('1', 'true'), 1, 0) AS isRole",
        ]
      : [
          'a.Host AS host',
          `JSON_UNQUOTE(JSON_EXTRACT(a.User_attributes, ${escape(`$.metadata.${MARKER_KEY}`)})) AS marker`,
          "IF(a.account_locked = 'Y', 1, 0) AS locked",
          '0 AS isRole',
          '@@GLOBAL.partial_revokes AS partialRevokes',
        ];
  const table = flavor === 'mariadb' ? 'mysql.global_priv' : 'mysql.user';
  const sql = `SELECT l.got, ${[...columns, ...databaseChecks].join(', ')}
    FROM (SELECT GET_LOCK(?, 0) AS got LIMIT 1) AS l
    LEFT JOIN ${table} a ON l.got = 1 AND a.User = ? COLLATE utf8mb4_bin`;
  return { sql, values: [...input.databases.flatMap((database) => [database, database]), input.lockName, input.username] };
}

/**
 * After DROP USER, in one round trip: the accounts left with this user name and the sessions still
 * running under it, and the user lock released (the drop is done). Parameters: user, user, lock name;
 * or, with `inline`, none (for a block). Columns: accounts (count), sessions (comma-separated ids or
 * NULL), released.
 */
export function droppedCheckQuery(flavor: MysqlFlavor, inline?: { username: string; lockName: string }): string {
  const table = flavor === 'mariadb' ? 'mysql.global_priv' : 'mysql.user';
  const [user, lock] = inline ? [escape(inline.username), escape(inline.lockName)] : ['?', '?'];
  return `SELECT (SELECT COUNT(*) FROM ${table} WHERE User = ${user} COLLATE utf8mb4_bin) AS accounts,
      (SELECT GROUP_CONCAT(ID) FROM information_schema.PROCESSLIST WHERE USER = ${user} COLLATE utf8mb4_bin AND ID <> CONNECTION_ID()) AS sessions,
      RELEASE_LOCK(${lock}) AS released`;
}

/** Retry of a provision: drop whatever an earlier spec granted before granting again. */
export const revokeAllStatement = (username: string, host: string) =>
  `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${mysqlAccount(username, host)}`;

export const lockStatement = (username: string, hosts: string[]) =>
  `ALTER USER ${hosts.map((host) => mysqlAccount(username, host)).join(', ')} ACCOUNT LOCK`;

export const dropUserStatement = (username: string, hosts: string[]) =>
  `DROP USER IF EXISTS ${hosts.map((host) => mysqlAccount(username, host)).join(', ')}`;

/** Sessions of the user name, from any host. Parameter: user. Column: id. */
export const sessionsQuery = () =>
  'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? COLLATE utf8mb4_bin AND ID <> CONNECTION_ID() ORDER BY ID';

/**
 * Ends the given sessions. MariaDB kills every connection of the user name at once (`KILL CONNECTION
 * USER`); MySQL has no such form and kills them one id at a time.
 */
export function killStatements(flavor: MysqlFlavor, username: string, ids: number[]): string[] {
  if (flavor === 'mariadb') return ids.length > 0 ? [killUserStatement(username)] : [];
  return ids.map((id) => {
    if (!Number.isSafeInteger(id) || id < 0) throw new TypeError('A connection id must be a non-negative integer.');
    return `KILL CONNECTION ${id}`;
  });
}

/** MariaDB: ends every connection of the user name; the server reports how many as affected rows. */
export const killUserStatement = (username: string) => `KILL CONNECTION USER ${escape(username)}`;

/**
 * Accounts whose user names start with one of `prefixes` (compared byte for byte: no LIKE wildcards,
 * no trailing-space padding, case-sensitive) and that carry a dbaccess marker, this install's or the
 * one from before install ids: one row per account, columns name and marker (see classifyUsers).
 * MariaDB lists its roles in the same table: they are left out.
 */
export function listUsersQuery(flavor: MysqlFlavor, input: { install: string; prefixes: string[] }): { sql: string; values: unknown[] } {
  if (input.prefixes.length === 0 || input.prefixes.some((prefix) => prefix.length === 0)) throw new TypeError('listUsers needs non-empty prefixes.');
  const match = `(${input.prefixes.map(() => 'LEFT(CAST(User AS BINARY), LENGTH(CAST(? AS BINARY))) = CAST(? AS BINARY)').join(' OR ')})`;
  const marker = flavor === 'mariadb' ? `JSON_VALUE(Priv, ${escape(`$.${MARKER_KEY}`)})` : `JSON_UNQUOTE(JSON_EXTRACT(User_attributes, ${escape(`$.metadata.${MARKER_KEY}`)}))`;
  const sql =
    flavor === 'mariadb'
      ? `SELECT User AS name, ${marker} AS marker FROM mysql.global_priv
          WHERE ${match} AND NOT IFNULL(JSON_VALUE(Priv, '$.is_role') IN ('1', 'true'), 0) AND ${marker} IN (?, ?) ORDER BY name`
      : `SELECT User AS name, ${marker} AS marker FROM mysql.user WHERE ${match} AND ${marker} IN (?, ?) ORDER BY name`;
  return { sql, values: [...input.prefixes.flatMap((prefix) => [prefix, prefix]), mysqlMarker(input.install), MARKER_VALUE] };
}

/**
 * Users from listUsersQuery's rows: ours when every account of the name carries this install's marker,
 * legacy when each carries this install's or the old one and one the old (made before install ids;
 * possibly re-marked in part). A name with an account of anyone else is neither (the query leaves such
 * accounts out; revoke refuses the name).
 */
export function classifyUsers(rows: Array<{ name: string; marker: string }>, install: string): { ours: string[]; legacy: string[] } {
  const mine = mysqlMarker(install);
  const byName = new Map<string, 'ours' | 'legacy' | 'foreign'>();
  const rank = { ours: 0, legacy: 1, foreign: 2 } as const;
  for (const { name, marker } of rows) {
    const kind = marker === mine ? 'ours' : marker === MARKER_VALUE ? 'legacy' : 'foreign';
    const before = byName.get(name) ?? 'ours';
    byName.set(name, rank[kind] > rank[before] ? kind : before);
  }
  const names = [...byName.keys()].sort();
  return { ours: names.filter((name) => byName.get(name) === 'ours'), legacy: names.filter((name) => byName.get(name) === 'legacy') };
}

/** The session settings every admin connection runs with (see the note on literals above). */
export function sessionSetup(flavor: MysqlFlavor): string[] {
  // NO_AUTO_CREATE_USER (MariaDB; MySQL 8 removed it and never creates users from GRANT): a GRANT to
  // an account dropped in the meantime fails instead of creating a user without a password.
  const mode = flavor === 'mariadb' ? 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER' : 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';
  return [`SET SESSION sql_mode = ${escape(mode)}`, 'SET SESSION lock_wait_timeout = 10'];
}

export const SYSTEM_DATABASES = ['mysql', 'sys', 'information_schema', 'performance_schema'] as const;
