import { describe, expect, it } from 'vitest';
import { mariadbError, parseServerAuditLine, serverAuditTime, unescapeServerAudit } from './capture-server-audit.js';

// Lines as MariaDB 10.11's server_audit wrote them on this machine.
describe('server_audit lines', () => {
  it('reads QUERY events: user, database, the query unescaped, and the error number', () => {
    expect(parseServerAuditLine("20261129 09:39:00,vm,exp_a,127.0.0.1,19,72,QUERY,expdb,'SELECT * FROM t WHERE id = 1',0")).toEqual({
      time: '20261129 09:39:00', username: 'exp_a', connectionId: 19, queryId: 72, database: 'expdb', query: 'SELECT * FROM t WHERE id = 1', retcode: 0,
    });
    expect(parseServerAuditLine("20261129 09:39:00,vm,exp_a,127.0.0.1,19,73,QUERY,expdb,'SELECT * FROM secret',1142")).toMatchObject({ query: 'SELECT * FROM secret', retcode: 1142 });
    const comment = String.raw`20261129 09:39:00,vm,exp_a,127.0.0.1,19,74,QUERY,expdb,'/* a comment with \'quotes\', "double"\nand a newline\\ */ SELECT \'x,y\' AS ` + "`c,d`, 1',0";
    expect(parseServerAuditLine(comment)?.query).toBe(`/* a comment with 'quotes', "double"\nand a newline\\ */ SELECT 'x,y' AS \`c,d\`, 1`);
  });

  it('ignores connects, disconnects, table events and malformed lines', () => {
    expect(parseServerAuditLine('20261129 09:39:00,vm,exp_a,127.0.0.1,19,0,CONNECT,expdb,,0')).toBeUndefined();
    expect(parseServerAuditLine('20261129 09:39:00,vm,exp_a,127.0.0.1,19,0,DISCONNECT,expdb,,0')).toBeUndefined();
    expect(parseServerAuditLine('20261129 09:39:00,vm,exp_a,127.0.0.1,19,80,READ,expdb,t,')).toBeUndefined();
    expect(parseServerAuditLine("20261129 09:39:00,vm,exp_a,127.0.0.1,19,72,QUERY,expdb,'SELECT 1")).toBeUndefined();
    expect(parseServerAuditLine('garbage')).toBeUndefined();
  });

  it('reads an empty query and a query ending in an escaped quote', () => {
    expect(parseServerAuditLine("20261129 09:39:00,vm,u,h,1,2,QUERY,db,'',0")?.query).toBe('');
    expect(parseServerAuditLine(String.raw`20261129 09:39:00,vm,u,h,1,2,QUERY,db,'SELECT \'it\'\'',1064`)).toMatchObject({ query: "SELECT 'it''", retcode: 1064 });
  });

  it('unescapes exactly what the plugin escapes', () => {
    expect(unescapeServerAudit(String.raw`a\tb\nc\rd\\e\'f\bg\fh\x`)).toBe("a\tb\nc\rd\\e'f\bg\fh\\x");
  });

  it('turns the server local time into an instant with the server offset', () => {
    expect(serverAuditTime('20261129 09:39:00', 0).toISOString()).toBe('2026-11-29T09:39:00.000Z');
    expect(serverAuditTime('20261129 10:39:00', 3600).toISOString()).toBe('2026-11-29T09:39:00.000Z');
    expect(mariadbError(1142)).toBe('error 1142');
  });
});
