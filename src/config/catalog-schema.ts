import { z } from 'zod';
import { parseDuration } from '../lib/time.js';
import { policySectionsShape } from './policy-schema.js';
import { retentionSchema } from './retention-schema.js';
import { integrationsSchema } from './integrations-schema.js';
import { reference } from './secret-reference.js';
import { ALL_CAPTURE_METHODS, type CaptureMethod } from './capture-methods.js';

/** An `env:NAME` or `vault:<path>#<field>` reference to a secret (secret-reference.ts). */
export { reference };

/** The catalog's YAML schema: databases, access levels, approvers and the sections of a multi-tenant file. */
export const ACCESS_LEVELS = ['read', 'write', 'admin'] as const;
export type BuiltInLevel = (typeof ACCESS_LEVELS)[number];
/** A built-in level, or the name of a custom level of the catalog. */
export type AccessLevel = string;
/** Table privileges a custom level may list (TRUNCATE exists on PostgreSQL only). */
export const CUSTOM_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;

/** What a level grants on the tables of the scope, and how the risk rating counts it. */
export interface LevelDefinition {
  name: string;
  builtIn: boolean;
  /** For custom levels: the table privileges. */
  privileges: string[];
  riskAs: BuiltInLevel;
  description?: string | undefined;
}
/** An engine's name: which engines exist is the engine registry's to say (CatalogEngines). */
const engineName = z.string().regex(/^[a-z][a-z0-9_-]{1,30}$/, 'must be the name of a database engine such as postgres');

const duration = z
  .string()
  .max(20)
  .refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 30m, 4h or 1h30m')
  .transform((text) => parseDuration(text)!);

const slackId = z.string().regex(/^[A-Z0-9]{2,20}$/, 'must be a Slack id such as C0APPROVALS or U0ALICE');

export const approversSchema = z
  .strictObject({
    slack: z.strictObject({
      channel: slackId,
      users: z.array(slackId).min(1).max(500),
    }).optional(),
    /** Microsoft Teams: the approvers' channel id (19:…@thread.tacv2) and the approvers by email. */
    teams: z.strictObject({
      channel: z.string().regex(/^19:[A-Za-z0-9_.@:-]{5,200}$/, 'must be a Teams channel id such as 19:abc…@thread.tacv2'),
      users: z.array(z.email('must be an email address').max(254)).min(1).max(500),
    }).optional(),
  })
  .refine((approvers) => approvers.slack || approvers.teams, 'name the approvers under slack, teams or both');

export const databaseSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be 1-40 lower-case letters, digits, _ or -, starting with a letter'),
  engine: engineName,
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  database: z.string().min(1).max(63),
  /**
   * MySQL and MariaDB: the databases of the server a scope may name (default: `database` alone). An
   * account is server-wide, so without this bound a scope could name another tenant's database.
   */
  databases: z.array(z.string().min(1).max(64)).min(1).max(50).optional(),
  environment: z.enum(['production', 'staging', 'development']),
  admin: reference,
  description: z.string().max(200).optional(),
  maxDuration: duration.default(4 * 3600),
  levels: z.array(z.string().regex(/^[a-z][a-z0-9_-]{1,30}$/, 'must be read, write, admin or a custom level name')).min(1).max(20).default([...ACCESS_LEVELS]),
  connectionLimit: z.number().int().min(1).max(100).default(5),
  /** Admin connections dbaccess keeps to this database at most (revocations queue behind them). */
  poolSize: z.number().int().min(1).max(50).default(4),
  tags: z.array(z.string().max(40)).max(20).default([]),
  approvers: approversSchema.optional(),
  /** MySQL and MariaDB: hosts the temporary user may connect from (`%` is any). */
  /** Lower-cased: the server stores account hosts in lower case (and compares them as written). */
  allowedHosts: z.array(z.string().min(1).max(255).regex(/^[A-Za-z0-9.%_:-]+$/, 'must be a host name, address or pattern such as 10.0.%').transform((host) => host.toLowerCase())).min(1).max(20).default(['%']),
  /** MySQL 5.x: user names of at most 16 characters. */
  legacyUserNames: z.boolean().default(false),
  /** How a temporary user's statements are recorded (see capture-types.ts); `none` records nothing. */
  capture: z.enum(ALL_CAPTURE_METHODS as [CaptureMethod, ...CaptureMethod[]]).default('none'),
  /**
   * What the capture costs this server, in percent fewer point queries per second (bench scenario 9
   * run against it); shown on the approval card instead of the bench's default figure.
   */
  captureCost: z.number().min(0).max(1000).optional(),
  /** server_audit: the plugin's log file as dbaccess can read it (same host or a mounted volume). */
  captureFile: z.string().min(1).max(500).optional(),
  /** Tags per table (`schema.table` or `table`), e.g. `public.customers: [pii]`, for summaries and flags. */
  tableTags: z.record(z.string().min(1).max(200), z.array(z.string().max(40)).max(20)).default({}),
  /** engine: vault: credentials come from Vault's database secrets engine. */
  vault: z
    .strictObject({
      role: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a Vault role name'),
      mount: z.string().regex(/^[A-Za-z0-9_./-]{1,100}$/).default('database'),
      /** The database Vault manages, for killing live sessions (Vault does not). */
      engine: engineName,
    })
    .optional(),
});

