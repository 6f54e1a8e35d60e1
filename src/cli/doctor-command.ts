import { withTimeout } from '../lib/async.js';
import { EXIT, eachLimited, operatorMessage, startProgress } from './cli-io.js';
import { printFindings } from './check-config-command.js';
import type { Command } from './command.js';
import type { CliState } from './cli-state.js';
import type { DoctorCheck, Found, Outcome, StateAccess, Status } from './doctor-checks.js';

const LABEL: Record<Status, string> = { ok: 'ok', warning: 'WARNING', problem: 'PROBLEM', skipped: 'skipped' };
const CONCURRENCY = 4;

/** One check's lines: the status and what was verified, then each warning or problem with its fix. */
export function outcomeLines(name: string, outcome: Outcome, status: Status): string[] {
  const verified = outcome.findings.filter((finding) => finding.severity === 'ok').map((finding) => finding.message);
  const count = (severity: Found['severity']) => outcome.findings.filter((finding) => finding.severity === severity).length;
  const tally = [['problem', count('problem')], ['warning', count('warning')]].filter(([, n]) => n).map(([word, n]) => `${n} ${word}${n === 1 ? '' : 's'}`);
  const head = `${LABEL[status].padEnd(8)} ${name}: ${outcome.skipped ?? (verified.join('; ') || tally.join(', '))}`;
  const lines = [head];
  for (const finding of outcome.findings.filter((candidate) => candidate.severity !== 'ok')) {
    lines.push(`         ${finding.severity}: ${finding.message}`);
    if (finding.fix) lines.push(`           fix: ${finding.fix}`);
  }
  return lines;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'reach every dependency and check what dbaccess needs of it; print what to fix',
  usage: 'dbaccess doctor [--timeout <seconds>] [--only <name>]',
  help: `Checks the configuration (as check-config does), then reaches, with a time limit each:
  - every catalog database with its admin account: login, and the privileges its provider needs
    (PostgreSQL: CREATEROLE, grant options over every schema, pg_signal_backend, and for capture the
    log settings and the right to read the log; MySQL/MariaDB: CREATE USER, the level privileges
    WITH GRANT OPTION, CONNECTION ADMIN and PROCESS, the marker table, the capture settings);
  - Slack (auth.test with SLACK_BOT_TOKEN, and its scopes), Redis (PING), Vault (health and the
    token's own lookup), the model (the Models API with ANTHROPIC_API_KEY), and the state database
    with its migrations.
Without DATABASE_URL the state is the embedded PostgreSQL under DATA_DIR, as for the server: when no
dbaccess is running, doctor starts it the way the server does (created on a first run, migrated,
the sandbox made ready) and stops it after. Without a catalog file that sandbox is the catalog.
Each check prints one line as it completes ([n/N], ok / WARNING / PROBLEM / skipped), then what to
fix; the summary counts the configuration too. Nothing else is changed anywhere; no secret or
connection string is printed.

  --timeout <s>   seconds each check may take (default 15)
  --only <name>   run only the checks whose name contains this (e.g. --only database)

Exit: 0 no problems (warnings allowed), 1 problems found, 2 usage mistake.`,
  options: { timeout: { type: 'string' }, only: { type: 'string' } },
  maxPositionals: 0,
  async run({ values }, { io, environment }) {
    const timeoutSeconds = values.timeout === undefined ? 15 : Number(values.timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 600) {
      io.err('dbaccess doctor: --timeout takes a number of seconds between 1 and 600.');
      return EXIT.usage;
    }
    // Loaded here, not at start: `dbaccess --help` need not load every client library.
    const [{ checkConfiguration }, { catalogEngines }, { createProviders }, { createVaultClient }, doctorChecks, { UNKNOWN_INSTALLATION }, { SANDBOX_CATALOG }] = await Promise.all([
      import('../config/config-check.js'), import('../modules/credentials/engines/catalog-rules.js'), import('../modules/credentials/engines/registry.js'),
      import('../modules/credentials/vault-client.js'), import('./doctor-checks.js'), import('../modules/installation/installation-id.js'), import('./sandbox-catalog.js'),
    ]);
    const { databaseCheck, modelCheck, redisCheck, slackCheck, stateDatabaseCheck, statusOf, vaultCheck } = doctorChecks;
    const counts: Record<Status, number> = { ok: 0, warning: 0, problem: 0, skipped: 0 };
    const summary = () => `Summary: ${counts.ok} ok, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.problem} problem${counts.problem === 1 ? '' : 's'}, ${counts.skipped} skipped.`;

    // The configuration is the first check: its line counts in the summary like every other.
    const configuration = checkConfiguration({ source: environment, engines: catalogEngines, builtIn: SANDBOX_CATALOG });
    const configFindings = configuration.findings.filter((finding) => finding.severity !== 'info');
    const configStatus: Status = configFindings.some((finding) => finding.severity === 'problem') ? 'problem' : configFindings.length ? 'warning' : 'ok';
    counts[configStatus] += 1;
    io.out(`${LABEL[configStatus].padEnd(8)} configuration: ${configuration.summary ?? configuration.catalogPath}`);
    printFindings(io, configFindings, ' '.repeat(9));
    const config = configuration.config;
    if (!config) {
      io.out('The environment has problems: fix them first (dbaccess check-config lists them).');
      io.out(summary());
      return EXIT.problems;
    }

    const { env } = config;
    const wanted = (name: string) => typeof values.only !== 'string' || name.includes(values.only);
    const catalogs = configuration.catalogs;
    const entries = (catalogs?.databases() ?? []).filter((entry) => wanted(`database ${entry.id}`));
    // As the server does: DATABASE_URL, else the embedded PostgreSQL (started here when no dbaccess
    // runs), which also holds the sandbox when there is no catalog file.
    const needsState = wanted('state database') || (configuration.builtIn && entries.length > 0);
    let state: StateAccess | undefined;
    let opened: CliState | undefined;
    if (needsState) {
      const [{ openState, cliLogLevel }, { createLogger }] = await Promise.all([import('./cli-state.js'), import('../lib/logger.js')]);
      if (!env.DATABASE_URL) io.status(`starting the embedded PostgreSQL under ${env.DATA_DIR}…`);
      try {
        opened = await openState(config, createLogger(cliLogLevel(config), 'stderr'));
        state = { url: opened.url, startedHere: opened.startedHere };
      } catch (error) {
        state = { error };
      } finally {
        io.status('');
      }
    }
    const vault = env.VAULT_ADDR && env.VAULT_TOKEN ? createVaultClient({ addr: env.VAULT_ADDR, token: env.VAULT_TOKEN, namespace: env.VAULT_NAMESPACE, timeoutMs: timeoutSeconds * 1000 }) : undefined;
    // The checks create and drop no user: no install id is needed (the unknown one owns nothing).
    const installId = UNKNOWN_INSTALLATION;
    const providers = createProviders({ installId, poolSize: 1, idleMillis: 1000, vault });
    // The sandbox's admin connection is filled in by the server, from the embedded PostgreSQL.
    const sandboxDown = configuration.builtIn && !opened;
    const databaseConfig = opened?.config ?? config;

    const checks: DoctorCheck[] = [
      ...(state ? [stateDatabaseCheck(config, state)] : []), redisCheck(config), slackCheck(config), vaultCheck(config, vault), modelCheck(config),
      ...entries.map((entry): DoctorCheck => sandboxDown
        ? { name: `database ${entry.id}`, run: async () => ({ findings: [{ severity: 'problem', message: `${entry.id} is in the embedded PostgreSQL, which did not start (see the state database).` }] }) }
        : databaseCheck(entry, { config: databaseConfig, catalog: catalogs!.ofDatabase(entry.id)!, providers, vault })),
    ].filter((check) => wanted(check.name));
    if (!catalogs) io.out('         (the catalog has problems: its databases are not checked)');

    const progress = startProgress(io, checks.length, 'checking');
    try {
      await eachLimited(checks, CONCURRENCY, async (check) => {
        progress.started(check.name);
        const outcome = await withTimeout(check.run(timeoutSeconds * 1000), timeoutSeconds * 1000, () => new Error(`no answer within ${timeoutSeconds} s`)).catch(
          (error: unknown): Outcome => ({ findings: [{ severity: 'problem', message: operatorMessage(error) }] }),
        );
        counts[statusOf(outcome)] += 1;
        progress.finished(check.name, outcomeLines(check.name, outcome, statusOf(outcome)));
      });
    } finally {
      progress.stop();
      await providers.close().catch(() => {});
      await opened?.close().catch(() => {});
    }
    io.out(summary());
    return counts.problem > 0 ? EXIT.problems : EXIT.ok;
  },
};
