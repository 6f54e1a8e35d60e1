import { loadLater } from '../../../../lib/async.js';
import type { SqlDialect } from '../../../analysis/sql-dialect.js';
import { MYSQL_LEXICAL, readsFilesOrSendsData } from './dialect-lexical.js';
import { withPreparedStatements } from './dialect-prepared.js';

/** node-sql-parser loads with the first analysis, not at start-up. */
const parser = loadLater(() => import('./dialect-parser.js'));

/** MySQL and MariaDB as the session rules read them: node-sql-parser's parse, and the server's mysql schema. */
export const mysqlDialect: SqlDialect = {
  lexical: MYSQL_LEXICAL,
  ready: parser.ready,
  parseEntry: (text, entry) => {
    const loaded = parser.loaded();
    if (!loaded) throw new Error('the MySQL parser is not loaded (ready() first)');
    return loaded.parseMysqlEntry(text, entry);
  },
  followDynamic: (parsed) => withPreparedStatements(parsed, (text, entry) => mysqlDialect.parseEntry(text, entry)),
  // The current database is unknown until the session says (USE).
  defaultSchema: undefined,
  impliedSchema: () => undefined,
  systemSchemas: new Set(['mysql', 'information_schema', 'performance_schema', 'sys']),
  isTemporarySchema: () => false,
  // The replica's copy of its source's account holds the password in clear.
  credentialTables: new Set(['mysql.user', 'mysql.global_priv', 'mysql.password_history', 'mysql.slave_master_info']),
  // SHOW CREATE USER prints the account's password hash (SHOW GRANTS does not).
  credentialWords: /\bmysql`?\s*\.\s*`?(?:user|global_priv)\b|\bSHOW\s+CREATE\s+USER\b/i,
  privilegeTables: new Set([
    'mysql.user', 'mysql.global_priv', 'mysql.db', 'mysql.tables_priv', 'mysql.columns_priv', 'mysql.procs_priv', 'mysql.proxies_priv',
    'mysql.roles_mapping', 'mysql.role_edges', 'mysql.default_roles',
  ]),
  // The general, slow and binary logs (log_output, log_bin, slow_query_log...), the audit plugins, performance_schema.
  captureSettings: /^(?:log_|general_log|slow_query_log|sql_log_off|sql_log_bin|server_audit|audit_log|performance_schema)/,
  // ... and the audit plugins or components uninstalled (UNINSTALL PLUGIN server_audit).
  captureWords: /\b(?:general_log|slow_query_log\w*|sql_log_off|sql_log_bin|log_output|server_audit\w*|audit_log\w*)\s*(?:=|:=|\bTO\b)|\bUNINSTALL\s+(?:PLUGIN|SONAME|COMPONENT)\b[^;]*audit|\bsys`?\s*\.\s*`?ps_(?:setup_disable_|truncate_all_tables)/i,
  // The tables capture reads (general_log, performance_schema) and the slow log beside them.
  isCaptureTable: (schema, name) => schema === 'performance_schema' || (schema === 'mysql' && (name === 'general_log' || name === 'slow_log')),
  // The sys schema's switches for performance_schema: consumers and instruments off, its tables emptied.
  isCaptureRoutine: (schema, name) => schema === 'sys' && /^ps_(?:setup_disable_|truncate_all_tables$)/.test(name),
  readsFilesOrSendsData,
  permissionError: /permission denied|access denied|command denied|\b(?:1044|1045|1142|1143|1227|1370|1410|3530)\b/i,
};
