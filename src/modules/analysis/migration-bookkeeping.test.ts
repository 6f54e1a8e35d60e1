import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMigrationBookkeeping } from './migration-bookkeeping.js';

describe('migration bookkeeping tables', () => {
  it("knows each tool's records and locks, in the case and prefixes the tools write them", () => {
    for (const [schema, name] of [
      ['public', 'schema_migrations'], ['public', 'ar_internal_metadata'], ['public', 'flyway_schema_history'], ['public', 'flyway_schema_lock'],
      ['public', 'DATABASECHANGELOG'], ['public', 'DATABASECHANGELOGLOCK'], ['app', 'alembic_version'], ['public', 'django_migrations'],
      ['public', 'knex_migrations'], ['public', 'knex_migrations_lock'], ['app', 'goose_db_version'], ['public', '_prisma_migrations'],
      ['drizzle', '__drizzle_migrations'], ['dbo', '__EFMigrationsHistory'], ['public', 'SequelizeMeta'], ['public', '_sqlx_migrations'],
      ['public', '__diesel_schema_migrations'], ['public', 'pgmigrations'], ['public', 'phinxlog'], ['public', 'yoyo_lock'],
      ['sqitch', 'changes'], ['sqitch', 'events'], ['shop', 'migrations'],
    ] as const) expect(isMigrationBookkeeping(schema, name), `${schema}.${name}`).toBe(true);
  });

  it('is not fooled by names that merely contain a tool name, or by the whole-schema marker', () => {
    for (const [schema, name] of [
      ['crm', 'customer_migrations'], ['public', 'schema_migrations_backup'], ['public', 'migrations_report'], ['public', 'user_locks'],
      ['public', 'flyway_schema_history_copy'], ['hr', 'salaries'], ['public', 'changes'], ['sqitch', '*'],
    ] as const) expect(isMigrationBookkeeping(schema, name), `${schema}.${name}`).toBe(false);
  });

  it('matches a name only whole: a known table with anything added before or after (but its lock suffix) is an ordinary table', () => {
    const known = fc.constantFrom('schema_migrations', 'flyway_schema_history', 'alembic_version', 'django_migrations', 'databasechangelog', 'goose_db_version');
    const extra = fc.stringMatching(/^[a-z0-9]{1,8}$/).filter((text) => !/^locks?$/.test(text));
    fc.assert(
      fc.property(known, extra, fc.boolean(), (name, added, before) => {
        const changed = before ? `${added}_${name}` : `${name}_${added}`;
        expect(isMigrationBookkeeping('public', changed)).toBe(false);
        expect(isMigrationBookkeeping('public', name.toUpperCase())).toBe(true);
        expect(isMigrationBookkeeping('public', `${name}_lock`)).toBe(true);
      }),
    );
  });
});
