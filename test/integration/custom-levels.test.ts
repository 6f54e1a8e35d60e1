import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/config/catalog.js';
import { createMysqlProvider } from '../../src/modules/credentials/engines/mysql/provider.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { parseScope } from '../../src/modules/credentials/scope.js';
import { TEST_INSTALL_ID, createMariaTarget, createTargetDatabase } from '../support/databases.js';

/** A custom level grants exactly its privileges on the real servers. */
describe('custom levels on real servers', () => {
  let pgTarget: Awaited<ReturnType<typeof createTargetDatabase>>;
  let mariaTarget: Awaited<ReturnType<typeof createMariaTarget>>;
  const postgres = createPostgresProvider({ installId: TEST_INSTALL_ID });
  const mariadb = createMysqlProvider({ installId: TEST_INSTALL_ID, flavor: 'mariadb' });
  const catalog = () =>
    parseCatalog(`approvers:
  slack: { channel: C0A, users: [U0A] }
customLevels:
  support: { privileges: [SELECT, UPDATE] }
databases:
  - { id: pg, engine: postgres, host: 127.0.0.1, port: 5433, database: ${pgTarget.name}, environment: staging, admin: env:X, levels: [support] }
  - { id: maria, engine: mariadb, host: 127.0.0.1, port: 3306, database: ${mariaTarget.name}, environment: staging, admin: env:Y, levels: [support] }
`);
  beforeAll(async () => {
    [pgTarget, mariaTarget] = await Promise.all([createTargetDatabase(), createMariaTarget()]);
  });
  afterAll(async () => {
    await Promise.all([postgres.close(), mariadb.close()]);
    await Promise.all([pgTarget?.drop(), mariaTarget?.drop()]);
  });

  it('PostgreSQL: support may read and update, not insert or delete', async () => {
    const entry = catalog().database('pg')!;
    const spec = { username: `dbtest_sup_${Date.now() % 100000}`, password: 'Support-level-pw-1234', expiresAt: new Date(Date.now() + 3600_000), level: 'support', privileges: catalog().level('support')!.privileges, scope: parseScope('sales.orders') };
    await postgres.provision({ entry, adminUrl: pgTarget.adminUrl }, spec);
    const url = new URL(pgTarget.adminUrl);
    url.username = spec.username;
    url.password = spec.password;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      expect((await client.query("UPDATE sales.orders SET total = total + 1 WHERE customer = 'acme'")).rowCount).toBe(1);
      await expect(client.query("INSERT INTO sales.orders (customer, total) VALUES ('x', 1)")).rejects.toThrow(/permission denied/);
      await expect(client.query('DELETE FROM sales.orders')).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
      await postgres.revoke({ entry, adminUrl: pgTarget.adminUrl }, spec.username);
    }
  });

  it('MariaDB: support may read and update, not insert or delete', async () => {
    const entry = catalog().database('maria')!;
    const spec = { username: `dbtest_sup_${Date.now() % 100000}`, password: 'Support-level-pw-1234', expiresAt: new Date(Date.now() + 3600_000), level: 'support', privileges: catalog().level('support')!.privileges, scope: parseScope(`${mariaTarget.name}.orders`) };
    await mariadb.provision({ entry, adminUrl: mariaTarget.adminUrl }, spec);
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: spec.username, password: spec.password, database: mariaTarget.name });
    try {
      const [result] = await connection.query("UPDATE orders SET total = total + 1 WHERE customer = 'acme'");
      expect((result as { affectedRows: number }).affectedRows).toBe(1);
      await expect(connection.query("INSERT INTO orders (customer, total) VALUES ('x', 1)")).rejects.toThrow(/denied/);
      await expect(connection.query('DELETE FROM orders')).rejects.toThrow(/denied/);
    } finally {
      await connection.end();
      await mariadb.revoke({ entry, adminUrl: mariaTarget.adminUrl }, spec.username);
    }
  });
});
