import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SERVICES } from './services.js';

/**
 * A target set up as on a managed PostgreSQL (RDS, Cloud SQL, Azure, Supabase), on the scram cluster:
 * an admin that is NOSUPERUSER CREATEROLE and owns its database, where the superuser (the provider)
 * installed pg_stat_statements in `public`, another role owns `public.theirs` (the admin may read it,
 * not grant it), and the schema `locked` belongs to another role that gave the admin USAGE without
 * grant option. The admin's own objects: sales.orders, sales.customers, public.mine.
 * Everything made here carries the unique prefix and is dropped by `drop()`.
 */
export interface ManagedTarget {
  prefix: string;
  database: string;
  admin: string;
  other: string;
  /** The non-superuser admin's connection URL (to the target database). */
  adminUrl: string;
  /** The superuser's URL to the target database (test setup and inspection only). */
  superUrl: string;
  /** More role prefixes to drop with it (the dbaccess install's userPrefix under test). */
  alsoDrop: string[];
  drop(): Promise<void>;
}

const withDatabase = (url: string, database: string, user?: { name: string; password: string }) => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user) {
    parsed.username = user.name;
    parsed.password = user.password;
  }
  return parsed.toString();
};

export async function run(url: string, sql: string): Promise<pg.QueryResult[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(sql);
    return Array.isArray(result) ? result : [result];
  } finally {
    await client.end();
  }
}

export async function createManagedTarget(options: { extension?: boolean } = {}): Promise<ManagedTarget> {
  const prefix = `mg${randomBytes(4).toString('hex')}_`;
  const admin = `${prefix}admin`;
  const other = `${prefix}other`;
  const database = `${prefix}db`;
  const password = randomBytes(12).toString('hex');
  const superUrl = withDatabase(SERVICES.targetPg, database);
  await run(SERVICES.targetPg, `CREATE ROLE "${admin}" LOGIN NOSUPERUSER CREATEROLE PASSWORD '${password}';
    CREATE ROLE "${other}" NOLOGIN;
    GRANT pg_signal_backend TO "${admin}"`);
  await run(SERVICES.targetPg, `CREATE DATABASE "${database}" OWNER "${admin}"`);
  const adminUrl = withDatabase(SERVICES.targetPg, database, { name: admin, password });
  // What the provider installs as superuser, and what other roles own.
  await run(superUrl, `${options.extension === false ? '' : 'CREATE EXTENSION pg_stat_statements SCHEMA public;'}
    CREATE TABLE public.theirs (id int PRIMARY KEY, secret text);
    INSERT INTO public.theirs VALUES (1, 'not yours');
    ALTER TABLE public.theirs OWNER TO "${other}";
    GRANT SELECT ON public.theirs TO "${admin}";
    CREATE SCHEMA locked AUTHORIZATION "${other}";
    GRANT USAGE ON SCHEMA locked TO "${admin}";
    CREATE TABLE locked.vault (id int PRIMARY KEY, code text);
    INSERT INTO locked.vault VALUES (1, 'x');
    ALTER TABLE locked.vault OWNER TO "${admin}"`);
  // What the admin makes itself.
  await run(adminUrl, `CREATE SCHEMA sales;
    CREATE TABLE sales.orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL);
    CREATE TABLE sales.customers (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE public.mine (id serial PRIMARY KEY, note text);
    INSERT INTO sales.orders (customer, total) VALUES ('acme', 120.5), ('globex', 99);
    INSERT INTO sales.customers (name) VALUES ('Acme');
    INSERT INTO public.mine (note) VALUES ('hello')`);
  const alsoDrop: string[] = [];
  return {
    prefix, database, admin, other, adminUrl, superUrl, alsoDrop,
    drop: async () => {
      await run(SERVICES.targetPg, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`);
      await run(SERVICES.targetPg, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      // Roles the test's dbaccess made (users, access groups) carry the prefix too.
      const prefixes = [prefix, ...alsoDrop].map((each) => `starts_with(rolname, '${each}')`).join(' OR ');
      const { rows } = (await run(SERVICES.targetPg, `SELECT rolname FROM pg_roles WHERE ${prefixes} ORDER BY rolname = '${admin}', rolname = '${other}'`))[0]!;
      for (const { rolname } of rows as Array<{ rolname: string }>) {
        await run(SERVICES.targetPg, `DROP OWNED BY "${rolname}" CASCADE; DROP ROLE IF EXISTS "${rolname}"`).catch(() =>
          run(SERVICES.targetPg, `DROP ROLE IF EXISTS "${rolname}"`).catch(() => {}),
        );
      }
    },
  };
}
