import { CUSTOM_PRIVILEGES } from '../../../../config/catalog.js';
import { CAPTURE_METHODS } from '../../../capture/capture-types.js';
import type { ConnectionDetails, EngineClient, ServerEngine } from '../engine.js';
import { checkMysqlAdmin } from './admin-check.js';
import { mysqlCapture } from './capture.js';
import { mysqlDialect } from './dialect.js';
import { type MysqlFlavor, mysqlGrantStatements, mysqlUserName } from './grants.js';
import { createMysqlProvider } from './provider.js';
import { scopeDatabases } from './scope.js';

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

const client: EngineClient = {
  name: 'mysql',
  uri: (c: ConnectionDetails) =>
    `mysql://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`,
  command: (c) => `mysql --host=${c.host} --port=${c.port} --user=${quote(c.username)} --password=${quote(c.password)} ${quote(c.database)}`,
};

/** MySQL 8 and MariaDB 10.11 share a provider; the flavour decides where markers live and how sessions end. */
function mysqlFamily(flavor: MysqlFlavor, displayName: string, schemes: readonly string[]): ServerEngine {
  return {
    kind: 'server',
    name: flavor,
    displayName,
    createProvider: ({ installId, poolSize, idleMillis }) => createMysqlProvider({ flavor, installId, poolSize, idleMillis }),
    grantPreview: (entry, { level, privileges, scope, username }) =>
      entry.allowedHosts.flatMap((host) => mysqlGrantStatements({ level, privileges, scope, database: entry.database, username, host, flavor })),
    userName: (entry, prefix, random) => mysqlUserName({ prefix, random, flavor, legacy: entry.legacyUserNames }),
    // TRUNCATE is not a privilege here (it needs DROP).
    tablePrivileges: CUSTOM_PRIVILEGES.filter((privilege) => privilege !== 'TRUNCATE'),
    captureMethods: CAPTURE_METHODS[flavor],
    restrictsSourceHosts: true,
    client,
    adminUrl: { schemes, example: 'mysql://admin:password@host:3306/database' },
    scopeDatabases,
    adminCheck: (target, options) => checkMysqlAdmin(target, flavor, options),
    capture: mysqlCapture,
    dialect: mysqlDialect,
  };
}

export const mysqlEngine = mysqlFamily('mysql', 'MySQL', ['mysql:']);
export const mariadbEngine = mysqlFamily('mariadb', 'MariaDB', ['mysql:', 'mariadb:']);
