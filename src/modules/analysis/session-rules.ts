import { formatName, type ScopeItem } from '../credentials/scope.js';
import { RULES } from './session-checks.js';
import type { Resolved, Seen, SessionFacts, SessionFlag, SessionRuleInput } from './session-types.js';
import { isMigrationBookkeeping } from './migration-bookkeeping.js';
import { lex } from './sql-lexer.js';
import { escapeRegExp } from './session-check-helpers.js';
import { parseStatements, TEMPORARY_SCHEMA, type ParsedStatement, type StatementKind, type TouchedObject } from './sql-statements.js';

export { SESSION_FLAG_CODES } from './session-types.js';
export type { FlagSeverity, SessionFacts, SessionFlag, SessionFlagCode, SessionRuleInput } from './session-types.js';

/**
 * The built-in reading of a finished session: what was run, compared with the grant, the scope and the
 * stated reason. Pure apart from awaiting the parser. The statements are untrusted: only what the
 * parsers make of them counts, so a comment saying "this is fine" changes nothing (it can only add the
 * `ai-instructions` flag).
 *
 * A statement "ran" when the server did not refuse it (no error). Dangerous actions that ran are
 * critical; the same actions refused by the server are warnings (the grant held, the attempt is worth
 * knowing about).
 */

export async function analyzeSession(input: SessionRuleInput): Promise<{ parsed: ParsedStatement[]; flags: SessionFlag[]; facts: SessionFacts }> {
  const parsed = await parseStatements(input.dialect, input.statements);
  const seen = resolve(input, parsed);
  const flags = RULES.flatMap((rule) => rule(seen, input)).filter((flag): flag is SessionFlag => flag !== undefined);
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  flags.sort((a, b) => rank[a.severity] - rank[b.severity] || (a.statements[0] ?? 0) - (b.statements[0] ?? 0));

  const byKind: Partial<Record<StatementKind, number>> = {};
  for (const statement of parsed) byKind[statement.kind] = (byKind[statement.kind] ?? 0) + 1;
  const facts: SessionFacts = {
    statements: parsed.length,
    byKind,
    objects: [...new Set(seen.flatMap((s) => s.objects.filter((o) => !o.temp).map((o) => o.label)))].sort(),
    denied: seen.filter((s) => s.refused).length,
    unparsed: parsed.filter((statement) => !statement.parsed).length,
  };
  return { parsed, flags, facts };
}

// ---------------------------------------------------------------------------------------------------
// Resolving names: the schema an unqualified name means, tags, scope.

/**
 * What the session knows of a temporary object it created: the tags of what filled it, and whether
 * any of it came from a whole-table read. Reading it is reading them: a temporary table can hold
 * personal data, and cannot turn a whole-table read into a bounded one (nor a bounded one into a
 * whole-table read).
 */
interface Provenance {
  tags: Set<string>;
  wholesale: boolean;
}

/**
 * The temporary objects a session created and has not dropped. A bare name finds one before any real
 * table: PostgreSQL searches pg_temp before the search_path, and MySQL's temporary table hides the real
 * one of the same name, but only in the database it was created in (after `USE other`, the bare name
 * means other's table again).
 */
