import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, shown, startHarness, type Harness } from '../support/app-harness.js';
import { MARIADB_ADMIN_URL, createMariaTarget, createTargetDatabase, onTarget, targetGroups, targetRoles } from '../support/databases.js';
import { GROUP_MARKER, ROLE_MARKER, roleMarker } from '../../src/modules/credentials/engines/postgres/provider.js';
import { MARKER_VALUE, markStatements } from '../../src/modules/credentials/engines/mysql/grants.js';

/**
 * The reconciler acts per server and only on this install's users: roles are cluster-wide and
 * MariaDB accounts server-wide, so users of one catalog entry are on the server of every other entry
 * there, and of every other install using the target.
 */

/** An open session as the requester holds it. */
interface Session {
  query(sql: string): Promise<unknown[]>;
  close(): Promise<void>;
}

async function connect(uri: string): Promise<Session> {
  if (uri.startsWith('postgresql://')) {
    const client = new pg.Client({ connectionString: uri });
    await client.connect();
    client.on('error', () => {});
    return { query: async (sql) => (await client.query(sql)).rows, close: () => client.end().catch(() => {}) };
  }
  const url = new URL(uri);
  const connection = await mysql.createConnection({
    host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: decodeURIComponent(url.pathname.slice(1)),
  });
  connection.on('error', () => {});
  return { query: async (sql) => (await connection.query(sql))[0] as unknown[], close: () => connection.end().catch(() => {}) };
}

/** Requests access to `databaseId`, approves it, and opens a session with the credentials of the DM. */
async function grantAndConnect(h: Harness, databaseId: string) {
  const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
  await h.submitRequest(PEOPLE.requester, { databaseId, duration: '1h' });
  const card = await h.waitForCard((m) => !before.has(m.ts));
  const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
  await h.click(PEOPLE.alice, 'dbaccess.approve', card);
  const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => shown(m).includes(requestId) && /is ready until/.test(m.text ?? ''));
  const uri = /(postgresql|mysql):\/\/[^\s`"]+/.exec(shown(dm))![0];
  const lease = (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))!;
  return { lease, session: await connect(uri) };
}

async function onMaria<T>(work: (admin: mysql.Connection) => Promise<T>): Promise<T> {
  const admin = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

const mariaUsers = (prefix: string) =>
  onMaria(async (admin) => ((await admin.query('SELECT DISTINCT User AS name FROM mysql.user WHERE LEFT(User, ?) = ? ORDER BY 1', [prefix.length, prefix]))[0] as Array<{ name: string }>).map((row) => row.name));

/** A role made by hand with the prefix and a comment (a marker, or anything). */
const pgRole = (name: string, comment: string) => onTarget((client) => client.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN; COMMENT ON ROLE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(comment)}`));
/** A MariaDB account made by hand with the prefix and a marker value in its global_priv JSON. */
const mariaUser = (name: string, marker: string) =>
  onMaria(async (admin) => {
    await admin.query(`CREATE USER ${mysql.escape(name)}@'%'`);
    await admin.query(`UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.dbaccess', ?) WHERE User = ? AND Host = '%'`, [marker, name]);
  });

const OTHER_INSTALL = 'bbbbbbbb';

