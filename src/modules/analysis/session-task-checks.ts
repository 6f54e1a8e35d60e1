import { AGGREGATE, codeOf, escapeRegExp, IDENTIFIES, indexes, names, personalData, plural, type Rule } from './session-check-helpers.js';
import { withEnglishNouns } from './reason-nouns.js';
import type { Resolved, Seen, SessionFlag, SessionRuleInput } from './session-types.js';

/** Statements on other tables after the reason's tables were done with, before it counts as drifting. */
const AFTER_TASK_STATEMENTS = 3;

/**
 * Drift after the task. The method: the tables the reason names (a touched table whose name, or its
 * singular, appears in the reason as words: "order 70044" names `orders`, "order items" `order_items`)
 * are the task. After the last statement that ran on one of them, count the statements that ran on
 * tables the reason does not name (system catalogs, temporary tables and, under admin, migration
 * bookkeeping aside). A read keyed to the task (by a `<table>_id` of a task table, or a `..._id` column
 * the task's own statements used: the order's payments `WHERE order_id = ...`) is the same
 * investigation, not drift; so is a change keyed so to the task's own rows (the ids its statements
 * used, or a temporary table they filled: the order's history row `VALUES (5540112, 'paid')`). Three
 * or more, or any change among them, is flagged.
 * Without a named table there is no flag. Tables a scope lists one by one are named by it: the
 * requester asked for them with the reason, and the approver granted them so.
 *
 * The reason names a table in its own words too: "Rechnung 55" and "pedido 7040" name invoices and
 * orders (reason-nouns.ts). And it names rows: a statement whose values are the reason's (the 7012 of
 * "refund order 7012", a reference such as 'B-2291') works on what the reason is about, so its tables
 * are the task's, whatever they are called (the order's event row, its cart line).
 */
