import { loadModule, parsePlPgSQLSync, parseSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostileNames } from '../../../../../test/support/hostile-names.js';
import { postgresDropEmptyGroups, postgresGroupGuard, postgresJoinGroup } from './group-statements.js';
import { GROUP_MARKER, GROUP_NOT_OURS_SQLSTATE, NOT_OURS_SQLSTATE, ROLE_MARKER, groupComment, groupMarker, roleMarker } from './markers.js';
import { postgresCatalogQuery, privilegeNeeds, scopeFingerprint } from './grantable.js';
import { postgresDropOwned, postgresProvisionStart, postgresRevokeFinish, postgresRevokeFinishMany, postgresRevokeStart, postgresRevokeStartMany } from './statements.js';

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
/** This install's id, as the provider gets it. */
const INSTALL = 'k3x7q2ab';
/** The constants the statements hold besides the names: catalogs and role markers. */
const MARKERS = ['pg_authid', ROLE_MARKER, GROUP_MARKER, roleMarker(INSTALL), groupMarker(INSTALL), `grp_(${INSTALL}_)?[0-9a-f]{16}$`];

beforeAll(async () => {
  await loadModule();
});

describe('postgresProvisionStart', () => {
  it('begins, takes this user`s lock, then reads the role and the schemas', () => {
    for (const name of names) {
      const sql = postgresProvisionStart(INSTALL, name);
      expect(kinds(sql)).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt']);
      const [begin, lock, state] = statementsOf(sql);
      expect(begin).toMatchObject({ TransactionStmt: { kind: 'TRANS_STMT_BEGIN' } });
      expect(constants(lock)).toEqual([`dbaccess:role:${name}`]);
      expect(constants(state)).toContain(name);
      expect(constants(state)).toContain(ROLE_MARKER);
    }
    // The capture check rides along as a fourth statement.
    expect(kinds(postgresProvisionStart(INSTALL, 'dbx_k3x9q2', "SELECT NULL::text AS problem"))).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt', 'SelectStmt']);
  });
});

describe('postgresRevokeStart', () => {
  it('guards and blocks logins in one committed transaction, then terminates the sessions', () => {
    for (const name of names) {
      const sql = postgresRevokeStart(INSTALL, name);
      expect(kinds(sql)).toEqual(['TransactionStmt', 'DoStmt', 'TransactionStmt', 'SelectStmt']);
      const [, doStmt, commit, sessions] = statementsOf(sql);
      expect(commit).toMatchObject({ TransactionStmt: { kind: 'TRANS_STMT_COMMIT' } });
      expect(constants(sessions).filter((value) => !MARKERS.includes(value))).toEqual([name]);
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
      // A user that is not the last of its access group: a plain DROP ROLE.
      const plain = postgresRevokeFinish(INSTALL, name, '16384', { groups: ['16385'], lastMember: false });
      expect(kinds(plain)).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'DropRoleStmt', 'TransactionStmt', 'SelectStmt']);
      // First the role's own revocation lock (another process revoking it waits), then the grants lock.
      expect(constants(statementsOf(plain)[1])).toContain(name);
      expect(roleNames(statementsOf(plain).slice(3, 6))).toEqual([name, name, name]);
      // The last one: the role is dropped in the block (with its access groups once empty), named in v_names.
      const sql = postgresRevokeFinish(INSTALL, name, '16384', { groups: ['16385'], lastMember: true });
      expect(kinds(sql)).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'DoStmt', 'TransactionStmt', 'SelectStmt']);
      const statements = statementsOf(sql);
      expect(roleNames(statements.slice(3, 5))).toEqual([name, name]);
      const body = bodyOf(statements[5]!);
      expect(initialValue(body, 'v_names')).toEqual([name]);
      expect(body).toContain("EXECUTE format('DROP ROLE IF EXISTS %I', v_group.rolname)");
      expect(body).toContain("EXECUTE format('DROP ROLE %I', v_group.rolname)");
      expect(constants(statements[7]).filter((value) => !MARKERS.includes(value))).toEqual([name]);

      const other = postgresDropOwned(name);
      expect(kinds(other)).toEqual(['TransactionStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'TransactionStmt']);
      expect(roleNames(statementsOf(other))).toEqual([name, name]);
    }
  });

  it('takes only a numeric oid', () => {
    expect(() => postgresRevokeFinish(INSTALL, 'x', '1; DROP ROLE admin')).toThrow(TypeError);
    expect(() => postgresRevokeFinish(INSTALL, 'x', '')).toThrow(TypeError);
  });
});

