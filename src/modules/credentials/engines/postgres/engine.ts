import { CUSTOM_PRIVILEGES } from '../../../../config/catalog.js';
import { CAPTURE_METHODS } from '../../../capture/capture-types.js';
import type { ConnectionDetails, ServerEngine } from '../engine.js';
import { checkPostgresAdmin } from './admin-check.js';
import { postgresCapture } from './capture.js';
import { postgresDialect } from './dialect.js';
import { postgresAccessStatements } from './grants.js';
import { createPostgresProvider } from './provider.js';

const uri = (c: ConnectionDetails) =>
  `postgresql://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;

export const postgresEngine: ServerEngine = {
  kind: 'server',
  name: 'postgres',
  displayName: 'PostgreSQL',
  createProvider: ({ installId, poolSize, idleMillis }) => createPostgresProvider({ installId, poolSize, idleMillis }),
  grantPreview(entry, { level, privileges, scope, prefix, username, install }) {
    const { grants, membership } = postgresAccessStatements({ prefix, install, level, privileges, scope, database: entry.database, username, schemas: ['<each schema>'] });
    return membership ? [...grants, membership] : grants;
  },
  userName: (_entry, prefix, random) => `${prefix}${random}`,
  tablePrivileges: CUSTOM_PRIVILEGES,
  captureMethods: CAPTURE_METHODS.postgres,
  restrictsSourceHosts: false,
  client: { name: 'psql', uri, command: (c) => `psql "${uri(c)}"` },
  adminUrl: { schemes: ['postgres:', 'postgresql:'], example: 'postgresql://admin:password@host:5432/database' },
  adminCheck: checkPostgresAdmin,
  capture: postgresCapture,
  dialect: postgresDialect,
};
