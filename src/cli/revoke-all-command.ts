import { asSystem } from '../modules/tenants/tenant-scope.js';
import { EXIT, eachLimited, operatorMessage, startProgress, operatorName } from './cli-io.js';
import type { Command } from './command.js';
import { leaseTable } from './leases-command.js';

/** Revocations run side by side; each holds one admin connection of its target for a moment. */
const CONCURRENCY = 4;

export const revokeAllCommand: Command = {
  name: 'revoke-all',
  summary: 'emergency: revoke every active lease now (asks for confirmation)',
  usage: 'dbaccess revoke-all [--yes] [--database <id>]',
  help: `Emergency stop: ends every lease that is not revoked yet (or those on one database). Shows them,
then asks you to type how many there are, unless --yes. Each lease is recorded in the audit log as
revoked by this command (actor cli:<your user name>), then revoked as at expiry: logins blocked,
sessions killed, the user dropped; cards and DMs are updated by the running workers. Progress is
shown as n/N; a revocation that fails is listed, and the workers keep retrying it. The state and the
catalog are the server's: DATABASE_URL or the embedded PostgreSQL under DATA_DIR, and with no
catalog file the built-in sandbox.

  --yes             do not ask (for scripts)
  --database <id>   only the leases on this catalog database

Exit: 0 all revoked (or none to revoke), 1 not confirmed or some failed, 2 usage mistake.`,
  options: { yes: { type: 'boolean' }, database: { type: 'string' } },
  maxPositionals: 0,
  async run({ values }, { io, config }) {
    const { openContainer } = await import('./cli-state.js');
    const app = await openContainer(config(), io.err);
    try {
      const databaseId = typeof values.database === 'string' ? values.database : undefined;
      const leases = await asSystem('cli:revoke-all', () => app.leases.listLive(databaseId));
      const where = databaseId ? ` on ${databaseId}` : '';
      if (leases.length === 0) {
        io.out(`No active leases${where}: nothing to revoke.`);
        return EXIT.ok;
      }
      const count = leases.length;
      const noun = `lease${count === 1 ? '' : 's'}`;
      for (const line of leaseTable(leases)) io.out(line);
      if (!values.yes) {
        const answer = await io.ask(`Revoke these ${count} ${noun}${where} now? Type ${count} to confirm: `);
        if (answer !== String(count)) {
          io.out(`Not confirmed${answer === undefined ? ' (no input)' : ''}: nothing was revoked.`);
          return EXIT.problems;
        }
      }

      const operator = operatorName();
      const progress = startProgress(io, count, 'revoking');
      const failures: string[] = [];
      let revoked = 0;
      let alreadyEnded = 0;
      let busy = 0;
      await eachLimited(leases, CONCURRENCY, async (lease) => {
        const name = `${lease.databaseId}/${lease.username}`;
        progress.started(name);
        try {
          const result = await asSystem('cli:revoke-all', () => app.leases.endNow(lease.leaseId, operator));
          if (result.revoked) {
            revoked += 1;
            progress.finished(name, [`revoked ${name} (request ${lease.requestId}; ${result.sessionsKilled} session${result.sessionsKilled === 1 ? '' : 's'} ended)`]);
          } else if (result.busy) {
            busy += 1;
            progress.finished(name, [`${name} (request ${lease.requestId}) is being revoked by the workers right now`]);
          } else {
            alreadyEnded += 1;
            progress.finished(name, [`${name} (request ${lease.requestId}) had already ended`]);
          }
        } catch (error) {
          // A failed revocation arrives wrapped (RetryingFailure) with the provider's error as its cause.
          const message = operatorMessage(error instanceof Error && 'attempts' in error ? error.cause : error);
          failures.push(`${name} (request ${lease.requestId}): ${message}`);
          progress.finished(name, [`FAILED ${name} (request ${lease.requestId}): ${message}`]);
        }
      });
      progress.stop();

      io.out(`Revoked ${revoked} of ${count} ${noun}${where}${alreadyEnded ? `; ${alreadyEnded} had already ended` : ''}${busy ? `; ${busy} being revoked by the workers` : ''}; ${failures.length} failed.`);
      if (failures.length > 0) {
        io.out('Failed (the workers keep retrying these; `dbaccess leases` shows them until they are gone):');
        for (const failure of failures) io.out(`  ${failure}`);
        return EXIT.problems;
      }
      return EXIT.ok;
    } finally {
      await app.stop();
    }
  },
};
