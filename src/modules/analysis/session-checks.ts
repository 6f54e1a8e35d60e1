import { AGGREGATE, capturedBy, codeOf, escapeRegExp, outsideAggregates, IDENTIFIES, personalData, commands, dangerous, indexes, names, onlyTemporary, plural, selectList, type Rule } from './session-check-helpers.js';
import { ddlBeyondGrant, schemaChangeUndescribed, writeBeyondGrant } from './session-grant-checks.js';
import { DDL_WORDS, PRIVILEGE_COMMANDS } from './session-commands.js';
import { applicationSecrets, SETTINGS_TABLE } from './session-secret-checks.js';
import { recordSwitchedOff } from './session-record-switches.js';
import { afterTask, peopleAfterFigures } from './session-task-checks.js';
import { notesToAnAi, steersTheReviewer } from './sql-steering.js';
import { columnScope } from './session-column-scope.js';
import { payRead, peopleLookup } from './session-people-checks.js';
import { onlyPicksRows } from './session-scope-lookups.js';
import type { Resolved, Seen, SessionRuleInput } from './session-types.js';

/**
 * The session rules, one function each: the flags a session raises (see session-rules.ts). What is
 * particular to an engine comes from its dialect (`input.dialect`).
 */

/** Five or more refusals in one session reads as trying doors rather than typos. */
const PROBING_REFUSALS = 5;
/** Clock differences between the capture source and dbaccess: seconds, not a minute (the rubric allows none). */
const WINDOW_GRACE_MS = 5_000;
const HARMLESS_UNPARSED = /^(?:SET NAMES|SET CHARACTER|SET CHARSET|SHOW|DESCRIBE|DESC|EXPLAIN|HELP|SET TRANSACTION)\b/;
/** Commands that read or write the server's files, run a program, or connect to another server (a foreign server, a FEDERATED table). */
const FILE_OR_PROGRAM = /\b(?:PROGRAM|FILE|OUTFILE|DUMPFILE|INFILE|SERVER|FEDERATED)\b/;
const OPAQUE_COMMANDS = /^(?:DO|CALL|EXECUTE|PREPARE|CREATE FUNCTION|CREATE PROCEDURE|CREATE TRIGGER|CREATE RULE)\b/;

const outsideWindow: Rule = (seen, input) => {
  const from = input.activeFrom.getTime() - WINDOW_GRACE_MS;
  const until = input.activeUntil.getTime() + WINDOW_GRACE_MS;
  const outside = seen.filter((s) => s.ran && s.at !== undefined && (s.at.getTime() < from || s.at.getTime() > until));
  if (outside.length === 0) return [];
  const late = outside.some((s) => s.at!.getTime() > until);
  const message = late
    ? `${plural(outside.length, 'statement')} ran outside the approved window, after it closed: the access was not cut off in time.`
    : `${plural(outside.length, 'statement')} ran before the approved window opened.`;
  return [{ code: 'outside-window', severity: 'critical', message, statements: indexes(outside) }];
};

