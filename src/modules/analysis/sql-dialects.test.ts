import { describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../config/catalog.js';
import { mysqlDialect } from '../credentials/engines/mysql/dialect.js';
import { postgresDialect } from '../credentials/engines/postgres/dialect.js';
import { dialectNamed, sessionDialect } from './sql-dialects.js';

const entry = (fields: Partial<DatabaseEntry>) => ({ id: 'orders', ...fields }) as DatabaseEntry;

describe('sessionDialect', () => {
  it('reads a session in its database engine\'s SQL, MariaDB as MySQL', () => {
    expect(sessionDialect(entry({ engine: 'postgres' }), 'pgaudit')).toBe(postgresDialect);
    expect(sessionDialect(entry({ engine: 'mysql' }), 'general_log')).toBe(mysqlDialect);
    expect(sessionDialect(entry({ engine: 'mariadb' }), 'server_audit')).toBe(mysqlDialect);
  });

  it('reads a Vault database in the SQL of the engine behind it', () => {
    expect(sessionDialect(entry({ engine: 'vault', vault: { role: 'r', mount: 'database', engine: 'postgres' } }), 'none')).toBe(postgresDialect);
    expect(sessionDialect(entry({ engine: 'vault', vault: { role: 'r', mount: 'database', engine: 'mariadb' } }), 'none')).toBe(mysqlDialect);
  });

  it('reads the session of a database gone from the catalog in the SQL of the engine that recorded it', () => {
    expect(sessionDialect(undefined, 'pgaudit')).toBe(postgresDialect);
    expect(sessionDialect(undefined, 'pg_stat_statements')).toBe(postgresDialect);
    expect(sessionDialect(undefined, 'server_audit')).toBe(mysqlDialect);
    expect(sessionDialect(undefined, 'performance_schema')).toBe(mysqlDialect);
  });

  it('names the dialect of every engine that holds users', () => {
    expect(['postgres', 'mysql', 'mariadb'].map(dialectNamed)).toEqual([postgresDialect, mysqlDialect, mysqlDialect]);
    expect(() => dialectNamed('vault')).toThrow(/no SQL of its own/);
  });
});