describe('revocation of many users at once', () => {
  // Every hostile name in one batch: each must come back as exactly one element, in order.
  const batch = names.slice(0, 60);

  it('guards and blocks every login in one committed transaction, then terminates their sessions', () => {
    const sql = postgresRevokeStartMany(INSTALL, batch);
    expect(kinds(sql)).toEqual(['TransactionStmt', 'DoStmt', 'TransactionStmt', 'SelectStmt']);
    const [, doStmt, , sessions] = statementsOf(sql);
    const body = bodyOf(doStmt!);
    // In name order: two batches sharing roles take their revocation locks in the same order.
    expect(initialValue(body, 'v_names')).toEqual([...batch].sort());
    expect(body).toContain("EXECUTE format('ALTER ROLE %I NOLOGIN', v_name)");
    expect(body).toContain(`ERRCODE = '${NOT_OURS_SQLSTATE}'`);
    expect(constants(sessions)).toEqual(expect.arrayContaining(batch));
    expect(collect(sessions, 'funcname').flatMap((parts) => collect(parts, 'sval'))).toContain('pg_terminate_backend');
  });

  it('drops them all under the grants lock in one transaction, then verifies each by name and oid', () => {
    const users = batch.map((username, i) => ({ username, oid: String(16384 + i), groups: ['16383'], lastMember: false }));
    const plain = postgresRevokeFinishMany(INSTALL, users);
    expect(kinds(plain)).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'DropRoleStmt', 'TransactionStmt', 'SelectStmt']);
    // The roles' revocation locks first, in name order, then the grants lock.
    expect(constants(statementsOf(plain)[1]).filter((value) => batch.includes(value))).toEqual([...batch].sort());
    expect(roleNames(statementsOf(plain)[5])).toEqual(batch);
    // One of them is the last of its group: the drop goes through the block.
    const sql = postgresRevokeFinishMany(INSTALL, users.map((user, i) => ({ ...user, lastMember: i === 7 })));
    expect(kinds(sql)).toEqual(['TransactionStmt', 'SelectStmt', 'SelectStmt', 'ReassignOwnedStmt', 'DropOwnedStmt', 'DoStmt', 'TransactionStmt', 'SelectStmt']);
    const statements = statementsOf(sql);
    expect(roleNames(statements[3])).toEqual(batch);
    expect(roleNames(statements[4])).toEqual(batch);
    expect(initialValue(bodyOf(statements[5]!), 'v_names')).toEqual(batch);
    expect(constants(statements[7])).toEqual(expect.arrayContaining(batch));
    expect(() => postgresRevokeFinishMany(INSTALL, [{ username: 'x', oid: '1) OR (1=1' }])).toThrow(TypeError);
    expect(() => postgresRevokeFinishMany(INSTALL, [])).toThrow(TypeError);
    expect(() => postgresRevokeFinishMany(INSTALL, [{ username: 'x', oid: '1', groups: ['2) OR (1=1'] }])).toThrow(TypeError);
  });
});

