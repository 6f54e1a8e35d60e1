import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openSession, tryLogin, waitUntilBlocked } from '../../bench/lib/revocation-probe.js';
import { repeatSummary, type ResultRow } from '../../bench/lib/stats.js';
import { revocationSloScenario } from '../../bench/scenarios/revocation-slo.js';
import { MARIADB_ADMIN_URL } from '../support/databases.js';
import { SERVICES } from '../support/services.js';

/**
 * The revocation SLO bench (bench/scenarios/revocation-slo.ts, issue 21 item 5) so that it cannot rot:
 * its probes against the real servers (a refused login is told from a failed one; a killed session is
 * seen by its client), and the scenario's no-fault condition in its smallest form on the real app process.
 */
describe('revocation SLO bench', () => {
  const name = `slo_probe_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const pgUri = (() => {
    const url = new URL(SERVICES.targetPg);
    url.username = name;
    url.password = password;
    return url.toString();
  })();
  const mariaUri = (() => {
    const url = new URL(MARIADB_ADMIN_URL);
    url.username = name;
    url.password = password;
    url.pathname = '/';
    return url.toString();
  })();
  const onPg = async (sql: string) => {
    const admin = new pg.Client({ connectionString: SERVICES.targetPg });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  const onMaria = async (sql: string) => {
    const admin = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  afterAll(async () => {
    await onPg(`DROP ROLE IF EXISTS ${name}`).catch(() => {});
    await onMaria(`DROP USER IF EXISTS '${name}'@'%'`).catch(() => {});
  });

  it('PostgreSQL: a login is refused once the role may not log in, and the open session sees its end', async () => {
    await onPg(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
    expect((await tryLogin(pgUri)).outcome).toBe('ok');
    // Not a refusal: nothing listens there.
    expect((await tryLogin(pgUri.replace(/:\d+\//, ':1/'), 1000)).outcome).toBe('error');
    const session = await openSession(pgUri);
    expect(await session.answers()).toBe(true);
    const watching = waitUntilBlocked(pgUri, session, { intervalMs: 20, timeoutMs: 10_000 });
    const revokedAt = Date.now();
    await onPg(`ALTER ROLE ${name} NOLOGIN; SELECT pg_terminate_backend(${session.id})`);
    const blocked = await watching;
    expect(blocked).toBeDefined();
    expect(blocked!.loginRefusedAt).toBeGreaterThanOrEqual(revokedAt);
    expect(blocked!.sessionEndedAt).toBeGreaterThanOrEqual(revokedAt);
    expect(await session.answers()).toBe(false);
    await onPg(`DROP ROLE ${name}`);
    expect((await tryLogin(pgUri)).outcome).toBe('refused');
    await session.close();
  });

  it('MariaDB: a locked or dropped account is refused, and a killed connection is seen by its client', async () => {
    await onMaria(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'`);
    expect((await tryLogin(mariaUri)).outcome).toBe('ok');
    const session = await openSession(mariaUri);
    const watching = waitUntilBlocked(mariaUri, session, { intervalMs: 20, timeoutMs: 10_000 });
    await onMaria(`ALTER USER '${name}'@'%' ACCOUNT LOCK`);
    await onMaria(`KILL CONNECTION ${session.id}`);
    const blocked = await watching;
    expect(blocked).toBeDefined();
    expect(session.endedAt()).toBeDefined();
    await onMaria(`DROP USER '${name}'@'%'`);
    expect((await tryLogin(mariaUri)).outcome).toBe('refused');
    await session.close();
  });

  it('the median and range of figures repeated over runs (BENCH_REPEAT)', () => {
    const at = (p50: number, verdict: ResultRow['verdict']): ResultRow => ({ scenario: 's', backend: 'redis', metric: 'm', n: 10, p50, p99: p50 * 2, max: p50 * 3, target: 'p99 <= 1000 ms', verdict });
    const [summary] = repeatSummary([[at(10, 'pass')], [at(30, 'FAIL')], [at(20, 'pass')]]);
    expect(summary).toMatchObject({ runs: 3, passes: 2, n: 30, p50: { median: 20, min: 10, max: 30 }, p99: { median: 40, min: 20, max: 60 } });
    expect(repeatSummary([[at(10, 'pass')], [at(30, 'pass')]])[0]!.p50).toEqual({ median: 20, min: 10, max: 30 });
  });

  it('the no-fault condition, smallest form: every trigger on both engines measured on the app process', async () => {
    const rows = await revocationSloScenario({ noFault: { n: 2, lanes: 2 }, restart: false, outage: false });
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      expect(row.n, `${row.scenario} ${row.metric}: ${row.notes}`).toBe(2);
      expect(row.extra?.problems).toEqual([]);
      expect(Number.isFinite(row.p99)).toBe(true);
    }
    expect(rows.map((row) => row.metric)).toEqual(expect.arrayContaining([expect.stringMatching(/^user_change deleted .*\(mariadb\)$/), expect.stringMatching(/^\/dbaccess revoke .*\(postgres\)$/)]));
  }, 150_000);
});
