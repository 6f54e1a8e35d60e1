/**
 * Where migration tools record which migrations ran, and the locks they take while running: the one
 * list of them the session rules use. A list is the right tool here: these are other projects' fixed
 * names, not something a rule could infer. Add a tool here, with its source, and nowhere else.
 *
 * What the rules make of them (session-rules.ts, session-checks.ts): under a grant that allows schema
 * changes (admin), such a table is part of the schema change, whatever schema the tool keeps it in: in
 * scope, and not another task to drift to. Under a read or write grant it is an ordinary table. Nothing
 * else changes: a DROP, or a DELETE or UPDATE of every row, of a bookkeeping table is still flagged.
 */

/**
 * Tables named for the tool, matched whole and case-insensitively (Liquibase writes upper case, Prisma
 * and EF Core lead with underscores). Each stem also matches with a lock suffix (`_lock`, `lock`,
 * `_locks`): the row a tool leaves behind when it dies mid-run is cleared by hand.
 */
const TOOL_TABLES = [
  'schema_migrations', // Rails, Ecto, dbmate, golang-migrate
  'ar_internal_metadata', // Rails
  'schema_versions?', // Flyway before 3, mybatis-migrations
  'flyway_schema_history', 'flyway_schema', 'flyway', // Flyway (and the lock rows some setups keep beside it)
  'databasechangelog', // Liquibase (its lock is DATABASECHANGELOGLOCK)
  'alembic_version', // Alembic
  'django_migrations', // Django
  'knex_migrations', // Knex (knex_migrations_lock)
  'goose_db_version', // goose
  'prisma_migrations', // Prisma (_prisma_migrations)
  'drizzle_migrations', // Drizzle (__drizzle_migrations)
  'efmigrationshistory', // Entity Framework (__EFMigrationsHistory)
  'doctrine_migration_versions', // Doctrine
  'sequelizemeta', // Sequelize, Umzug
  'typeorm_migrations', 'typeorm_metadata', // TypeORM
  'mikro_orm_migrations', // MikroORM
  'pgmigrations', // node-pg-migrate
  'diesel_schema_migrations', // Diesel (__diesel_schema_migrations)
  'sqlx_migrations', // SQLx (_sqlx_migrations)
  'refinery_schema_history', // Refinery
  'atlas_schema_revisions', // Atlas
  'phinxlog', // Phinx
  'yoyo_migration', 'yoyo_log', 'yoyo_version', 'yoyo', // yoyo-migrations (yoyo_lock)
  'migrations?', 'migration_versions', 'migration_history', // Laravel, TypeORM's default, and the generic names
];
const TOOL_TABLE = new RegExp(`^_*(?:${TOOL_TABLES.join('|')})(?:_?locks?)?$`, 'i');

/** Schemas a tool keeps to itself, every table of which is its bookkeeping (sqitch's registry, Drizzle's, graphile-migrate's, Atlas's). */
const TOOL_SCHEMAS = new Set(['sqitch', 'drizzle', 'graphile_migrate', 'atlas_schema_revisions']);

/** Whether `schema.name` (schema undefined when unknown) is where a migration tool keeps its records or locks. */
export function isMigrationBookkeeping(schema: string | undefined, name: string): boolean {
  if (name === '*') return false;
  return TOOL_TABLE.test(name) || (schema !== undefined && TOOL_SCHEMAS.has(schema.toLowerCase()));
}
