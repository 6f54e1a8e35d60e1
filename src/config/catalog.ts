import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { z } from 'zod';
import { configError } from '../lib/errors.js';
import { parseDuration } from '../lib/time.js';
import { checkPolicySections, policyConfig, policySectionsSchema, policySectionsShape, type PolicyConfig } from '../modules/policy/policy-schema.js';
import { ALL_CAPTURE_METHODS, CAPTURE_METHODS, type CaptureMethod } from '../modules/capture/capture-types.js';

/** The catalog: databases people may ask for and who approves. Lives in YAML at DBACCESS_CONFIG. */

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
export const ENGINES = ['postgres', 'mysql', 'mariadb', 'vault'] as const;
export type Engine = (typeof ENGINES)[number];

const duration = z
  .string()
  .max(20)
  .refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 30m, 4h or 1h30m')
  .transform((text) => parseDuration(text)!);

const slackId = z.string().regex(/^[A-Z0-9]{2,20}$/, 'must be a Slack id such as C0APPROVALS or U0ALICE');

const approversSchema = z.strictObject({
  slack: z.strictObject({
    channel: slackId,
    users: z.array(slackId).min(1).max(500),
  }),
});

const reference = z
  .string()
  .max(500)
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]*|vault:[A-Za-z0-9_./-]+#[A-Za-z0-9_.-]+)$/,
    'must be a reference such as env:ORDERS_ADMIN_URL or vault:secret/data/orders#url, never the secret itself',
  );

const databaseSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be 1-40 lower-case letters, digits, _ or -, starting with a letter'),
  engine: z.enum(ENGINES),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  database: z.string().min(1).max(63),
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
  allowedHosts: z.array(z.string().min(1).max(255).regex(/^[A-Za-z0-9.%_:-]+$/, 'must be a host name, address or pattern such as 10.0.%')).min(1).max(20).default(['%']),
  /** MySQL 5.x: user names of at most 16 characters. */
  legacyUserNames: z.boolean().default(false),
  /** How a temporary user's statements are recorded (see capture-types.ts); `none` records nothing. */
  capture: z.enum(ALL_CAPTURE_METHODS as [CaptureMethod, ...CaptureMethod[]]).default('none'),
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
      engine: z.enum(['postgres', 'mysql', 'mariadb']),
    })
    .optional(),
});

const customLevelSchema = z.strictObject({
  description: z.string().max(200).optional(),
  privileges: z.array(z.enum(CUSTOM_PRIVILEGES)).min(1).max(CUSTOM_PRIVILEGES.length),
  /** How the risk rating counts it; by default read when it only selects, write otherwise. */
  riskAs: z.enum(ACCESS_LEVELS).optional(),
});

const catalogSchema = z.strictObject({
  approvers: approversSchema,
  // Roles, approval policies and contextual rules (all optional): see modules/policy.
  ...policySectionsShape,
  customLevels: z.record(z.string().regex(/^[a-z][a-z0-9_-]{1,30}$/, 'must be 2-31 lower-case letters, digits, _ or -'), customLevelSchema).default({}),
  settings: z
    .strictObject({
      pendingTimeout: duration.default(3600),
      minDuration: duration.default(300),
      userPrefix: z.string().regex(/^[a-z][a-z0-9_]{1,15}$/, 'must be 2-16 lower-case letters, digits or _').default('dba_'),
    })
    .prefault({}),
  databases: z.array(databaseSchema).min(1).max(1000),
});

export type Catalog = z.infer<typeof catalogSchema>;
export type DatabaseEntry = z.infer<typeof databaseSchema>;
export type Approvers = z.infer<typeof approversSchema>;

export interface CatalogView {
  catalog: Catalog;
  /** The roles, policies and rules, ready for the policy evaluator. */
  policy: PolicyConfig;
  /** A level's definition, built-in or custom; undefined for an unknown name. */
  level(name: string): LevelDefinition | undefined;
  /** Where it came from, or undefined when no catalog file exists yet (setup mode: no databases). */
  source: string | undefined;
  database(id: string): DatabaseEntry | undefined;
  approversFor(database: DatabaseEntry): Approvers;
}

