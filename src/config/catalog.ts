import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { configError } from '../lib/errors.js';
import { checkPolicySections } from './policy-checks.js';
import { checkOnCallRules } from './integrations/oncall-checks.js';
import { policyConfig, type PolicyConfig } from './policy-config.js';
import { policySectionsSchema } from './policy-schema.js';
import { retentionSchema } from './retention-schema.js';
import { integrationsSchema } from './integrations-schema.js';
import { checkTicketRules } from './integrations/ticket-checks.js';

/** The catalog: databases people may ask for and who approves. Lives in YAML at DBACCESS_CONFIG. */

export * from './catalog-schema.js';
import { ACCESS_LEVELS, type BuiltInLevel, multiTenantSchema, catalogSchema, type Catalog, type DatabaseEntry, type LevelDefinition, type Approvers } from './catalog-schema.js';

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

/** A section of the file: the workspaces it serves and their catalog. */
export interface CatalogSection {
  name: string;
  slack: readonly string[];
  teams: readonly string[];
  console: boolean;
  /** A file without `tenants:`: its one section serves every workspace. */
  everyone: boolean;
  view: CatalogView;
}

/** Where people talk to dbaccess (as the tenants table names it). */
export type TenantPlatform = 'slack' | 'teams' | 'console';

/** Everything the file holds: one section per tenant, or one for all. */
export interface CatalogSet {
  source: string | undefined;
  sections: readonly CatalogSection[];
  /** The catalog of a workspace; one the file does not name gets an empty catalog (no databases). */
  forTenant(platform: TenantPlatform, externalId: string): CatalogView;
  /** The catalog of the section that holds a database (ids are unique across the file). */
  ofDatabase(databaseId: string): CatalogView | undefined;
  /** Every database of every section. */
  databases(): DatabaseEntry[];
}

/** A tenant's catalog, by the tenant's id (the composition root knows how tenants map to sections). */
export type CatalogOf = (tenantId: string) => Promise<CatalogView>;

/**
 * The database engines as the catalog needs them. config imports no module, so whoever loads a
 * catalog for use hands them in (the composition root and the CLI pass
 * modules/credentials/engines/catalog-rules.ts); without them an entry's engine is checked for its
 * shape only.
 */
export interface CatalogEngines {
  /** Every engine name, in the order summaries list them. */
  names: readonly string[];
  /** Problems of one entry that only its engine can see: where (below the entry), and the dotted path to name when it is not that. */
  check(entry: DatabaseEntry, level: (name: string) => LevelDefinition | undefined): Array<{ at: string[]; message: string; path?: string[] }>;
  /** The engine of the server behind the entry, and what its admin connection string looks like. */
  adminUrl(entry: DatabaseEntry): { engine: string; schemes: readonly string[]; example: string };
  /** Whether Vault issues the entry's users (then VAULT_ADDR must be set). */
  issuedByVault(entry: DatabaseEntry): boolean;
}

export type CatalogValidation =
  | { ok: true; catalogs: CatalogSet; locate: CatalogLocator }
  | { ok: false; problems: CatalogProblem[]; locate: CatalogLocator };

/**
 * Checks catalog YAML and reports every mistake it finds, each with its line and column: the schema's
 * (at most 10), or else every cross-reference, level, capture and duplicate mistake. A file with a
 * `tenants:` list holds one section per tenant; a file without it is one tenant's, valid as before.
 */
export function validateCatalog(text: string, source = 'catalog', engines?: CatalogEngines): CatalogValidation {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const locate: CatalogLocator = (path) => ({ source, ...position(document, lineCounter, path.map(String)) });
  const problem = (path: string[], message: string): CatalogProblem => ({ ...locate(path), path: path.join('.'), message });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    return { ok: false, locate, problems: [{ source, line, col, path: '', message: `YAML syntax error: ${first.message.split('\n')[0]}` }] };
  }
  const raw: unknown = document.toJS();
  const multiTenant = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'tenants');
  const result = multiTenant ? multiTenantSchema.safeParse(raw) : catalogSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 10).map((issue) => {
      const path = issue.path.map(String);
      return { ...problem(path, issue.message), path: path.join('.') || '(top level)' };
    });
    return { ok: false, locate, problems };
  }
  type Parsed = { name: string; slack: string[]; teams: string[]; console: boolean; everyone: boolean; at: string[]; catalog: Catalog };
  const parsed: Parsed[] =
    'tenants' in result.data
      ? result.data.tenants.map(({ name, slack, teams, console, ...section }, index) => ({
          name, slack, teams, console, everyone: false, at: ['tenants', String(index)], catalog: { ...section, retention: (result.data as { retention: Catalog['retention'] }).retention },
        }))
      : [{ name: 'default', slack: [], teams: [], console: true, everyone: true, at: [], catalog: result.data }];
  const problems = parsed.flatMap((section) => checkSection(section.catalog, section.at, problem, engines));
  problems.push(...checkSections(parsed, problem));
  if (problems.length > 0) return { ok: false, locate, problems };
  const sections = parsed.map(({ at: _at, catalog, ...keys }) => ({ ...keys, view: view(catalog, source) }));
  return { ok: true, catalogs: catalogSet(sections, source), locate };
}

