import { describe, expect, it } from 'vitest';
import {
  parseCsvRecord,
  parseJsonlogLine,
  parseLogStatementMessage,
  parseLogTimestamp,
  parsePgauditMessage,
  statementsFromJsonlog,
  type JsonlogRecord,
  type PostgresLogMethod,
  type SessionMemory,
} from './capture-jsonlog.js';

/** A jsonlog line as PostgreSQL 15 writes it (fields it always writes, in its order). */
function line(fields: { user: string; session?: string; vxid?: string; severity?: string; state?: string; message: string; statement?: string }): string {
  return JSON.stringify({
    timestamp: '2026-11-29 09:38:35.475 UTC', user: fields.user, dbname: 'shop', pid: 8889, remote_host: '127.0.0.1', remote_port: 50726,
    session_id: fields.session ?? '6b0bf29b.22b9', line_num: 1, ps: 'SELECT', session_start: '2026-11-29 09:38:35 UTC', vxid: fields.vxid ?? '3/40', txid: 0,
    error_severity: fields.severity ?? 'LOG', ...(fields.state ? { state_code: fields.state } : {}), message: fields.message,
    ...(fields.statement !== undefined ? { statement: fields.statement } : {}), application_name: 'psql', backend_type: 'client backend', query_id: 0,
  });
}

const records = (...lines: string[]) => lines.map(parseJsonlogLine).filter((record): record is JsonlogRecord => record !== undefined);
const audit = (id: number, text: string, sub = 1, klass = 'READ') => `AUDIT: SESSION,${id},${sub},${klass},SELECT,,,${text},<not logged>`;
const only = (method: PostgresLogMethod, ...users: string[]) => (name: string) => (users.includes(name) ? method : undefined);

describe('jsonlog lines', () => {
  it('reads the fields capture uses and ignores what is not a jsonlog object', () => {
    const record = parseJsonlogLine(line({ user: 'dba_x', severity: 'ERROR', state: '42501', message: 'permission denied for table t', statement: 'SELECT * FROM t;' }));
    expect(record).toEqual({
      timestamp: '2026-11-29 09:38:35.475 UTC', user: 'dba_x', sessionId: '6b0bf29b.22b9', vxid: '3/40', severity: 'ERROR', stateCode: '42501',
      message: 'permission denied for table t', statement: 'SELECT * FROM t;',
    });
    expect(parseJsonlogLine('2026-11-29 09:38:35 UTC [1] LOG:  a stderr line')).toBeUndefined();
    expect(parseJsonlogLine('{"timestamp": "2026-11-29 09:38:35.475 UTC", "user": "dba_x", "message": "cut off')).toBeUndefined();
    // Background processes write lines without a user.
    expect(parseJsonlogLine(JSON.stringify({ timestamp: '2026-11-29 09:38:35.475 UTC', error_severity: 'LOG', message: 'checkpoint starting' }))).toBeUndefined();
  });

  it('parses pgaudit CSV: quoted statements with commas, doubled quotes and newlines', () => {
    expect(parseCsvRecord('a,"b,c","say ""hi""\nthere",')).toEqual(['a', 'b,c', 'say "hi"\nthere', '']);
    expect(parsePgauditMessage('AUDIT: SESSION,2,1,READ,SELECT,,,"/* it\'s, ""x"" */\nSELECT 1",<not logged>')).toEqual({
      statementId: 2, substatementId: 1, auditClass: 'READ', command: 'SELECT', statement: '/* it\'s, "x" */\nSELECT 1',
    });
    expect(parsePgauditMessage('AUDIT: OBJECT,1,1,READ,SELECT,TABLE,public.t,SELECT 1,<not logged>')).toBeUndefined();
    expect(parsePgauditMessage('statement: SELECT 1')).toBeUndefined();
  });

  it('parses log_statement lines of both protocols', () => {
    expect(parseLogStatementMessage('statement: SELECT 1;')).toBe('SELECT 1;');
    expect(parseLogStatementMessage('execute <unnamed>: SELECT $1::int AS p')).toBe('SELECT $1::int AS p');
    expect(parseLogStatementMessage('execute S_1: UPDATE t SET v = $1')).toBe('UPDATE t SET v = $1');
    expect(parseLogStatementMessage('execute fetch from S_2/C_3: SELECT * FROM t')).toBe('SELECT * FROM t');
    expect(parseLogStatementMessage('duration: 0.123 ms')).toBeUndefined();
  });

  it('reads timestamps in UTC and numeric offsets, and leaves zone names to the server', () => {
    expect(parseLogTimestamp('2026-11-29 09:38:35.475 UTC')?.toISOString()).toBe('2026-11-29T09:38:35.475Z');
    expect(parseLogTimestamp('2026-11-29 10:38:35.475 +01')?.toISOString()).toBe('2026-11-29T09:38:35.475Z');
    expect(parseLogTimestamp('2026-11-29 04:08:35 -05:30')?.toISOString()).toBe('2026-11-29T09:38:35.000Z');
    expect(parseLogTimestamp('2026-11-29 10:38:35.475 CET')).toBeUndefined();
  });
});