describe('access groups', () => {
  it('groups left empty are dropped under the lock, by oid only, and those kept are read back', () => {
    expect(kinds(postgresDropEmptyGroups(INSTALL, ['16385', '16386']))).toEqual(['TransactionStmt', 'SelectStmt', 'DoStmt', 'TransactionStmt', 'SelectStmt']);
    expect(() => postgresDropEmptyGroups(INSTALL, ['1); DROP ROLE admin; --'])).toThrow(TypeError);
    expect(() => postgresDropEmptyGroups(INSTALL, [])).toThrow(TypeError);
  });

  it('the first round trip of a provision reads the access group by its name', () => {
    const sql = postgresProvisionStart(INSTALL, 'dbx_k3x9q2', undefined, `dba_grp_${INSTALL}_0123456789abcdef`);
    expect(constants(statementsOf(sql)[2])).toEqual(expect.arrayContaining(['dbx_k3x9q2', `dba_grp_${INSTALL}_0123456789abcdef`, GROUP_MARKER]));
  });

  it('the guard creates the group, or refuses one that is not ours or was changed', () => {
    const sql = postgresGroupGuard(INSTALL, `dba_grp_${INSTALL}_0123456789abcdef`);
    expect(kinds(sql)).toEqual(['DoStmt']);
    const body = bodyOf(statementsOf(sql)[0]!);
    expect(initialValue(body, 'v_name')).toEqual([`dba_grp_${INSTALL}_0123456789abcdef`]);
    expect(body).toContain("EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', v_name)");
    expect(body).toContain(GROUP_MARKER);
    expect(body).toMatch(/rolsuper OR r\.rolcanlogin OR r\.rolcreaterole OR r\.rolcreatedb OR r\.rolreplication OR r\.rolbypassrls/);
    expect(body).toContain(`ERRCODE = '${GROUP_NOT_OURS_SQLSTATE}'`);
  });

  it('a user joins its group by name, whatever its name, without SET ROLE where the server has it', () => {
    for (const name of names) {
      const sql = postgresJoinGroup(INSTALL, name, `dba_grp_${INSTALL}_0123456789abcdef`);
      expect(kinds(sql)).toEqual(['DoStmt']);
      const body = bodyOf(statementsOf(sql)[0]!);
      expect(initialValue(body, 'v_name')).toEqual([name]);
      expect(initialValue(body, 'v_target')).toEqual([`dba_grp_${INSTALL}_0123456789abcdef`]);
      expect(body).toContain("EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', v_target, v_name)");
      expect(body).toContain("EXECUTE format('REVOKE %I FROM %I', v_group.rolname, v_name)");
    }
  });
});

describe('install ids', () => {
  it('markers carry the install id; only a well-formed one goes into SQL', () => {
    expect(roleMarker(INSTALL)).toBe(`dbaccess temporary user ${INSTALL}`);
    expect(groupMarker(INSTALL)).toBe(`dbaccess access group ${INSTALL}`);
    for (const bad of ['', 'ABCDEFGH', 'abcdefg', "abcdefg'", 'abcdefgh1', 'k3x9q2ab']) {
      expect(() => roleMarker(bad)).toThrow(TypeError);
      expect(() => postgresRevokeStart(bad, 'dba_x')).toThrow(TypeError);
      expect(() => postgresGroupGuard(bad, 'dba_grp_x')).toThrow(TypeError);
    }
  });

  it('the revoke guard accepts this install`s users and those made before install ids, no other install`s', () => {
    for (const sql of [postgresRevokeStart(INSTALL, 'dba_x'), postgresRevokeStartMany(INSTALL, ['dba_x', 'dba_y'])]) {
      const body = bodyOf(statementsOf(sql)[1]!);
      const markers = constants(parseSync(body.slice(body.indexOf('SELECT'), body.indexOf('INTO v_role'))));
      expect(markers).toEqual(expect.arrayContaining([roleMarker(INSTALL), ROLE_MARKER]));
      expect(markers).not.toContain(roleMarker('bbbbbbbb'));
      expect(body).toMatch(/IN \('dbaccess temporary user k3x7q2ab', 'dbaccess temporary user'\)/);
    }
  });

  it('revocation finds the access groups of this install and older ones by name, never another install`s', () => {
    const pattern = constants(statementsOf(postgresRevokeStart(INSTALL, 'dba_x'))[3]).find((value) => value.startsWith('grp_'))!;
    const regex = new RegExp(pattern);
    expect(regex.test(`dba_grp_${INSTALL}_0123456789abcdef`)).toBe(true);
    expect(regex.test('dba_grp_0123456789abcdef')).toBe(true);
    expect(regex.test('dba_grp_bbbbbbbb_0123456789abcdef')).toBe(false);
    expect(regex.test(`dba_grp_${INSTALL}_0123456789abcde`)).toBe(false);
  });

  it('a new group is made with this install`s marker, and an existing one is used only if it carries it', () => {
    const body = bodyOf(statementsOf(postgresGroupGuard(INSTALL, `dba_grp_${INSTALL}_0123456789abcdef`))[0]!);
    expect(body).toContain(`COMMENT ON ROLE %I IS %L', v_name, '${groupMarker(INSTALL)}')`);
    expect(body).toContain(`= '${groupMarker(INSTALL)}', false) AS ours`);
    // The first round trip of a provision calls a group of another marker (an older one included) foreign.
    const state = constants(statementsOf(postgresProvisionStart(INSTALL, 'dba_x', undefined, 'g'))[2]);
    expect(state).toEqual(expect.arrayContaining([roleMarker(INSTALL), ROLE_MARKER, groupMarker(INSTALL)]));
    // The clean-up blocks drop only this install's groups (and older ones an adopted user leaves), when no dbaccess user of any install is in them.
    const drop = bodyOf(statementsOf(postgresDropEmptyGroups(INSTALL, ['16385']))[2]!);
    expect(drop).toMatch(/IN \('dbaccess access group k3x7q2ab', 'dbaccess access group'\)/);
    expect(drop).toContain("starts_with((SELECT description FROM pg_shdescription WHERE objoid = m.member AND classoid = 'pg_authid'::regclass), 'dbaccess temporary user')");
  });
});