export const afterTask: Rule = (seen, input) => {
  const reason = withEnglishNouns(withoutWhoAsked(input.reason.toLowerCase()));
  const values = reasonValues(input.reason);
  // Under a grant that allows schema changes, a migration's bookkeeping goes with the migration: the tool's own table is not another task.
  const relevant = (o: Resolved) => !o.system && !o.temp && !o.bookkeeping && o.name !== '*';
  const byName = (o: Resolved) => o.name.length >= 3 && (namedIn(reason, o.name.toLowerCase()) || namedInWords(reason, o.name.toLowerCase()));
  const byRows = new Set(seen.filter((s) => s.ran && statementValues(codeOf(s, input)).some((value) => values.has(value))).flatMap((s) => s.objects.filter(relevant).map((o) => o.label)));
  // Partitions a reason about partitions asks for are its tables, whatever their parents are called.
  const byPartition = new Set(PARTITIONS.test(reason) ? seen.filter((s) => s.ran && PARTITION_WORK.test(codeOf(s, input))).flatMap((s) => s.objects.filter(relevant).map((o) => o.label)) : []);
  // Tables the scope lists one by one were asked for with the reason, and approved with it: they are the task's too.
  const listed = (o: Resolved) => input.scope.some((item) => item.table?.toLowerCase() === o.name.toLowerCase() && (o.schema === undefined || item.schema.toLowerCase() === o.schema.toLowerCase()));
  const first = (o: Resolved) => byName(o) || byRows.has(o.label) || byPartition.has(o.label) || listed(o);
  // What the task created (a partition of the named table) is the task's too: its index, its settings.
  const created = new Set(seen.filter((s) => s.ran && /^CREATE\b/.test(s.statement.command) && s.objects.some((o) => relevant(o) && first(o))).flatMap((s) => s.objects.filter((o) => relevant(o) && o.access !== 'read').map((o) => o.label)));
  const named = (o: Resolved) => first(o) || created.has(o.label);
  // The key the reason's record is picked by (`merchant_id = 4411`): picked with other values (`merchant_id = 1002`),
  // it is another record, in the task's tables or not, and neither continues the task nor is keyed to it.
  const picks = (s: Seen) => pinnedKeys(whereOf(codeOf(s, input)));
  const recordKeys = new Set(seen.filter((s) => s.ran).flatMap((s) => picks(s).filter(({ literals }) => literals.some((value) => values.has(value))).map(({ column }) => column)));
  const otherRecord = (s: Seen) => !picks(s).some(({ literals }) => literals.some((value) => values.has(value))) && picks(s).some(({ column, literals }) => column !== 'id' && recordKeys.has(column) && literals.length > 0);
  // A read of the named table with no WHERE at all after the record was picked (top spenders of every order) is not the record's either.
  const broad = (s: Seen) => s.statement.kind === 'select' && recordKeys.size > 0 && !/\bWHERE\b/i.test(codeOf(s, input));
  const offRecord = (s: Seen) => otherRecord(s) || broad(s);
  const onTask = seen.filter((s) => s.ran && s.objects.some((o) => relevant(o) && named(o)) && !offRecord(s));
  const last = onTask[onTask.length - 1];
  if (!last) return changeElsewhere(seen, input, relevant);
  const keys = new Set([
    ...onTask.flatMap((s) => keyColumns(codeOf(s, input))),
    ...onTask.flatMap((s) => s.objects.filter((o) => relevant(o) && named(o)).flatMap((o) => [`${singular(o.name.toLowerCase())}_id`, `${o.name.toLowerCase()}_id`])),
  ]);
  const changes = (s: Seen) => s.objects.some((o) => relevant(o) && o.access !== 'read');
  // The task's own rows: ids and references its statements used (values holding a digit), and temporary tables they filled.
  const taskValues = new Set(onTask.flatMap((s) => statementValues(codeOf(s, input))).filter((value) => /\d/.test(value)));
  const taskTemporary = new Set(onTask.flatMap((s) => s.objects.filter((o) => o.temp && o.access !== 'read').map((o) => o.label)));
  const sameRows = (s: Seen) => statementValues(codeOf(s, input)).some((value) => taskValues.has(value)) || s.objects.some((o) => o.temp && taskTemporary.has(o.label));
  // A read is keyed by a key of the task compared with a value or a bound parameter (`WHERE order_id = 70044`, `= $1`),
  // not one only read out in its select list or compared with a subquery of other tables; a change, by the task's key and rows.
  const keyedToTask = (s: Seen) => (changes(s) ? keyColumns(codeOf(s, input)).some((column) => keys.has(column)) && sameRows(s) : comparedKeys(codeOf(s, input)).some((column) => keys.has(column)));
  const drift = seen.filter((s) => s.index > last.index && s.ran && s.objects.some(relevant) && (offRecord(s) || (!s.objects.some((o) => relevant(o) && named(o)) && !keyedToTask(s))));
  const changed = drift.some(changes);
  if (drift.length < AFTER_TASK_STATEMENTS && !changed) return otherRecordChanged(seen, input, values);
  const task = names(last.objects.filter((o) => relevant(o) && named(o)).map((o) => o.label), 3);
  const others = names(drift.flatMap((s) => s.objects.filter(relevant).map((o) => o.label)));
  return [{ code: 'after-task', severity: 'warning', message: `After the last statement on ${task}, which the reason names (or the rows it names), ${plural(drift.length, 'statement')} went on to ${others}${changed ? ', including changes' : ''}.`, statements: indexes(drift) }];
};

const PARTITIONS = /partition|partici|partiç/i;
const PARTITION_WORK = /\bPARTITION\s+OF\b|\b(?:ADD|REORGANIZE|ATTACH|DETACH|TRUNCATE|DROP|COALESCE|EXCHANGE)\s+PARTITIONS?\b/i;

/** People's rows read in a session whose reason asks only for figures, before it counts as drifting. */
const PEOPLE_AFTER_FIGURES = 2;
/**
 * Words of a reason that asks for figures (a statistic, KPIs, a dashboard, metrics), in the languages
 * reasons are written in; German compounds ending in -quote or -statistik (Durchfallquote) too. "Report"
 * and "total" are left out: "customer reports order 55's total is wrong" is about one record.
 */
