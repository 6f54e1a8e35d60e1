import { describe, expect, it } from 'vitest';
import { consumersQuery, escapeLike, generalLogQuery, microsToDecimalSeconds, mysqlError, performanceSchemaQuery, userOfUserHost } from './capture-sql.js';

describe('general log SQL', () => {
  it('escapes LIKE wildcards in user names (dba_x must not match dbaXx)', () => {
    expect(escapeLike('dba_x%\\y')).toBe('dba\\_x\\%\\\\y');
  });

  it('filters by user_host prefix per user, from an exact decimal time, queries and executes only', () => {
    const { sql, values } = generalLogQuery(['dba_a1', 'dba_b2'], 1_764_409_140_000_123, 500);
    expect(sql).toContain('FROM mysql.general_log');
    expect(sql).toContain("command_type IN ('Query', 'Execute')");
    expect(sql).toContain('(user_host LIKE ? OR user_host LIKE ?)');
    expect(sql).toContain('UNIX_TIMESTAMP(event_time) >= CAST(? AS DECIMAL(20,6))');
    expect(sql).toMatch(/ORDER BY event_time, thread_id\s+LIMIT 500$/);
    expect(values).toEqual(['1764409140.000123', 0.05, 'dba\\_a1[%', 'dba\\_b2[%']);
    expect(() => generalLogQuery([], 0, 10)).toThrow(RangeError);
    expect(() => generalLogQuery(['x'], 0, 0)).toThrow(RangeError);
  });

  it('reads the login user out of user_host', () => {
    expect(userOfUserHost('dba_a1[dba_a1] @  [127.0.0.1]')).toBe('dba_a1');
    expect(userOfUserHost('root[root] @ localhost []')).toBe('root');
    expect(userOfUserHost('[bad')).toBeUndefined();
    expect(microsToDecimalSeconds(5)).toBe('0.000005');
    expect(() => microsToDecimalSeconds(-1)).toThrow(RangeError);
  });
});

// MySQL is not on this machine: this SQL is checked here for shape only, never against a server.
describe('performance_schema SQL (MySQL)', () => {
  it('joins history_long with threads by user, top-level statements only, in the order they ended', () => {
    const { sql, values } = performanceSchemaQuery(['dba_a1', 'dba_b2'], 123_456, 1000);
    expect(sql).toContain('FROM performance_schema.events_statements_history_long h');
    expect(sql).toContain('JOIN performance_schema.threads t ON t.THREAD_ID = h.THREAD_ID');
    expect(sql).toContain('t.PROCESSLIST_USER IN (?)');
    expect(sql).toContain('h.TIMER_END DIV 1000 >= ?');
    expect(sql).toContain("h.NESTING_EVENT_TYPE <> 'STATEMENT'");
    expect(sql).toMatch(/ORDER BY h\.TIMER_END, h\.THREAD_ID, h\.EVENT_ID\s+LIMIT 1000$/);
    expect(values).toEqual([['dba_a1', 'dba_b2'], 123_456]);
    expect(() => performanceSchemaQuery(['x'], -1, 10)).toThrow(RangeError);
  });

  it('checks the consumers the history needs and words refusals with errno, SQLSTATE and message', () => {
    expect(consumersQuery().values).toEqual([['global_instrumentation', 'thread_instrumentation', 'events_statements_current', 'events_statements_history_long']]);
    expect(mysqlError(1142, '42000', 'SELECT command denied')).toBe('1142 (42000): SELECT command denied');
    expect(mysqlError(1064, null, null)).toBe('1064');
  });
});
