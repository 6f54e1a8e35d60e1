import type { ScopeItem } from '../credentials/scope.js';
import type { SqlDialect } from './sql-dialect.js';
import type { ParsedStatement, StatementKind, TouchedObject } from './sql-statements.js';

/** What the session rules take and give (see session-rules.ts). */

export interface SessionRuleInput {
  /** The engine's SQL, and where it keeps its catalogs, credentials and logs. */
  dialect: SqlDialect;
  /** The built-in level the grant counts as. */
  level: 'read' | 'write' | 'admin';
  levelName: string;
  /** Empty = whole database. */
  scope: ScopeItem[];
  reason: string;
  tags: string[];
  tableTags: Record<string, string[]>;
  statements: Array<{ at: Date; statement: string; error?: string | undefined }>;
  truncated: boolean;
  activeFrom: Date;
  activeUntil: Date;
}

export type FlagSeverity = 'info' | 'warning' | 'critical';

export interface SessionFlag {
  code: string;
  severity: FlagSeverity;
  message: string;
  /** Indexes into `parsed`. */
  statements: number[];
}

export interface SessionFacts {
  statements: number;
  byKind: Partial<Record<StatementKind, number>>;
  /** Objects touched, `schema.name` (bare name when the schema is unknown). */
  objects: string[];
  /** Statements the server refused for lack of privilege. */
  denied: number;
  /** Statements no parser could read. */
  unparsed: number;
}

/** Every code analyzeSession can raise, most serious first. */
export const SESSION_FLAG_CODES = [
  'outside-window',
  'privilege-change',
  'catalog-change',
  'capture-evasion',
  'credential-tables',
  'stored-secrets',
  'ddl-beyond-grant',
  'schema-change-unexplained',
  'write-beyond-grant',
  'drop',
  'unbounded-change',
  'bulk-export',
  'outside-scope',
  'probing',
  'select-star-pii',
  'after-task',
  'ai-instructions',
  'denied',
  'opaque-code',
  'system-catalogs',
  'unparsed',
  'truncated',
] as const;
export type SessionFlagCode = (typeof SESSION_FLAG_CODES)[number];

/** A touched object with its name resolved against the session. */
export interface Resolved {
  schema?: string | undefined;
  name: string;
  access: TouchedObject['access'];
  /** `schema.name`, quoted where needed, for messages. */
  label: string;
  system: boolean;
  credential: boolean;
  temp: boolean;
  /** A migration tool's records or lock, under a grant that allows schema changes (migration-bookkeeping.ts). */
  bookkeeping: boolean;
  tags: Set<string>;
  /** A temporary table or a view the session filled from bounded reads only: reading all of it reads no whole table. */
  filledBounded: boolean;
  inScope: boolean;
}

/** A statement as the rules see it. */
export interface Seen {
  index: number;
  statement: ParsedStatement;
  at: Date | undefined;
  ran: boolean;
  refused: boolean;
  objects: Resolved[];
  /** Schema-qualified functions and procedures it calls, and whether their schema is in the scope. */
  routines: Array<{ label: string; inScope: boolean }>;
}