function temporaryObjects(dialect: SessionRuleInput['dialect']) {
  const entries: Array<{ name: string; home: string | undefined; provenance: Provenance }> = [];
  const inTemporarySchema = (schema: string) => schema === TEMPORARY_SCHEMA || dialect.isTemporarySchema(schema);
  /** Where it lives: TEMPORARY_SCHEMA for PostgreSQL's, MySQL's database (undefined before any USE: then anywhere). */
  const homeOf = (schema: string | undefined, current: string | undefined) => {
    const home = schema?.toLowerCase() ?? current?.toLowerCase();
    return home !== undefined && inTemporarySchema(home) ? TEMPORARY_SCHEMA : home;
  };
  const find = (object: TouchedObject, current: string | undefined): Provenance | undefined => {
    const name = object.name.toLowerCase();
    const schema = object.schema?.toLowerCase();
    return entries.find((entry) => {
      if (entry.name !== name) return false;
      if (schema !== undefined) return inTemporarySchema(schema) ? entry.home === TEMPORARY_SCHEMA : entry.home === undefined || entry.home === schema;
      return entry.home === undefined || entry.home === TEMPORARY_SCHEMA || current === undefined || entry.home === current.toLowerCase();
    })?.provenance;
  };
  return {
    find,
    /** Records what filled it (a creation from a query, INSERT ... SELECT, UPDATE ... FROM): it only ever adds. */
    filled(object: TouchedObject, current: string | undefined, tags: Iterable<string>, wholesale: boolean): void {
      let provenance = find(object, current);
      if (!provenance) {
        provenance = { tags: new Set(), wholesale: false };
        entries.push({ name: object.name.toLowerCase(), home: homeOf(object.schema, current), provenance });
      }
      for (const tag of tags) provenance.tags.add(tag);
      provenance.wholesale ||= wholesale;
    },
    /** Gone: the same name may mean a real table again. */
    dropped(object: TouchedObject, current: string | undefined): void {
      const provenance = find(object, current);
      const at = entries.findIndex((entry) => entry.provenance === provenance);
      if (at >= 0) entries.splice(at, 1);
    },
  };
}