/** Parses catalog YAML; every error names the path and the line and column of the mistake. */
export function parseCatalog(text: string, source = 'catalog'): CatalogView {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw configError(`${source}:${line}:${col}: YAML syntax error: ${first.message.split('\n')[0]}`);
  }
  const result = catalogSchema.safeParse(document.toJS());
  if (!result.success) {
    const problems = result.error.issues.slice(0, 10).map((issue) => {
      const path = issue.path.map(String);
      const where = locate(document, lineCounter, path);
      return `${source}:${where}: ${path.join('.') || '(top level)'}: ${issue.message}`;
    });
    throw configError(`Invalid catalog:\n${problems.join('\n')}`);
  }
  const ids = new Set<string>();
  const policyProblems = checkPolicySections(result.data, {
    databaseIds: result.data.databases.map((db) => db.id),
    levels: [...ACCESS_LEVELS, ...Object.keys(result.data.customLevels)],
  });
  if (policyProblems.length > 0) {
    const lines = policyProblems.slice(0, 10).map((problem) => {
      const path = problem.path.map(String);
      return `${source}:${locate(document, lineCounter, path)}: ${path.join('.')}: ${problem.message}`;
    });
    throw configError(`Invalid catalog:\n${lines.join('\n')}`);
  }
  for (const name of Object.keys(result.data.customLevels)) {
    if ((ACCESS_LEVELS as readonly string[]).includes(name)) {
      throw configError(`${source}:${locate(document, lineCounter, ['customLevels', name])}: customLevels.${name}: a custom level cannot reuse a built-in name`);
    }
  }
  for (const [index, db] of result.data.databases.entries()) {
    const isVault = db.engine === 'vault';
    if (isVault !== Boolean(db.vault)) {
      const message = isVault ? 'engine vault needs a vault section (role, engine)' : 'a vault section needs engine: vault';
      throw configError(`${source}:${locate(document, lineCounter, ['databases', String(index), 'engine'])}: databases.${index}: ${message}`);
    }
    const captureEngine = db.engine === 'vault' ? db.vault?.engine : db.engine;
    if (db.capture !== 'none' && (db.engine === 'vault' || !captureEngine || !(CAPTURE_METHODS[captureEngine] as readonly string[]).includes(db.capture))) {
      const allowed = db.engine === 'vault' ? 'none (Vault creates the users; capture is not supported there yet)' : CAPTURE_METHODS[db.engine].join(', ');
      throw configError(`${source}:${locate(document, lineCounter, ['databases', String(index), 'capture'])}: databases.${index}.capture: ${db.engine} supports ${allowed}`);
    }
    if (db.capture === 'server_audit' && !db.captureFile) {
      throw configError(`${source}:${locate(document, lineCounter, ['databases', String(index), 'capture'])}: databases.${index}.captureFile: server_audit needs the path of the plugin's log file`);
    }
    for (const [levelIndex, level] of db.levels.entries()) {
      const definition = levelDefinition(result.data, level);
      const at = () => locate(document, lineCounter, ['databases', String(index), 'levels', String(levelIndex)]);
      if (!definition) throw configError(`${source}:${at()}: databases.${index}.levels: "${level}" is neither read, write, admin nor a level under customLevels`);
      if (db.engine !== 'postgres' && definition.privileges.includes('TRUNCATE')) {
        throw configError(`${source}:${at()}: databases.${index}.levels: "${level}" lists TRUNCATE, which ${db.engine} does not have as a privilege`);
      }
    }
    if (ids.has(db.id)) {
      throw configError(`${source}:${locate(document, lineCounter, ['databases', String(index), 'id'])}: databases.${index}.id: duplicate database id "${db.id}"`);
    }
    ids.add(db.id);
  }
  return view(result.data, source);
}

function view(catalog: Catalog, source: string | undefined): CatalogView {
  const byId = new Map(catalog.databases.map((db) => [db.id, db]));
  return {
    catalog,
    source,
    policy: policyConfig(catalog),
    level: (name) => levelDefinition(catalog, name),
    database: (id) => byId.get(id),
    approversFor: (database) => database.approvers ?? catalog.approvers,
  };
}

function levelDefinition(catalog: Catalog, name: string): LevelDefinition | undefined {
  if ((ACCESS_LEVELS as readonly string[]).includes(name)) return { name, builtIn: true, privileges: [], riskAs: name as BuiltInLevel };
  const custom = Object.hasOwn(catalog.customLevels, name) ? catalog.customLevels[name] : undefined;
  if (!custom) return undefined;
  const riskAs = custom.riskAs ?? (custom.privileges.every((privilege) => privilege === 'SELECT') ? 'read' : 'write');
  return { name, builtIn: false, privileges: custom.privileges, riskAs, description: custom.description };
}

/** The line:column of the deepest node on the path that exists (a missing key points at its parent). */
function locate(document: Document, lineCounter: LineCounter, path: string[]): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = lineCounter.linePos(node.range[0]);
      return `${line}:${col}`;
    }
  }
  return '1:1';
}

/**
 * Loads the catalog file. A missing file is not an error (a fresh install starts without databases
 * and says what to do); an unreadable or invalid one is.
 */
export function loadCatalog(path: string): CatalogView {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return emptyCatalog();
    throw configError(`Cannot read the catalog file ${path} (DBACCESS_CONFIG): ${code ?? 'unreadable'}.`);
  }
  return parseCatalog(text, path);
}

export function emptyCatalog(): CatalogView {
  const settings = catalogSchema.shape.settings.parse(undefined);
  const policy = policySectionsSchema.parse({});
  return view({ approvers: { slack: { channel: 'C0NONE', users: [] } } as unknown as Approvers, customLevels: {}, settings, databases: [], ...policy }, undefined);
}