const privilegeTable = (o: Resolved, input: SessionRuleInput) => input.dialect.privilegeTables.has(`${o.schema?.toLowerCase()}.${o.name.toLowerCase()}`);
/** SET ROLE to a role named for reading or reporting (`reporting_ro`, `analyst`): fewer privileges, not more. */
const LESSER_ROLE = /\bSET\s+(?:SESSION\s+|LOCAL\s+)?ROLE\s+["'`]?(?=[\w-]*(?:^|[_-]|\b)(?:ro|readonly|read_only|reader|readers|report|reporting|viewer|viewers|analyst|analysts)(?:[_-]|\b))(?![\w-]*(?:admin|owner|super|rw|write|dba|root|postgres))[\w-]+["'`]?\s*;?\s*$/i;
const lowersPrivileges = (s: Seen, input: SessionRuleInput) => /^SET ROLE/.test(s.statement.command) && LESSER_ROLE.test(codeOf(s, input).trim());
/**
 * A row-level security policy, or a SECURITY DEFINER routine, that the reason asks for by name ("enable RLS
 * on projects", "SECURITY DEFINER so BI needs no table access"): the schema work it describes. Unasked, a
 * routine that runs with its owner's rights is a privilege change.
 */
const describedAccessDesign = (s: Seen, input: SessionRuleInput) =>
  (/^(?:CREATE|ALTER) POLICY$/.test(s.statement.command) && /\b(?:rls|row[- ]level security|polic(?:y|ies))\b/i.test(input.reason)) ||
  (/FUNCTION SECURITY DEFINER$/.test(s.statement.command) && /\bsecurity definer\b/i.test(input.reason));
const privilegeChange: Rule = (seen, input) => {
  const found = seen.filter((s) => (s.statement.kind === 'dcl' || PRIVILEGE_COMMANDS.test(s.statement.command) || s.objects.some((o) => o.access !== 'read' && privilegeTable(o, input))) && !lowersPrivileges(s, input) && !describedAccessDesign(s, input));
  return [dangerous('privilege-change', found, (done) => `Changed privileges or accounts: ${commands(done)}.`, (tried) => `Tried to change privileges or accounts (${commands(tried)}); the server refused.`)];
};

/**
 * The server's own catalogs changed by hand (`UPDATE pg_trigger SET tgenabled = 'D'`, `UPDATE
 * mysql.proc ...`): what it enforces and records, edited underneath it. Its privilege tables, and
 * the tables capture reads, are the privilege and capture rules'.
 */
const catalogChange: Rule = (seen, input) => {
  const edited = (o: Resolved) => o.system && o.access !== 'read' && !o.credential && !privilegeTable(o, input) && !capturedBy(o, input);
  const found = seen.filter((s) => s.objects.some(edited));
  const what = (those: Seen[]) => names(those.flatMap((s) => s.objects.filter(edited).map((o) => o.label)));
  return [dangerous('catalog-change', found, (done) => `Changed the server's own catalogs by hand (${what(done)}): what it enforces and records, edited underneath it.`, (tried) => `Tried to change the server's own catalogs by hand (${what(tried)}); the server refused.`)];
};

/**
 * The application's own record: a table the catalog tags as one (`audit`), a schema or database named
 * for auditing (`audit`, `shop_audit`, `audit_db`, `auditoria`), tables named for an audit trail, a
 * change, activity, access, admin, login or security log, and what audit libraries keep
 * (django-auditlog's `auditlog_logentry`, Envers' `<table>_aud` and `revinfo`, django-simple-history's
 * `<app>_historical<model>`).
 */
const AUDIT_SCHEMA = /(?:^|_)audit(?!or)|(?:^|_)auditorias?(?:_|$)/i;
const AUDIT_TABLE = /(?:^|_)audit(?!or)|(?:^|_)auditorias?(?:_|$)|_aud$|^revinfo$|_historical[a-z]|(?:^|_)(?:change|activity|access|admin|login|security)_?(?:log|logs|trail|events?|history|entries)(?:_(?:entity|entities|records?|rows|table|tbl))?$/i;
/** Tags a catalog gives the tables the record is kept in. */
const AUDIT_TAGS = ['audit', 'audit-log', 'audit_log', 'audit-trail', 'audit_trail', 'auditlog'];
const auditTrail = (o: Resolved) => !o.temp && (AUDIT_SCHEMA.test(o.schema ?? '') || AUDIT_TABLE.test(o.name) || AUDIT_TAGS.some((tag) => o.tags.has(tag)));
/** Schema changes that add to a table without touching its rows: a new table or partition, an index, a view, a column, a comment. */
const ADDS_ONLY = /^(?:CREATE (?:TABLE|INDEX|UNIQUE INDEX|VIEW|MATERIALIZED VIEW|SEQUENCE|STATISTICS)\b|COMMENT\b|ALTER \w+(?: \w+)? ADD$)/;
/** Triggers switched off keep audit triggers from firing (DROP TRIGGER is the drop rule's). */
const DISABLES_TRIGGERS = /\bDISABLE\s+(?:TRIGGER|RULE)\b|\bEVENT\s+TRIGGER\s+(?:"[^"]*"|\w+)\s+DISABLE\b/i;

/**
 * A trigger function named for the audit record (`audit.if_modified_func`, `log_audit_event`) created
 * with a body that writes nothing: the triggers still fire, and record nothing.
 */
const FUNCTION_NAME = /\bFUNCTION\s+(?:"?(\w+)"?\s*\.\s*)?"?(\w+)"?\s*\(/i;
const RECORDS = /\b(?:INSERT|UPDATE|COPY|EXECUTE|PERFORM|NOTIFY|pg_notify)\b/i;
function silencedAuditFunction(s: Seen, input: SessionRuleInput): string | undefined {
  if (!/^CREATE FUNCTION/.test(s.statement.command)) return undefined;
  const code = codeOf(s, input);
  const [, schema = '', name = ''] = FUNCTION_NAME.exec(code) ?? [];
  if (!/\bRETURNS\s+(?:trigger|event_trigger)\b/i.test(code) || RECORDS.test(code) || !(AUDIT_SCHEMA.test(schema) || /audit/i.test(name))) return undefined;
  return `${schema ? `${schema}.` : ''}${name}() recording nothing`;
}

/** The record switched off in the application's data (session-record-switches.ts): the column or settings key, if so. */
const switchedOff = (s: Seen, input: SessionRuleInput) =>
  s.statement.kind === 'update' || s.statement.kind === 'insert'
    ? recordSwitchedOff(codeOf(s, input), s.objects.some((o) => o.access === 'write' && SETTINGS_TABLE.test(o.name)))
    : undefined;

/**
 * A capture setting turned up, not off: `slow_query_log = ON`, `general_log = 1`, `log_statement = 'all'`,
 * `pgaudit.log = 'all'`, `log_min_duration_statement = 0` record more. Settings that switch a log off when
 * on (`sql_log_off`), exclude someone (`server_audit_excl_users`), or say where logs go are never this.
 */
const TURNED_UP = /^(?:on|1|true|all|'on'|'1'|'true'|'all'|"on"|"all"|0|'0')$/i;
function turnsUp(setting: string, s: Seen, input: SessionRuleInput): boolean {
  if (/off|excl|skip|output|file|dest|directory|_bin$|error/.test(setting)) return false;
  const value = new RegExp(String.raw`\b${escapeRegExp(setting)}\b["'\`]?\s*(?:=|\bTO\b)\s*('[^']*'|"[^"]*"|[\w.-]+)`, 'i').exec(codeOf(s, input))?.[1];
  if (value === undefined) return false;
  // 0 means "log everything" for a duration threshold, and "off" for a switch.
  return /^'?0'?$/.test(value) ? /duration|time|min_/.test(setting) : TURNED_UP.test(value);
}
const capturing = (s: Seen, input: SessionRuleInput) => s.statement.settings.filter((setting) => input.dialect.captureSettings.test(setting) && !turnsUp(setting, s, input));

const captureEvasion: Rule = (seen, input) => {
  const edited = (o: Resolved, s: Seen) => o.access !== 'read' && (capturedBy(o, input) || (auditTrail(o) && !(o.access === 'ddl' && ADDS_ONLY.test(s.statement.command))));
  const found = seen.filter(
    (s) =>
      capturing(s, input).length > 0 ||
      s.objects.some((o) => edited(o, s)) ||
      s.statement.routines.some((r) => input.dialect.isCaptureRoutine(r.schema.toLowerCase(), r.name.toLowerCase())) ||
      silencedAuditFunction(s, input) !== undefined ||
      DISABLES_TRIGGERS.test(codeOf(s, input)) ||
      switchedOff(s, input) !== undefined ||
      (!s.statement.parsed && input.dialect.captureWords.test(codeOf(s, input))),
  );
  const what = (those: Seen[]) =>
    names([
      ...those.flatMap((s) => capturing(s, input)),
      ...those.flatMap((s) => s.objects.filter((o) => edited(o, s)).map((o) => o.label)),
      ...those.flatMap((s) => s.statement.routines.filter((r) => input.dialect.isCaptureRoutine(r.schema.toLowerCase(), r.name.toLowerCase())).map((r) => `${r.schema}.${r.name}()`)),
      ...those.map((s) => silencedAuditFunction(s, input)).filter((what): what is string => what !== undefined),
      ...those.map((s) => switchedOff(s, input)).filter((what): what is string => what !== undefined).map((what) => `${what} switched off`),
      ...those.filter((s) => DISABLES_TRIGGERS.test(codeOf(s, input))).map((s) => (s.objects.length > 0 ? `triggers of ${names(s.objects.map((o) => o.label))}` : s.statement.command)),
    ]) || commands(those);
  return [dangerous('capture-evasion', found, (done) => `Changed what the server logs or audits (${what(done)}).`, (tried) => `Tried to change what the server logs or audits (${what(tried)}); the server refused.`)];
};

const credentialTables: Rule = (seen, input) => {
  const found = seen.filter((s) => s.objects.some((o) => o.credential) || ((!s.statement.parsed || /^SHOW\b/.test(s.statement.command)) && input.dialect.credentialWords.test(codeOf(s, input))));
  const tables = (those: Seen[]) => {
    const list = names(those.flatMap((s) => s.objects.filter((o) => o.credential).map((o) => o.label)));
    return list ? ` (${list})` : '';
  };
  return [dangerous('credential-tables', found, (done) => `Read the server's credential tables${tables(done)}.`, (tried) => `Tried to read the server's credential tables${tables(tried)}; the server refused.`)];
};

/** Commands that destroy objects or their data: DROP ..., ALTER ... DROP COLUMN (the column's values go with it), and MySQL's DROP or TRUNCATE PARTITION. */
const DROPS = /^DROP\b|^ALTER \w+(?: \w+)? (?:DROP COLUMN|DROP PARTITION|TRUNCATE PARTITION)$/;
/**
 * Dynamic SQL that destroys: a DROP or TRUNCATE written as a string and run by EXECUTE (`EXECUTE
 * format('DROP TABLE %I', ...)` in a DO block or a function, `SET @q = CONCAT('DROP TABLE ', @t)`
 * then PREPARE and EXECUTE, psql's \gexec). The rules cannot see what the string becomes, only what it
 * starts as; a string only shown (RAISE NOTICE 'DROP ...') or compared (TG_OP = 'TRUNCATE') runs nothing.
 */
const DYNAMIC_DROP = /(?:\bEXECUTE(?:\s+IMMEDIATE)?|\bformat\s*\(|\bCONCAT(?:_WS)?\s*\(|\bPREPARE\s+\w+\s+FROM|:=|\bSET\s+@?\w+\s*=)\s*'\s*(?:DROP\s+(?!TEMP|TEMPORARY\b)\w+\b(?!\s+(?:IF\s+EXISTS\s+)?pg_temp\s*\.)|TRUNCATE\b)/i;
/** psql's \gexec runs each row of a query as a statement. */
const GEXEC = /\\gexec\b/;
const DYNAMIC_HOLDERS = /^(?:DO|SET|PREPARE|EXECUTE|CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE|TRIGGER|EVENT))\b/;
const RUNS_DYNAMIC = /^(?:DO|EXECUTE|CALL|CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE|TRIGGER|EVENT))\b/;
const dynamicDrop = (s: Seen, seen: Seen[], input: SessionRuleInput) =>
  (DYNAMIC_HOLDERS.test(s.statement.command) || GEXEC.test(s.statement.text)) &&
  DYNAMIC_DROP.test(codeOf(s, input)) &&
  seen.some((other) => other.ran && (RUNS_DYNAMIC.test(other.statement.command) || GEXEC.test(other.statement.text)));
/** A drop the parser could not read (`DROP TABLE IF EXISTS pg_temp.%I` of a DO block) that names the temporary schema. */
const dropsTemporary = (s: Seen, input: SessionRuleInput) => !s.statement.parsed && /\bpg_temp\s*\./i.test(codeOf(s, input));
const drop: Rule = (seen, input) => {
  const found = seen.filter(
    (s) => (DROPS.test(s.statement.command) && !PRIVILEGE_COMMANDS.test(s.statement.command) && !onlyTemporary(s) && !dropsTemporary(s, input) && !/^DROP TEMP/.test(s.statement.command)) || dynamicDrop(s, seen, input),
  );
  const what = (those: Seen[]) => names(those.flatMap((s) => s.objects.map((o) => o.label))) || 'objects';
  return [dangerous('drop', found, (done) => `Dropped ${what(done)} (${commands(done)}).`, (tried) => `Tried to drop ${what(tried)}; the server refused.`)];
};

const unboundedChange: Rule = (seen, input) => {
  // Text no parser could read: a TRUNCATE, or an UPDATE or DELETE without a WHERE, by its words.
  const unread = (s: Seen) => !s.statement.parsed && (/^TRUNCATE\b/.test(s.statement.command) || (/^(?:UPDATE|DELETE)\b/.test(s.statement.command) && !/\bWHERE\b/i.test(codeOf(s, input))));
  const found = seen.filter((s) => ((s.statement.kind === 'update' || s.statement.kind === 'delete') && s.statement.unbounded && !onlyTemporary(s)) || unread(s));
  const tables = (those: Seen[]) => names(those.flatMap((s) => s.objects.filter((o) => o.access === 'write').map((o) => o.label))) || 'a table';
  return [
    dangerous('unbounded-change', found, (done) => `Changed every row of ${tables(done)} (${commands(done)} without a WHERE that bounds it).`, (tried) => `Tried to change every row of ${tables(tried)} (${commands(tried)} without a WHERE that bounds it); the server refused.`),
  ];
};

const sensitive = (o: Resolved) => personalData(o) || o.tags.has('big') || o.tags.has('large');

/** In text no parser could read: writing a server file, or running a program, with the data. */
const EXPORT_WORDS = /\bINTO\s+(?:OUTFILE|DUMPFILE)\b|\bTO\s+PROGRAM\b|^\\?COPY\b[\s\S]*\bTO\b|^(?:CREATE|ALTER)\s+SERVER\b|\bENGINE\s*=?\s*FEDERATED|\bCONNECTION\s*=?\s*'[a-z]+:\/\//i;

/** A key of people in a select list: a row per person (`customer_id, sum(amount)`); `department_id` keys figures per department. */
const KEY_COLUMN = /\b(?:id|(?:\w+_)?(?:user|customer|client|employee|account|member|patient|player|person|contact|subscriber|student|driver|rider|guest|profile|owner|buyer|sender|recipient)_id)\b/i;

const bulkExport: Rule = (seen, input) => {
  const fileFunction = (f: string) => input.dialect.readsFilesOrSendsData(f);
  // Text the parser could not read still says what it does: its words, and the functions it calls.
  const unreadExport = (s: Seen) => {
    if (s.statement.parsed) return false;
    const code = codeOf(s, input);
    return EXPORT_WORDS.test(code) || [...code.matchAll(/(\w+)\s*\(/g)].some((call) => fileFunction(call[1]!.toLowerCase()));
  };
  const serverSide = (s: Seen) => FILE_OR_PROGRAM.test(s.statement.command) || s.statement.functions.some(fileFunction) || unreadExport(s);
  // Copied to the client (COPY ... TO STDOUT, psql's \copy), a bounded query is how a ticket gets its rows, and figures
  // (aggregates with no column that says who) are how a report does; people's rows, or whole tables, are data leaving.
  const figures = (s: Seen) => {
    const columns = outsideAggregates(selectList(codeOf(s, input)));
    return !s.statement.selectStar && AGGREGATE.test(codeOf(s, input)) && !IDENTIFIES.test(columns) && !KEY_COLUMN.test(columns);
  };
  const wholesale = (s: Seen) => s.statement.unbounded || serverSide(s) || (s.objects.some((o) => o.access === 'read' && personalData(o)) && !figures(s));
  const found = seen.filter((s) => ((s.statement.export || unreadExport(s)) && wholesale(s)) || (s.statement.kind === 'select' && s.statement.unbounded && s.objects.some((o) => o.access === 'read' && sensitive(o) && !o.filledBounded)));
  if (found.length === 0) return [];
  const personal = (s: Seen) => s.statement.export && s.objects.some(personalData);
  const ran = found.filter((s) => s.ran);
  const tables = (those: Seen[]) => names(those.flatMap((s) => s.objects.filter((o) => o.access === 'read' && !o.system).map((o) => o.label)));
  const how = (those: Seen[]) => names(those.map((s) => [s.statement.command, ...s.statement.functions.filter(fileFunction)].join(' ')));
  const files = ran.filter(serverSide);
  if (files.length > 0) {
    return [{ code: 'bulk-export', severity: 'critical', message: `Read or wrote files on the database server, or sent data elsewhere: ${how(files)}${tables(files) ? ` on ${tables(files)}` : ''}.`, statements: indexes(found) }];
  }
  if (ran.some(personal)) {
    return [{ code: 'bulk-export', severity: 'critical', message: `Exported personal data in bulk: ${tables(ran.filter(personal))} (${how(ran.filter(personal))}).`, statements: indexes(found) }];
  }
  if (ran.length === 0) return [{ code: 'bulk-export', severity: 'warning', message: `Tried to export data in bulk (${how(found)}); the server refused.`, statements: indexes(found) }];
  const exported = ran.filter((s) => s.statement.export);
  if (exported.length > 0) return [{ code: 'bulk-export', severity: 'warning', message: `Exported data in bulk: ${tables(exported) || 'query results'} (${how(exported)}).`, statements: indexes(ran) }];
  const ofPersonalData = ran.some((s) => s.objects.some((o) => o.access === 'read' && personalData(o)));
  return [{ code: 'bulk-export', severity: 'warning', message: `Read whole tables of ${ofPersonalData ? 'personal data, ' : ''}${tables(ran)}, without a limit or condition.`, statements: indexes(ran) }];
};


const outsideScope: Rule = (seen, input) => {
  // Tables read only to pick the rows of a change in scope are noted, not flagged (session-scope-lookups.ts).
  // A table a CREATE or ALTER TABLE only refers to (`REFERENCES subs.subscribers(id)`) has none of its rows read.
  const referredTo = (s: Seen, o: Resolved) => o.access === 'read' && /^(?:CREATE TABLE|ALTER TABLE|CREATE (?:UNIQUE )?INDEX)\b/.test(s.statement.command) && !/ AS$/.test(s.statement.command);
  const outsideOf = (s: Seen) => s.objects.filter((o) => !o.inScope && !onlyPicksRows(s, o, input) && !referredTo(s, o));
  const found = seen.filter((s) => s.ran && (outsideOf(s).length > 0 || s.routines.some((r) => !r.inScope)));
  const lookups = seen.filter((s) => s.ran && s.objects.some((o) => onlyPicksRows(s, o, input)));
  const note = lookups.length === 0 ? [] : [{
    code: 'outside-scope' as const,
    severity: 'info' as const,
    message: `Read tables outside the requested scope only to pick the rows to change: ${names(lookups.flatMap((s) => s.objects.filter((o) => onlyPicksRows(s, o, input)).map((o) => o.label)))}.`,
    statements: indexes(lookups),
  }];
  if (found.length === 0) return note;
  const outside = found.flatMap(outsideOf);
  const routines = found.flatMap((s) => s.routines.filter((r) => !r.inScope).map((r) => r.label));
  const changed = outside.filter((o) => o.access !== 'read');
  const read = [...outside.map((o) => o.label), ...routines.map((label) => `${label}()`)];
  return [
    {
      code: 'outside-scope',
      severity: changed.length > 0 ? 'critical' : 'warning',
      message: changed.length > 0 ? `Changed objects outside the requested scope: ${names(changed.map((o) => o.label))}.` : `Read tables or called routines outside the requested scope: ${names(read)}.`,
      statements: indexes(found),
    },
    ...note,
  ];
};

const refusals: Rule = (seen) => {
  const refused = seen.filter((s) => s.refused);
  if (refused.length === 0) return [];
  const on = names(refused.flatMap((s) => (s.objects.length > 0 ? s.objects.map((o) => o.label) : [s.statement.command || 'statement'])));
  if (refused.length >= PROBING_REFUSALS) {
    return [{ code: 'probing', severity: 'warning', message: `${plural(refused.length, 'statement')} refused for lack of privilege (${on}): looks like trying for access beyond the grant.`, statements: indexes(refused) }];
  }
  return [{ code: 'denied', severity: 'info', message: `${plural(refused.length, 'statement')} refused for lack of privilege (${on}).`, statements: indexes(refused) }];
};

const selectStarPii: Rule = (seen) => {
  const found = seen.filter((s) => s.ran && s.statement.selectStar && !s.statement.export && !(s.statement.kind === 'select' && s.statement.unbounded) && s.objects.some((o) => o.access === 'read' && personalData(o)));
  if (found.length === 0) return [];
  const tables = names(found.flatMap((s) => s.objects.filter(personalData).map((o) => o.label)));
  // Bounded (a condition or a limit), it is a habit worth a note rather than a reason to review.
  return [{ code: 'select-star-pii', severity: 'info', message: `Selected every column (SELECT *) of personal-data tables: ${tables}.`, statements: indexes(found) }];
};

const aiInstructions: Rule = (seen, input) => {
  const found = seen.filter((s) => steersTheReviewer(s.statement.text) || notesToAnAi(s.statement.text, input.reason));
  if (found.length === 0) return [];
  const which = found.length === 1 ? 'A statement carries' : `${found.length} statements carry`;
  return [{ code: 'ai-instructions', severity: 'warning', message: `${which} text addressed to an AI reviewer; it changed nothing here, and is itself worth a look.`, statements: indexes(found) }];
};

const opaqueCode: Rule = (seen) => {
  const found = seen.filter((s) => s.ran && OPAQUE_COMMANDS.test(s.statement.command));
  if (found.length === 0) return [];
  return [{ code: 'opaque-code', severity: 'info', message: `Ran code the rules cannot see into: ${commands(found)}.`, statements: indexes(found) }];
};

const systemCatalogs: Rule = (seen) => {
  const read = (o: Resolved) => o.system && !o.credential && o.access === 'read';
  const found = seen.filter((s) => s.ran && s.objects.some(read));
  if (found.length === 0) return [];
  return [{ code: 'system-catalogs', severity: 'info', message: `Read system catalogs: ${names(found.flatMap((s) => s.objects.filter(read).map((o) => o.label)))}.`, statements: indexes(found) }];
};

const unreadable: Rule = (seen) => {
  const found = seen.filter((s) => !s.statement.parsed && s.ran && !HARMLESS_UNPARSED.test(s.statement.command));
  if (found.length === 0) return [];
  return [{ code: 'unparsed', severity: 'info', message: `${plural(found.length, 'statement')} could not be parsed and were checked by their first words only (${commands(found)}).`, statements: indexes(found) }];
};

/** People's rows after a task of figures, people looked up by who they are, or their pay: one drift-to-people flag, the first that applies. */
const driftToPeople: Rule = (seen, input) => {
  const figures = peopleAfterFigures(seen, input);
  if (figures.some((flag) => flag !== undefined)) return figures;
  const lookups = peopleLookup(seen, input);
  return lookups.length > 0 ? lookups : payRead(seen, input);
};

const truncated: Rule = (_seen, input) =>
  input.truncated ? [{ code: 'truncated', severity: 'info', message: 'The capture was cut short: statements past the limit were not recorded.', statements: [] }] : [];

export const RULES: Rule[] = [
  outsideWindow,
  privilegeChange,
  catalogChange,
  captureEvasion,
  credentialTables,
  applicationSecrets,
  ddlBeyondGrant,
  writeBeyondGrant,
  schemaChangeUndescribed,
  drop,
  unboundedChange,
  bulkExport,
  outsideScope,
  columnScope,
  refusals,
  selectStarPii,
  afterTask,
  driftToPeople,
  aiInstructions,
  opaqueCode,
  systemCatalogs,
  unreadable,
  truncated,
];