describe('statements from jsonlog', () => {
  it('pgaudit: one statement per statement id, substatements and other users left out, refusals kept with their error', () => {
    const out = statementsFromJsonlog(
      records(
        line({ user: 'dba_a', vxid: '3/1', message: audit(1, 'SELECT 1') }),
        line({ user: 'dba_other', vxid: '4/1', message: audit(1, 'SELECT secret') }),
        line({ user: 'dba_a', vxid: '3/2', severity: 'ERROR', state: '42501', message: 'permission denied for table t', statement: 'SELECT * FROM t' }),
        line({ user: 'dba_a', vxid: '3/3', message: audit(2, 'SELECT f()') }),
        line({ user: 'dba_a', vxid: '3/3', message: audit(2, 'SELECT f()', 2, 'FUNCTION') }),
        line({ user: 'dba_a', vxid: '3/3', message: audit(2, 'SELECT count(*) FROM t', 3) }),
        line({ user: 'dba_a', vxid: '3/4', severity: 'ERROR', state: '42601', message: 'syntax error at or near "SELEC"', statement: 'SELEC 1' }),
        line({ user: 'dba_a', vxid: '3/5', message: 'statement: SELECT 9' }),
        line({ user: 'dba_a', vxid: '3/6', severity: 'FATAL', state: '57P01', message: 'terminating connection due to administrator command' }),
      ),
      only('pgaudit', 'dba_a'),
    );
    expect(out.map(({ statement, error }) => ({ statement, error }))).toEqual([
      { statement: 'SELECT 1', error: undefined },
      { statement: 'SELECT * FROM t', error: '42501: permission denied for table t' },
      { statement: 'SELECT f()', error: undefined },
      { statement: 'SELEC 1', error: '42601: syntax error at or near "SELEC"' },
    ]);
  });

  it('an ERROR right after its own statement line completes it instead of adding a second entry', () => {
    const out = statementsFromJsonlog(
      records(
        line({ user: 'dba_b', vxid: '3/57', message: 'statement: SELECT 1/0;' }),
        line({ user: 'dba_b', vxid: '3/57', severity: 'ERROR', state: '22012', message: 'division by zero', statement: 'SELECT 1/0;' }),
        // The same text again, in a new transaction, refused again: a second statement.
        line({ user: 'dba_b', vxid: '3/58', message: 'statement: SELECT 1/0;' }),
        line({ user: 'dba_b', vxid: '3/58', severity: 'ERROR', state: '22012', message: 'division by zero', statement: 'SELECT 1/0;' }),
        // In a transaction, a refused statement after another one of the same transaction.
        line({ user: 'dba_b', vxid: '3/64', message: 'statement: BEGIN;' }),
        line({ user: 'dba_b', vxid: '3/64', message: 'statement: SELECT * FROM secret;' }),
        line({ user: 'dba_b', vxid: '3/64', severity: 'ERROR', state: '42501', message: 'permission denied for table secret', statement: 'SELECT * FROM secret;' }),
        line({ user: 'dba_b', vxid: '3/0', message: 'statement: ROLLBACK;' }),
      ),
      only('log_statement', 'dba_b'),
    );
    expect(out.map(({ statement, error }) => [statement, error])).toEqual([
      ['SELECT 1/0;', '22012: division by zero'],
      ['SELECT 1/0;', '22012: division by zero'],
      ['BEGIN;', undefined],
      ['SELECT * FROM secret;', '42501: permission denied for table secret'],
      ['ROLLBACK;', undefined],
    ]);
  });

  it('keeps sessions apart: an error of one session never completes a statement of another', () => {
    const out = statementsFromJsonlog(
      records(
        line({ user: 'dba_c', session: 's1', vxid: '3/1', message: 'statement: SELECT x FROM t' }),
        line({ user: 'dba_c', session: 's2', vxid: '5/1', severity: 'ERROR', state: '42501', message: 'permission denied for table t', statement: 'SELECT x FROM t' }),
      ),
      only('log_statement', 'dba_c'),
    );
    expect(out.map(({ statement, error }) => [statement, error])).toEqual([
      ['SELECT x FROM t', undefined],
      ['SELECT x FROM t', '42501: permission denied for table t'],
    ]);
  });

  it('takes only the lines of the lease method: pgaudit lines for pgaudit users, statement lines for log_statement users', () => {
    const out = statementsFromJsonlog(
      records(
        line({ user: 'dba_a', message: audit(1, 'SELECT 1') }),
        line({ user: 'dba_a', message: 'statement: SELECT 1' }),
        line({ user: 'dba_b', session: 'b', message: audit(1, 'SELECT 2') }),
        line({ user: 'dba_b', session: 'b', message: 'statement: SELECT 2' }),
      ),
      (name) => (name === 'dba_a' ? 'pgaudit' : name === 'dba_b' ? 'log_statement' : undefined),
    );
    expect(out.map(({ username, statement }) => [username, statement])).toEqual([
      ['dba_a', 'SELECT 1'],
      ['dba_b', 'SELECT 2'],
    ]);
  });

  it('a multi-statement string, logged by pgaudit once per statement, is stored once', () => {
    const out = statementsFromJsonlog(
      records(
        line({ user: 'dba_a', vxid: '3/73', message: audit(1, 'SELECT 10; SELECT 11') }),
        line({ user: 'dba_a', vxid: '3/73', message: audit(2, 'SELECT 10; SELECT 11') }),
        // The same single statement twice in one transaction is run twice.
        line({ user: 'dba_a', vxid: '3/75', message: audit(3, 'SELECT 12') }),
        line({ user: 'dba_a', vxid: '3/75', message: audit(4, 'SELECT 12') }),
      ),
      only('pgaudit', 'dba_a'),
    );
    expect(out.map((entry) => entry.statement)).toEqual(['SELECT 10; SELECT 11', 'SELECT 12', 'SELECT 12']);
  });

  it('carries sessions across chunks: a refusal in the next chunk is flagged for the statement already stored', () => {
    const memory: SessionMemory = new Map();
    const methodOf = only('log_statement', 'dba_d');
    const first = statementsFromJsonlog(records(line({ user: 'dba_d', vxid: '3/9', message: 'statement: SELECT 1/0' })), methodOf, memory);
    const second = statementsFromJsonlog(
      records(line({ user: 'dba_d', vxid: '3/9', severity: 'ERROR', state: '22012', message: 'division by zero', statement: 'SELECT 1/0' })),
      methodOf,
      memory,
    );
    expect(first.map((entry) => [entry.statement, entry.error])).toEqual([['SELECT 1/0', undefined]]);
    expect(second).toEqual([expect.objectContaining({ statement: 'SELECT 1/0', error: '22012: division by zero', orphanError: true })]);
    // A session never seen before in this read: its refusal may complete a statement of an earlier read.
    const fresh = statementsFromJsonlog(
      records(line({ user: 'dba_d', session: 'new', severity: 'ERROR', state: '42501', message: 'permission denied for table t', statement: 'SELECT * FROM t' })),
      methodOf,
      memory,
    );
    expect(fresh[0]?.orphanError).toBe(true);
  });
});
