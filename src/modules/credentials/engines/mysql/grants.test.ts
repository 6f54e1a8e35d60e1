import { describe, expect, it } from 'vitest';
import { ACCESS_LEVELS, type AccessLevel } from '../../../../config/catalog.js';
import type { ScopeItem } from '../../scope.js';
import {
  accountsQuery,
  alterUserStatement,
  classifyUsers,
  createByGrantStatement,
  createUserStatement,
  droppedCheckQuery,
  dropUserStatement,
  killStatements,
  killUserStatement,
  listUsersQuery,
  lockAndAccountsQuery,
  lockStatement,
  mariadbBlock,
  markStatements,
  mysqlMarker,
  maxUserNameLength,
  type MysqlFlavor,
  mysqlGrantStatements,
  mysqlUserName,
  nativePasswordHash,
  quoteDatabasePattern,
  releaseLockStatement,
  revokeAllStatement,
  sessionSetup,
  unmarkedHost,
} from './grants.js';
import { UNKNOWN_INSTALLATION } from '../../../installation/installation-id.js';

/** This install's id, as the provider gets it. */
const INSTALL = 'k3x7q2ab';

const FLAVORS: MysqlFlavor[] = ['mysql', 'mariadb'];
const PRIVILEGES: Record<AccessLevel, string> = {
  read: 'SELECT',
  write: 'SELECT, INSERT, UPDATE, DELETE',
  admin: 'ALL PRIVILEGES',
};

const grants = (level: AccessLevel, scope: ScopeItem[], flavor: MysqlFlavor, rest: { database?: string; wildcardDatabaseNames?: boolean } = {}) =>
  mysqlGrantStatements({ level, scope, database: rest.database ?? 'shop', username: 'dba_k3x9', host: '%', flavor, wildcardDatabaseNames: rest.wildcardDatabaseNames });

describe('mysqlGrantStatements: every level x scope shape x flavour', () => {
  for (const flavor of FLAVORS) {
    for (const level of ACCESS_LEVELS) {
      const privileges = PRIVILEGES[level];
      describe(`${flavor} ${level}`, () => {
        it('empty scope: the whole database', () => {
          expect(grants(level, [], flavor)).toEqual([`GRANT ${privileges} ON \`shop\`.* TO 'dba_k3x9'@'%'`]);
        });

        it('a "schema" is a database', () => {
          expect(grants(level, [{ schema: 'sales' }], flavor)).toEqual([`GRANT ${privileges} ON \`sales\`.* TO 'dba_k3x9'@'%'`]);
        });

        it('schema.table is one table', () => {
          expect(grants(level, [{ schema: 'sales', table: 'orders' }], flavor)).toEqual([`GRANT ${privileges} ON \`sales\`.\`orders\` TO 'dba_k3x9'@'%'`]);
        });

        it('several items: one statement each, a database covering its own tables', () => {
          const scope: ScopeItem[] = [
            { schema: 'sales', table: 'orders' },
            { schema: 'sales' },
            { schema: 'ops', table: 'events' },
            { schema: 'ops', table: 'events' },
            { schema: 'ops', table: 'audit' },
          ];
          expect(grants(level, scope, flavor)).toEqual([
            `GRANT ${privileges} ON \`sales\`.* TO 'dba_k3x9'@'%'`,
            `GRANT ${privileges} ON \`ops\`.\`events\` TO 'dba_k3x9'@'%'`,
            `GRANT ${privileges} ON \`ops\`.\`audit\` TO 'dba_k3x9'@'%'`,
          ]);
        });

        it('never grants anything global or the right to grant', () => {
          const all = [...grants(level, [], flavor), ...grants(level, [{ schema: 'a' }, { schema: 'b', table: 'c' }], flavor)];
          for (const statement of all) {
            expect(statement).not.toMatch(/\*\.\*|GRANT OPTION|SUPER|FILE|PROCESS|SHUTDOWN|CREATE USER|PROXY|WITH /);
            expect(statement.startsWith(`GRANT ${privileges} ON `)).toBe(true);
          }
        });
      });
    }
  }

  it('the account is the given user and host', () => {
    expect(mysqlGrantStatements({ level: 'read', scope: [], database: 'shop', username: 'dba_x', host: '10.0.%', flavor: 'mariadb' })).toEqual([
      "GRANT SELECT ON `shop`.* TO 'dba_x'@'10.0.%'",
    ]);
  });
});

