import type { AccessLevel, DatabaseEntry } from '../../../config/catalog.js';
import type { SqlDialect } from '../../analysis/sql-dialect.js';
import type { CaptureReader } from '../../capture/capture-reader.js';
import type { AdminCheck, AdminFinding } from '../admin-check.js';
import type { CredentialProvider } from '../credential-types.js';
import type { ScopeItem } from '../scope.js';
import type { VaultClient } from '../vault-client.js';

/**
 * A database engine as the rest of dbaccess sees it: everything that differs between PostgreSQL,
 * MySQL, MariaDB and Vault-issued users sits behind this interface, in the engine's folder, and the
 * registry (registry.ts) holds one line per engine. Nothing outside engines/ asks for an engine by
 * name.
 */

/** What an engine's provider is made with (by the composition root, or the CLI). */
export interface ProviderContext {
  /** This install's id: every user (and group) a provider creates carries it. */
  installId: string;
  /** Admin connections per target at most (a catalog entry's poolSize wins). */
  poolSize?: number | undefined;
  /** How long an idle admin connection is kept. */
  idleMillis?: number | undefined;
  /** Vault, for engines whose users it issues. */
  vault: Pick<VaultClient, 'issue' | 'renew' | 'revoke' | 'health'>;
  /** Another engine's provider by name (Vault ends sessions through the provider of the engine it manages). */
  providerOf(engine: string): CredentialProvider;
}

/** What the card shows of a grant before it runs. */
export interface GrantPreviewInput {
  level: AccessLevel;
  privileges: string[];
  scope: ScopeItem[];
  /** The tenant's user prefix. */
  prefix: string;
  /** The user name once it exists, else a placeholder. */
  username: string;
  /** The install id, or a placeholder. */
  install: string;
}

/** Where and as whom a person connects with the credentials they were given. */
export interface ConnectionDetails {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/** The client program people connect with. */
export interface EngineClient {
  /** Its name as people know it: `psql`, `mysql`. */
  name: string;
  /** A connection URI (`postgresql://…`, `mysql://…`), every part escaped. */
  uri(details: ConnectionDetails): string;
  /** A command line that connects, ready to paste into a shell. */
  command(details: ConnectionDetails): string;
}

/** A problem with one catalog entry that only its engine can see, at a path below the entry. */
export interface EntryProblem {
  /** Where the value is (`['levels', '1']`); empty for the entry itself. */
  at: string[];
  message: string;
  /** The dotted path the message names, when it is not `at` (below the entry). */
  path?: string[];
}

interface EngineBase {
  /** `engine:` in the catalog. */
  name: string;
  /** The name people know: `PostgreSQL`. */
  displayName: string;
  createProvider(context: ProviderContext): CredentialProvider;
  /** The statements a request will run, as approvers see them on the card. */
  grantPreview(entry: DatabaseEntry, input: GrantPreviewInput): string[];
  /** A new temporary user's name: `<prefix><random>`, refused (never truncated) where the server's limit is shorter. */
  userName(entry: DatabaseEntry, prefix: string, random: string): string;
  /** A user name that stands for a user that was never made (nothing to revoke anywhere). */
  neverMade?(username: string): boolean;
  /** Table privileges a custom level may list here (TRUNCATE exists on PostgreSQL only). */
  tablePrivileges: readonly string[];
  /** The capture methods (`capture:`) the engine supports; `none` alone when statements cannot be recorded. */
  captureMethods: readonly string[];
  /** Whether a source-host rule narrows where the user may connect from (policy, `allowedHosts`). */
  restrictsSourceHosts: boolean;
  /** Why entries of this engine take no scope (the grants are not dbaccess's to narrow), or undefined. */
  refusesScope?(entry: DatabaseEntry): string | undefined;
  /** Catalog problems only this engine can see (a section it needs). */
  checkEntry?(entry: DatabaseEntry): EntryProblem[];
  /** Reads the statements its users ran (engines/<engine>/capture.ts); none where nothing is recorded. */
  capture?: CaptureReader | undefined;
}

/** An engine whose server holds the users: dbaccess connects to it as an admin. */
export interface ServerEngine extends EngineBase {
  kind: 'server';
  client: EngineClient;
  /** The admin connection string: the URL schemes it may use, and an example for messages. */
  adminUrl: { schemes: readonly string[]; example: string };
  /** The databases a scope may name on an entry (accounts are server-wide on MySQL), or undefined: inside the entry's database. */
  scopeDatabases?(entry: DatabaseEntry): string[] | undefined;
  /** What the admin account of a target may do against what the provider will ask (`dbaccess doctor`). */
  adminCheck: AdminCheck;
  /** The SQL the session rules read its statements in (engines/<engine>/dialect.ts). */
  dialect: SqlDialect;
}

/** An engine whose users another system issues on a server of a server engine (Vault). */
export interface IssuingEngine extends EngineBase {
  kind: 'issuer';
  /** The name of the server engine that holds the entry's users. */
  servedBy(entry: DatabaseEntry): string;
  /** Needs Vault configured (VAULT_ADDR and VAULT_TOKEN). */
  needsVault: boolean;
  /** What `dbaccess doctor` says of the issuer beside the server's admin check (which then checks session ending only). */
  issuerFindings(entry: DatabaseEntry): AdminFinding[];
}

export type DatabaseEngine = ServerEngine | IssuingEngine;
