import { asText, emptyDescription, isJson, list, mergeObjects, objectsIn, type Description, type Json, type TouchedObject } from '../../../analysis/sql-statements.js';
import { fallbackKind, objectTypeWords, pgBoundsTarget, pgConst, pgOnlyJoined, pgFunctionName, pgFunctionSchema, pgLimit, pgStar, pgTargetNames, pgUnboundedSelect, PG_SIMPLE, readsFilesOrSendsData, unwrapSelect } from './dialect-nodes.js';
import { pgColumn } from './dialect-conditions.js';

/**
 * What one statement of libpg-query's tree does, for the session rules: its kind and command, the
 * relations it reads, writes or defines, what it reads out, the functions it calls and the settings it
 * changes.
 */
export function describePostgres(wrapper: Json): Description {
  const [type, body] = Object.entries(wrapper)[0] ?? ['Unknown', {}];
  const node = isJson(body) ? body : {};
  const cteNames = new Set<string>();
  const functions = new Set<string>();
  const settings = new Set<string>();
  const routines = new Map<string, { schema: string; name: string }>();
  let configuredPath: string | undefined;
  const called = (call: Json) => {
    const name = pgFunctionName(call);
    functions.add(name);
    const schema = pgFunctionSchema(call);
    if (schema !== undefined && name) routines.set(`${schema}.${name}`, { schema, name });
  };
  // CALL holds its call bare, not wrapped as a FuncCall node.
  if (type === 'CallStmt' && isJson(node.funccall)) called(node.funccall);
  for (const object of objectsIn(node)) {
    const cte = asText(object.ctename);
    if (cte) cteNames.add(cte);
    if (isJson(object.FuncCall)) {
      const name = pgFunctionName(object.FuncCall);
      called(object.FuncCall);
      const [first, second] = list(object.FuncCall.args);
      if (name === 'set_config' && typeof pgConst(first) === 'string') {
        const setting = String(pgConst(first)).toLowerCase();
        settings.add(setting);
        // set_config('search_path', 'sales, public', false) switches schemas as SET search_path does.
        if (setting === 'search_path' && typeof pgConst(second) === 'string') configuredPath = firstSchema(String(pgConst(second)));
      }
    }
  }

  // Relations the statement changes; every other relation in it is read.
  const targets = new Map<Json, TouchedObject['access']>();
  const extra: TouchedObject[] = [];
  const markTarget = (value: unknown, access: TouchedObject['access']) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (isJson(item) && asText(item.relname) !== undefined) targets.set(item, access);
      else if (isJson(item) && isJson(item.RangeVar)) targets.set(item.RangeVar, access);
    }
  };

  let [kind, command] = PG_SIMPLE[type] ?? fallbackKind(type);
  let selectStar = false;
  let unbounded = false;
  let limit: number | undefined;
  let exported = false;
  let joinedOnly = false;
  let switchesTo: string | undefined;

  switch (type) {
    case 'SelectStmt': {
      const into = isJson(node.intoClause) ? node.intoClause : undefined;
      [kind, command] = into ? ['ddl', 'SELECT INTO'] : ['select', list(node.lockingClause).length > 0 ? 'SELECT FOR UPDATE' : 'SELECT'];
      if (into) markTarget(into.rel, 'ddl');
      selectStar = pgStar(node);
      unbounded = pgUnboundedSelect(node);
      limit = pgLimit(node);
      break;
    }
    case 'InsertStmt': {
      markTarget(node.relation, 'write');
      const source = unwrapSelect(node.selectStmt);
      selectStar = source ? pgStar(source) : false;
      unbounded = source ? pgUnboundedSelect(source) : false;
      break;
    }
    case 'UpdateStmt':
    case 'DeleteStmt':
      // pg_settings is a view of the settings: an UPDATE of it is set_config, judged by the settings it names.
      if (type === 'UpdateStmt' && isJson(node.relation) && node.relation.relname === 'pg_settings' && [undefined, 'pg_catalog'].includes(asText(node.relation.schemaname))) {
        [kind, command] = ['set', 'UPDATE pg_settings'];
        for (const name of settingsNamed(node.whereClause)) settings.add(name);
        break;
      }
      markTarget(node.relation, 'write');
      unbounded = !pgBoundsTarget(node.whereClause, pgTargetNames(node.relation));
      if (!unbounded && pgOnlyJoined(node)) [unbounded, joinedOnly] = [true, true];
      break;
    case 'MergeStmt':
      markTarget(node.relation, 'write');
      break;
    case 'TruncateStmt':
      [kind, command] = ['delete', 'TRUNCATE'];
      markTarget(node.relations, 'write');
      unbounded = true;
      break;
    case 'CopyStmt': {
      const from = node.is_from === true;
      const where = node.is_program === true ? ' PROGRAM' : node.filename !== undefined ? ' FILE' : '';
      [kind, command] = ['copy', `COPY ${from ? 'FROM' : 'TO'}${where}`];
      markTarget(node.relation, from ? 'write' : 'read');
      if (!from) {
        exported = true;
        const query = unwrapSelect(node.query);
        selectStar = query ? pgStar(query) : true;
        unbounded = query ? pgUnboundedSelect(query) : true;
        limit = query ? pgLimit(query) : undefined;
      } else if (where) {
        exported = true; // the server's own files or programs, read through a table
      }
      break;
    }
    case 'CreateStmt': {
      const relation = isJson(node.relation) ? node.relation : {};
      command = relation.relpersistence === 't' ? 'CREATE TEMP TABLE' : 'CREATE TABLE';
      kind = 'ddl';
      markTarget(node.relation, 'ddl');
      break;
    }
    case 'CreateTableAsStmt': {
      const into = isJson(node.into) ? node.into : {};
      const temporary = isJson(into.rel) && into.rel.relpersistence === 't';
      command = node.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : temporary ? 'CREATE TEMP TABLE AS' : 'CREATE TABLE AS';
      markTarget(into.rel, 'ddl');
      const query = unwrapSelect(node.query);
      selectStar = query ? pgStar(query) : false;
      unbounded = query ? pgUnboundedSelect(query) : false;
      break;
    }
    case 'ViewStmt': {
      markTarget(node.view, 'ddl');
      const query = unwrapSelect(node.query);
      unbounded = query ? pgUnboundedSelect(query) : false;
      break;
    }
    case 'IndexStmt':
    case 'CreateTrigStmt':
    case 'RuleStmt':
    case 'ClusterStmt':
      markTarget(node.relation, kind === 'utility' ? 'read' : 'ddl');
      break;
    case 'RefreshMatViewStmt':
      markTarget(node.relation, 'write');
      break;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      markTarget(node.table, 'ddl');
      break;
    case 'AlterTableStmt': {
      const subtypes = list(node.cmds).map((cmd) => (isJson(cmd) && isJson(cmd.AlterTableCmd) ? asText(cmd.AlterTableCmd.subtype) : undefined));
      const words = objectTypeWords(node.objtype);
      // Any change of owner among the commands hands the object over; a dropped column takes its data with it.
      // One that only adds (columns, constraints, an attached partition) touches no row that was there.
      if (subtypes.includes('AT_ChangeOwner')) [kind, command] = ['dcl', `ALTER ${words} OWNER`];
      else if (subtypes.includes('AT_DropColumn')) [kind, command] = ['ddl', `ALTER ${words} DROP COLUMN`];
      else if (subtypes.length > 0 && subtypes.every((subtype) => /^AT_(?:AddColumn|AddConstraint|AddIndex|AddIndexConstraint|AttachPartition)$/.test(subtype ?? ''))) [kind, command] = ['ddl', `ALTER ${words} ADD`];
      else [kind, command] = ['ddl', `ALTER ${words}`];
      markTarget(node.relation, 'ddl');
      break;
    }
    case 'RenameStmt':
      [kind, command] = ['ddl', `ALTER ${objectTypeWords(node.renameType)} RENAME`];
      markTarget(node.relation, 'ddl');
      break;
    case 'DropStmt': {
      const words = objectTypeWords(node.removeType);
      [kind, command] = ['ddl', `DROP ${words}`];
      for (const object of list(node.objects)) {
        const names = isJson(object) && isJson(object.List) ? list(object.List.items).map((item) => (isJson(item) && isJson(item.String) ? asText(item.String.sval) : undefined)) : [];
        if (node.removeType === 'OBJECT_SCHEMA' && isJson(object) && isJson(object.String)) {
          extra.push({ schema: asText(object.String.sval), name: '*', access: 'ddl' });
        } else if (['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'INDEX', 'SEQUENCE', 'FOREIGN TABLE'].includes(words) && names.length > 0) {
          const name = names[names.length - 1];
          if (name) extra.push({ schema: names.length > 1 ? names[names.length - 2] : undefined, name, access: 'ddl' });
        }
      }
      break;
    }
    case 'CreateSchemaStmt':
      if (asText(node.schemaname)) extra.push({ schema: asText(node.schemaname), name: '*', access: 'ddl' });
      break;
    case 'CommentStmt': {
      const names = isJson(node.object) && isJson(node.object.List) ? list(node.object.List.items).map((item) => (isJson(item) && isJson(item.String) ? asText(item.String.sval) : undefined)) : [];
      const name = names[names.length - 1];
      if (node.objtype === 'OBJECT_TABLE' && name) extra.push({ schema: names.length > 1 ? names[names.length - 2] : undefined, name, access: 'ddl' });
      break;
    }
    case 'GrantStmt':
      [kind, command] = ['dcl', node.is_grant === true ? 'GRANT' : 'REVOKE'];
      markTarget(node.objects, 'ddl');
      break;
    case 'GrantRoleStmt':
      [kind, command] = ['dcl', node.is_grant === true ? 'GRANT ROLE' : 'REVOKE ROLE'];
      break;
    case 'CreateRoleStmt':
      command = node.stmt_type === 'ROLESTMT_USER' ? 'CREATE USER' : node.stmt_type === 'ROLESTMT_GROUP' ? 'CREATE GROUP' : 'CREATE ROLE';
      break;
    case 'AlterRoleSetStmt':
    case 'AlterDatabaseSetStmt':
    case 'AlterSystemStmt': {
      const set = isJson(node.setstmt) ? node.setstmt : {};
      if (asText(set.name)) settings.add(asText(set.name)!.toLowerCase());
      break;
    }
    case 'VariableSetStmt': {
      const name = (asText(node.name) ?? '').toLowerCase();
      const reset = node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL';
      kind = name === 'transaction' || name === 'session_characteristics' ? 'transaction' : 'set';
      command =
        name === 'role' ? (reset ? 'RESET ROLE' : 'SET ROLE')
        : name === 'session_authorization' ? (reset ? 'RESET SESSION AUTHORIZATION' : 'SET SESSION AUTHORIZATION')
        : name === 'transaction' ? 'SET TRANSACTION'
        : reset ? 'RESET' : 'SET';
      if (name && !['role', 'session_authorization', 'transaction'].includes(name)) settings.add(name);
      if (name === 'search_path' && !reset) {
        switchesTo = list(node.args)
          .map((arg) => pgConst(arg))
          .find((value): value is string => typeof value === 'string' && value !== '$user');
      }
      break;
    }
    case 'TransactionStmt':
      [kind, command] = ['transaction', (asText(node.kind) ?? 'TRANSACTION').replace(/^TRANS_STMT_/, '').replace(/_/g, ' ')];
      break;
    case 'ExplainStmt': {
      const inner = isJson(node.query) ? describePostgres(node.query) : undefined;
      const analyze = list(node.options).some((option) => isJson(option) && isJson(option.DefElem) && option.DefElem.defname === 'analyze');
      // EXPLAIN ANALYZE runs the statement; plain EXPLAIN only plans it. Either way a query's rows are
      // not sent back (only the plan is): what it changes, creates or calls still counts, not what it reads out.
      if (inner && analyze) {
        const rowsKept = inner.kind === 'select' ? { unbounded: false, selectStar: false, limit: undefined } : {};
        return { ...inner, ...rowsKept, command: `EXPLAIN ANALYZE ${inner.command}` };
      }
      return { ...(inner ?? emptyDescription()), kind: 'utility', command: 'EXPLAIN', objects: (inner?.objects ?? []).map((o) => ({ ...o, access: 'read' as const })), export: false, unbounded: false, selectStar: false };
    }
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      // What will run: a prepared DELETE is judged as a DELETE.
      const inner = isJson(node.query) ? describePostgres(node.query) : undefined;
      if (inner) return { ...inner, command: `${type === 'PrepareStmt' ? 'PREPARE' : 'DECLARE CURSOR'} ${inner.command}` };
      break;
    }
    case 'CreateFunctionStmt':
    case 'AlterFunctionStmt': {
      // SECURITY DEFINER: whoever calls it acts with the owner's rights.
      const options = [...list(node.options), ...list(node.actions)];
      const definer = options.some((option) => isJson(option) && isJson(option.DefElem) && option.DefElem.defname === 'security' && isJson(option.DefElem.arg) && isJson(option.DefElem.arg.Boolean) && option.DefElem.arg.Boolean.boolval === true);
      if (definer) [kind, command] = ['dcl', `${type === 'CreateFunctionStmt' ? 'CREATE' : 'ALTER'} FUNCTION SECURITY DEFINER`];
      break;
    }
    case 'CreateForeignServerStmt':
    case 'AlterForeignServerStmt':
      // A foreign server is a connection to another database server: what is written to it leaves.
      [kind, command, exported] = ['ddl', type === 'CreateForeignServerStmt' ? 'CREATE SERVER' : 'ALTER SERVER', true];
      break;
    case 'AlterEventTrigStmt':
      // An event trigger records or vetoes schema changes; disabled, it records nothing.
      if (node.tgenabled === 'D') [kind, command] = ['ddl', 'ALTER EVENT TRIGGER DISABLE'];
      break;
    case 'VacuumStmt':
      command = node.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE';
      break;
  }

  for (const name of functions) if (readsFilesOrSendsData(name)) exported = true;

  // Data-modifying WITH queries (`WITH gone AS (DELETE FROM t RETURNING *) SELECT ...`) change their
  // tables as the statement runs: judged as the change they are.
  for (const cte of list(isJson(node.withClause) ? node.withClause.ctes : undefined)) {
    const query = isJson(cte) && isJson(cte.CommonTableExpr) && isJson(cte.CommonTableExpr.ctequery) ? cte.CommonTableExpr.ctequery : undefined;
    const [innerType, innerNode] = query ? (Object.entries(query)[0] ?? []) : [];
    if (!query || !isJson(innerNode) || !['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(String(innerType))) continue;
    markTarget(innerNode.relation, 'write');
    const inner = describePostgres(query);
    const change = inner.kind === 'update' || inner.kind === 'delete';
    if (change && (inner.unbounded || kind === 'select')) [kind, command, unbounded] = [inner.kind, `WITH ${inner.command}`, inner.unbounded];
  }

  const objects: TouchedObject[] = [...extra];
  for (const object of objectsIn(node)) {
    const relname = asText(object.relname);
    if (relname === undefined) continue;
    const schema = asText(object.schemaname) ?? (object.relpersistence === 't' ? 'pg_temp' : undefined);
    if (schema === undefined && cteNames.has(relname)) continue;
    objects.push({ schema, name: relname, access: targets.get(object) ?? 'read' });
  }
  switchesTo ??= configuredPath;
  return { kind, command, objects: mergeObjects(objects), selectStar, unbounded, joinedOnly, limit, export: exported, functions: [...functions].filter(Boolean), routines: [...routines.values()], settings: [...settings], switchesTo };
}

/** The settings a WHERE of pg_settings names: `name = 'work_mem'`, `name IN ('log_statement', ...)`. */
function settingsNamed(where: unknown): string[] {
  const named: string[] = [];
  for (const object of objectsIn(where)) {
    const expr = isJson(object.A_Expr) ? object.A_Expr : undefined;
    if (!expr || pgColumn(expr.lexpr) !== 'name') continue;
    const values = isJson(expr.rexpr) && isJson(expr.rexpr.List) ? list(expr.rexpr.List.items).map(pgConst) : [pgConst(expr.rexpr)];
    for (const value of values) if (typeof value === 'string') named.push(value.toLowerCase());
  }
  return named;
}

/** The first schema of a search_path value (`"$user", sales, public` -> `sales`), unquoted; undefined when empty. */
function firstSchema(path: string): string | undefined {
  for (const part of path.split(',')) {
    const name = part.trim();
    const unquoted = /^"(.*)"$/.test(name) ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
    if (unquoted && unquoted !== '$user') return unquoted;
  }
  return undefined;
}
