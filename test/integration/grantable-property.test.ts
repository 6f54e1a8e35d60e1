import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../src/config/catalog.js';
import { generatePassword } from '../../src/lib/crypto.js';
import type { Target } from '../../src/modules/credentials/credential-types.js';
import { createPostgresProvider } from '../../src/modules/credentials/engines/postgres/provider.js';
import { isPermanentFailure } from '../../src/modules/credentials/provision-failure.js';
import { formatName, type ScopeItem } from '../../src/modules/credentials/scope.js';
import { createManagedTarget, run, type ManagedTarget } from '../support/managed-postgres.js';
import { TEST_INSTALL_ID } from '../support/databases.js';

/**
 * Generated catalogs on a managed-like PostgreSQL (a NOSUPERUSER CREATEROLE admin that owns the
 * database): schemas owned by the admin or by another role that gave it USAGE without grant option,
 * tables owned by the admin, by another role (with or without grant option for the admin), by the
 * superuser, or by the superuser as members of an extension; and generated scopes. Provisioning must
 * end either with a user that holds SELECT on exactly the grantable tables of the scope (and the
 * left-out ones named), or with a permanent refusal that names them: never with an error that would
 * be retried without end. Real DDL per run, so the run count stays small.
 */

type TableOwner = 'admin' | 'other' | 'other-grantable' | 'superuser' | 'extension';
type SchemaOwner = 'admin' | 'other';
interface GeneratedSchema { name: string; owner: SchemaOwner; tables: Array<{ name: string; owner: TableOwner }> }

const SCHEMA_NAMES = ['s1', 'Sales Dept', 'x"y'];
const TABLE_NAMES = ['t1', 'Order Items', 't3'];

const catalogArbitrary = fc.uniqueArray(fc.constantFrom(...SCHEMA_NAMES), { minLength: 1, maxLength: 3 }).chain((names) =>
  fc.tuple(
    ...names.map((name) =>
      fc.record({
        name: fc.constant(name),
        owner: fc.constantFrom<SchemaOwner>('admin', 'admin', 'other'),
        tables: fc.uniqueArray(fc.constantFrom(...TABLE_NAMES), { minLength: 0, maxLength: 3 }).chain((tables) =>
          fc.tuple(...tables.map((table) => fc.record({ name: fc.constant(table), owner: fc.constantFrom<TableOwner>('admin', 'other', 'other-grantable', 'superuser', 'extension') }))),
        ),
      }),
    ),
  ),
);

const scopeArbitrary = (schemas: GeneratedSchema[]): fc.Arbitrary<ScopeItem[]> => {
  const items: ScopeItem[] = schemas.flatMap((schema) => [{ schema: schema.name }, ...schema.tables.map((table) => ({ schema: schema.name, table: table.name }))]);
  return fc.oneof(fc.constant<ScopeItem[]>([]), fc.subarray(items, { minLength: 1, maxLength: Math.min(4, items.length) }));
};

const q = pg.escapeIdentifier;

