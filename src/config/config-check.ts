import { readFileSync } from 'node:fs';
import { parseMasterKey } from '../lib/crypto.js';
import { isAppError } from '../lib/errors.js';
import { validateCatalog, type Catalog, type CatalogEngines, type CatalogSet, type DatabaseEntry } from './catalog.js';
import { inspectEnvironment, type Config } from './env.js';

/**
 * `dbaccess check-config`: the catalog and the environment, read without touching the network. Every
 * problem says where it is (file:line:col or the variable's name) and what to do. Pure but for reading
 * the catalog file.
 */
export type Severity = 'problem' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** `dbaccess.yaml:12:12` or `environment ORDERS_ADMIN_URL`. */
  where: string;
  message: string;
  /** What to do about it, when the message does not already say. */
  fix?: string;
}

export interface ConfigCheck {
  findings: Finding[];
  /** The catalog path that was checked. */
  catalogPath: string;
  /** The catalog, when the file itself is valid (its references may still be unresolved). */
  catalogs?: CatalogSet;
  config?: Config;
  /** One line: what the catalog holds. */
  summary?: string;
  /** No catalog file and no DATABASE_URL: the built-in catalog (the sandbox) is what was checked, as the server serves it. */
  builtIn: boolean;
}

/**
 * The catalog the server serves itself when there is no catalog file and no DATABASE_URL (the
 * sandbox in the embedded PostgreSQL). Handed in by the CLI: config imports nothing from app/.
 */
export interface BuiltInCatalog {
  /** Where its findings are said to be, as the server names it (`sandbox (built in)`). */
  source: string;
  /** What it is, for people: `the built-in sandbox catalog`. */
  name: string;
  /** Its YAML for the embedded PostgreSQL's port. */
  text(port: number): string;
  /** Admin references the server fills in itself rather than from the environment. */
  references: string[];
}

/**
 * `engines`: the database engines (config imports no module: the CLI hands in modules/credentials/engines/catalog-rules.ts).
 * `builtIn`: what the server serves when the catalog file is missing and DATABASE_URL unset (checked instead, as a note).
 */