describe('columns (read only)', () => {
  it('grants SELECT on the listed columns of one table', () => {
    for (const flavor of FLAVORS) {
      expect(grants('read', [{ schema: 'sales_eu', table: 'orders', columns: ['id', 'total'] }], flavor)).toEqual([
        "GRANT SELECT (`id`, `total`) ON `sales_eu`.`orders` TO 'dba_k3x9'@'%'",
      ]);
    }
  });

  it('a whole table or database in scope covers its columns', () => {
    const scope: ScopeItem[] = [
      { schema: 'sales', table: 'orders', columns: ['id'] },
      { schema: 'sales', table: 'orders' },
      { schema: 'ops', table: 'events', columns: ['note'] },
      { schema: 'ops' },
      { schema: 'hr', table: 'people', columns: ['name'] },
    ];
    expect(grants('read', scope, 'mariadb')).toEqual([
      "GRANT SELECT ON `sales`.`orders` TO 'dba_k3x9'@'%'",
      "GRANT SELECT ON `ops`.* TO 'dba_k3x9'@'%'",
      "GRANT SELECT (`name`) ON `hr`.`people` TO 'dba_k3x9'@'%'",
    ]);
  });

  it('refuses columns for write and admin, and an empty column list', () => {
    for (const level of ['write', 'admin'] as const) {
      expect(() => grants(level, [{ schema: 'sales', table: 'orders', columns: ['id'] }], 'mysql')).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT', message: 'Columns can be limited only for read access.' }),
      );
    }
    expect(() => grants('read', [{ schema: 'sales', table: 'orders', columns: [] }], 'mysql')).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('database names are patterns in database-level grants', () => {
  it('escapes _, % and \\ so that sales_eu.* does not also match salesXeu', () => {
    for (const flavor of FLAVORS) {
      expect(grants('read', [{ schema: 'sales_eu' }], flavor)).toEqual(["GRANT SELECT ON `sales\\_eu`.* TO 'dba_k3x9'@'%'"]);
      expect(grants('read', [], flavor, { database: '50%\\off' })).toEqual(["GRANT SELECT ON `50\\%\\\\off`.* TO 'dba_k3x9'@'%'"]);
    }
  });

  it('leaves table-level grants literal (the server reads no wildcards there)', () => {
    expect(grants('read', [{ schema: 'sales_eu', table: 'big_orders' }], 'mariadb')).toEqual(["GRANT SELECT ON `sales_eu`.`big_orders` TO 'dba_k3x9'@'%'"]);
  });

  it('MySQL with partial_revokes ON compares database names literally: no escaping there', () => {
    expect(grants('read', [{ schema: 'sales_eu' }], 'mysql', { wildcardDatabaseNames: false })).toEqual(["GRANT SELECT ON `sales_eu`.* TO 'dba_k3x9'@'%'"]);
    // MariaDB has no such mode: the option cannot switch its escaping off.
    expect(grants('read', [{ schema: 'sales_eu' }], 'mariadb', { wildcardDatabaseNames: false })).toEqual(["GRANT SELECT ON `sales\\_eu`.* TO 'dba_k3x9'@'%'"]);
  });
});

// --- A small MySQL lexer, enough to read a GRANT statement back the way the server would. ---

type Token = { kind: 'word' | 'identifier' | 'string' | 'punct'; value: string };

/** `block`: also the `;` ending each statement of a compound block, line breaks, numbers and comparisons. */
function lex(sql: string, options: { block?: boolean } = {}): Token[] {
  const punctuation = options.block ? '.,*@();=<>' : '.,*@()';
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    if (char === ' ' || (options.block && char === '\n')) {
      i++;
    } else if (char === '`') {
      let value = '';
      for (i++; ; i++) {
        if (i >= sql.length) throw new Error(`unterminated identifier in ${sql}`);
        if (sql[i] === '`') {
          if (sql[i + 1] === '`') {
            value += '`';
            i++;
          } else break;
        } else value += sql[i];
      }
      i++;
      tokens.push({ kind: 'identifier', value });
    } else if (char === "'") {
      let value = '';
      for (i++; ; i++) {
        if (i >= sql.length) throw new Error(`unterminated string in ${sql}`);
        const c = sql[i]!;
        if (c === '\\') {
          const next = sql[++i]!;
          const escapes: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };
          value += escapes[next] ?? next;
        } else if (c === "'") {
          if (sql[i + 1] === "'") {
            value += "'";
            i++;
          } else break;
        } else value += c;
      }
      i++;
      tokens.push({ kind: 'string', value });
    } else if (/[A-Za-z]/.test(char) || (options.block && /[0-9]/.test(char))) {
      const word = /^[A-Za-z0-9_]+/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'word', value: word });
      i += word.length;
    } else if (punctuation.includes(char)) {
      tokens.push({ kind: 'punct', value: char });
      i++;
    } else {
      // A semicolon, a comment marker, a stray quote: anything else outside quotes is an injection.
      throw new Error(`unexpected ${JSON.stringify(char)} outside quotes at ${i} in ${sql}`);
    }
  }
  return tokens;
}