function resolve(input: SessionRuleInput, parsed: ParsedStatement[]): Seen[] {
  const { dialect } = input;
  const tagIndex = new Map(Object.entries(input.tableTags).map(([key, tags]) => [key.toLowerCase(), tags.map((tag) => tag.toLowerCase())]));
  // When the catalog tags no table of this database, the database's own tags stand for every table.
  const databaseTags = tagIndex.size === 0 ? input.tags.map((tag) => tag.toLowerCase()) : [];
  // Under a grant that allows schema changes, a migration tool's bookkeeping goes with the change (migration-bookkeeping.ts).
  const schemaChanges = input.level === 'admin';
  const temporary = temporaryObjects(dialect);
  // Views and tables the session made from queries (CREATE VIEW ... AS, CREATE TABLE ... AS): reading
  // them is reading what filled them, as with temporary tables, by their resolved `schema.name`.
  const derived = new Map<string, Provenance>();
  let current = dialect.defaultSchema ?? onlySchemaOf(input.scope);

  return parsed.map((statement, index) => {
    const ran = statement.error === undefined;
    // CREATE TEMPORARY TABLE, DROP TEMPORARY TABLE (MySQL's, which drops nothing else): what they name is temporary.
    const temporaryDdl = /TEMP/.test(statement.command);
    const keyOf = (object: TouchedObject) => `${(object.schema ?? current ?? '').toLowerCase()}.${object.name.toLowerCase()}`;
    const provenances = statement.objects.map((object) => temporary.find(object, current));
    const madeFrom = statement.objects.map((object) => (provenances[statement.objects.indexOf(object)] === undefined ? derived.get(keyOf(object)) : undefined));
    const objects = statement.objects.map((object, at): Resolved => {
      const lowerName = object.name.toLowerCase();
      const known = provenances[at];
      const declared = (temporaryDdl && object.access === 'ddl') || known !== undefined;
      let schema = object.schema;
      if (schema === undefined) {
        if (declared) schema = TEMPORARY_SCHEMA;
        else schema = dialect.impliedSchema(lowerName) ?? current;
      }
      const lowerSchema = schema?.toLowerCase();
      // An unqualified name of a temporary table was resolved to TEMPORARY_SCHEMA above; MySQL's may carry a database.
      const temp = declared || (lowerSchema !== undefined && (lowerSchema === TEMPORARY_SCHEMA || dialect.isTemporarySchema(lowerSchema)));
      const system = (lowerSchema !== undefined && dialect.systemSchemas.has(lowerSchema)) || dialect.catalogTables?.has(lowerName) === true;
      const qualified = lowerSchema === undefined ? lowerName : `${lowerSchema}.${lowerName}`;
      const tags = new Set<string>([...(tagIndex.get(lowerName) ?? []), ...(lowerSchema ? (tagIndex.get(qualified) ?? []) : [])]);
      if (lowerSchema === undefined) for (const [key, keyTags] of tagIndex) if (key.endsWith(`.${lowerName}`)) keyTags.forEach((tag) => tags.add(tag));
      // A migration tool's own table holds versions and locks: the database's tags, a default for tables the catalog does not describe, do not reach it.
      const toolTable = !system && !temp && isMigrationBookkeeping(lowerSchema, lowerName);
      if (!system && !temp && !toolTable) databaseTags.forEach((tag) => tags.add(tag));
      // A temporary table carries the tags of what filled it (and no catalog tag of a real table it shadows).
      if (temp) {
        tags.clear();
        known?.tags.forEach((tag) => tags.add(tag));
      }
      // Made by the session from a query: it holds what filled it.
      madeFrom[at]?.tags.forEach((tag) => tags.add(tag));
      // Tagged by the catalog itself, it is treated as what the tags say.
      const bookkeeping = schemaChanges && toolTable && tags.size === 0;
      const label = object.name === '*' ? `${formatName(schema ?? '?')}.*` : schema === undefined ? formatName(object.name) : `${formatName(schema)}.${formatName(object.name)}`;
      return {
        schema,
        name: object.name,
        access: object.access,
        label,
        system,
        credential: dialect.credentialTables.has(qualified),
        temp,
        bookkeeping,
        tags,
        filledBounded: (temp && known?.wholesale === false) || madeFrom[at]?.wholesale === false,
        // A migration tool's version read by an application at start-up is not data (unless the catalog tags the table); under admin its table is part of the change.
        inScope: system || temp || bookkeeping || (toolTable && object.access === 'read' && tags.size === 0) || inScope(input.scope, schema, object.name),
      };
    });
    const reads = objects.filter((o) => o.access === 'read');
    // A whole read of temporary tables that were filled only by bounded reads is itself bounded.
    const boundedByItsSources =
      statement.unbounded && statement.kind !== 'update' && statement.kind !== 'delete' && reads.length > 0 &&
      objects.every((o, at) => o.access !== 'read' || (o.temp && provenances[at]?.wholesale === false) || madeFrom[at]?.wholesale === false);
    // A change joined only to other tables is bounded by a fix list: one the session filled by bounded reads, or named for one.
    const boundedByItsJoin = statement.unbounded && statement.joinedOnly === true && objects.some((o) => o.access === 'read' && (o.filledBounded || (!o.temp && (FIX_LIST.test(o.name) || FIX_LIST.test(o.schema ?? '')))));
    // A read inner-joined to a temporary table the session filled by bounded reads gets that table's rows only (no outer join keeps the others).
    const boundedByItsTemporary =
      statement.unbounded && statement.kind === 'select' && objects.some((o) => o.access === 'read' && o.temp && o.filledBounded) && /\bJOIN\b/i.test(statement.text) && !OUTER_JOIN.test(lex(dialect.lexical, statement.text).code);
    const seen = boundedByItsSources || boundedByItsJoin || boundedByItsTemporary ? { ...statement, unbounded: false } : statement;
    if (ran) {
      if (statement.switchesTo) current = statement.switchesTo;
      const changedTemporary = statement.objects.filter((o, i) => objects[i]!.temp && o.access !== 'read');
      if (/^DROP\b/.test(statement.command)) {
        for (const object of changedTemporary) temporary.dropped(object, current);
      } else {
        const sourceTags = reads.flatMap((o) => [...o.tags]);
        const wholesale = seen.unbounded && reads.length > 0 && statement.kind !== 'update' && statement.kind !== 'delete';
        for (const object of changedTemporary) temporary.filled(object, current, sourceTags, wholesale);
        if (FILLED_FROM_QUERY.test(statement.command) && reads.length > 0) {
          for (const object of statement.objects.filter((o, i) => o.access === 'ddl' && !objects[i]!.temp)) derived.set(keyOf(object), { tags: new Set(sourceTags), wholesale });
        }
      }
      if (/^DROP\b/.test(statement.command)) for (const object of statement.objects) derived.delete(keyOf(object));
    }
    // A routine of another schema works on that schema's data; the system's own (pg_catalog.now()), and
    // the extensions' where hosted platforms install them (extensions.uuid_generate_v4()), on none.
    const routines = statement.routines.map(({ schema, name }) => ({
      label: `${formatName(schema)}.${formatName(name)}`,
      inScope: dialect.systemSchemas.has(schema) || schema === 'extensions' || schema === TEMPORARY_SCHEMA || dialect.isTemporarySchema(schema) || inScope(input.scope, schema, '*') || input.scope.some((item) => item.schema.toLowerCase() === schema),
    }));
    return { index, statement: seen, at: input.statements[statement.entry]?.at, ran, refused: !ran && dialect.permissionError.test(statement.error ?? ''), objects, routines };
  });
}