const FIGURES = /(?:^|[^\p{L}])(?:kpis?|metrics|statistics?|stats|statisti[ck]en?|statistiques?|estad[ií]sticas?|estat[ií]sticas?|statistiche|dashboards?|figures|cifras|chiffres|kennzahlen|auswertung(?:en)?|\p{L}+quote|\p{L}+statistik)(?![\p{L}])/iu;

/**
 * Drift from a task of figures: the reason asks for a statistic, KPIs or a dashboard, and the session
 * reads people's rows: rows of a personal-data table that say who they are about (an e-mail, a name,
 * or every column), with no aggregate or grouped by who. Rows of a table the reason names (or keyed to
 * it: a ticket's messages by `ticket_id`) are the task's, and so are statements with the reason's own
 * values. Two or more such statements are flagged; figures themselves (counts, sums, grouped by
 * anything else) never are.
 */
export const peopleAfterFigures: Rule = (seen, input) => {
  const asked = FIGURES.exec(input.reason);
  if (!asked) return [];
  const reason = withEnglishNouns(input.reason.toLowerCase());
  const values = reasonValues(input.reason);
  const named = (o: Resolved) => o.name.length >= 3 && namedIn(reason, o.name.toLowerCase());
  const keys = new Set(seen.flatMap((s) => s.objects.filter(named).map((o) => `${singular(o.name.toLowerCase())}_id`)));
  const people = seen.filter((s) => {
    const personal = s.objects.filter((o) => o.access === 'read' && !o.temp && personalData(o));
    if (!s.ran || s.statement.kind !== 'select' || personal.length === 0 || personal.every(named)) return false;
    const code = codeOf(s, input);
    if (statementValues(code).some((value) => values.has(value)) || keyColumns(code).some((column) => keys.has(column))) return false;
    const list = /\bselect\b([\s\S]*?)\bfrom\b/i.exec(code)?.[1] ?? '';
    const who = IDENTIFIES.test(list) || /(?:^|[\s,.])\*(?:\s|,|$)/.test(list);
    return who && (!AGGREGATE.test(code) || IDENTIFIES.test(list));
  });
  if (people.length < PEOPLE_AFTER_FIGURES) return [];
  const tables = names(people.flatMap((s) => s.objects.filter((o) => o.access === 'read' && personalData(o)).map((o) => o.label)));
  return [{ code: 'after-task', severity: 'warning', message: `The reason asks for figures ("${asked[0].trim()}"), and ${plural(people.length, 'statement')} read rows of ${tables} that say who they are about, which the reason does not point at.`, statements: indexes(people) }];
};

/**
 * Who asked is not what to work on: "correction requested by the distributor" names no distributor's row
 * to change. The asker's words ("requested by the X", "on behalf of the X", "pedido por el X") are left out.
 */
const WHO_ASKED = /\b(?:(?:requested|asked|reported|raised|demanded|wanted|submitted|sent|flagged|noticed|spotted|pedid[oa]|solicitad[oa]|demande|signale|gemeldet|angefragt)\s+(?:by|por|par|von)|on\s+behalf\s+of|at\s+the\s+request\s+of)\s+(?:(?:the|our|a|an|this|that|their|el|la|le|les|un|une|une|der|die|dem|den)\s+)?[\p{L}\d_-]+/giu;
const withoutWhoAsked = (reason: string) => reason.normalize('NFD').replace(/\p{M}/gu, '').replace(WHO_ASKED, ' ');

/**
 * When the reason names no table, the task is the first table whose rows the session changed: an UPDATE or DELETE of another
 * table afterwards that reads none of the task's tables and uses none of its values (ids and references,
 * or the keys its WHERE picked) is drift (`store.items` fixed, then `UPDATE store.promo_codes ...`;
 * `meter.import_runs` retried, then `UPDATE scada.setpoints ...`). Reads are left alone: an investigation
 * without named tables wanders.
 */