/** GRANT <privileges> ON <db>.<table|*> TO '<user>'@'<host>' -> its parts, as the server reads them. */
function readGrant(sql: string) {
  const tokens = lex(sql);
  expect(tokens.filter((token) => token.kind === 'word' && token.value.toUpperCase() === 'GRANT')).toHaveLength(1);
  expect(tokens[0]).toEqual({ kind: 'word', value: 'GRANT' });
  const on = tokens.findIndex((token) => token.kind === 'word' && token.value === 'ON');
  const privileges = tokens.slice(1, on);
  const open = privileges.findIndex((token) => token.value === '(' && token.kind === 'punct');
  let columns: string[] | undefined;
  if (open >= 0) {
    // SELECT (`a`, `b`): identifiers separated by commas, closed by ).
    const list = privileges.slice(open + 1);
    expect(list.at(-1)).toEqual({ kind: 'punct', value: ')' });
    columns = list.slice(0, -1).filter((_, index) => index % 2 === 0).map((token) => {
      expect(token.kind).toBe('identifier');
      return token.value;
    });
    list.slice(0, -1).filter((_, index) => index % 2 === 1).forEach((token) => expect(token).toEqual({ kind: 'punct', value: ',' }));
  }
  const rest = tokens.slice(on + 1);
  expect(rest.map((token) => token.kind)).toEqual(['identifier', 'punct', rest[2]!.kind, 'word', 'string', 'punct', 'string']);
  expect([rest[1]!.value, rest[3]!.value, rest[5]!.value]).toEqual(['.', 'TO', '@']);
  const wholeDatabase = rest[2]!.kind === 'punct';
  if (wholeDatabase) expect(rest[2]!.value).toBe('*');
  else expect(rest[2]!.kind).toBe('identifier');
  return {
    // Database-level: the identifier is a LIKE-style pattern where \ escapes the next character.
    database: wholeDatabase ? rest[0]!.value.replace(/\\(.)/gsu, '$1') : rest[0]!.value,
    table: wholeDatabase ? undefined : rest[2]!.value,
    columns,
    user: rest[4]!.value,
    host: rest[6]!.value,
  };
}

describe('quoting survives hostile names', () => {
  const hostile = [
    'a`b',
    'a``b`',
    '`; DROP DATABASE shop; --',
    "x'; DROP USER root; #",
    'x"y',
    'semi;colon',
    'back\\slash',
    'trailing\\',
    '\\`',
    "\\'",
    'dash -- comment',
    'hash # comment',
    'c /* comment */ d',
    '/*! 50000 injected */',
    'dot.ted',
    'under_score%percent',
    'ˋgrave look-alikeˋ',
    'full-width；semicolon',
    '＇full-width quote＇',
    'new\nline\ttab\r',
    'nul\0byte',
    '日本語',
    'GRANT ALL ON *.* TO root',
  ];

  for (const flavor of FLAVORS) {
    for (const level of ACCESS_LEVELS) {
      it(`${flavor} ${level}: one GRANT per statement, and every name reads back unchanged`, () => {
        for (const name of hostile) {
          const cases: Array<{ scope: ScopeItem[]; database: string; username: string }> = [
            { scope: [], database: name, username: 'dba_x' },
            { scope: [{ schema: name }], database: 'shop', username: 'dba_x' },
            { scope: [{ schema: name, table: name }], database: 'shop', username: name },
            { scope: [{ schema: 'shop', table: name }], database: 'shop', username: 'dba_x' },
          ];
          if (level === 'read') cases.push({ scope: [{ schema: name, table: name, columns: [name, `${name}2`] }], database: 'shop', username: name });
          for (const { scope, database, username } of cases) {
            const statements = mysqlGrantStatements({ level, scope, database, username, host: name, flavor });
            expect(statements).toHaveLength(1);
            const read = readGrant(statements[0]!);
            expect(read.user).toBe(username);
            expect(read.host).toBe(name);
            const item = scope[0] ?? { schema: database };
            expect(read.database).toBe(item.schema);
            expect(read.table).toBe(item.table);
            expect(read.columns).toEqual(item.columns);
          }
        }
      });
    }
  }

  it('the lexer itself rejects an unquoted injection (so the test above can fail)', () => {
    expect(() => readGrant("GRANT SELECT ON `a`.* TO 'u'@'%'; DROP USER root")).toThrow(/outside quotes/);
    expect(() => readGrant("GRANT SELECT ON `a`b`.* TO 'u'@'%'")).toThrow();
    expect(() => readGrant("GRANT SELECT ON `a`.* TO 'u'' OR GRANT'@'%'")).not.toThrow();
  });

  it('quoteDatabasePattern keeps a dot inside the name (mysql2 would split it)', () => {
    expect(quoteDatabasePattern('a.b', false)).toBe('`a.b`');
  });
});

