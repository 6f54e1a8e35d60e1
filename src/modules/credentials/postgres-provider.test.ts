import { loadModule, parsePlPgSQLSync, parseSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostileNames } from '../../../test/support/hostile-names.js';
import { NOT_OURS_SQLSTATE, ROLE_MARKER, postgresDropOwned, postgresProvisionStart, postgresRevokeFinish, postgresRevokeStart } from './postgres-provider.js';

/**
 * The provider's multi-statement strings, read back by PostgreSQL's own parser: for every hostile
 * name, the same statements in the same order, and the name exactly where it belongs (as a role name,
 * or as a string constant), never as SQL of its own. The DO block's body is a string inside the
 * string: it is parsed again, as PL/pgSQL.
 */

type Node = Record<string, unknown>;

/** Every value of the given key anywhere in a parse tree. */
function collect(tree: unknown, key: string): unknown[] {
  const found: unknown[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [name, value] of Object.entries(node as Node)) {
        if (name === key) found.push(value);
        walk(value);
      }
    }
  };
  walk(tree);
  return found;
}

/** The statements of a string, as parse trees. */
const statementsOf = (sql: string) => (parseSync(sql).stmts ?? []).map((entry) => entry.stmt as Node);
const kinds = (sql: string) => statementsOf(sql).map((stmt) => Object.keys(stmt)[0]);
/** String constants (sval of A_Const) in a statement list, in order. */
const constants = (tree: unknown) => collect(tree, 'A_Const').flatMap((value) => collect(value, 'sval').filter((s): s is string => typeof s === 'string'));
/** Role names in a statement list (the grammar reads even a quoted "public" as PUBLIC; no role may have that name). */
const roleNames = (tree: unknown) =>
  collect(tree, 'RoleSpec').map((spec) => {
    const { rolename, roletype } = spec as { rolename?: string; roletype?: string };
    return roletype === 'ROLESPEC_PUBLIC' ? 'public' : rolename;
  });

const names = [...hostileNames().accepted, 'dbx_k3x9q2', 'Mixed Case', 'trailing space '];

beforeAll(async () => {
  await loadModule();
});

describe('postgresProvisionStart', () => {
  it('begins, takes this user`s lock, then reads the role and the schemas', () => {
    for (const name of names) {
      const sql = postgresProvisionStart(name);
      expect(kinds(sql)).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt']);
      const [begin, lock, state] = statementsOf(sql);
      expect(begin).toMatchObject({ TransactionStmt: { kind: 'TRANS_STMT_BEGIN' } });
      expect(constants(lock)).toEqual([`dbaccess:role:${name}`]);
      expect(constants(state)).toContain(name);
      expect(constants(state)).toContain(ROLE_MARKER);
    }
    // The capture check rides along as a fourth statement.
    expect(kinds(postgresProvisionStart('dbx_k3x9q2', "SELECT NULL::text AS problem"))).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt', 'SelectStmt']);
  });
});

describe('postgresRevokeStart', () => {
  it('guards and blocks logins in one committed transaction, then terminates the sessions', () => {
    for (const name of names) {
      const sql = postgresRevokeStart(name);
      expect(kinds(sql)).toEqual(['TransactionStmt', 'DoStmt', 'TransactionStmt', 'SelectStmt']);
      const [, doStmt, commit, sessions] = statementsOf(sql);
      expect(commit).toMatchObject({ TransactionStmt: { kind: 'TRANS_STMT_COMMIT' } });
      expect(constants(sessions)).toEqual(['pg_authid', name]);
      expect(collect(sessions, 'funcname').flatMap((parts) => collect(parts, 'sval'))).toContain('pg_terminate_backend');

      // The body, as PL/pgSQL: v_name is initialized with exactly the name.
      const body = collect(doStmt, 'sval')[0] as string;
      const plpgsql = parsePlPgSQLSync(`CREATE FUNCTION guard() RETURNS void LANGUAGE plpgsql AS ${dollarQuote(body)}`);
      const initial = collect(plpgsql, 'PLpgSQL_var')
        .map((variable) => variable as { refname: string; default_val?: { PLpgSQL_expr: { query: string } } })
        .find((variable) => variable.refname === 'v_name');
      expect(constants(parseSync(`SELECT ${initial!.default_val!.PLpgSQL_expr.query}`))).toEqual([name]);
      // The dynamic statements quote it with format('%I'), and the refusal has its own SQLSTATE.
      expect(body).toContain("EXECUTE format('ALTER ROLE %I NOLOGIN', v_name)");
      expect(body).toContain("EXECUTE format('GRANT %I TO CURRENT_USER', v_name)");
      expect(body).toContain(`ERRCODE = '${NOT_OURS_SQLSTATE}'`);
    }
  });
});

describe('postgresRevokeFinish and postgresDropOwned', () => {
  it('drop what the role owns, and the role, under the grants lock in one transaction, then verify by name and oid', () => {
    for (const name of names) {
      const sql = postgresRevokeFinish(name, '16384');
      expect(kinds(sql)).toEqual(['TransactionStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'DropRoleStmt', 'TransactionStmt', 'SelectStmt']);
      const statements = statementsOf(sql);
      expect(roleNames(statements.slice(2, 5))).toEqual([name, name, name]);
      expect(constants(statements[6])).toEqual([name]);

      const other = postgresDropOwned(name);
      expect(kinds(other)).toEqual(['TransactionStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'TransactionStmt']);
      expect(roleNames(statementsOf(other))).toEqual([name, name]);
    }
  });

  it('takes only a numeric oid', () => {
    expect(() => postgresRevokeFinish('x', '1; DROP ROLE admin')).toThrow(TypeError);
    expect(() => postgresRevokeFinish('x', '')).toThrow(TypeError);
  });
});

/** A dollar quote whose tag does not occur in the text. */
function dollarQuote(text: string): string {
  let tag = 'q';
  while (text.includes(`$${tag}$`)) tag += 'q';
  return `$${tag}$${text}$${tag}$`;
}