type Problem = (path: string[], message: string) => CatalogProblem;

/** What a schema cannot check within one section: references, levels, capture, duplicate ids. */
function checkSection(catalog: Catalog, prefix: string[], problem: Problem, engines: CatalogEngines | undefined): CatalogProblem[] {
  const ids = new Set<string>();
  const problems: CatalogProblem[] = checkPolicySections(catalog, {
    databaseIds: catalog.databases.map((db) => db.id),
    levels: [...ACCESS_LEVELS, ...Object.keys(catalog.customLevels)],
    directories: Object.entries(catalog.integrations).filter(([, block]) => block !== undefined).map(([name]) => name),
  }).map((found) => problem([...prefix, ...found.path.map(String)], found.message));
  problems.push(...checkOnCallRules(catalog).map((found) => problem([...prefix, ...found.path.map(String)], found.message)));
  problems.push(...checkTicketRules(catalog).map((found) => problem([...prefix, ...found.path.map(String)], found.message)));
  for (const name of Object.keys(catalog.customLevels)) {
    if ((ACCESS_LEVELS as readonly string[]).includes(name)) {
      problems.push(problem([...prefix, 'customLevels', name], 'a custom level cannot reuse a built-in name'));
    }
  }
  const dotted = (...rest: string[]) => [...prefix, ...rest].join('.');
  for (const [index, db] of catalog.databases.entries()) {
    const at = (...rest: string[]) => [...prefix, 'databases', String(index), ...rest];
    for (const found of engines?.check(db, (name) => levelDefinition(catalog, name)) ?? []) {
      problems.push({ ...problem(at(...found.at), found.message), ...(found.path ? { path: dotted('databases', String(index), ...found.path) } : {}) });
    }
    if (db.capture === 'server_audit' && !db.captureFile) {
      problems.push({ ...problem(at('capture'), "server_audit needs the path of the plugin's log file"), path: dotted('databases', String(index), 'captureFile') });
    }
    for (const [levelIndex, level] of db.levels.entries()) {
      const definition = levelDefinition(catalog, level);
      const where = { ...problem(at('levels', String(levelIndex)), ''), path: dotted('databases', String(index), 'levels') };
      if (!definition) problems.push({ ...where, message: `"${level}" is neither read, write, admin nor a level under customLevels` });
    }
    if (db.databases) {
      for (const [nameIndex, name] of db.databases.entries()) {
        if (db.databases.indexOf(name) !== nameIndex) problems.push(problem(at('databases', String(nameIndex)), `"${name}" is listed twice`));
      }
    }
    if (ids.has(db.id)) problems.push(problem(at('id'), `duplicate database id "${db.id}"`));
    ids.add(db.id);
  }
  return problems;
}

/**
 * What holds between the sections of a multi-tenant file: each workspace in one section, database
 * ids unique across the file (jobs and logs name a database by id alone), and no two tenants able to
 * mistake each other's temporary users on a shared server (the reconciler drops prefixed users that
 * no lease of the tenant owns, so prefixes on one server must not overlap).
 */
