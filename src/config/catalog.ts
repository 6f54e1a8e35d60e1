import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { z } from 'zod';
import { configError } from '../lib/errors.js';
import { parseDuration } from '../lib/time.js';
import { checkPolicySections, policyConfig, policySectionsSchema, policySectionsShape, type PolicyConfig } from '../modules/policy/policy-schema.js';
import { retentionSchema } from '../modules/retention/retention-schema.js';
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

const approversSchema = z
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
  /** How long history is kept, per kind (modules/retention): forever, except query text 90 days. */
  retention: retentionSchema,
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

/** One mistake in a catalog file, where it is and what is wrong (written so it says what to do). */
export interface CatalogProblem {
  source: string;
  line: number;
  col: number;
  /** The dotted path of the value (`databases.0.maxDuration`); empty for a YAML syntax error. */
  path: string;
  message: string;
}

export const formatCatalogProblem = (problem: CatalogProblem) =>
  `${problem.source}:${problem.line}:${problem.col}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;

/** Finds where a value of the parsed catalog is written: `locate(['databases', 0, 'admin'])`. */
export type CatalogLocator = (path: Array<string | number>) => { source: string; line: number; col: number };

export type CatalogValidation =
  | { ok: true; view: CatalogView; locate: CatalogLocator }
  | { ok: false; problems: CatalogProblem[]; locate: CatalogLocator };

/**
 * Checks catalog YAML and reports every mistake it finds, each with its line and column: the schema's
 * (at most 10), or else every cross-reference, level, capture and duplicate mistake.
 */
export function validateCatalog(text: string, source = 'catalog'): CatalogValidation {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const locate: CatalogLocator = (path) => ({ source, ...position(document, lineCounter, path.map(String)) });
  const problem = (path: string[], message: string): CatalogProblem => ({ ...locate(path), path: path.join('.'), message });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    return { ok: false, locate, problems: [{ source, line, col, path: '', message: `YAML syntax error: ${first.message.split('\n')[0]}` }] };
  }
  const result = catalogSchema.safeParse(document.toJS());
  if (!result.success) {
    const problems = result.error.issues.slice(0, 10).map((issue) => {
      const path = issue.path.map(String);
      return { ...problem(path, issue.message), path: path.join('.') || '(top level)' };
    });
    return { ok: false, locate, problems };
  }
  const ids = new Set<string>();
  const problems: CatalogProblem[] = checkPolicySections(result.data, {
    databaseIds: result.data.databases.map((db) => db.id),
    levels: [...ACCESS_LEVELS, ...Object.keys(result.data.customLevels)],
  }).map((found) => problem(found.path.map(String), found.message));
  for (const name of Object.keys(result.data.customLevels)) {
    if ((ACCESS_LEVELS as readonly string[]).includes(name)) {
      problems.push(problem(['customLevels', name], 'a custom level cannot reuse a built-in name'));
    }
  }
  for (const [index, db] of result.data.databases.entries()) {
    const at = (...rest: string[]) => ['databases', String(index), ...rest];
    const isVault = db.engine === 'vault';
    if (isVault !== Boolean(db.vault)) {
      const message = isVault ? 'engine vault needs a vault section (role, engine)' : 'a vault section needs engine: vault';
      problems.push({ ...problem(at('engine'), message), path: `databases.${index}` });
    }
    const captureEngine = db.engine === 'vault' ? db.vault?.engine : db.engine;
    if (db.capture !== 'none' && (db.engine === 'vault' || !captureEngine || !(CAPTURE_METHODS[captureEngine] as readonly string[]).includes(db.capture))) {
      const allowed = db.engine === 'vault' ? 'none (Vault creates the users; capture is not supported there yet)' : CAPTURE_METHODS[db.engine].join(', ');
      problems.push(problem(at('capture'), `${db.engine} supports ${allowed}`));
    }
    if (db.capture === 'server_audit' && !db.captureFile) {
      problems.push({ ...problem(at('capture'), "server_audit needs the path of the plugin's log file"), path: `databases.${index}.captureFile` });
    }
    for (const [levelIndex, level] of db.levels.entries()) {
      const definition = levelDefinition(result.data, level);
      const where = { ...problem(at('levels', String(levelIndex)), ''), path: `databases.${index}.levels` };
      if (!definition) problems.push({ ...where, message: `"${level}" is neither read, write, admin nor a level under customLevels` });
      else if (db.engine !== 'postgres' && definition.privileges.includes('TRUNCATE')) {
        problems.push({ ...where, message: `"${level}" lists TRUNCATE, which ${db.engine} does not have as a privilege` });
      }
    }
    if (ids.has(db.id)) problems.push(problem(at('id'), `duplicate database id "${db.id}"`));
    ids.add(db.id);
  }
  if (problems.length > 0) return { ok: false, locate, problems };
  return { ok: true, view: view(result.data, source), locate };
}

/** Parses catalog YAML; every error names the path and the line and column of the mistake. */
export function parseCatalog(text: string, source = 'catalog'): CatalogView {
  const validation = validateCatalog(text, source);
  if (validation.ok) return validation.view;
  const lines = validation.problems.map(formatCatalogProblem);
  // A single mistake reads as one line (as a YAML syntax error always does); several as a list.
  throw configError(lines.length === 1 ? lines[0]! : `Invalid catalog:\n${lines.join('\n')}`);
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

/** The line and column of the deepest node on the path that exists (a missing key points at its parent). */
function position(document: Document, lineCounter: LineCounter, path: string[]): { line: number; col: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
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
  return view({ approvers: { slack: { channel: 'C0NONE', users: [] } } as unknown as Approvers, customLevels: {}, settings, retention: retentionSchema.parse(undefined), databases: [], ...policy }, undefined);
}
