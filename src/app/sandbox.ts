import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { scramSha256Verifier } from '../modules/credentials/engines/postgres/scram.js';

/**
 * The sandbox of a fresh install: a `sandbox` database in the embedded PostgreSQL with sample
 * tables (two of them personal data), an admin role that may create and drop temporary users there
 * and nothing else, and a catalog that points at it. The local console then plays requester and
 * approver, so the whole flow can be tried before any chat platform is set up.
 */

export const SANDBOX_ADMIN_REFERENCE = 'DBACCESS_SANDBOX_ADMIN_URL';
/** The console's two people: one asks, one approves (self-approval stays refused). */
export const CONSOLE_PEOPLE = { requester: 'ULOCALREQUESTER', approver: 'ULOCALAPPROVER', channel: 'CLOCALAPPROVALS' } as const;

const DATABASE = 'sandbox';
const ADMIN = 'sandbox_admin';

export interface Sandbox {
  /** The admin connection string; carries a password, so it is a reference in the catalog. */
  adminUrl: string;
  catalogYaml: string;
}

export async function ensureSandbox({ superUrl, dataDir, logger }: { superUrl: string; dataDir: string; logger: Logger }): Promise<Sandbox> {
  const password = await adminPassword(dataDir);
  const server = new URL(superUrl);
  const sandbox: Sandbox = {
    adminUrl: `postgresql://${ADMIN}:${encodeURIComponent(password)}@${server.host}/${DATABASE}`,
    catalogYaml: catalogFor(Number(server.port)),
  };
  const connect = async (database: string) => {
    const url = new URL(superUrl);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  // Every start but the first: one connection and one query find it all in place.
  if (await inPlace(connect, password)) return sandbox;

  const cluster = await connect('postgres');
  try {
    // CREATEROLE makes and drops the temporary users; pg_signal_backend ends their sessions;
    // pg_read_all_stats reads their statements (pg_stat_statements) for the session summaries.
    await cluster.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ADMIN}') THEN CREATE ROLE ${ADMIN} LOGIN CREATEROLE; END IF;
    END $$`);
    // The verifier, not the password: the plaintext never reaches the server or its log.
    await cluster.query(`ALTER ROLE ${ADMIN} WITH LOGIN CREATEROLE PASSWORD ${cluster.escapeLiteral(await scramSha256Verifier(password))}`);
    await cluster.query(`GRANT pg_signal_backend, pg_read_all_stats TO ${ADMIN}`);
    const exists = await cluster.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await cluster.query(`CREATE DATABASE ${DATABASE} OWNER ${ADMIN}`);
  } finally {
    await cluster.end();
  }
  // The statements of a session are read from pg_stat_statements: a superuser installs it.
  const asSuperuser = await connect(DATABASE);
  try {
    await asSuperuser.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    // Capture sets pg_stat_statements.track on each temporary role (only they are tracked).
    await asSuperuser.query(`GRANT SET ON PARAMETER pg_stat_statements.track TO ${ADMIN}`);
  } finally {
    await asSuperuser.end();
  }

  const asAdmin = await connect(DATABASE);
  try {
    await asAdmin.query(`SET ROLE ${ADMIN}`);
    const seeded = await asAdmin.query("SELECT 1 FROM pg_namespace WHERE nspname = 'sales'");
    if (seeded.rowCount === 0) {
      await asAdmin.query(SAMPLE_DATA);
      logger.info('sandbox database created with sample tables');
    }
  } finally {
    await asAdmin.end();
  }
  return sandbox;
}

/**
 * What ensureSandbox makes, all there as it would make it: the admin role with its password (its
 * stored SCRAM verifier checked against the password file), its powers, the database it owns, the
 * extension (and the right to set its tracking) and the sample data. False on anything else, a missing database included.
 */
async function inPlace(connect: (database: string) => Promise<pg.Client>, password: string): Promise<boolean> {
  let client: pg.Client;
  try {
    client = await connect(DATABASE);
  } catch {
    return false;
  }
  try {
    const { rows } = await client.query<{ verifier: string | null; ready: boolean }>(`
      SELECT r.rolpassword AS verifier,
             r.rolcanlogin AND r.rolcreaterole
             AND pg_has_role(r.oid, 'pg_signal_backend', 'MEMBER') AND pg_has_role(r.oid, 'pg_read_all_stats', 'MEMBER')
             AND EXISTS (SELECT FROM pg_database d WHERE d.datname = current_database() AND d.datdba = r.oid)
             AND EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements')
             AND has_parameter_privilege(r.oid, 'pg_stat_statements.track', 'SET')
             AND EXISTS (SELECT FROM pg_namespace WHERE nspname = 'sales') AS ready
        FROM pg_authid r WHERE r.rolname = $1`, [ADMIN]);
    const row = rows[0];
    if (!row?.ready || !row.verifier) return false;
    const parsed = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(row.verifier);
    if (!parsed) return false;
    const expected = await scramSha256Verifier(password, { iterations: Number(parsed[1]), salt: Buffer.from(parsed[2]!, 'base64') });
    return expected === row.verifier;
  } finally {
    await client.end();
  }
}

/** Generated once per data directory, kept beside the embedded cluster's own password (mode 0600). */
async function adminPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'sandbox-admin-password');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return password;
  }
}

/** The catalog the server serves when there is no catalog file (the CLI checks the same one). */
export function catalogFor(port: number): string {
  return `# The built-in sandbox catalog (no dbaccess.yaml was found).
approvers:
  slack: { channel: ${CONSOLE_PEOPLE.channel}, users: [${CONSOLE_PEOPLE.approver}] }
settings:
  minDuration: 1m
policies:
  - { name: sandbox, approvers: [${CONSOLE_PEOPLE.approver}], mfa: never }
databases:
  - id: sandbox
    engine: postgres
    host: 127.0.0.1
    port: ${port}
    database: ${DATABASE}
    environment: development
    admin: env:${SANDBOX_ADMIN_REFERENCE}
    description: Sample shop data to try dbaccess with
    maxDuration: 2h
    levels: [read, write]
    tags: [sample]
    capture: pg_stat_statements
    tableTags: { sales.customers: [pii], hr.employees: [pii] }
`;
}

const SAMPLE_DATA = `
CREATE SCHEMA sales;
CREATE SCHEMA hr;
CREATE TABLE sales.customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, country text NOT NULL);
CREATE TABLE sales.products (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
CREATE TABLE sales.orders (
  id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES sales.customers, product_id int NOT NULL REFERENCES sales.products,
  quantity int NOT NULL, status text NOT NULL, ordered_at timestamptz NOT NULL
);
CREATE TABLE hr.employees (id serial PRIMARY KEY, name text NOT NULL, salary numeric(10,2) NOT NULL, hired_on date NOT NULL);
INSERT INTO sales.customers (name, email, country) VALUES
  ('Ada Lovelace', 'ada@example.com', 'GB'), ('Grace Hopper', 'grace@example.com', 'US'),
  ('Edsger Dijkstra', 'edsger@example.com', 'NL'), ('Barbara Liskov', 'barbara@example.com', 'US'),
  ('Kristen Nygaard', 'kristen@example.com', 'NO');
INSERT INTO sales.products (name, price) VALUES ('Keyboard', 49.00), ('Monitor', 189.00), ('Mouse', 19.50), ('Desk lamp', 35.00);
INSERT INTO sales.orders (customer_id, product_id, quantity, status, ordered_at)
  SELECT 1 + (n % 5), 1 + (n % 4), 1 + (n % 3), (ARRAY['paid', 'shipped', 'refunded', 'failed'])[1 + (n % 4)], now() - make_interval(hours => n * 7)
  FROM generate_series(1, 60) AS n;
INSERT INTO hr.employees (name, salary, hired_on) VALUES ('Alice', 72000, '2021-03-01'), ('Bob', 65000, '2022-09-15'), ('Carol', 88000, '2019-01-07');
`;
