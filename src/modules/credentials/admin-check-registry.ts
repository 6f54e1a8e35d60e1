import type { Engine } from '../../config/catalog.js';
import type { AdminCheck } from './admin-check.js';
import { checkMysqlAdmin } from './mysql-admin-check.js';
import { checkPostgresAdmin } from './postgres-admin-check.js';

/** Per engine that holds the users; Vault-managed databases are checked on the engine Vault manages. */
export const ADMIN_CHECKS = {
  postgres: checkPostgresAdmin,
  mysql: (target, options) => checkMysqlAdmin(target, 'mysql', options),
  mariadb: (target, options) => checkMysqlAdmin(target, 'mariadb', options),
} satisfies Record<Exclude<Engine, 'vault'>, AdminCheck>;