function changeElsewhere(seen: Seen[], input: SessionRuleInput, relevant: (o: Resolved) => boolean): SessionFlag[] {
  const ran = seen.filter((s) => s.ran && s.objects.some(relevant));
  // Changes of rows (UPDATE, DELETE): a schema change or a load is described work of its own.
  const changes = (s: Seen) => (['update', 'delete'].includes(s.statement.kind) ? s.objects.filter((o) => relevant(o) && o.access === 'write') : []);
  const first = ran.find((s) => changes(s).length > 0);
  if (!first) return [];
  // The task: the tables touched up to its first change (what it inserted or looked at first belongs to it).
  const home = new Set(ran.filter((s) => s.index <= first.index).flatMap((s) => s.objects.filter(relevant).map((o) => o.label)));
  const onHome = ran.filter((s) => s.objects.some((o) => home.has(o.label)));
  // Its values: ids and references, the keys its WHERE picked, and longer strings (`'https://staging.example'`).
  const valuesOf = (s: Seen) => [...statementValues(codeOf(s, input)).filter((value) => /\d/.test(value) || value.length >= 6), ...pinnedKeys(whereOf(codeOf(s, input))).flatMap(({ literals }) => literals)];
  const found = ran.filter((s) => {
    if (s.index <= first.index || changes(s).length === 0 || changes(s).every((o) => home.has(o.label))) return false;
    const before = onHome.filter((other) => other.index < s.index);
    const tables = new Set(before.flatMap((other) => other.objects.filter(relevant).map((o) => o.label)));
    const values = new Set(before.flatMap(valuesOf));
    return !s.objects.some((o) => o.access === 'read' && tables.has(o.label)) && !valuesOf(s).some((value) => values.has(value));
  });
  if (found.length === 0) return [];
  const what = names(found.flatMap((s) => changes(s).map((o) => o.label)));
  return [{ code: 'after-task', severity: 'warning', message: `After changing ${names(changes(first).map((o) => o.label))}, which the session started on, changed ${what}, which the reason does not name.`, statements: indexes(found) }];
}

/**
 * A change to another record of the kind the reason names: the session worked on the record the reason
 * names by a key (`customer_id = 20577`), then changed rows of that key with values the reason does not
 * hold (`UPDATE discounts ... WHERE customer_id = 31004`). `id` counts as the same key in the same table
 * only. Two records the reason names (a merge of 4410 into 5120) are its task.
 */
function otherRecordChanged(seen: Seen[], input: SessionRuleInput, values: Set<string>): SessionFlag[] {
  const namedKeys = new Set<string>();
  const found: Seen[] = [];
  for (const s of seen.filter((statement) => statement.ran)) {
    const table = s.objects.find((o) => o.access !== 'read')?.label ?? s.objects[0]?.label ?? '';
    // What its WHERE picks (not what its SET writes); a statement that picks the named record by any key is about it.
    const pinned = pinnedKeys(whereOf(codeOf(s, input))).map(({ column, literals }) => ({ key: column === 'id' ? `${table}.id` : column, literals }));
    const aboutNamed = pinned.filter(({ literals }) => literals.some((value) => values.has(value)));
    aboutNamed.forEach(({ key }) => namedKeys.add(key));
    if (aboutNamed.length === 0 && ['update', 'delete'].includes(s.statement.kind) && pinned.some(({ key, literals }) => namedKeys.has(key) && literals.length > 0)) found.push(s);
  }
  if (found.length === 0) return [];
  const what = names(found.flatMap((s) => s.objects.filter((o) => o.access === 'write').map((o) => o.label)));
  return [{ code: 'after-task', severity: 'warning', message: `Changed rows of ${what} for another record than the one the reason names.`, statements: indexes(found) }];
}

/** What follows a statement's first WHERE: what it picks rows by (not what a SET writes). */
const whereOf = (code: string) => code.split(/\bWHERE\b/i).slice(1).join(' WHERE ');

/** Keys compared with literals (`customer_id = 31004`, `id IN (4, 5)`): the column and its values, folded as reasonValues folds them. */
function pinnedKeys(code: string): Array<{ column: string; literals: string[] }> {
  return [...code.matchAll(/\b(?:\w+\.)?"?((?:\w+_)?id)"?\s*(?:=\s*('(?:[^']|'')*'|\d+)|\bIN\s*\(((?:\s*(?:'(?:[^']|'')*'|\d+)\s*,?)+)\))/gi)].map((match) => ({
    column: match[1]!.toLowerCase(),
    literals: [...(match[2] ?? match[3] ?? '').matchAll(/'((?:[^']|'')*)'|(\d+)/g)].map((literal) => (literal[1] !== undefined ? literal[1].toLowerCase().trim() : String(Number(literal[2])))),
  }));
}

