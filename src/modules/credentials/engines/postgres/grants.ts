import { createHash } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import type { AccessLevel } from '../../../../config/catalog.js';
import { badInput } from '../../../../lib/errors.js';
import { isBuiltIn, tablePrivileges } from '../../grant-mapping.js';
import type { ScopeItem } from '../../scope.js';
import type { SchemaPlan } from './grantable.js';

/** Level x scope -> PostgreSQL statements: grants to the access group of a grant, or (admin) to the user. */


export interface PostgresGrantInput {
  level: AccessLevel;
  /** The table privileges of a custom level. */
  privileges?: string[];
  scope: ScopeItem[];
  database: string;
  username: string;
  schemas: string[];
  /** What the admin can grant (grantable.ts, planGrants); without it, everything the scope names. */
  plan?: SchemaPlan[] | undefined;
}

/** Every object of the scope: whole schemas with ON ALL ... IN SCHEMA, named tables by name. */
function planOfScope(scope: ScopeItem[]): SchemaPlan[] {
  return [...new Set(scope.map((item) => item.schema))].map((schema) => {
    const items = scope.filter((item) => item.schema === schema);
    const whole = items.some((item) => !item.table);
    return {
      schema,
      tables: whole ? 'all' : items.filter((item) => !item.columns).map((item) => item.table!),
      columns: whole ? [] : items.filter((item) => item.columns).map((item) => ({ table: item.table!, columns: item.columns! })),
      sequences: 'all',
      functions: 'all',
    };
  });
}

/** `GRANT ... ON TABLE a, b TO x` for a list, `... ON ALL TABLES IN SCHEMA s ...` for `all`; nothing for an empty list. */
function grantOn(kind: 'TABLE' | 'SEQUENCE' | 'FUNCTION', privileges: string, schema: string, objects: 'all' | string[], grantee: string): string[] {
  const quoted = escapeIdentifier(schema);
  if (objects === 'all') return [`GRANT ${privileges} ON ALL ${kind === 'TABLE' ? 'TABLES' : kind === 'SEQUENCE' ? 'SEQUENCES' : 'FUNCTIONS'} IN SCHEMA ${quoted} TO ${grantee}`];
  if (objects.length === 0) return [];
  // Function signatures come from the server's format('%I.%I(%s)'), already quoted.
  const names = kind === 'FUNCTION' ? objects : objects.map((name) => `${quoted}.${escapeIdentifier(name)}`);
  return [`GRANT ${privileges} ON ${kind} ${names.join(', ')} TO ${grantee}`];
}

/**
 * The exact PostgreSQL statements that grant `level` on `scope` to `username`. `schemas` lists the
 * database's schemas and is used when the scope is empty.
 */
export function postgresGrantStatements(input: PostgresGrantInput): string[] {
  const user = escapeIdentifier(input.username);
  const scope: ScopeItem[] = input.scope.length > 0 ? input.scope : input.schemas.map((schema) => ({ schema }));
  const privileges = tablePrivileges(input.level, input.privileges);
  const statements = [
    `GRANT CONNECT${input.level === 'admin' ? ', TEMPORARY' : ''} ON DATABASE ${escapeIdentifier(input.database)} TO ${user}`,
  ];
  for (const plan of input.plan ?? planOfScope(scope)) {
    const quoted = escapeIdentifier(plan.schema);
    statements.push(`GRANT USAGE${input.level === 'admin' ? ', CREATE' : ''} ON SCHEMA ${quoted} TO ${user}`);
    statements.push(...grantOn('TABLE', privileges, plan.schema, plan.tables, user));
    for (const item of plan.columns) {
      if (input.level !== 'read') throw badInput('Columns can be limited only for read access.');
      statements.push(`GRANT SELECT (${item.columns.map(escapeIdentifier).join(', ')}) ON TABLE ${quoted}.${escapeIdentifier(item.table)} TO ${user}`);
    }
    // Inserting into a serial column needs its sequence.
    if (input.level === 'write' || (!isBuiltIn(input.level) && privileges.includes('INSERT'))) {
      statements.push(...grantOn('SEQUENCE', 'USAGE, SELECT', plan.schema, plan.sequences, user));
    }
    if (input.level === 'admin') {
      statements.push(...grantOn('SEQUENCE', 'ALL PRIVILEGES', plan.schema, plan.sequences, user));
      statements.push(...grantOn('FUNCTION', 'EXECUTE', plan.schema, plan.functions, user));
    }
  }
  return statements;
}

/**
 * The PostgreSQL access group of a grant: a NOLOGIN role `<prefix>grp_<install id>_<hash>` per
 * install, database, level, privileges and scope, which holds the privileges; each temporary user is
 * made a member of it. The install id keeps two installs with one prefix on one cluster from sharing
 * (and dropping) each other's groups; at most 16 + 4 + 8 + 1 + 16 = 45 bytes, within PostgreSQL's 63.
 * Every table's privilege list then names one group instead of every live user: dropping a user
 * rewrites no privilege list (1,000 users with grants on a table made each drop ~6x slower), and a
 * database holds any number of live users (privilege lists over ~8 KB cannot be stored: ~2,400 users
 * per table). Undefined for admin: it can create objects, which must stay owned by the user (who is
 * dropped with them), so admin grants go to the user.
 */
export function postgresAccessGroup(input: { prefix: string; install: string; database: string; level: AccessLevel; privileges?: string[]; scope: ScopeItem[] }): string | undefined {
  if (input.level === 'admin') return undefined;
  const scope = input.scope
    .map((item) => ({ schema: item.schema, table: item.table ?? null, columns: item.columns ? [...item.columns].sort() : null }))
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const spec = JSON.stringify([input.database, input.level, tablePrivileges(input.level, input.privileges), scope]);
  return `${input.prefix}grp_${input.install}_${createHash('sha256').update(spec).digest('hex').slice(0, 16)}`;
}

/**
 * The exact PostgreSQL statements of an access: the grants to its group (or, for admin, to the user)
 * and the user's membership. `username` may be a placeholder (the card, before the user exists).
 */
export function postgresAccessStatements(input: PostgresGrantInput & { prefix: string; install: string }): { group: string | undefined; grants: string[]; membership: string | undefined } {
  const group = postgresAccessGroup(input);
  const grants = postgresGrantStatements({ ...input, username: group ?? input.username });
  return { group, grants, membership: group ? `GRANT ${escapeIdentifier(group)} TO ${escapeIdentifier(input.username)}` : undefined };
}
