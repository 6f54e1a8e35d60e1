import type { AccessLevel, DatabaseEntry } from '../../config/catalog.js';
import type { CaptureMethod } from '../capture/capture-types.js';
import type { ScopeItem } from './scope.js';
import type { TargetObjects } from './scope-check.js';

/** A catalog database with its admin connection string resolved (never logged, never in errors). */
export interface Target {
  entry: DatabaseEntry;
  adminUrl: string;
}

export interface ProvisionSpec {
  username: string;
  /** Plaintext only in memory; providers send a verifier or hash, never this, to the server. */
  password: string;
  expiresAt: Date;
  level: AccessLevel;
  /** The table privileges of a custom level. */
  privileges?: string[];
  scope: ScopeItem[];
  /** The tenant's user prefix (settings.userPrefix): PostgreSQL's access groups carry it too. Default `dba_`. */
  prefix?: string;
  /** How the user's statements are recorded; engines that record per user (PostgreSQL) set it up. */
  capture?: CaptureMethod | undefined;
}

export interface ProvisionResult {
  /** The exact grant statements that give the user its access (never a password or verifier); a reused PostgreSQL access group's ran when it was last granted. */
  statements: string[];
  /** What the scope covers and the admin could not grant, with why (nothing of it was granted). */
  leftOut?: string[];
  /** Engines that choose the user themselves (Vault) say what they issued. */
  issued?: { username: string; password: string; externalLeaseId: string; leaseSeconds: number };
}

export interface RevokeResult {
  /** Sessions that were open and were killed. */
  sessionsKilled: number;
  /** False when the user was already gone (an earlier attempt finished the job). */
  existed: boolean;
}

export interface UserListing {
  ours: string[];
  legacy: string[];
}

/**
 * One engine's way of creating and removing temporary users. Every method is idempotent. A provider
 * is made for one install (its id, from the state database, as configuration) and acts only on users
 * that carry that id, or that predate install ids and whose lease the caller holds.
 */
export interface CredentialProvider {
  /** Creates the user, or brings an existing one (a retried job) to exactly this spec. */
  provision(target: Target, spec: ProvisionSpec): Promise<ProvisionResult>;
  /** Moves the expiry of a live user without touching its password or sessions (Vault: lease renew). */
  extend(target: Target, username: string, expiresAt: Date, externalLeaseId?: string): Promise<void>;
  /**
   * How many sessions of the user are open now (pg_stat_activity, information_schema.PROCESSLIST),
   * whatever the capture setting: the sweep starts a first-login clock from it. Engines without it
   * leave such a lease on its wait deadline.
   */
  sessionCount?(target: Target, username: string): Promise<number>;
  /** Ends every session of the user and waits until none is left; returns how many were ended. */
  killSessions(target: Target, username: string): Promise<number>;
  /** Blocks login, kills every session and waits until none is left, removes owned objects, drops the user, verifies. */
  revoke(target: Target, username: string, externalLeaseId?: string): Promise<RevokeResult>;
  /**
   * For the reconciler, the users on the target's server whose names start with one of the prefixes
   * and that carry a dbaccess marker: `ours`, this install's (its id in the marker); `legacy`, made
   * before install ids (the marker without one), which only the install holding their lease may touch.
   * Users of other installs and anyone else's are not listed.
   */
  listUsers(target: Target, prefixes: string[]): Promise<UserListing>;
  /** Engines that grant through shared groups (PostgreSQL): drops this install's groups with one of the prefixes that no user is in any more; returns their names. */
  dropEmptyGroups?(target: Target, prefixes: string[]): Promise<string[]>;
  /** What exists for the scope to name: schemas, tables, and the columns of tables named with columns. */
  listObjects(target: Target, scope: ScopeItem[]): Promise<TargetObjects>;
  /**
   * Before approval: what a grant of `level` on `scope` would leave out (objects the admin cannot
   * grant), with why, and whether that is everything the scope names (the request is then refused).
   */
  grantable?(target: Target, request: { level: AccessLevel; privileges?: string[] | undefined; scope: ScopeItem[] }): Promise<{ leftOut: string[]; nothingGrantable: boolean }>;
  /** Schemas a whole-database grant covers. */
  listSchemas(target: Target): Promise<string[]>;
  ping(target: Target): Promise<void>;
  close(): Promise<void>;
}
