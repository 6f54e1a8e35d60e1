import { codeOf, escapeRegExp, indexes, names, selectList, type Rule } from './session-check-helpers.js';
import type { Resolved, Seen, SessionRuleInput } from './session-types.js';

/**
 * Column scopes (`hr.employees(id, first_name)`): a table granted by some of its columns is read only
 * by them. The columns a statement uses (read out, filtered on, passed to functions) are found in its
 * words: `alias.column` of the table, `*` or `alias.*`, and, when it reads no other table, every bare
 * word that is not SQL, a function, a table or an alias. A table granted whole elsewhere in the scope
 * (or its schema) is not limited.
 */
export const columnScope: Rule = (seen, input) => {
  const found = seen.flatMap((s) => {
    if (!s.ran) return [];
    const extra = s.objects.filter((o) => o.access !== 'ddl' && !o.temp && !o.system).flatMap((o) => {
      const granted = grantedColumns(o, input);
      return granted ? ungranted(s, o, granted, input).map((column) => `${o.label}.${column}`) : [];
    });
    return extra.length > 0 ? [{ s, extra }] : [];
  });
  if (found.length === 0) return [];
  return [{
    code: 'outside-scope',
    severity: 'warning',
    message: `Used columns outside the requested column scope: ${names(found.flatMap((f) => f.extra))}.`,
    statements: indexes(found.map((f) => f.s)),
  }];
};

/** The columns the scope grants of the table, or undefined when it grants all of them (or none: then the table rule speaks). */
function grantedColumns(o: Resolved, input: SessionRuleInput): Set<string> | undefined {
  const schema = o.schema?.toLowerCase();
  const items = input.scope.filter((item) => item.schema.toLowerCase() === schema && (item.table === undefined || item.table.toLowerCase() === o.name.toLowerCase()));
  if (items.length === 0 || items.some((item) => !item.columns)) return undefined;
  return new Set(items.flatMap((item) => item.columns!.map((column) => column.toLowerCase())));
}

function ungranted(s: Seen, o: Resolved, granted: Set<string>, input: SessionRuleInput): string[] {
  const code = words(codeOf(s, input));
  const name = o.name.toLowerCase();
  const tableNames = new Set(s.objects.map((other) => other.name.toLowerCase()));
  // Aliases of this table (`hr.employees e`, `employees AS e`), and of any table.
  const own = new Set([name]);
  const aliases = new Set<string>();
  for (const table of tableNames) {
    for (const [, alias] of code.matchAll(new RegExp(`(?:^|[^\\w.])(?:\\w+\\s*\\.\\s*)?${escapeRegExp(table)}\\s+(?:as\\s+)?(\\w+)`, 'g'))) {
      if (SQL_WORDS.has(alias!)) continue;
      aliases.add(alias!);
      if (table === name) own.add(alias!);
    }
  }
  const used = new Set<string>();
  // `alias.column` of this table; not its own `schema.table` (`members.members`).
  const schema = o.schema?.toLowerCase();
  for (const [, qualifier, column] of code.matchAll(/\b(\w+)\s*\.\s*(\w+\b|\*)(?!\s*[.(])/g)) if (own.has(qualifier!) && !(qualifier === schema && column === name)) used.add(column!);
  const readsOthers = s.objects.some((other) => other.access === 'read' && other.name.toLowerCase() !== name && !other.system);
  // Every column: `*` read out (in a derived table or CTE too, when no other table is read), COPY of the table, its rows as values (`to_jsonb(e)`).
  const star = s.statement.selectStar && (/(?:^|[\s,])\*(?:\s|,|$)/.test(selectList(code)) || !/\bselect\b/.test(code));
  const innerStar = !readsOthers && /\bselect\s+(?:distinct\s+)?\*/.test(code);
  const wholeRow = [...own].some((alias) => new RegExp(`(?:[(,]|\\bselect)\\s*${escapeRegExp(alias)}\\s*(?:[),]|\\bfrom\\b)`).test(code));
  if (star || innerStar || wholeRow) used.add('*');
  if (!readsOthers) {
    const bare = code
      .replace(/\b\w+\s*\.\s*(?:\w+|\*)(?:\s*\.\s*\w+)?/g, ' ')
      .replace(/\b(?:as|with)\s+\w+|\)\s*(?!as\b)\w+|\b\w+\s*\(/g, ' ');
    for (const [word] of bare.matchAll(/\b[a-z_]\w*\b/g)) if (!SQL_WORDS.has(word) && !tableNames.has(word) && !aliases.has(word) && !outputAliases(code).has(word)) used.add(word);
  }
  return [...used].filter((column) => !granted.has(column));
}

/** The code in lower case, literals blanked and names unquoted; casts (`::date`) and variables (`@t`) out. */
const words = (code: string) =>
  code
    .replace(/[EeNn]?'(?:[^'\\]|''|\\.)*'/g, "''")
    .replace(/"((?:[^"]|"")*)"|`((?:[^`]|``)*)`/g, (_all, double?: string, back?: string) => (double ?? back ?? '').replace(/\W+/g, '_'))
    .replace(/::\s*\w+(?:\s*\[\])?/g, ' ')
    .replace(/@@?\w+/g, ' ')
    .toLowerCase();

/** Names the statement gives its results: `expr AS n`, `expr n` after a closing parenthesis, a CTE's name. */
const outputAliases = (code: string) => new Set([...code.matchAll(/(?:\bas\s+|\)\s*(?!as\b))(\w+)|\b(\w+)\s+as\s*\(/g)].map((match) => (match[1] ?? match[2])!));

const SQL_WORDS = new Set(
  `select from where and or not in is null like ilike between order by group having limit offset asc desc as on join left right inner outer full
  cross natural using distinct case when then else end true false unknown interval cast exists any all some union intersect except with recursive
  nulls first last filter over partition window rows range groups preceding following unbounded current row rollup cube grouping sets escape
  similar to collate at time zone lateral fetch next only ties values returning into year month day hour minute second week quarter epoch dow
  doy date timestamp timestamptz time char character varchar text int integer bigint smallint numeric decimal real double precision float
  boolean bool json jsonb uuid unsigned signed binary regexp rlike div mod xor straight_join sql_no_cache sql_calc_found_rows high_priority
  force use ignore index for update share nowait skip locked lock key of current_date current_time current_timestamp localtime localtimestamp
  current_user session_user user default set delete insert explain analyze verbose buffers costs format copy stdout csv header delimiter
  update table tablesample system bernoulli only asymmetric symmetric array row`.split(/\s+/),
);
