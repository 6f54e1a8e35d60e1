import { codeOf, commands, dangerous, names, type Rule } from './session-check-helpers.js';
import type { Seen } from './session-types.js';
import { DDL_WORDS, PRIVILEGE_COMMANDS } from './session-commands.js';

/** What the grant allows: schema changes only under admin, changes of data not under read. */

export const ddlBeyondGrant: Rule = (seen, input) => {
  if (input.level === 'admin') return [];
  const found = seen.filter((s) => {
    const { kind, command, parsed } = s.statement;
    const ddl = kind === 'ddl' || (!parsed && DDL_WORDS.test(command) && !PRIVILEGE_COMMANDS.test(command));
    const created = s.objects.filter((o) => o.access === 'ddl');
    const temporaryOnly = /TEMP/.test(command) || (created.length > 0 && created.every((o) => o.temp));
    return ddl && !temporaryOnly;
  });
  return [
    dangerous('ddl-beyond-grant', found, (done) => `Schema changes under the ${input.levelName} grant: ${commands(done)}.`, (tried) => `Tried schema changes under the ${input.levelName} grant (${commands(tried)}); the server refused.`),
  ];
};

/**
 * A procedure whose name says it changes data (`close_period`, `purgeOldCarts`, `sp_update_prices`):
 * the rules cannot see into it, but its name says what a reviewer would read it as. Names that report,
 * list or compute (`monthly_sales`, `get_totals`) are reads.
 */
const CHANGING_VERBS = new Set([
  'add', 'apply', 'approve', 'archive', 'assign', 'backfill', 'cancel', 'charge', 'clean', 'cleanup', 'clear', 'close', 'create',
  'deactivate', 'del', 'delete', 'disable', 'drop', 'enable', 'erase', 'expire', 'fix', 'import', 'ins', 'insert', 'load', 'mark',
  'merge', 'migrate', 'move', 'post', 'purge', 'rebuild', 'recalc', 'recalculate', 'refund', 'reject', 'remove', 'repair', 'reset',
  'rotate', 'set', 'settle', 'sync', 'transfer', 'truncate', 'upd', 'update', 'upsert', 'void', 'wipe', 'write',
]);
const wordsOf = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/_+/).filter(Boolean);
export function changingRoutine(name: string): boolean {
  const words = wordsOf(name);
  // Prefixes that only say "a stored procedure": sp_update_prices, usp_purge, proc_close.
  while (words.length > 1 && /^(?:u?sp|proc|fn|p)$/.test(words[0]!)) words.shift();
  return words.length > 0 && CHANGING_VERBS.has(words[0]!);
}

/**
 * Changes of data under a read grant: INSERT, UPDATE, DELETE, MERGE, REPLACE, upserts, TRUNCATE, loads
 * (COPY FROM, LOAD DATA), a change inside WITH or run by EXPLAIN ANALYZE, and CALL of a procedure
 * named for a change. The session's own temporary tables are its scratch space.
 */
const CHANGING_COMMANDS = /^(?:INSERT|UPDATE|DELETE|REPLACE|MERGE|UPSERT|TRUNCATE|LOAD DATA|LOAD XML)\b/;
export const writeBeyondGrant: Rule = (seen, input) => {
  if (input.level !== 'read') return [];
  const written = (s: Seen) => s.objects.filter((o) => o.access === 'write' && !o.temp && !o.system);
  const calls = (s: Seen) => (/^CALL\b/.test(s.statement.command) ? s.statement.functions.filter(changingRoutine) : []);
  // Text no parser could read still says what it does by its first words.
  const unread = (s: Seen) => !s.statement.parsed && CHANGING_COMMANDS.test(s.statement.command);
  const found = seen.filter((s) => written(s).length > 0 || calls(s).length > 0 || unread(s));
  const what = (those: Seen[]) =>
    names(those.flatMap((s) => [...written(s).map((o) => `${s.statement.command} on ${o.label}`), ...calls(s).map((name) => `CALL ${name}`), ...(unread(s) ? [s.statement.command] : [])]));
  return [
    dangerous('write-beyond-grant', found, (done) => `Changed data under the ${input.levelName} grant: ${what(done)}.`, (tried) => `Tried to change data under the ${input.levelName} grant (${what(tried)}); the server refused.`),
  ];
};

/**
 * What a reason says when it asks for a schema change, in the languages reasons are written in:
 * migrations and their tools, the objects (column, index, constraint, view, trigger, partition...)
 * and the verbs (create, add, rename, drop, deploy). Matched at the start of words, so that
 * `migration`, `Migrationen`, `migración` and `indexes` are all read.
 */
