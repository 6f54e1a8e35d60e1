import { describe, expect, it } from 'vitest';
import { postgresRoleCaptureStatements } from './capture-sql.js';

describe('PostgreSQL per-role capture', () => {
  it('sets one record per statement on the quoted role: pgaudit without log_statement or parameters, log_statement without parameters, pg_stat_statements tracking it', () => {
    expect(postgresRoleCaptureStatements('pgaudit', '"dba_x"')).toEqual([
      `ALTER ROLE "dba_x" SET pgaudit.log = 'read, write, function, ddl, role, misc, misc_set'`,
      'ALTER ROLE "dba_x" SET pgaudit.log_statement = on',
      'ALTER ROLE "dba_x" SET pgaudit.log_statement_once = off',
      `ALTER ROLE "dba_x" SET pgaudit.log_level = 'log'`,
      'ALTER ROLE "dba_x" SET pgaudit.log_relation = off',
      'ALTER ROLE "dba_x" SET pgaudit.log_parameter = off',
      `ALTER ROLE "dba_x" SET log_statement = 'none'`,
      `ALTER ROLE "dba_x" SET log_min_error_statement = 'error'`,
    ]);
    expect(postgresRoleCaptureStatements('log_statement', '"dba_x"')).toEqual([
      `ALTER ROLE "dba_x" SET log_statement = 'all'`,
      'ALTER ROLE "dba_x" SET log_parameter_max_length = 0',
      `ALTER ROLE "dba_x" SET log_min_error_statement = 'error'`,
    ]);
    expect(postgresRoleCaptureStatements('pg_stat_statements', '"dba_x"')).toEqual([`ALTER ROLE "dba_x" SET pg_stat_statements.track = 'top'`]);
    expect(postgresRoleCaptureStatements('none', '"dba_x"')).toEqual([]);
  });
});