function checkSections(sections: ReadonlyArray<{ name: string; slack: string[]; teams: string[]; console: boolean; at: string[]; catalog: Catalog }>, problem: Problem): CatalogProblem[] {
  if (sections.length < 2) return [];
  const problems: CatalogProblem[] = [];
  const owners = new Map<string, string>();
  const claim = (key: string, owner: string, path: string[], what: string) => {
    const first = owners.get(key);
    if (first !== undefined) problems.push(problem(path, `${what} is already in tenant "${first}"; each belongs to one tenant`));
    else owners.set(key, owner);
  };
  const servers = new Map<string, Array<{ tenant: string; prefix: string }>>();
  for (const section of sections) {
    claim(`name:${section.name}`, section.name, [...section.at, 'name'], `the name "${section.name}"`);
    section.slack.forEach((id, index) => claim(`slack:${id}`, section.name, [...section.at, 'slack', String(index)], `Slack workspace ${id}`));
    section.teams.forEach((id, index) => claim(`teams:${id.toLowerCase()}`, section.name, [...section.at, 'teams', String(index)], `Teams tenant ${id}`));
    if (section.console) claim('console', section.name, [...section.at, 'console'], 'the console');
    const prefix = section.catalog.settings.userPrefix;
    for (const [index, db] of section.catalog.databases.entries()) {
      claim(`db:${db.id}`, section.name, [...section.at, 'databases', String(index), 'id'], `database id "${db.id}"`);
      const server = `${db.host.toLowerCase()}:${db.port}`;
      const others = servers.get(server) ?? [];
      const clash = others.find((other) => other.tenant !== section.name && (other.prefix.startsWith(prefix) || prefix.startsWith(other.prefix)));
      if (clash) {
        problems.push(problem([...section.at, 'databases', String(index), 'host'], `${server} is also a server of tenant "${clash.tenant}" with user prefix "${clash.prefix}"; give each tenant its own settings.userPrefix (neither a prefix of the other)`));
      }
      servers.set(server, [...others, { tenant: section.name, prefix }]);
    }
  }
  return problems;
}

function catalogSet(sections: CatalogSection[], source: string | undefined): CatalogSet {
  const byDatabase = new Map(sections.flatMap((section) => section.view.catalog.databases.map((db) => [db.id, section.view] as const)));
  const byKey = new Map(sections.flatMap((section) => [...section.slack.map((id) => `slack:${id}`), ...section.teams.map((id) => `teams:${id.toLowerCase()}`), ...(section.console ? ['console:'] : [])].map((key) => [key, section.view] as const)));
  const everyone = sections.length === 1 && sections[0]!.everyone ? sections[0]!.view : undefined;
  let empty: CatalogView | undefined;
  return {
    source,
    sections,
    forTenant: (platform, externalId) =>
      everyone ?? byKey.get(platform === 'console' ? 'console:' : `${platform}:${platform === 'teams' ? externalId.toLowerCase() : externalId}`) ?? (empty ??= emptyCatalog(source)),
    ofDatabase: (databaseId) => byDatabase.get(databaseId),
    databases: () => sections.flatMap((section) => section.view.catalog.databases),
  };
}

/** A set of one catalog that serves every workspace (a single-tenant file, the sandbox, tests). */
export const singleCatalog = (view: CatalogView): CatalogSet =>
  catalogSet([{ name: 'default', slack: [], teams: [], console: true, everyone: true, view }], view.source);

/** Parses a whole catalog file; every error names the path and the line and column of the mistake. */
export function parseCatalogSet(text: string, source = 'catalog', engines?: CatalogEngines): CatalogSet {
  const validation = validateCatalog(text, source, engines);
  if (validation.ok) return validation.catalogs;
  const lines = validation.problems.map(formatCatalogProblem);
  // A single mistake reads as one line (as a YAML syntax error always does); several as a list.
  throw configError(lines.length === 1 ? lines[0]! : `Invalid catalog:\n${lines.join('\n')}`);
}

/** Parses the YAML of one tenant's catalog (a file without `tenants:`). */
export function parseCatalog(text: string, source = 'catalog', engines?: CatalogEngines): CatalogView {
  const catalogs = parseCatalogSet(text, source, engines);
  if (!catalogs.sections[0]!.everyone) throw configError(`${source}: a catalog with tenants: has one catalog per tenant; read it with parseCatalogSet.`);
  return catalogs.sections[0]!.view;
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
export function loadCatalog(path: string, engines: CatalogEngines): CatalogSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return singleCatalog(emptyCatalog());
    throw configError(`Cannot read the catalog file ${path} (DBACCESS_CONFIG): ${code ?? 'unreadable'}.`);
  }
  return parseCatalogSet(text, path, engines);
}

export function emptyCatalog(source?: string): CatalogView {
  const settings = catalogSchema.shape.settings.parse(undefined);
  const policy = policySectionsSchema.parse({});
  return view({ approvers: { slack: { channel: 'C0NONE', users: [] } } as unknown as Approvers, integrations: integrationsSchema.parse(undefined), customLevels: {}, settings, retention: retentionSchema.parse(undefined), databases: [], ...policy }, source);
}
