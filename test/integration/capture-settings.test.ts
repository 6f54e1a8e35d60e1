import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import type { CaptureMethod } from '../../src/modules/capture/capture-types.js';
import type { Target } from '../../src/modules/credentials/credential-types.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { TEST_INSTALL_ID, createTargetDatabase } from '../support/databases.js';

// What the server writes for a temporary role, read raw from the scram cluster's jsonlog: one line a
// statement, whatever the database's defaults say (here a database that logs every statement, every
// relation and every parameter, and that pg_stat_statements does not track), no bind parameters.
// Each logged line costs the server a write to its log collector (bench scenario 9).
const suffix = randomBytes(4).toString('hex');
const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });
let target: Awaited<ReturnType<typeof createTargetDatabase>>;
const made: Array<{ target: Target; username: string }> = [];

const targetFor = (method: CaptureMethod): Target => ({
  entry: parseCatalog(
    `approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }\ndatabases:\n  - { id: settings, engine: postgres, host: 127.0.0.1, port: 5433, database: ${target.name}, environment: development, admin: "env:X", capture: ${method} }\n`,
  ).database('settings')!,
  adminUrl: target.adminUrl,
});

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: target.adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  target = await createTargetDatabase();
  await admin((client) =>
    client.query(`
      CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
      ALTER DATABASE ${client.escapeIdentifier(target.name)} SET log_statement = 'all';
      ALTER DATABASE ${client.escapeIdentifier(target.name)} SET pgaudit.log_relation = on;
      ALTER DATABASE ${client.escapeIdentifier(target.name)} SET pgaudit.log_parameter = on;
      ALTER DATABASE ${client.escapeIdentifier(target.name)} SET log_parameter_max_length = -1;
      ALTER DATABASE ${client.escapeIdentifier(target.name)} SET pg_stat_statements.track = 'none';
    `),
  );
});

afterAll(async () => {
  for (const { target: where, username } of made) await provider.revoke(where, username).catch(() => {});
  await provider.close();
  await target?.drop();
});

async function provision(method: CaptureMethod, label: string) {
  const username = `dcs_${suffix}_${label}`;
  const password = generatePassword();
  const where = targetFor(method);
  await provider.provision(where, { username, password, expiresAt: new Date(Date.now() + 3600_000), level: 'read', scope: [{ schema: 'sales', table: 'orders' }, { schema: 'sales', table: 'customers' }], capture: method });
  made.push({ target: where, username });
  return { username, password };
}

/** Where the current jsonlog ends: later lines are read from here, across a rotation. */
async function logMark(): Promise<{ file: string; size: number }> {
  return admin(async (client) => {
    const { rows } = await client.query<{ file: string; size: string }>("SELECT pg_current_logfile('jsonlog') AS file, (pg_stat_file(pg_current_logfile('jsonlog'))).size AS size");
    return { file: rows[0]!.file, size: Number(rows[0]!.size) };
  });
}

interface LogLine {
  user?: string;
  message?: string;
  detail?: string;
}

/** The jsonlog lines of `username` written since `mark`, in order (the old file's rest, then any newer file). */
async function linesOf(username: string, mark: { file: string; size: number }): Promise<LogLine[]> {
  return admin(async (client) => {
    const { rows: files } = await client.query<{ name: string }>("SELECT name FROM pg_ls_logdir() WHERE name LIKE '%.json' ORDER BY name");
    const base = mark.file.split('/').pop()!;
    const dir = mark.file.slice(0, mark.file.length - base.length);
    let text = '';
    for (const { name } of files) {
      if (name < base) continue;
      const from = name === base ? mark.size : 0;
      const { rows } = await client.query<{ text: string }>('SELECT convert_from(pg_read_binary_file($1, $2, (pg_stat_file($1)).size - $2), \'UTF8\') AS text', [`${dir}${name}`, from]);
      text += rows[0]!.text;
    }
    return text
      .split('\n')
      .filter((line) => line.includes(`"user":${JSON.stringify(username)}`))
      .map((line) => JSON.parse(line) as LogLine);
  });
}

/** Polls the log until the session's last statement (the marker) is in it: the collector writes in order. */
async function linesUntilMarker(username: string, mark: { file: string; size: number }, marker: string): Promise<LogLine[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = await linesOf(username, mark);
    if (lines.some((line) => line.message?.includes(marker)) || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A join with a bind parameter over the extended protocol, a simple-protocol query, then the marker. */
async function session(user: { username: string; password: string }, marker: string) {
  const client = new pg.Client({ host: '127.0.0.1', port: 5433, user: user.username, password: user.password, database: target.name });
  await client.connect();
  try {
    await client.query({ text: 'SELECT o.id, c.name FROM sales.orders o JOIN sales.customers c ON c.id = o.id WHERE o.customer = $1', values: ['secret-value-7f3a'] });
    await client.query('SELECT count(*) FROM sales.orders');
    await client.query(`SELECT '${marker}' AS marker`);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL capture settings per temporary role (scram cluster, jsonlog)', () => {
  it('pgaudit: one line per statement, not one per relation and not again by log_statement, and no parameters', async () => {
    const user = await provision('pgaudit', 'audit');
    const mark = await logMark();
    await session(user, `marker-audit-${suffix}`);
    const lines = await linesUntilMarker(user.username, mark, `marker-audit-${suffix}`);
    const statements = lines.filter((line) => line.message?.startsWith('AUDIT:') || line.message?.startsWith('statement:') || line.message?.startsWith('execute'));
    expect(statements.map((line) => line.message!.split(',').slice(0, 5).join(','))).toEqual([
      'AUDIT: SESSION,1,1,READ,SELECT',
      'AUDIT: SESSION,2,1,READ,SELECT',
      'AUDIT: SESSION,3,1,READ,SELECT',
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-value-7f3a');
  });

  it('log_statement: one line per statement, without the bind parameters', async () => {
    const user = await provision('log_statement', 'stmt');
    const mark = await logMark();
    await session(user, `marker-stmt-${suffix}`);
    const lines = await linesUntilMarker(user.username, mark, `marker-stmt-${suffix}`);
    expect(lines.map((line) => line.message!.replace(/:.*$/s, ''))).toEqual(['execute <unnamed>', 'statement', 'statement']);
    expect(JSON.stringify(lines)).not.toContain('secret-value-7f3a');
  });

  it('pg_stat_statements: the role is tracked where the database tracks nobody; a role without capture is not', async () => {
    const user = await provision('pg_stat_statements', 'totals');
    const bystander = await provision('none', 'none');
    await session(user, `marker-totals-${suffix}`);
    await session(bystander, `marker-none-${suffix}`);
    const tracked = await admin(async (client) => {
      const { rows } = await client.query<{ rolname: string; calls: string }>(
        `SELECT r.rolname, sum(s.calls)::text AS calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
          WHERE r.rolname = ANY($1) AND s.query LIKE 'SELECT o.id, c.name FROM sales.orders o JOIN%' GROUP BY r.rolname`,
        [[user.username, bystander.username]],
      );
      return rows;
    });
    expect(tracked).toEqual([{ rolname: user.username, calls: '1' }]);
  });
});
