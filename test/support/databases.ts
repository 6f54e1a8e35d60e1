import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SERVICES } from './services.js';
import { GROUP_MARKER } from '../../src/modules/credentials/engines/postgres/provider.js';
import { newInstallationId } from '../../src/modules/installation/installation-id.js';

const suffix = () => randomBytes(5).toString('hex');

/**
 * The install id of the providers a test file makes itself (one per file: each file is a module of
 * its own). Providers that must own what an app made take the app's (`app.installId`) instead.
 */
export const TEST_INSTALL_ID = newInstallationId();

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function dropDatabase(url: string, name: string): Promise<void> {
  await admin(url, async (client) => {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/** A fresh database for dbaccess's own state, on the machine's trust-auth PostgreSQL. */
export async function createStateDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `dbaccess_test_${suffix()}`;
  await admin(SERVICES.statePg, (client) => client.query(`CREATE DATABASE "${name}"`));
  return { url: withDatabase(SERVICES.statePg, name), drop: () => dropDatabase(SERVICES.statePg, name) };
}

/**
 * A fresh target database on the scram-sha-256 cluster (or the cluster `serverUrl` names, as its
 * admin), with two schemas of sample tables: sales.orders, sales.customers and public.notes.
 */
export async function createTargetDatabase(serverUrl: string = SERVICES.targetPg): Promise<{ name: string; adminUrl: string; drop(): Promise<void> }> {
  const name = `target_${suffix()}`;
  await admin(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const adminUrl = withDatabase(serverUrl, name);
  await admin(adminUrl, (client) =>
    client.query(`
      CREATE SCHEMA sales;
      CREATE TABLE sales.orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL);
      CREATE TABLE sales.customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL);
      CREATE TABLE public.notes (id serial PRIMARY KEY, body text NOT NULL);
      INSERT INTO sales.orders (customer, total) VALUES ('acme', 120.50), ('globex', 99.00);
      INSERT INTO sales.customers (name, email) VALUES ('Acme', 'ops@acme.test');
      INSERT INTO public.notes (body) VALUES ('hello');
    `),
  );
  return {
    name,
    adminUrl,
    drop: async () => {
      await dropDatabase(serverUrl, name);
    },
  };
}

/** Temporary users on the target cluster whose names start with the prefix (access groups left out: see targetGroups). */
export async function targetRoles(prefix: string): Promise<string[]> {
  return rolesWithPrefix(prefix, false);
}

/** Access groups (NOLOGIN roles holding a grant's privileges) on the target cluster whose names start with the prefix. */
export async function targetGroups(prefix: string): Promise<string[]> {
  return rolesWithPrefix(prefix, true);
}

async function rolesWithPrefix(prefix: string, groups: boolean): Promise<string[]> {
  return admin(SERVICES.targetPg, async (client) => {
    const { rows } = await client.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) AND coalesce(starts_with(shobj_description(oid, 'pg_authid'), $2), false) = $3 ORDER BY 1`,
      [prefix, GROUP_MARKER, groups],
    );
    return rows.map((row) => row.rolname);
  });
}

export async function targetSessionsOf(role: string): Promise<number> {
  return admin(SERVICES.targetPg, async (client) => {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [role]);
    return rows[0]!.n;
  });
}

export async function onTarget<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return admin(SERVICES.targetPg, work);
}

export const MARIADB_ADMIN_URL = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A fresh MariaDB database with `orders` and `customers` tables, on the machine's MariaDB (or the server `serverUrl` names, as its admin). */
export async function createMariaTarget(serverUrl: string = MARIADB_ADMIN_URL): Promise<{ name: string; adminUrl: string; drop(): Promise<void> }> {
  const mysql = await import('mysql2/promise');
  const name = `target_${suffix()}`;
  const connection = await mysql.createConnection({ uri: serverUrl, multipleStatements: true });
  try {
    await connection.query(`CREATE DATABASE \`${name}\`;
      CREATE TABLE \`${name}\`.orders (id int AUTO_INCREMENT PRIMARY KEY, customer varchar(50) NOT NULL, total decimal(10,2) NOT NULL);
      CREATE TABLE \`${name}\`.customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL);
      INSERT INTO \`${name}\`.orders (customer, total) VALUES ('acme', 120.50), ('globex', 99.00);
      INSERT INTO \`${name}\`.customers (name) VALUES ('Acme');`);
  } finally {
    await connection.end();
  }
  const adminUrl = new URL(serverUrl);
  adminUrl.pathname = `/${name}`;
  return {
    name,
    adminUrl: adminUrl.toString(),
    drop: async () => {
      const c = await mysql.createConnection({ uri: serverUrl });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``).finally(() => c.end());
    },
  };
}
