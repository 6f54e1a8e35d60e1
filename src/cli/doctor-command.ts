import { withTimeout } from '../lib/async.js';
import { EXIT, eachLimited, operatorMessage, startProgress } from './cli-io.js';
import { printFindings } from './check-config-command.js';
import type { Command } from './command.js';
import type { DoctorCheck, Found, Outcome, Status } from './doctor-checks.js';

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
Each check prints one line as it completes ([n/N], ok / WARNING / PROBLEM / skipped), then what to
fix. Nothing is changed anywhere; no secret or connection string is printed.

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
    const [{ checkConfiguration }, { catalogEngines }, { createProviders }, { createVaultClient }, doctorChecks, { UNKNOWN_INSTALLATION }] = await Promise.all([
      import('../config/config-check.js'), import('../modules/credentials/engines/catalog-rules.js'), import('../modules/credentials/engines/registry.js'),
      import('../modules/credentials/vault-client.js'), import('./doctor-checks.js'), import('../modules/installation/installation-id.js'),
    ]);
    const { databaseCheck, modelCheck, redisCheck, slackCheck, stateDatabaseCheck, statusOf, vaultCheck } = doctorChecks;
    const configuration = checkConfiguration({ source: environment, engines: catalogEngines });
    const configProblems = configuration.findings.filter((finding) => finding.severity !== 'info');
    io.out(`${(configProblems.some((finding) => finding.severity === 'problem') ? LABEL.problem : configProblems.length ? LABEL.warning : LABEL.ok).padEnd(8)} configuration: ${configuration.summary ?? configuration.catalogPath}`);
    printFindings(io, configProblems, ' '.repeat(9));
    const config = configuration.config;
    if (!config) {
      io.out('The environment has problems: fix them first (dbaccess check-config lists them).');
      return EXIT.problems;
    }

    const { env } = config;
    const vault = env.VAULT_ADDR && env.VAULT_TOKEN ? createVaultClient({ addr: env.VAULT_ADDR, token: env.VAULT_TOKEN, namespace: env.VAULT_NAMESPACE, timeoutMs: timeoutSeconds * 1000 }) : undefined;
    // The checks create and drop no user: no install id is needed (the unknown one owns nothing).
    const installId = UNKNOWN_INSTALLATION;
    const providers = createProviders({ installId, poolSize: 1, idleMillis: 1000, vault });

    const checks: DoctorCheck[] = [
      stateDatabaseCheck(config), redisCheck(config), slackCheck(config), vaultCheck(config, vault), modelCheck(config),
      ...(configuration.catalogs?.databases() ?? []).map((entry) => databaseCheck(entry, { config, catalog: configuration.catalogs!.ofDatabase(entry.id)!, providers, vault })),
    ].filter((check) => typeof values.only !== 'string' || check.name.includes(values.only));
    if (!configuration.catalogs) io.out('         (the catalog has problems: its databases are not checked)');

    const counts: Record<Status, number> = { ok: 0, warning: 0, problem: 0, skipped: 0 };
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
    }
    const configStatus = configuration.findings.some((finding) => finding.severity === 'problem');
    io.out(`Summary: ${counts.ok} ok, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.problem} problem${counts.problem === 1 ? '' : 's'}, ${counts.skipped} skipped${configStatus ? '; the configuration has problems' : ''}.`);
    return counts.problem > 0 || configStatus ? EXIT.problems : EXIT.ok;
  },
};
