import type { Finding } from '../config/config-check.js';
import { EXIT, type CliIo } from './cli-io.js';
import type { Command } from './command.js';

const LABEL: Record<Finding['severity'], string> = { problem: 'problem', warning: 'warning', info: 'note' };

const ORDER: Record<Finding['severity'], number> = { problem: 0, warning: 1, info: 2 };

/** Problems first, then warnings, then notes; each in the order found. */
export function printFindings(io: CliIo, findings: Finding[], indent = ''): void {
  for (const finding of [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity])) {
    io.out(`${indent}${finding.where}: ${LABEL[finding.severity]}: ${finding.message}`);
    if (finding.fix) io.out(`${indent}  fix: ${finding.fix}`);
  }
}

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate the catalog and the environment, without connecting anywhere',
  usage: 'dbaccess check-config [path] [--quiet]',
  help: `Reads the catalog (the path given, else DBACCESS_CONFIG, else ./dbaccess.yaml) and the environment
(with no catalog file and no DATABASE_URL, the built-in sandbox catalog the server serves then),
and reports every problem with its place (file:line:col, or the variable's name) and what to do:
mistakes in the catalog, admin references that do not resolve (env:NAME unset), engines that need
Vault without VAULT_ADDR, a malformed MASTER_KEY, variables that go in pairs. Prints a one-line
summary when all is well. Nothing is connected to: use \`dbaccess doctor\` for that.

  --quiet   print problems only (no warnings or notes)

Exit: 0 no problems (warnings allowed), 1 problems found, 2 usage mistake.`,
  options: { quiet: { type: 'boolean' } },
  maxPositionals: 1,
  async run({ positionals, values }, { io, environment }) {
    const [{ checkConfiguration }, { catalogEngines }, { SANDBOX_CATALOG }] = await Promise.all([
      import('../config/config-check.js'), import('../modules/credentials/engines/catalog-rules.js'), import('./sandbox-catalog.js'),
    ]);
    const check = checkConfiguration({ source: environment, catalogPath: positionals[0], engines: catalogEngines, builtIn: SANDBOX_CATALOG });
    const shown = values.quiet ? check.findings.filter((finding) => finding.severity === 'problem') : check.findings;
    printFindings(io, shown);
    const problems = check.findings.filter((finding) => finding.severity === 'problem').length;
    const warnings = check.findings.filter((finding) => finding.severity === 'warning').length;
    if (problems > 0) {
      io.out(`${problems} problem${problems === 1 ? '' : 's'} found in ${check.catalogPath} and the environment.`);
      return EXIT.problems;
    }
    io.out(`OK: ${check.summary}${warnings ? `; ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}.`);
    return EXIT.ok;
  },
};
