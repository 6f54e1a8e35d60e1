/**
 * MariaDB's server_audit plugin, file output: one event a line,
 *   `<yyyymmdd hh:mm:ss>,<serverhost>,<username>,<host>,<connectionid>,<queryid>,<operation>,<database>,<object>,<retcode>`
 * where a QUERY event's object is the query in single quotes, with \b \t \n \f \r \' and \\ escaped,
 * and retcode is the server's error number (0 when the query succeeded). The time is the server's
 * local time, to the second. Pure: the reader feeds it lines.
 */

export interface ServerAuditQuery {
  /** `yyyymmdd hh:mm:ss`, server local time. */
  time: string;
  username: string;
  connectionId: number;
  queryId: number;
  database: string;
  query: string;
  /** The server's error number; 0 when the query succeeded. */
  retcode: number;
}

const UNESCAPED: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', "'": "'", '\\': '\\' };

export function unescapeServerAudit(text: string): string {
  return text.replace(/\\(.)/gs, (whole, ch: string) => UNESCAPED[ch] ?? whole);
}

/** A QUERY event (QUERY, QUERY_DDL, QUERY_DML, ...); undefined for connects, table events and anything malformed. */
export function parseServerAuditLine(line: string): ServerAuditQuery | undefined {
  const header: string[] = [];
  let at = 0;
  for (let i = 0; i < 7; i++) {
    const comma = line.indexOf(',', at);
    if (comma < 0) return undefined;
    header.push(line.slice(at, comma));
    at = comma + 1;
  }
  const [time, , username, , connection, queryId, operation] = header as [string, string, string, string, string, string, string];
  if (!/^\d{8} \d{2}:\d{2}:\d{2}$/.test(time) || !operation.startsWith('QUERY')) return undefined;
  const rest = line.slice(at);
  const open = rest.indexOf(",'");
  const tail = /',(-?\d+)$/.exec(rest);
  if (open < 0 || !tail || tail.index < open + 1) return undefined;
  return {
    time,
    username,
    connectionId: Number(connection),
    queryId: Number(queryId),
    database: rest.slice(0, open),
    query: unescapeServerAudit(rest.slice(open + 2, tail.index)),
    retcode: Number(tail[1]),
  };
}

/** The event's time as a Date, given the server's offset from UTC in seconds (local = UTC + offset). */
export function serverAuditTime(time: string, offsetSeconds: number): Date {
  const iso = `${time.slice(0, 4)}-${time.slice(4, 6)}-${time.slice(6, 8)}T${time.slice(9)}Z`;
  return new Date(new Date(iso).getTime() - offsetSeconds * 1000);
}

/** How a refused query is stored: MariaDB's error number (the log has no message). */
export const mariadbError = (retcode: number) => `error ${retcode}`;