describe('MariaDB compound blocks', () => {
  const hash = nativePasswordHash('password');

  /** The statements of a block, split where the server splits them: at a `;` outside quotes. */
  function blockStatements(sql: string): Token[][] {
    const tokens = lex(sql, { block: true });
    expect(tokens.slice(0, 3).map((token) => token.value)).toEqual(['BEGIN', 'NOT', 'ATOMIC']);
    expect(tokens.at(-1)).toEqual({ kind: 'word', value: 'END' });
    const statements: Token[][] = [[]];
    for (const token of tokens.slice(3, -1)) {
      if (token.kind === 'punct' && token.value === ';') statements.push([]);
      else statements.at(-1)!.push(token);
    }
    expect(statements.pop()).toEqual([]);
    return statements;
  }

  it('sends each statement whole, a `;` after each, and nothing else outside quotes, whatever the names', () => {
    for (const name of ['dba_x', "x'; END; DROP USER root; #", '`; END //', 'back\\slash', 'new\nline', '? ?', 'END IF', '日本語']) {
      const [grant, second] = mysqlGrantStatements({ level: 'read', scope: [{ schema: name, table: name }, { schema: 'shop', table: name }], database: 'shop', username: name, host: name, flavor: 'mariadb' });
      const account = { flavor: 'mariadb' as const, install: INSTALL, username: name, host: name, passwordHash: hash, maxUserConnections: 5 };
      const [update, check] = markStatements(INSTALL, name, name, 3);
      const block = mariadbBlock([createByGrantStatement(grant!, account), update!, check!, second!, releaseLockStatement(name)]);
      // The mark check holds a `;` of its own, inside IF ... END IF.
      const statements = blockStatements(block);
      expect(statements).toHaveLength(6);
      const [created, marked, checkIf, checkEnd, granted, released] = statements;
      const words = (tokens: Token[]) => tokens.filter((token) => token.kind === 'word').map((token) => token.value);
      const strings = (tokens: Token[]) => tokens.filter((token) => token.kind === 'string').map((token) => token.value);
      expect(words(created!).slice(0, 2)).toEqual(['GRANT', 'SELECT']);
      expect(strings(created!)).toEqual([name, name, hash]);
      expect(created!.filter((token) => token.kind === 'identifier').map((token) => token.value)).toEqual([name, name]);
      expect(words(marked!)[0]).toBe('UPDATE');
      expect(strings(marked!)).toEqual(['$.dbaccess', `dbaccess temporary user ${INSTALL}`, name, name]);
      expect(words(checkIf!)).toEqual(['IF', 'ROW_COUNT', '1', 'THEN', 'SIGNAL', 'SQLSTATE', 'SET', 'MESSAGE_TEXT']);
      expect(words(checkEnd!)).toEqual(['END', 'IF']);
      expect(granted).toEqual(lex(second!));
      expect(words(released!)).toEqual(['DO', 'RELEASE_LOCK']);
      expect(strings(released!)).toEqual([name]);
    }
  });

  it('drops and verifies in one block, the names only ever inside quotes', () => {
    for (const name of ['dba_x', "x'; END; DROP USER root; #", '`; END //', 'back\\slash', 'new\nline', '? ?', 'END IF', '日本語']) {
      const statements = blockStatements(mariadbBlock([dropUserStatement(name, ['%', name]), droppedCheckQuery('mariadb', { username: name, lockName: `lock ${name}` })]));
      expect(statements).toHaveLength(2);
      const [dropped, checked] = statements;
      expect(dropped!.filter((token) => token.kind === 'word').map((token) => token.value).slice(0, 2)).toEqual(['DROP', 'USER']);
      expect(dropped!.filter((token) => token.kind === 'string').map((token) => token.value)).toEqual([name, '%', name, name]);
      expect(checked!.filter((token) => token.kind === 'string').map((token) => token.value)).toEqual([name, name, `lock ${name}`]);
      expect(checked!.some((token) => token.value === '?')).toBe(false);
    }
  });

  it('the block lexer itself rejects a statement that breaks out of its quotes (so the test above can fail)', () => {
    expect(() => blockStatements("BEGIN NOT ATOMIC\n  DO RELEASE_LOCK('x'); DROP USER root; -- ');\nEND")).toThrow(/outside quotes/);
    expect(blockStatements("BEGIN NOT ATOMIC\n  DO RELEASE_LOCK('x\\'; DROP USER root; -- ');\nEND")).toHaveLength(1);
  });

  it('refuses an empty block', () => {
    expect(() => mariadbBlock([])).toThrow(/at least one/);
  });

  it('tells the failed mark check, and which host it was, from any other error', () => {
    const [, check] = markStatements(INSTALL, 'dba_x', '%', 7);
    const raised = lex(check!, { block: true }).filter((token) => token.kind === 'string').at(-1)!.value;
    expect(unmarkedHost({ errno: 1644, sqlState: '45000', sqlMessage: raised })).toBe(7);
    expect(unmarkedHost({ errno: 1644, sqlMessage: 'raised by a trigger' })).toBeUndefined();
    expect(unmarkedHost({ errno: 1146, sqlMessage: raised })).toBeUndefined();
    expect(unmarkedHost(new Error(raised))).toBeUndefined();
    expect(unmarkedHost(undefined)).toBeUndefined();
    expect(() => markStatements(INSTALL, 'dba_x', '%', -1)).toThrow(/index/);
  });
});