export function checkConfiguration({ source, catalogPath: pathArgument, engines, builtIn }: {
  source: Record<string, string | undefined>; catalogPath?: string | undefined; engines: CatalogEngines; builtIn?: BuiltInCatalog;
}): ConfigCheck {
  const findings: Finding[] = [];
  const environment = inspectEnvironment(source);
  for (const problem of environment.problems) {
    findings.push({ severity: 'problem', where: `environment ${problem.name}`, message: problem.message, fix: `Correct ${problem.name} (README, Configuration > Environment).` });
  }
  const config = environment.config;
  const catalogPath = pathArgument ?? environment.catalogPath ?? './dbaccess.yaml';

  let text: string | undefined;
  let usesBuiltIn = false;
  try {
    text = readFileSync(catalogPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // The server's own rule (app/container.ts): no catalog file and no DATABASE_URL is the sandbox. A
    // path given as the argument is what the person wants checked, so it is never replaced.
    if (code === 'ENOENT' && builtIn && pathArgument === undefined && !source.DATABASE_URL) {
      usesBuiltIn = true;
      // Its port comes from the environment: with mistakes there, those are what to fix first.
      text = config && builtIn.text(config.env.EMBEDDED_PG_PORT);
      findings.push({
        severity: 'info', where: catalogPath,
        message: `No catalog file here and DATABASE_URL is not set: dbaccess serves ${builtIn.name} (sample data in its embedded PostgreSQL), and that is what was checked.`,
        fix: `Copy dbaccess.example.yaml to ${catalogPath} (or point DBACCESS_CONFIG at your catalog) to use your own databases.`,
      });
    } else {
      findings.push(
        code === 'ENOENT'
          ? { severity: 'problem', where: catalogPath, message: 'There is no catalog file here.', fix: 'Copy dbaccess.example.yaml to this path, or point DBACCESS_CONFIG (or the argument) at your catalog.' }
          : { severity: 'problem', where: catalogPath, message: `The catalog file cannot be read (${code ?? 'unreadable'}).`, fix: 'Make it readable by the user dbaccess runs as.' },
      );
    }
  }
  const checkedPath = usesBuiltIn ? builtIn!.source : catalogPath;
  if (text === undefined) return { findings, catalogPath: checkedPath, config, builtIn: usesBuiltIn };

  const validation = validateCatalog(text, checkedPath, engines);
  if (!validation.ok) {
    for (const problem of validation.problems) {
      findings.push({ severity: 'problem', where: `${problem.source}:${problem.line}:${problem.col}`, message: problem.path ? `${problem.path}: ${problem.message}` : problem.message });
    }
    return { findings, catalogPath: checkedPath, config, builtIn: usesBuiltIn };
  }
  const { catalogs, locate } = validation;
  const at = (...path: Array<string | number>) => {
    const { source: file, line, col } = locate(path);
    return `${file}:${line}:${col}`;
  };

  if (config) {
    const { env } = config;
    for (const [sectionIndex, section] of catalogs.sections.entries()) {
      const prefix = section.everyone ? [] : ['tenants', sectionIndex];
      for (const [index, entry] of section.view.catalog.databases.entries()) {
        const filledIn = usesBuiltIn && entry.admin.startsWith('env:') && builtIn!.references.includes(entry.admin.slice('env:'.length));
        if (!filledIn) findings.push(...referenceFindings(entry, config, at(...prefix, 'databases', index, 'admin'), engines));
        if (engines.issuedByVault(entry) && !env.VAULT_ADDR) {
          findings.push({
            severity: 'problem', where: at(...prefix, 'databases', index, 'engine'),
            message: `${[...prefix, 'databases', index].join('.')} (${entry.id}) gets its users from Vault, but Vault is not configured.`,
            fix: 'Set VAULT_ADDR and VAULT_TOKEN.',
          });
        }
      }
    }
    if (env.MASTER_KEY) {
      try {
        parseMasterKey(env.MASTER_KEY);
      } catch (error) {
        findings.push({ severity: 'problem', where: 'environment MASTER_KEY', message: isAppError(error) ? error.message : 'MASTER_KEY cannot be read.', fix: 'Generate one with: openssl rand -hex 32' });
      }
    }
    if (!env.SLACK_BOT_TOKEN) {
      findings.push({ severity: 'info', where: 'environment SLACK_BOT_TOKEN', message: 'Not set: Slack is off (set SLACK_BOT_TOKEN with SLACK_APP_TOKEN for Socket Mode, or with SLACK_SIGNING_SECRET over HTTP, to ask for access from Slack).' });
    }
    if (!env.DATABASE_URL) {
      findings.push({ severity: 'info', where: 'environment DATABASE_URL', message: `Not set: dbaccess keeps its state in an embedded PostgreSQL under ${env.DATA_DIR}.` });
    }
    if (!env.ANTHROPIC_API_KEY) {
      findings.push({ severity: 'info', where: 'environment ANTHROPIC_API_KEY', message: 'Not set: the built-in heuristics do every analysis.' });
    }
  }

  const label = usesBuiltIn ? `no ${catalogPath}, so ${builtIn!.name}` : catalogPath;
  const summary = catalogs.sections.length === 1
    ? summarize(label, catalogs.sections[0]!.view.catalog, engines)
    : `${label}: ${catalogs.sections.length} tenants; ${catalogs.sections.map((section) => summarize(section.name, section.view.catalog, engines)).join('; ')}`;
  return { findings, catalogPath: checkedPath, catalogs, config, summary, builtIn: usesBuiltIn };
}

/** Whether an admin reference resolves, without saying anything about its value but its shape. */
function referenceFindings(entry: DatabaseEntry, config: Config, where: string, engines: CatalogEngines): Finding[] {
  const reference = entry.admin;
  if (reference.startsWith('vault:')) {
    return config.env.VAULT_ADDR
      ? []
      : [{ severity: 'problem', where, message: `${entry.id}: ${reference} is read from Vault, but Vault is not configured.`, fix: 'Set VAULT_ADDR and VAULT_TOKEN, or use an env: reference.' }];
  }
  const name = reference.slice('env:'.length);
  const { engine, schemes, example } = engines.adminUrl(entry);
  const value = config.readEnvReference(name);
  if (!value) {
    return [{ severity: 'problem', where, message: `${entry.id}: ${reference} does not resolve: the environment variable ${name} is ${value === '' ? 'empty' : 'not set'}.`, fix: `Set ${name} to the admin connection string, e.g. ${example}.` }];
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ severity: 'problem', where, message: `${entry.id}: ${name} is not a connection URL.`, fix: `Write it as ${example} (percent-encode special characters in the password).` }];
  }
  if (!schemes.includes(url.protocol)) {
    return [{ severity: 'problem', where, message: `${entry.id}: ${name} starts with ${url.protocol}// but the database is ${engine}.`, fix: `Use ${schemes.map((scheme) => `${scheme}//`).join(' or ')}.` }];
  }
  if (!url.username) {
    return [{ severity: 'problem', where, message: `${entry.id}: ${name} names no user.`, fix: `Write it as ${example}.` }];
  }
  return [];
}

function summarize(path: string, catalog: Catalog, known: CatalogEngines): string {
  const engines = known.names.map((engine) => [engine, catalog.databases.filter((db) => db.engine === engine).length] as const)
    .filter(([, count]) => count > 0)
    .map(([engine, count]) => `${engine} ${count}`);
  const rules = Object.entries(catalog.rules)
    .filter(([name, value]) => name !== 'windows' && Array.isArray(value))
    .reduce((sum, [, value]) => sum + (value as unknown[]).length, 0);
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${path}: ${count(catalog.databases.length, 'database')} (${engines.join(', ')}), ${count(catalog.policies.length, 'policy').replace('policys', 'policies')}, ${count(rules, 'rule')}`;
}
