import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { createMariaTarget, targetRoles, targetSessionsOf } from '../support/databases.js';
import { SERVICES } from '../support/services.js';
import { auditOf, requestIdIn, waitForState } from '../support/ways-out.js';

const BIN = fileURLToPath(new URL('../../bin/dbaccess.js', import.meta.url));

function dbaccess(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end('');
  });
}

/**
 * `dbaccess offboard <id>` against a running app: the person's sessions end within 5 s of the order,
 * their pending request is cancelled, the approvers are told. And the MySQL scope rule at the form:
 * a MariaDB entry's scope may not name another database of the server.
 */
describe('dbaccess offboard, and MySQL scopes at the form', () => {
  let h: Harness;
  let maria: Awaited<ReturnType<typeof createMariaTarget>>;
  let env: Record<string, string>;
  const masterKey = randomBytes(32).toString('hex');

  beforeAll(async () => {
    maria = await createMariaTarget();
    h = await startHarness({
      queue: 'redis',
      env: { MASTER_KEY: masterKey, SHOP_ADMIN_URL: maria.adminUrl },
      extraDatabases: `  - id: shop\n    engine: mariadb\n    host: 127.0.0.1\n    port: 3306\n    database: ${maria.name}\n    environment: staging\n    admin: env:SHOP_ADMIN_URL\n`,
    });
    env = {
      DATABASE_URL: h.app.stateUrl!, REDIS_URL: SERVICES.redis, QUEUE_PREFIX: h.redisPrefix, DBACCESS_CONFIG: h.catalogPath,
      DATA_DIR: dirname(h.catalogPath), MASTER_KEY: masterKey, ORDERS_ADMIN_URL: h.target.adminUrl, SHOP_ADMIN_URL: maria.adminUrl,
    };
  });
  afterAll(async () => {
    await h?.close();
    await maria?.drop();
  });

  it('refuses a MariaDB scope naming another database of the server, with what may be asked', async () => {
    const answer = await h.submitRequest(PEOPLE.requester, { databaseId: 'shop', scope: `mysql.user, ${maria.name}`, duration: '30m' });
    const errors = (answer.json as { response_action: string; errors: Record<string, string> }).errors;
    expect(Object.values(errors)).toEqual([`mysql is not a database of shop. A scope on shop may name only ${maria.name} (or their tables).`]);
  });

  it('ends the sessions within 5 s of the order, cancels the pending request, tells the approvers', async () => {
    expect((await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', reason: 'Offboarded by the CLI: payouts of last night' })).status).toBe(200);
    const card = await h.waitForCard((m) => shown(m).includes('Offboarded by the CLI'));
    const activeId = requestIdIn(shown(card))!;
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(activeId));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    expect((await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', reason: 'Still pending when offboarded: refunds of last week' })).status).toBe(200);
    const pendingId = requestIdIn(shown(await h.waitForCard((m) => shown(m).includes('Still pending when offboarded'))))!;

    const run = dbaccess(['offboard', PEOPLE.requester.toLowerCase()], env);
    await waitUntil(async () => (await targetSessionsOf(new URL(uri).username)) === 0, 60_000, 'the session killed');
    const killedAt = Date.now();
    const result = await run;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${PEOPLE.requester} (slack T0ACME): 1 access revoked (1 session killed): ${activeId}; 1 request cancelled: ${pendingId}.`);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await waitForState(h.app, pendingId, 'cancelled', 5000);

    // From the order (its audit event) to the session gone: within 5 s.
    const ordered = (await asSystem('test', () => h.app.pool.query<{ at: string }>("SELECT created_at AS at FROM audit_events WHERE action = 'person.offboarded' ORDER BY id DESC LIMIT 1"))).rows[0]!;
    expect(killedAt - new Date(ordered.at).getTime()).toBeLessThan(5000);
    expect((await auditOf(h.app, `request:${pendingId}`)).map((e) => e.action)).toContain('request.cancelled');

    const told = await h.waitForMessage(APPROVERS_CHANNEL, (m) => /left \(an operator ran dbaccess offboard\)/.test(m.text ?? ''));
    expect(told.text).toContain(activeId);
    expect(told.text).toContain(pendingId);
    expect(await targetRoles(h.prefix)).toEqual([]);

    const nobody = await dbaccess(['offboard', 'nobody@example.com'], env);
    expect(nobody).toMatchObject({ code: 0, stdout: 'Nobody known to dbaccess as nobody@example.com: nothing to revoke or cancel.\n' });
  }, 180_000);

  it('offboarding while the CLI cannot reach the target: its answer agrees with what happened, and the access ends', async () => {
    expect((await h.submitRequest(PEOPLE.requester, { scope: 'sales.orders', reason: 'Offboarded while the CLI cannot reach the target' })).status).toBe(200);
    const card = await h.waitForCard((m) => shown(m).includes('while the CLI cannot reach'));
    const id = requestIdIn(shown(card))!;
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(id));
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];

    // The CLI's own admin connection goes to a closed port; the app's workers reach the target.
    const unreachable = new URL(h.target.adminUrl);
    unreachable.port = '1';
    const result = await dbaccess(['offboard', PEOPLE.requester.toLowerCase()], { ...env, ORDERS_ADMIN_URL: unreachable.toString() });
    // The lease is due from the order on, so the app's sweep revokes it too: the CLI says whichever
    // happened (revoked here or left to the workers, exit 1), and either way the access ends.
    expect(result.stderr).toBe('');
    if (result.code === 1) expect(result.stdout).toContain(`Revocation failed, the workers keep retrying: ${id}`);
    else expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining(`1 access revoked`) });
    await waitForState(h.app, id, 'revoked', 30_000);
    await expect(new pg.Client({ connectionString: uri }).connect()).rejects.toThrow(/password authentication failed|does not exist/);
  }, 120_000);
});