describe('one install, two catalog entries on one server', () => {
  let h: Harness;
  let second: Awaited<ReturnType<typeof createTargetDatabase>>;
  let shops: Array<Awaited<ReturnType<typeof createMariaTarget>>>;
  const sessions: Session[] = [];
  const byHand: { pg: string[]; maria: string[] } = { pg: [], maria: [] };

  beforeAll(async () => {
    [second, ...shops] = await Promise.all([createTargetDatabase(), createMariaTarget(), createMariaTarget()]);
    // The same servers spelt differently: `localhost` is the cluster of 127.0.0.1 (and of ::1).
    h = await startHarness({
      queue: 'redis',
      extraDatabases: `  - id: other
    engine: postgres
    host: localhost
    port: 5433
    database: ${second.name}
    environment: staging
    admin: env:OTHER_ADMIN_URL
  - id: shop1
    engine: mariadb
    host: 127.0.0.1
    port: 3306
    database: ${shops[0]!.name}
    environment: staging
    admin: env:SHOP1_ADMIN_URL
  - id: shop2
    engine: mariadb
    host: localhost
    port: 3306
    database: ${shops[1]!.name}
    environment: staging
    admin: env:SHOP2_ADMIN_URL
`,
      env: { OTHER_ADMIN_URL: second.adminUrl, SHOP1_ADMIN_URL: shops[0]!.adminUrl, SHOP2_ADMIN_URL: shops[1]!.adminUrl },
    });
  });
  afterAll(async () => {
    for (const session of sessions) await session.close();
    for (const name of byHand.pg) await onTarget((client) => client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`));
    for (const name of byHand.maria) await onMaria((admin) => admin.query(`DROP USER IF EXISTS ${mysql.escape(name)}@'%'`));
    await h?.close();
    await Promise.all([second?.drop(), ...(shops ?? []).map((shop) => shop.drop())]);
  });

  it('runs 20 times with live sessions on both entries of each server and drops nothing; then drops an orphan of this install only', async () => {
    const granted = [];
    for (const databaseId of ['orders', 'other', 'shop1', 'shop2']) granted.push(await grantAndConnect(h, databaseId));
    sessions.push(...granted.map(({ session }) => session));

    let runs = 0;
    const dropped: string[] = [];
    while (runs < 20) {
      const result = await h.app.leases.reconcile();
      expect(result.unreachable).toEqual([]);
      expect(result.failed).toEqual([]);
      dropped.push(...result.dropped);
      runs++;
    }
    expect(runs).toBe(20);
    expect(dropped).toEqual([]);
    for (const { session } of granted) await expect(session.query('SELECT 1 AS one')).resolves.toHaveLength(1);
    expect(await targetRoles(h.prefix)).toEqual(expect.arrayContaining(granted.slice(0, 2).map(({ lease }) => lease.username)));
    expect(await mariaUsers(h.prefix)).toEqual(expect.arrayContaining(granted.slice(2).map(({ lease }) => lease.username)));

    // Made by hand: an orphan of this install, one of another install, one from before install ids.
    const pgNames = { ours: `${h.prefix}orphan1`, theirs: `${h.prefix}theirs1`, old: `${h.prefix}old1` };
    const mariaNames = { ours: `${h.prefix}orphan2`, theirs: `${h.prefix}theirs2`, old: `${h.prefix}old2` };
    byHand.pg.push(...Object.values(pgNames));
    byHand.maria.push(...Object.values(mariaNames));
    await pgRole(pgNames.ours, roleMarker(h.app.installId));
    await pgRole(pgNames.theirs, roleMarker(OTHER_INSTALL));
    await pgRole(pgNames.old, ROLE_MARKER);
    await mariaUser(mariaNames.ours, `${MARKER_VALUE} ${h.app.installId}`);
    await mariaUser(mariaNames.theirs, `${MARKER_VALUE} ${OTHER_INSTALL}`);
    await mariaUser(mariaNames.old, MARKER_VALUE);

    const result = await h.app.leases.reconcile();
    // One listing per server: the first entry of each names it.
    expect(result.dropped.sort()).toEqual([`orders/${pgNames.ours}`, `shop1/${mariaNames.ours}`]);
    expect(result.unclaimed.sort()).toEqual([`orders/${pgNames.old}`, `shop1/${mariaNames.old}`]);
    expect(result.failed).toEqual([]);
    expect((await targetRoles(h.prefix)).sort()).toEqual([...granted.slice(0, 2).map(({ lease }) => lease.username), pgNames.old, pgNames.theirs].sort());
    expect((await mariaUsers(h.prefix)).sort()).toEqual([...granted.slice(2).map(({ lease }) => lease.username), mariaNames.old, mariaNames.theirs].sort());
    for (const { session } of granted) await expect(session.query('SELECT 1 AS one')).resolves.toHaveLength(1);
  });

  it('adopts a MariaDB user made before install ids whose lease it holds: revoked, session ended', async () => {
    const { lease, session } = await grantAndConnect(h, 'shop2');
    sessions.push(session);
    await onMaria((admin) => admin.query(`UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.dbaccess', ?) WHERE User = ?`, [MARKER_VALUE, lease.username]));
    // Held by a lease: neither dropped nor reported.
    const reconciled = await h.app.leases.reconcile();
    expect([...reconciled.dropped, ...reconciled.unclaimed].some((name) => name.endsWith(lease.username))).toBe(false);
    expect(await asSystem('test', () => h.app.leases.endNow(lease.id, 'test'))).toEqual({ revoked: true, sessionsKilled: 1 });
    expect(await mariaUsers(lease.username)).toEqual([]);
    await expect(session.query('SELECT 1')).rejects.toThrow();
  });
});

describe('two installs on one target with one user prefix', () => {
  let target: Awaited<ReturnType<typeof createTargetDatabase>>;
  let a: Harness;
  let b: Harness;
  const prefix = `t${randomBytes(3).toString('hex')}_`;
  const sessions: Session[] = [];

  beforeAll(async () => {
    target = await createTargetDatabase();
    // Each harness would drop the shared target on close: it is dropped once, here.
    const shared = { ...target, drop: async () => {} };
    [a, b] = await Promise.all([
      startHarness({ queue: 'redis', target: shared, settings: { userPrefix: prefix } }),
      startHarness({ queue: 'redis', target: shared, settings: { userPrefix: prefix } }),
    ]);
  });
  afterAll(async () => {
    for (const session of sessions) await session.close();
    await a?.close();
    await b?.close();
    await target?.drop();
  });

  it('each reconciles 20 times and revokes its own, never the other`s; access groups are not shared', async () => {
    expect(a.app.installId).toMatch(/^[a-z2-7]{8}$/);
    expect(b.app.installId).toMatch(/^[a-z2-7]{8}$/);
    expect(a.app.installId).not.toBe(b.app.installId);
    const ofA = await grantAndConnect(a, 'orders');
    const ofB = await grantAndConnect(b, 'orders');
    sessions.push(ofA.session, ofB.session);
    expect(ofA.lease.username.startsWith(prefix) && ofB.lease.username.startsWith(prefix)).toBe(true);

    // The same grant (read on the whole database), a group for each install.
    const groups = await targetGroups(prefix);
    expect(groups).toHaveLength(2);
    expect(groups.find((group) => group.startsWith(`${prefix}grp_${a.app.installId}_`))).toBeDefined();
    expect(groups.find((group) => group.startsWith(`${prefix}grp_${b.app.installId}_`))).toBeDefined();

    let runs = 0;
    const dropped: string[] = [];
    while (runs < 20) {
      for (const h of [a, b]) {
        const result = await h.app.leases.reconcile();
        expect(result.failed).toEqual([]);
        expect(result.unclaimed).toEqual([]);
        dropped.push(...result.dropped);
      }
      runs++;
    }
    expect(dropped).toEqual([]);
    for (const { session } of [ofA, ofB]) await expect(session.query('SELECT count(*) FROM sales.orders')).resolves.toHaveLength(1);

    // A revokes its own: B's user, session, group and privileges are untouched.
    expect(await asSystem('test', () => a.app.leases.endNow(ofA.lease.id, 'test'))).toEqual({ revoked: true, sessionsKilled: 1 });
    await expect(ofA.session.query('SELECT 1')).rejects.toThrow();
    expect(await targetRoles(prefix)).toEqual([ofB.lease.username]);
    expect(await targetGroups(prefix)).toEqual([groups.find((group) => group.includes(b.app.installId))]);
    await expect(ofB.session.query('SELECT count(*) FROM sales.orders')).resolves.toHaveLength(1);
    // A's reconciler (and its clean-up of empty groups) still leaves B alone; nor can A revoke B's user.
    for (let run = 0; run < 5; run++) expect((await a.app.leases.reconcile()).dropped).toEqual([]);
    expect(await targetRoles(prefix)).toEqual([ofB.lease.username]);

    // B revokes its own.
    expect(await asSystem('test', () => b.app.leases.endNow(ofB.lease.id, 'test'))).toEqual({ revoked: true, sessionsKilled: 1 });
    expect(await targetRoles(prefix)).toEqual([]);
    expect(await targetGroups(prefix)).toEqual([]);
  });

  it('adopts a PostgreSQL user and access group made before install ids whose lease it holds', async () => {
    const { lease, session } = await grantAndConnect(a, 'orders');
    sessions.push(session);
    // As an earlier version left them: the marker without an id, the group named `<prefix>grp_<hash>`.
    const [group] = await targetGroups(`${prefix}grp_${a.app.installId}_`);
    const oldGroup = group!.replace(`grp_${a.app.installId}_`, 'grp_');
    await onTarget((client) =>
      client.query(`COMMENT ON ROLE ${pg.escapeIdentifier(lease.username)} IS ${pg.escapeLiteral(ROLE_MARKER)};
        ALTER ROLE ${pg.escapeIdentifier(group!)} RENAME TO ${pg.escapeIdentifier(oldGroup)};
        COMMENT ON ROLE ${pg.escapeIdentifier(oldGroup)} IS ${pg.escapeLiteral(GROUP_MARKER)}`),
    );
    // Held by a lease of A: not dropped by A, not A's to report; B cannot know it, and leaves it (reported).
    const byA = await a.app.leases.reconcile();
    expect([...byA.dropped, ...byA.unclaimed]).toEqual([]);
    const byB = await b.app.leases.reconcile();
    expect(byB.dropped).toEqual([]);
    expect(byB.unclaimed).toEqual([`orders/${lease.username}`]);
    await expect(session.query('SELECT count(*) FROM sales.orders')).resolves.toHaveLength(1);

    expect(await asSystem('test', () => a.app.leases.endNow(lease.id, 'test'))).toEqual({ revoked: true, sessionsKilled: 1 });
    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await targetRoles(prefix)).toEqual([]);
    expect(await targetGroups(prefix)).toEqual([]);
  });
});