describe('user names', () => {
  it('knows each server limit', () => {
    expect(maxUserNameLength('mysql', false)).toBe(32);
    expect(maxUserNameLength('mariadb', false)).toBe(80);
    expect(maxUserNameLength('mysql', true)).toBe(16);
    expect(maxUserNameLength('mariadb', true)).toBe(16);
  });

  it('builds <prefix><random> when it fits, and refuses instead of truncating', () => {
    expect(mysqlUserName({ prefix: 'dba_', random: 'k3x9m2p7q1', flavor: 'mysql', legacy: true })).toBe('dba_k3x9m2p7q1');
    expect(mysqlUserName({ prefix: 'dbaccess_tmp_users_', random: 'k3x9m2p7q1', flavor: 'mysql', legacy: false })).toBe('dbaccess_tmp_users_k3x9m2p7q1');
    expect(() => mysqlUserName({ prefix: 'dbaccess_', random: 'k3x9m2p7q1', flavor: 'mysql', legacy: true })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('may have at most 6') }),
    );
    expect(() => mysqlUserName({ prefix: 'p'.repeat(23), random: 'k3x9m2p7q1', flavor: 'mysql', legacy: false })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('at most 32 characters') }),
    );
  });
});

describe('account statements', () => {
  const hash = nativePasswordHash('password');

  it('hashes like the server: * + HEX(SHA1(SHA1(password)))', () => {
    // Both values from MariaDB 10.11's PASSWORD() on this machine.
    expect(hash).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
    expect(nativePasswordHash('mypass')).toBe('*6C8989366EAF75BB670AD8EA7A7FC1176A95CEF4');
  });

  it('MariaDB: CREATE USER with the hash and the limit, no PASSWORD EXPIRE', () => {
    expect(createUserStatement({ install: INSTALL, flavor: 'mariadb', username: 'dba_x', host: '%', passwordHash: hash, maxUserConnections: 5 })).toBe(
      `CREATE USER 'dba_x'@'%' IDENTIFIED BY PASSWORD '${hash}' WITH MAX_USER_CONNECTIONS 5`,
    );
    expect(alterUserStatement({ install: INSTALL, flavor: 'mariadb', username: 'dba_x', host: '%', passwordHash: hash, maxUserConnections: 3 })).toBe(
      `ALTER USER 'dba_x'@'%' IDENTIFIED BY PASSWORD '${hash}' WITH MAX_USER_CONNECTIONS 3`,
    );
    expect(markStatements(INSTALL, "o'hara", '%', 0)).toEqual([
      `UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.dbaccess', 'dbaccess temporary user ${INSTALL}') WHERE User = 'o\\'hara' COLLATE utf8mb4_bin AND Host = '%'`,
      "IF ROW_COUNT() <> 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'dbaccess: no account to mark, host #0'; END IF",
    ]);
  });

  it('MySQL 8: mysql_native_password AS the hash, the limit, then the marker as ATTRIBUTE', () => {
    expect(createUserStatement({ install: INSTALL, flavor: 'mysql', username: 'dba_x', host: '10.0.%', passwordHash: hash, maxUserConnections: 5 })).toBe(
      `CREATE USER 'dba_x'@'10.0.%' IDENTIFIED WITH mysql_native_password AS '${hash}' WITH MAX_USER_CONNECTIONS 5 ATTRIBUTE '{\\"dbaccess\\":\\"dbaccess temporary user ${INSTALL}\\"}'`,
    );
    expect(alterUserStatement({ install: INSTALL, flavor: 'mysql', username: 'dba_x', host: '%', passwordHash: hash, maxUserConnections: 2 })).toBe(
      `ALTER USER 'dba_x'@'%' IDENTIFIED WITH mysql_native_password AS '${hash}' WITH MAX_USER_CONNECTIONS 2 ATTRIBUTE '{\\"dbaccess\\":\\"dbaccess temporary user ${INSTALL}\\"}'`,
    );
  });

  it('MySQL 8: the ATTRIBUTE is one string literal holding exactly {"dbaccess": "<marker> <install id>"}, and only a real install id goes in', () => {
    for (const [make, install] of [[createUserStatement, INSTALL], [alterUserStatement, 'bbbbbbbb'], [createUserStatement, UNKNOWN_INSTALLATION]] as const) {
      const statement = make({ install, flavor: 'mysql', username: "o'hara", host: '%', passwordHash: hash, maxUserConnections: 2 });
      const tokens = lex(statement, { block: true });
      const at = tokens.findIndex((token) => token.kind === 'word' && token.value === 'ATTRIBUTE');
      expect(tokens.slice(at + 1)).toEqual([{ kind: 'string', value: JSON.stringify({ dbaccess: `dbaccess temporary user ${install}` }) }]);
      expect(JSON.parse(tokens[at + 1]!.value)).toEqual({ dbaccess: mysqlMarker(install) });
    }
    // MariaDB keeps it in global_priv instead (markStatements), never as ATTRIBUTE.
    expect(createUserStatement({ install: INSTALL, flavor: 'mariadb', username: 'u', host: '%', passwordHash: hash, maxUserConnections: 2 })).not.toContain('ATTRIBUTE');
    for (const bad of ['', 'ABCDEFGH', 'abcdefg', "abcdefg'", 'abcdefgh1', 'abc def ']) {
      expect(() => mysqlMarker(bad)).toThrow(TypeError);
      expect(() => createUserStatement({ install: bad, flavor: 'mysql', username: 'u', host: '%', passwordHash: hash, maxUserConnections: 2 })).toThrow(TypeError);
      expect(() => markStatements(bad, 'u', '%', 0)).toThrow(TypeError);
    }
  });

  it('accepts only a hash and a positive integer limit in the DDL', () => {
    for (const flavor of FLAVORS) {
      expect(() => createUserStatement({ install: INSTALL, flavor, username: 'u', host: '%', passwordHash: 'plaintext', maxUserConnections: 5 })).toThrow(/hash/);
      expect(() => createUserStatement({ install: INSTALL, flavor, username: 'u', host: '%', passwordHash: hash, maxUserConnections: 0 })).toThrow(/positive integer/);
      expect(() => alterUserStatement({ install: INSTALL, flavor, username: 'u', host: '%', passwordHash: hash, maxUserConnections: 1.5 })).toThrow(/positive integer/);
    }
  });

  it('reads the marker where each server keeps it', () => {
    expect(accountsQuery('mariadb')).toContain('FROM mysql.global_priv WHERE User = ? COLLATE utf8mb4_bin');
    expect(accountsQuery('mariadb')).toContain("JSON_VALUE(Priv, '$.dbaccess') AS marker");
    expect(accountsQuery('mysql')).toContain("JSON_UNQUOTE(JSON_EXTRACT(User_attributes, '$.metadata.dbaccess')) AS marker");
    expect(accountsQuery('mysql')).toContain("IF(account_locked = 'Y', 1, 0) AS locked");
    expect(accountsQuery('mysql')).toContain('FROM mysql.user WHERE User = ? COLLATE utf8mb4_bin');
  });

  it('locks, resets and drops every host account', () => {
    expect(lockStatement('dba_x', ['%', '127.0.0.1'])).toBe("ALTER USER 'dba_x'@'%', 'dba_x'@'127.0.0.1' ACCOUNT LOCK");
    expect(dropUserStatement('dba_x', ['%', '127.0.0.1'])).toBe("DROP USER IF EXISTS 'dba_x'@'%', 'dba_x'@'127.0.0.1'");
    expect(revokeAllStatement("o'hara", '%')).toBe("REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'o\\'hara'@'%'");
  });

  it('kills by user name on MariaDB, one id at a time on MySQL', () => {
    expect(killStatements('mariadb', "dba_'x", [12, 13])).toEqual(["KILL CONNECTION USER 'dba_\\'x'"]);
    expect(killStatements('mariadb', 'dba_x', [])).toEqual([]);
    expect(killStatements('mysql', 'dba_x', [12, 13])).toEqual(['KILL CONNECTION 12', 'KILL CONNECTION 13']);
    expect(() => killStatements('mysql', 'dba_x', [Number.NaN])).toThrow(/integer/);
  });

  it('MariaDB: the first GRANT to a new account creates it, with the hash and the limit', () => {
    for (const name of ["dba_x", "o'hara", 'back\\slash', '`; DROP USER root; --']) {
      const [grant] = mysqlGrantStatements({ level: 'read', scope: [{ schema: 'shop', table: name }], database: 'shop', username: name, host: '%', flavor: 'mariadb' });
      const account = { flavor: 'mariadb' as const, username: name, host: '%', passwordHash: hash, maxUserConnections: 5 };
      expect(createByGrantStatement(grant!, account)).toBe(`${grant!} IDENTIFIED BY PASSWORD '${hash}' WITH MAX_USER_CONNECTIONS 5`);
      // The grant read back names the same account: the clause is appended after it, nothing in between.
      expect(readGrant(grant!)).toMatchObject({ user: name, host: '%', table: name });
    }
  });

  it('creates by GRANT only on MariaDB, only for the same account, and only with a hash', () => {
    const [grant] = mysqlGrantStatements({ level: 'read', scope: [], database: 'shop', username: 'dba_x', host: '%', flavor: 'mariadb' });
    const account = { flavor: 'mariadb' as const, username: 'dba_x', host: '%', passwordHash: hash, maxUserConnections: 5 };
    expect(() => createByGrantStatement(grant!, { ...account, flavor: 'mysql' })).toThrow(/Only MariaDB/);
    expect(() => createByGrantStatement(grant!, { ...account, host: '10.0.%' })).toThrow(/exactly this account/);
    expect(() => createByGrantStatement(grant!, { ...account, username: 'dba_y' })).toThrow(/exactly this account/);
    expect(() => createByGrantStatement(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'dba_x'@'%'`, account)).toThrow(/exactly this account/);
    expect(() => createByGrantStatement(grant!, { ...account, passwordHash: 'plaintext' })).toThrow(/hash/);
    expect(() => createByGrantStatement(grant!, { ...account, maxUserConnections: 0 })).toThrow(/positive integer/);
  });

  it('tries the user lock without waiting, and reads the accounts only once it holds it', () => {
    for (const flavor of FLAVORS) {
      const { sql, values } = lockAndAccountsQuery(flavor, { lockName: 'dbaccess:abc', username: "o'hara", databases: ['shop', 'ops_eu'] });
      // Waiting in GET_LOCK with the grant tables open would hold up every account change on the server.
      expect(sql).toContain('FROM (SELECT GET_LOCK(?, 0) AS got LIMIT 1) AS l');
      expect(sql).toContain(`LEFT JOIN ${flavor === 'mariadb' ? 'mysql.global_priv' : 'mysql.user'} a ON l.got = 1 AND a.User = ? COLLATE utf8mb4_bin`);
      expect(sql).toMatch(/AS db0, .*AS db1\s/s);
      expect(sql.split('?').length - 1).toBe(values.length);
      expect(values).toEqual(['shop', 'shop', 'ops_eu', 'ops_eu', 'dbaccess:abc', "o'hara"]);
    }
    expect(lockAndAccountsQuery('mysql', { lockName: 'l', username: 'u', databases: [] }).sql).toContain('@@GLOBAL.partial_revokes AS partialRevokes');
    expect(lockAndAccountsQuery('mariadb', { lockName: 'l', username: 'u', databases: [] }).sql).not.toContain('partial_revokes');
    expect(lockAndAccountsQuery('mariadb', { lockName: 'l', username: 'u', databases: [] }).values).toEqual(['l', 'u']);
  });

  it('verifies a drop in one look-up: accounts of any host, and sessions; and releases the user lock', () => {
    expect(droppedCheckQuery('mariadb')).toContain('FROM mysql.global_priv WHERE User = ? COLLATE utf8mb4_bin) AS accounts');
    expect(droppedCheckQuery('mysql')).toContain('FROM mysql.user WHERE User = ? COLLATE utf8mb4_bin) AS accounts');
    for (const flavor of FLAVORS) {
      expect(droppedCheckQuery(flavor)).toContain('FROM information_schema.PROCESSLIST WHERE USER = ? COLLATE utf8mb4_bin AND ID <> CONNECTION_ID()) AS sessions');
      expect(droppedCheckQuery(flavor)).toMatch(/RELEASE_LOCK\(\?\) AS released$/);
      expect(droppedCheckQuery(flavor).split('?').length - 1).toBe(3);
    }
    expect(killUserStatement("dba_'x")).toBe("KILL CONNECTION USER 'dba_\\'x'");
  });

  it('lists users by byte-exact prefixes, never with LIKE, and only those with a dbaccess marker', () => {
    for (const flavor of FLAVORS) {
      const { sql, values } = listUsersQuery(flavor, { install: INSTALL, prefixes: ['dba_', "x'_%"] });
      expect(sql).toContain('(LEFT(CAST(User AS BINARY), LENGTH(CAST(? AS BINARY))) = CAST(? AS BINARY) OR LEFT(CAST(User AS BINARY), LENGTH(CAST(? AS BINARY))) = CAST(? AS BINARY))');
      expect(sql).not.toMatch(/LIKE/i);
      // Every value is a bind parameter: the prefixes twice each, then this install's marker and the old one.
      expect(sql.match(/\?/g)).toHaveLength(values.length);
      expect(values).toEqual(['dba_', 'dba_', "x'_%", "x'_%", `dbaccess temporary user ${INSTALL}`, 'dbaccess temporary user']);
      expect(() => listUsersQuery(flavor, { install: INSTALL, prefixes: [] })).toThrow(TypeError);
      expect(() => listUsersQuery(flavor, { install: INSTALL, prefixes: ['dba_', ''] })).toThrow(TypeError);
    }
    // Where each server keeps the marker: MySQL 8 in the ATTRIBUTE's metadata, MariaDB in global_priv (roles left out).
    expect(listUsersQuery('mysql', { install: INSTALL, prefixes: ['dba_'] }).sql).toContain("JSON_UNQUOTE(JSON_EXTRACT(User_attributes, '$.metadata.dbaccess'))");
    expect(listUsersQuery('mariadb', { install: INSTALL, prefixes: ['dba_'] }).sql).toContain("JSON_VALUE(Priv, '$.dbaccess')");
    expect(listUsersQuery('mariadb', { install: INSTALL, prefixes: ['dba_'] }).sql).toContain("JSON_VALUE(Priv, '$.is_role')");
  });

  it('tells this install`s users from those made before install ids; a user with one old account is not ours to drop unseen', () => {
    const mine = mysqlMarker(INSTALL);
    const rows = [
      { name: 'dba_a', marker: mine }, { name: 'dba_a', marker: mine },
      { name: 'dba_b', marker: 'dbaccess temporary user' },
      { name: 'dba_c', marker: mine }, { name: 'dba_c', marker: 'dbaccess temporary user' },
    ];
    expect(classifyUsers(rows, INSTALL)).toEqual({ ours: ['dba_a'], legacy: ['dba_b', 'dba_c'] });
    // To another install, dba_a and dba_c (accounts with this install's marker) are not its own, nor old ones.
    expect(classifyUsers(rows, 'bbbbbbbb')).toEqual({ ours: [], legacy: ['dba_b'] });
  });

  it('pins the admin session: no NO_BACKSLASH_ESCAPES or ANSI_QUOTES, NO_AUTO_CREATE_USER only where it exists', () => {
    expect(sessionSetup('mariadb')[0]).toBe("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER'");
    expect(sessionSetup('mysql')[0]).toBe("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
  });
});