const SCHEMA_WORDS = new RegExp(
  String.raw`(?:^|[^\p{L}\d])(?:` +
    [
      // English, and the migration tools' names
      'migrat', 'schema', 'ddl', 'alter', 'column', 'index', 'indices', 'constraint', 'foreign key', 'primary key', 'fk', 'pk', 'unique', 'create', 'add',
      'drop', 'rename', 'partition', 'view', 'trigger', 'function', 'procedure', 'extension', 'sequence', 'enum', 'default', 'nullable', 'not null',
      'rls', 'row level security', 'row-level security',
      'deploy', 'release', 'rollout', 'roll out', 'upgrade', 'refactor', 'backfill', 'changeset', 'liquibase', 'flyway', 'alembic', 'prisma', 'knex',
      'sqitch', 'goose', 'dbmate', 'typeorm', 'sequelize', 'rails', 'django', 'install', 'widen', 'narrow', 'modify', 'comment', 'document',
      'autovacuum', 'fillfactor', 'storage', 'tablespace', 'vacuum', 'reindex', 'cluster', 'statistics target', 'stats target', 'set statistics', 'n_distinct', 'extended statistics',
      'compress', 'hypertable', 'chunk', 'retention policy',
      // French, German, Spanish, Portuguese, Italian
      'colonne', 'contrainte', 'schéma', 'créer', 'création', 'ajout', 'renomm', 'supprim', 'vue', 'déploi', 'clé',
      'spalte', 'indiz', 'anleg', 'hinzufüg', 'umbenenn', 'fremdschlüssel', 'primärschlüssel', 'erstell', 'einspiel',
      'columna', 'índice', 'esquema', 'crear', 'añadir', 'agregar', 'renombr', 'restricci', 'partici', 'vista', 'despliegue', 'clave',
      'coluna', 'criar', 'adicionar', 'renomear', 'restriç', 'partiç', 'chave', 'implanta', 'migraç',
      'colonna', 'indice', 'creare', 'aggiungere', 'rinominare', 'vincolo', 'chiave',
      // Norwegian, Danish, Swedish, Dutch, Polish
      'opprett', 'opret', 'skapa', 'legg til', 'lägg till', 'tilføj', 'kolonne', 'kolumn', 'kolom', 'indeks', 'partisjon', 'partitioner',
      'omdøp', 'byt namn', 'aanmaken', 'toevoegen', 'hernoem', 'utwórz', 'dodaj', 'partycj', 'zmień nazw',
    ].join('|') +
    ')' +
    // Japanese and Chinese, written without spaces between words: create, add, index, column, partition.
    String.raw`|作成|追加|インデックス|カラム|パーティション|索引|创建|添加|分区`,
  'iu',
);
export const describesSchemaChange = (reason: string) => SCHEMA_WORDS.test(reason);

/** What a reason says when it asks only to look: check, review, export, count...; revisar, vérifier, prüfen, controllare. */
const LOOKING_WORDS = new RegExp(
  String.raw`(?:^|[^\p{L}\d])(?:` +
    [
      'check', 'look', 'investigat', 'verif', 'review', 'inspect', 'export', 'list', 'report', 'count', 'find', 'see', 'read', 'query', 'analy',
      'extract', 'pull', 'fetch', 'confirm', 'control', 'contrôl',
      'revis', 'comprob', 'consult', 'mirar', 'buscar', 'contar', 'regard', 'cherch', 'compter', 'prüf', 'überprüf', 'nachseh', 'anseh',
      'kontrollier', 'such', 'zähl', 'auflist', 'cercar', 'esportar',
      'sjekk', 'kontroller', 'undersøk', 'kolla', 'granska', 'tjek', 'controleer', 'bekijk', 'sprawdź', 'sprawdz', 'tarkista',
    ].join('|') +
    ')' +
    String.raw`|確認|調査|检查|查看`,
  'iu',
);

/**
 * Under an admin grant schema changes are allowed, and ordinary when the reason asks for them. When
 * it asks only to look ("check the orders of customer 3", "export the active plans"), a CREATE or
 * ALTER is worth a look. A reason that says neither gets the benefit of the doubt: people describe
 * changes in words no list holds ("widen coupon_code to 64 chars"). The session's temporary tables,
 * and a migration tool's own records, are not changes of the schema.
 */
/**
 * The reason names a parameter the statement sets (`SET (parallel_workers = 8)`, `STATS_SAMPLE_PAGES = 200`:
 * "raise parallel workers"), or what a column's SET STATISTICS, STORAGE or COMPRESSION changes ("more statistics on region").
 */
function setsWhatTheReasonNames(code: string, reason: string): boolean {
  const said = reason.toLowerCase().replace(/_/g, ' ');
  const set = [...code.matchAll(/\b([a-z]+(?:_[a-z]+)+)\s*=/gi)].map((match) => `${match[1]!.toLowerCase().replace(/_/g, ' ')}(?:[^a-z]|$)`);
  const column = [...code.matchAll(/\bSET\s+(STATISTICS|STORAGE|COMPRESSION)\b/gi)].map((match) => match[1]!.toLowerCase().replace(/s$|ion$/, ''));
  return [...set, ...column].some((name) => new RegExp(`(?:^|[^a-z])${name}`).test(said));
}

export const schemaChangeUndescribed: Rule = (seen, input) => {
  // The names of what the session touched are not words of the reason's: "readings: new partitions" does not ask to read.
  const touched = new Set(seen.flatMap((s) => s.objects.map((o) => o.name.toLowerCase())));
  const reason = input.reason.replace(/[\p{L}\d_]+/gu, (word) => (touched.has(word.toLowerCase()) ? ' ' : word));
  if (input.level !== 'admin' || describesSchemaChange(reason) || !LOOKING_WORDS.test(reason)) return [];
  const found = seen.filter((s) => {
    const { kind, command, parsed } = s.statement;
    const ddl = kind === 'ddl' || (!parsed && DDL_WORDS.test(command) && !PRIVILEGE_COMMANDS.test(command));
    const changed = s.objects.filter((o) => o.access === 'ddl');
    return ddl && !/TEMP/.test(command) && !(changed.length > 0 && changed.every((o) => o.temp || o.bookkeeping)) && !setsWhatTheReasonNames(codeOf(s, input), input.reason);
  });
  if (found.length === 0) return [];
  const tried = found.every((s) => !s.ran);
  return [{
    code: 'schema-change-unexplained',
    severity: 'warning',
    message: `${tried ? 'Tried schema changes' : 'Schema changes'} the reason does not describe: ${commands(found)}${tried ? '; the server refused' : ''}.`,
    statements: found.map((s) => s.index),
  }];
};