export const customLevelSchema = z.strictObject({
  description: z.string().max(200).optional(),
  privileges: z.array(z.enum(CUSTOM_PRIVILEGES)).min(1).max(CUSTOM_PRIVILEGES.length),
  /** How the risk rating counts it; by default read when it only selects, write otherwise. */
  riskAs: z.enum(ACCESS_LEVELS).optional(),
});

/** What one organisation's catalog holds: its databases, approvers, roles, policies and rules. */
export const sectionShape = {
  approvers: approversSchema,
  // Roles, approval policies and contextual rules (all optional): see modules/policy.
  ...policySectionsShape,
  /** Outside services that policies consult: on-call, tickets, identity-provider groups. */
  integrations: integrationsSchema,
  customLevels: z.record(z.string().regex(/^[a-z][a-z0-9_-]{1,30}$/, 'must be 2-31 lower-case letters, digits, _ or -'), customLevelSchema).default({}),
  settings: z
    .strictObject({
      pendingTimeout: duration.default(3600),
      minDuration: duration.default(300),
      userPrefix: z.string().regex(/^[a-z][a-z0-9_]{1,15}$/, 'must be 2-16 lower-case letters, digits or _').default('dba_'),
    })
    .prefault({}),
  databases: z.array(databaseSchema).min(1).max(1000),
};

/** A file for one workspace (or for every workspace that reaches this install). */
export const catalogSchema = z.strictObject({
  ...sectionShape,
  /** How long history is kept, per kind (modules/retention): forever, except query text 90 days. */
  retention: retentionSchema,
});

/** One tenant's section of a multi-tenant file: the workspaces it serves, and their catalog. */
export const tenantSectionSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be 1-40 lower-case letters, digits, _ or -, starting with a letter'),
    /** Slack workspace ids (T…): on Enterprise Grid, each workspace of the organisation is listed. */
    slack: z.array(z.string().regex(/^T[A-Z0-9]{2,20}$/, 'must be a Slack workspace id (T…); on Enterprise Grid, list each workspace')).max(100).default([]),
    /** Microsoft Entra tenant ids of Teams organisations. */
    teams: z.array(z.uuid('must be a Microsoft Entra tenant id such as 72f988bf-86f1-41af-91ab-2d7cd011db47')).max(100).default([]),
    /** The local console (`CONSOLE=on`) uses this section. */
    console: z.boolean().default(false),
    ...sectionShape,
  })
  .refine((section) => section.slack.length + section.teams.length > 0 || section.console, 'name the workspaces this section serves: slack (team ids), teams (tenant ids) or console: true');

/** A file for several tenants: one section each; retention is the operator's and holds for all. */
export const multiTenantSchema = z.strictObject({
  retention: retentionSchema,
  tenants: z.array(tenantSectionSchema).min(1).max(200),
});

export type Catalog = z.infer<typeof catalogSchema>;
export type DatabaseEntry = z.infer<typeof databaseSchema>;
export type Approvers = z.infer<typeof approversSchema>;