/**
 * Where unqualified names point before the session says (MySQL's USE), when the scope names one
 * database only: the credentials open that one (`SELECT ... FROM customers` under `shop.customers(id,
 * city)` reads shop's). Under a scope of several databases, or the whole server, it stays unknown.
 */
function onlySchemaOf(scope: ScopeItem[]): string | undefined {
  const schemas = new Set(scope.map((item) => item.schema.toLowerCase()));
  return schemas.size === 1 ? [...schemas][0] : undefined;
}

/** Names of a list of rows to change, prepared for a fix (`ops.fix_4410`, `staging.price_import_900`, `tmp_ids`): not an entity of the application. */
const FIX_LIST = /(?:^|_)(?:fix|fixes|fixups?|corrections?|patch|imports?|staging|tmp|temp|scratch|todo|backfill|csv|ids)(?:_|\d|$)/i;

/** Joins that keep rows without a match, and joins of every row with every row. */
const OUTER_JOIN = /\b(?:LEFT|RIGHT|FULL|CROSS|NATURAL)\b|\bFROM\b[^;]*?,/i;

/** Objects whose rows come from the query in their own definition (not a CREATE TABLE whose foreign keys merely name other tables). */
const FILLED_FROM_QUERY = /^(?:CREATE (?:MATERIALIZED )?VIEW|CREATE TABLE AS|SELECT INTO)$/;

function inScope(scope: ScopeItem[], schema: string | undefined, name: string): boolean {
  if (scope.length === 0) return true;
  const lowerName = name.toLowerCase();
  return scope.some((item) => {
    const table = item.table?.toLowerCase();
    // Unknown current database (MySQL before USE): give the benefit of the doubt on the name alone.
    if (schema === undefined) return table === undefined || table === lowerName;
    if (item.schema.toLowerCase() !== schema.toLowerCase()) return false;
    if (name === '*') return table === undefined;
    return table === undefined || table === lowerName || ownSequence(table, lowerName) || ownIndexOrShadow(table, lowerName);
  });
}

/**
 * What goes with a table by its name: its indexes and constraints (`orders_pkey`, `orders_created_at_idx`,
 * `idx_orders_status`), and the shadow tables online schema-change tools copy it through (gh-ost's
 * `_orders_gho` and `_orders_ghc`, pt-online-schema-change's `_orders_new` and `_orders_old`).
 */
const ownIndexOrShadow = (table: string, name: string) =>
  (name.startsWith(`${table}_`) && /_(?:pkey|key|idx|index|fkey|excl|check|uniq|unique)$/.test(name)) ||
  new RegExp(`^(?:idx|ix|uq|uniq)_${escapeRegExp(table)}(?:_|$)`).test(name) ||
  new RegExp(`^_${escapeRegExp(table)}_(?:gho|ghc|del|new|old)$`).test(name);

/** PostgreSQL names a serial or identity column's sequence `<table>_<column>_seq`: it goes with its table. */
const ownSequence = (table: string, name: string) => name.startsWith(`${table}_`) && name.endsWith('_seq') && name.length > table.length + '_seq'.length + 1;
