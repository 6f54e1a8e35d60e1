import type { StatementParser } from './sql-statements.js';

/**
 * What the session rules know of a database engine beyond the words of its statements: its parser,
 * and where it keeps its catalogs, credentials and logs. Each engine's folder implements it
 * (credentials/engines/<engine>/dialect.ts); the analysis finds it by engine (sql-dialects.ts).
 * Names are lower case; tables are `schema.table`.
 */
export interface SqlDialect extends StatementParser {
  /** Where unqualified names point when a session starts; undefined when unknown until it says (USE). */
  readonly defaultSchema: string | undefined;
  /** The schema an unqualified name means whatever the current one is, if any. */
  impliedSchema(name: string): string | undefined;
  readonly systemSchemas: ReadonlySet<string>;
  /** Extensions' catalog views kept in an ordinary schema (PostGIS's spatial_ref_sys), by name: read like catalogs. */
  readonly catalogTables?: ReadonlySet<string>;
  /** A schema of temporary objects other than TEMPORARY_SCHEMA. */
  isTemporarySchema(schema: string): boolean;
  /** Tables holding password hashes or other secrets of the server. */
  readonly credentialTables: ReadonlySet<string>;
  /** Those tables named in text no parser could read. */
  readonly credentialWords: RegExp;
  /** Tables whose rows say who may do what: writing them changes privileges. */
  readonly privilegeTables: ReadonlySet<string>;
  /** Settings that switch off or redirect the logs capture reads, or the triggers that audit. */
  readonly captureSettings: RegExp;
  /** Those settings being set in text no parser could read. */
  readonly captureWords: RegExp;
  /** Tables capture reads from: changing them edits the record. */
  isCaptureTable(schema: string, name: string): boolean;
  /** Procedures and functions (schema and name, lower case) that switch off or empty what capture reads. */
  isCaptureRoutine(schema: string, name: string): boolean;
  /** Functions (without schema) that read the server's files or send data elsewhere. */
  readsFilesOrSendsData(name: string): boolean;
  /** A refusal for lack of privilege, as the capture stores the server's error. */
  readonly permissionError: RegExp;
}