describe('provisioning on generated catalogs, owners and scopes (managed-like PostgreSQL)', () => {
  let managed: ManagedTarget;
  const provider = createPostgresProvider({ installId: TEST_INSTALL_ID });
  let target: Target;
  let counter = 0;

  beforeAll(async () => {
    // No sample objects of its own beyond pg_stat_statements (in public, the superuser's).
    managed = await createManagedTarget();
    const entry: DatabaseEntry = {
      id: 'gen', engine: 'postgres', host: '127.0.0.1', port: 5433, database: managed.database, environment: 'development', admin: 'env:X', maxDuration: 3600,
      levels: ['read'], connectionLimit: 5, allowedHosts: ['%'], legacyUserNames: false, capture: 'none', tableTags: {}, poolSize: 2, tags: [],
    };
    target = { entry, adminUrl: managed.adminUrl };
    // The fixture's own objects would blur the generated ones: remove them.
    await run(managed.superUrl, 'DROP SCHEMA sales CASCADE; DROP SCHEMA locked CASCADE; DROP TABLE public.theirs, public.mine');
  });
  afterAll(async () => {
    await provider.close();
    await managed?.drop();
  });

  it('ends active with exactly the grantable set, or in a refusal that says why; never in a retry', async () => {
    await fc.assert(
      fc.asyncProperty(catalogArbitrary.chain((schemas) => fc.tuple(fc.constant(schemas as GeneratedSchema[]), scopeArbitrary(schemas as GeneratedSchema[]))), async ([schemas, scope]) => {
        const username = `${managed.prefix}u${++counter}`;
        const ddl: string[] = [];
        for (const schema of schemas) {
          ddl.push(`CREATE SCHEMA ${q(schema.name)} AUTHORIZATION ${q(schema.owner === 'admin' ? managed.admin : managed.other)}`);
          if (schema.owner === 'other') ddl.push(`GRANT USAGE, CREATE ON SCHEMA ${q(schema.name)} TO ${q(managed.admin)}`);
          for (const table of schema.tables) {
            const name = `${q(schema.name)}.${q(table.name)}`;
            ddl.push(`CREATE TABLE ${name} (id int)`);
            if (table.owner === 'admin') ddl.push(`ALTER TABLE ${name} OWNER TO ${q(managed.admin)}`);
            if (table.owner === 'other' || table.owner === 'other-grantable') {
              ddl.push(`ALTER TABLE ${name} OWNER TO ${q(managed.other)}`, `GRANT SELECT ON ${name} TO ${q(managed.admin)}${table.owner === 'other-grantable' ? ' WITH GRANT OPTION' : ''}`);
            }
            if (table.owner === 'extension') ddl.push(`ALTER EXTENSION pg_stat_statements ADD TABLE ${name}`);
          }
        }
        // Extension members leave the extension first: a CASCADE would take pg_stat_statements along.
        const drop = [
          ...schemas.flatMap((schema) => schema.tables.filter((table) => table.owner === 'extension').map((table) => `ALTER EXTENSION pg_stat_statements DROP TABLE ${q(schema.name)}.${q(table.name)}`)),
          ...schemas.map((schema) => `DROP SCHEMA IF EXISTS ${q(schema.name)} CASCADE`),
        ].join(';\n');
        await run(managed.superUrl, ddl.join(';\n'));
        try {
          // The independent statement of what may be granted: the admin holds SELECT with grant option
          // (it owns the table, or another owner gave it so) in a schema whose USAGE it may grant.
          const grantable = (schema: GeneratedSchema, table: { owner: TableOwner }) => schema.owner === 'admin' && (table.owner === 'admin' || table.owner === 'other-grantable');
          const inScope = (schema: GeneratedSchema, table: { name: string }) =>
            scope.length === 0 || scope.some((item) => item.schema === schema.name && (item.table === undefined || item.table === table.name));
          const expected = schemas.flatMap((schema) => schema.tables.filter((table) => inScope(schema, table) && grantable(schema, table)).map((table) => `${schema.name}.${table.name}`));
          const nothing = scope.length > 0
            ? scope.every((item) => {
                const schema = schemas.find((candidate) => candidate.name === item.schema)!;
                if (schema.owner !== 'admin') return true;
                if (item.table !== undefined) return !grantable(schema, schema.tables.find((table) => table.name === item.table)!);
                return schema.tables.length > 0 && !schema.tables.some((table) => grantable(schema, table));
              })
            // An empty schema the admin may grant counts as granted (the user may use it); public holds
            // only pg_stat_statements' views, which are left out.
            : !schemas.some((schema) => schema.owner === 'admin' && (schema.tables.length === 0 || schema.tables.some((table) => grantable(schema, table))));

          const outcome = await provider
            .provision(target, { username, password: generatePassword(), expiresAt: new Date(Date.now() + 600_000), level: 'read', scope, prefix: managed.prefix })
            .then((result) => ({ ok: true as const, result }), (error: unknown) => ({ ok: false as const, error }));

          if (!outcome.ok) {
            // A refusal: permanent (ends as failed, no endless retry), and it says what was left out.
            expect(isPermanentFailure(outcome.error), String(outcome.error)).toBe(true);
            expect((outcome.error as Error).message).toMatch(/^Nothing in this scope can be granted on gen .*: .+\.$/);
            expect(nothing).toBe(true);
            return;
          }
          expect(nothing).toBe(false);
          const has = (await run(managed.superUrl, `SELECT n.nspname || '.' || c.relname AS name, has_table_privilege(${pg.escapeLiteral(username)}, c.oid, 'SELECT') AS granted
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('public', 'information_schema') AND NOT starts_with(n.nspname, 'pg_')`))[0]!.rows as Array<{ name: string; granted: boolean }>;
          expect(has.filter((row) => row.granted).map((row) => row.name).sort()).toEqual([...expected].sort());
          // Every table of the scope that was not granted is named, or its schema is.
          for (const schema of schemas) {
            for (const table of schema.tables.filter((candidate) => inScope(schema, candidate) && !grantable(schema, candidate))) {
              const named = outcome.result.leftOut!.some((entry) => entry.startsWith(`${formatName(schema.name)}.${formatName(table.name)} (`) || entry.startsWith(`schema ${formatName(schema.name)} (`));
              expect(named, `${schema.name}.${table.name} in ${JSON.stringify(outcome.result.leftOut)}`).toBe(true);
            }
          }
        } finally {
          await provider.revoke(target, username).catch(() => undefined);
          await run(managed.superUrl, drop);
        }
      }),
      { numRuns: 15 },
    );
  }, 180_000);
});
