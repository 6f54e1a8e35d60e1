import { formatName, type ScopeItem } from '../credentials/scope.js';
import { RULES } from './session-checks.js';
import type { Resolved, Seen, SessionFacts, SessionFlag, SessionRuleInput } from './session-types.js';
import { parseStatements, TEMPORARY_SCHEMA, type ParsedStatement, type StatementKind } from './sql-statements.js';

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

function resolve(input: SessionRuleInput, parsed: ParsedStatement[]): Seen[] {
  const { dialect } = input;
  const tagIndex = new Map(Object.entries(input.tableTags).map(([key, tags]) => [key.toLowerCase(), tags.map((tag) => tag.toLowerCase())]));
  // When the catalog tags no table of this database, the database's own tags stand for every table.
  const databaseTags = tagIndex.size === 0 ? input.tags.map((tag) => tag.toLowerCase()) : [];
  const temporary = new Set<string>();
  let current = dialect.defaultSchema;

  return parsed.map((statement, index) => {
    const ran = statement.error === undefined;
    // CREATE TEMPORARY TABLE, DROP TEMPORARY TABLE (MySQL's, which drops nothing else): what they name is temporary.
    const temporaryDdl = /TEMP/.test(statement.command);
    const objects = statement.objects.map((object): Resolved => {
      const lowerName = object.name.toLowerCase();
      const declared = (temporaryDdl && object.access === 'ddl') || temporary.has(object.schema === undefined ? lowerName : `${object.schema.toLowerCase()}.${lowerName}`);
      let schema = object.schema;
      if (schema === undefined) {
        if (declared) schema = TEMPORARY_SCHEMA;
        else schema = dialect.impliedSchema(lowerName) ?? current;
      }
      const lowerSchema = schema?.toLowerCase();
      // An unqualified name of a temporary table was resolved to TEMPORARY_SCHEMA above; MySQL's may carry a database.
      const temp = declared || (lowerSchema !== undefined && (lowerSchema === TEMPORARY_SCHEMA || dialect.isTemporarySchema(lowerSchema)));
      const system = lowerSchema !== undefined && dialect.systemSchemas.has(lowerSchema);
      const qualified = lowerSchema === undefined ? lowerName : `${lowerSchema}.${lowerName}`;
      const tags = new Set<string>([...(tagIndex.get(lowerName) ?? []), ...(lowerSchema ? (tagIndex.get(qualified) ?? []) : [])]);
      if (lowerSchema === undefined) for (const [key, keyTags] of tagIndex) if (key.endsWith(`.${lowerName}`)) keyTags.forEach((tag) => tags.add(tag));
      if (!system && !temp) databaseTags.forEach((tag) => tags.add(tag));
      const label = object.name === '*' ? `${formatName(schema ?? '?')}.*` : schema === undefined ? formatName(object.name) : `${formatName(schema)}.${formatName(object.name)}`;
      return {
        schema,
        name: object.name,
        access: object.access,
        label,
        system,
        credential: dialect.credentialTables.has(qualified),
        temp,
        tags,
        inScope: system || temp || inScope(input.scope, schema, object.name),
      };
    });
    if (ran) {
      if (statement.switchesTo) current = statement.switchesTo;
      if (temporaryDdl && /^CREATE\b/.test(statement.command)) {
        for (const object of statement.objects.filter((o) => o.access === 'ddl')) {
          temporary.add(object.name.toLowerCase());
          if (object.schema !== undefined) temporary.add(`${object.schema.toLowerCase()}.${object.name.toLowerCase()}`);
        }
      }
    }
    return { index, statement, at: input.statements[statement.entry]?.at, ran, refused: !ran && dialect.permissionError.test(statement.error ?? ''), objects };
  });
}

function inScope(scope: ScopeItem[], schema: string | undefined, name: string): boolean {
  if (scope.length === 0) return true;
  const lowerName = name.toLowerCase();
  return scope.some((item) => {
    const table = item.table?.toLowerCase();
    // Unknown current database (MySQL before USE): give the benefit of the doubt on the name alone.
    if (schema === undefined) return table === undefined || table === lowerName;
    if (item.schema.toLowerCase() !== schema.toLowerCase()) return false;
    if (name === '*') return table === undefined;
    return table === undefined || table === lowerName || ownSequence(table, lowerName);
  });
}

/** PostgreSQL names a serial or identity column's sequence `<table>_<column>_seq`: it goes with its table. */
const ownSequence = (table: string, name: string) => name.startsWith(`${table}_`) && name.endsWith('_seq') && name.length > table.length + '_seq'.length + 1;