/** Key columns compared with a value or a bound parameter (`= 70044`, `IN ('a', 'b')`, `= $1`, `= ?`, `= :id`), either side. */
const comparedKeys = (code: string) =>
  [
    ...code.toLowerCase().matchAll(/\b([a-z][a-z0-9_]*_id)\b"?\s*(?:=|<>|!=|\bin\s*\(\s*(?!select\b))\s*(?:'|\d|\$|\?|:\w|@)/g),
    ...code.toLowerCase().matchAll(/(?:'[^']*'|\b\d+|\$\d+|\?)\s*=\s*(?:\w+\.)?"?([a-z][a-z0-9_]*_id)\b/g),
  ].map((match) => match[1]!);

/** What in a reason can name rows: numbers of two digits or more, references holding a digit (`SUP-7012`, `ch_3Pq`, `2026-11-03`), and upper-case codes (`SP-KSC`). */
function reasonValues(reason: string): Set<string> {
  const values = new Set<string>();
  for (const [code] of reason.matchAll(/\b[A-Z]{2,}(?:-[A-Z]{2,})+\b/g)) values.add(code.toLowerCase());
  for (const [token] of reason.toLowerCase().matchAll(/[a-z0-9_-]*\d[a-z0-9_-]*/g)) {
    if (token.length >= 2) values.add(token.replace(/^[-_]+|[-_]+$/g, ''));
  }
  for (const [number] of reason.matchAll(/\d{2,}/g)) values.add(String(Number(number)));
  return values;
}
/** The values a statement compares or writes: its numbers (not a LIMIT's or OFFSET's count) and its strings. */
function statementValues(code: string): string[] {
  const strings = [...code.matchAll(/'((?:[^']|'')*)'/g)].map((match) => match[1]!.replace(/''/g, "'").toLowerCase().trim());
  const rest = code.replace(/'(?:[^']|'')*'/g, "''").replace(/\b(?:LIMIT|OFFSET)\s+\d+(?:\s*,\s*\d+)?/gi, '');
  const numbers = [...rest.matchAll(/(?<![\w.$])\d{2,}(?![\w.])/g)].map((match) => String(Number(match[0])));
  return [...strings, ...numbers];
}

/** `refunds` -> `refund`, `categories` -> `category`, `addresses` -> `address`; other names as they are. */
function singular(name: string): string {
  if (/ies$/.test(name)) return `${name.slice(0, -3)}y`;
  if (/(?:ss|sh|ch|x)es$/.test(name)) return name.slice(0, -2);
  if (/[^s]s$/.test(name)) return name.slice(0, -1);
  return name;
}
/** The table's name or its singular, as words, `_` written as `_`, a space or `-`. */
function namedIn(text: string, name: string): boolean {
  const forms = [...new Set([name, singular(name)])].map((form) => escapeRegExp(form).replace(/_/g, '[ _-]'));
  return new RegExp(`(^|[^a-z0-9_])(?:${forms.join('|')})([^a-z0-9_]|$)`).test(text);
}
/**
 * A name of two words or more whose every word (of three letters or more), or its singular, is a word
 * of the reason, in any order and apart: "retry failed digest jobs" names `failed_jobs`, "the export
 * jobs and their files" names `job_files`.
 */
function namedInWords(text: string, name: string): boolean {
  const words = name.split('_').filter((word) => word.length >= 3);
  if (words.length < 2) return false;
  const said = new Set(text.split(/[^a-z0-9]+/).flatMap((word) => [word, singular(word)]));
  return words.every((word) => said.has(word) || said.has(singular(word)));
}
/** Key columns a statement's code mentions (`order_id`, `"customerId"` is not one: ORMs' camelCase keys are left alone). */
const keyColumns = (code: string) => [...code.toLowerCase().matchAll(/\b([a-z][a-z0-9_]*_id)\b/g)].map((match) => match[1]!);
