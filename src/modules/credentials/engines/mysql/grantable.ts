import type { AccessLevel } from '../../../../config/catalog.js';
import { tablePrivileges } from '../../grant-mapping.js';
import type { MysqlFlavor } from './grants.js';
import { formatName, formatScopeItem, type ScopeItem } from '../../scope.js';

/**
 * What a MySQL/MariaDB grant can include: GRANT fails as a whole when the admin lacks the grant
 * option, so each database (or named table) of the scope is kept only when the admin holds every
 * privilege of the level WITH GRANT OPTION on *.*, on that database, or (for a named table) on that
 * table; the others are left out by name, with the reason.
 */

const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'SHOW VIEW', 'TRIGGER'];
/** What ALL PRIVILEGES on a database means (the admin level). */
const DATABASE_PRIVILEGES = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'CREATE TEMPORARY TABLES', 'LOCK TABLES',
  'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER',
];

/** The account as information_schema writes GRANTEE (`'user'@'host'`), from CURRENT_USER(). */
const ME = "CONCAT('''', REPLACE(SUBSTRING(CURRENT_USER(), 1, CHAR_LENGTH(CURRENT_USER()) - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1), '''', ''''''), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

/** The admin's grantable privileges, one row each: level (global, db, table), db, tbl, privilege. */
export const MYSQL_GRANT_OPTIONS_QUERY = `SELECT 'global' AS level, NULL AS db, NULL AS tbl, PRIVILEGE_TYPE AS privilege FROM information_schema.USER_PRIVILEGES
  WHERE IS_GRANTABLE = 'YES' AND GRANTEE = ${ME}
UNION ALL SELECT 'db', TABLE_SCHEMA, NULL, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE IS_GRANTABLE = 'YES' AND GRANTEE = ${ME}
UNION ALL SELECT 'table', TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE IS_GRANTABLE = 'YES' AND GRANTEE = ${ME}`;

export interface GrantOptionRow {
  level: 'global' | 'db' | 'table';
  db: string | null;
  tbl: string | null;
  privilege: string;
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A database grant names a pattern (`_` and `%` wildcards, `\` escapes) that matches the database. */
function patternMatches(pattern: string, name: string): boolean {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '\\' && i + 1 < pattern.length) regex += literal(pattern[++i]!);
    else if (char === '_') regex += '.';
    else if (char === '%') regex += '.*';
    else regex += literal(char);
  }
  return new RegExp(`^${regex}$`, 's').test(name);
}

/** The scope to grant (empty: the whole database), what it leaves out and why, and whether that is all of it. */
export function mysqlPlanGrants(
  input: { level: AccessLevel; privileges?: string[] | undefined; scope: ScopeItem[]; database: string; flavor: MysqlFlavor },
  rows: GrantOptionRow[],
): { scope: ScopeItem[]; leftOut: string[]; nothingGrantable: boolean } {
  const history = input.flavor === 'mariadb' ? ['DELETE HISTORY'] : [];
  const neededFor = (item: ScopeItem) =>
    input.level !== 'admin' ? tablePrivileges(input.level, input.privileges).split(', ') : item.table === undefined ? [...DATABASE_PRIVILEGES, ...history] : [...TABLE_PRIVILEGES, ...history];
  const holds = (privilege: string, db: string, table?: string) =>
    rows.some((row) => row.privilege === privilege && (row.level === 'global'
      || (row.level === 'db' && row.db !== null && patternMatches(row.db, db))
      || (table !== undefined && row.level === 'table' && row.db === db && row.tbl === table)));
  const scope = input.scope.length > 0 ? input.scope : [{ schema: input.database }];
  const kept: ScopeItem[] = [];
  const leftOut: string[] = [];
  for (const item of scope) {
    const missing = neededFor(item).filter((privilege) => !holds(privilege, item.schema, item.table));
    if (missing.length === 0) kept.push(item);
    else {
      const what = item.table === undefined ? `database ${formatName(item.schema)}` : formatScopeItem(item);
      leftOut.push(`${what} (the admin account has no grant option for ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''} on it)`);
    }
  }
  return { scope: input.scope.length > 0 ? kept : [], leftOut, nothingGrantable: kept.length === 0 };
}