/** The body of a DO statement, checked to parse as PL/pgSQL. */
function bodyOf(doStmt: Node): string {
  const body = collect(doStmt, 'sval')[0] as string;
  parsePlPgSQLSync(`CREATE FUNCTION block() RETURNS void LANGUAGE plpgsql AS ${dollarQuote(body)}`);
  return body;
}

/** The string constants a PL/pgSQL variable is initialized with. */
function initialValue(body: string, variable: string): string[] {
  const plpgsql = parsePlPgSQLSync(`CREATE FUNCTION block() RETURNS void LANGUAGE plpgsql AS ${dollarQuote(body)}`);
  const found = [...collect(plpgsql, 'PLpgSQL_var'), ...collect(plpgsql, 'PLpgSQL_row'), ...collect(plpgsql, 'PLpgSQL_rec')]
    .map((entry) => entry as { refname: string; default_val?: { PLpgSQL_expr: { query: string } } })
    .find((entry) => entry.refname === variable && entry.default_val);
  return constants(parseSync(`SELECT ${found!.default_val!.PLpgSQL_expr.query}`));
}

/** A dollar quote whose tag does not occur in the text. */
function dollarQuote(text: string): string {
  let tag = 'q';
  while (text.includes(`$${tag}$`)) tag += 'q';
  return `$${tag}$${text}$${tag}$`;
}

describe('the scope fingerprint of an access group', () => {
  it('follows the marker in the group`s comment; only an md5 goes in', () => {
    const fingerprint = '0123456789abcdef0123456789abcdef';
    expect(groupComment(INSTALL, fingerprint)).toBe(`dbaccess access group ${INSTALL} scope ${fingerprint}`);
    for (const bad of ['', 'x', `${fingerprint}'`, fingerprint.toUpperCase(), `${fingerprint}0`]) expect(() => groupComment(INSTALL, bad)).toThrow(TypeError);
  });

  it('a group with a fingerprint is still this install`s: the marker is compared without it, everywhere', () => {
    const guard = bodyOf(statementsOf(postgresGroupGuard(INSTALL, `dba_grp_${INSTALL}_0123456789abcdef`))[0]!);
    const state = postgresProvisionStart(INSTALL, 'dba_x', undefined, 'g');
    const drop = bodyOf(statementsOf(postgresDropEmptyGroups(INSTALL, ['16385']))[2]!);
    for (const sql of [guard, state, drop]) expect(sql).toContain("split_part((SELECT description FROM pg_shdescription WHERE objoid = ");
    expect(state).toContain('AS "groupFingerprint"');
  });

  it('comes last from the catalog query, for every level and scope', () => {
    for (const [level, scope] of [['read', []], ['write', [{ schema: 'sales' }]], ['admin', [{ schema: 'sales', table: 'orders' }]]] as const) {
      const sql = postgresCatalogQuery(privilegeNeeds(level), [...scope]);
      expect(kinds(sql)).toEqual(['SelectStmt']);
      expect(sql).toMatch(/SELECT 'scope', '', md5\(/);
    }
    expect(scopeFingerprint([{ kind: 'scope', schema: '', name: 'ab'.repeat(16), owner: '', extension: null, grantable: true }])).toBe('ab'.repeat(16));
    expect(() => scopeFingerprint([])).toThrow(TypeError);
  });
});
