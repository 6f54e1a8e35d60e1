import { asSystem, withTenant } from '../modules/tenants/tenant-scope.js';
import { EXIT, operatorName, personArgument } from './cli-io.js';
import type { Command } from './command.js';

export const offboardCommand: Command = {
  name: 'offboard',
  summary: 'someone left: revoke all their access now and cancel their waiting requests',
  usage: 'dbaccess offboard <email|id>',
  help: `The kill switch for a person who left. Finds them by the id their chat platform gives them (a
Teams sign-in email, a Slack member id such as U0123ABCD; case does not matter) in every workspace,
then at once: revokes each of their active leases (logins blocked, sessions killed, the user
dropped), cancels each of their requests that wait (pending, approved, being provisioned), records
it all in the audit log (actor cli:<your user name>), and tells the approvers' channel.
Slack and Teams do the same by themselves when an account is deactivated or removed from the team.

Exit: 0 done (or nobody by that id), 1 a revocation failed (the workers keep retrying it), 2 usage mistake.`,
  options: {},
  maxPositionals: 1,
  async run({ positionals }, { io, config }) {
    const who = personArgument(positionals[0], io, 'offboard', offboardCommand.usage);
    if (!who) return EXIT.usage;
    const { openContainer } = await import('./cli-state.js');
    const app = await openContainer(config(), io.err);
    try {
      const people = await asSystem('cli:offboard', () => app.offboarding.findAnywhere(who));
      if (people.length === 0) {
        io.out(`Nobody known to dbaccess as ${who}: nothing to revoke or cancel.`);
        return EXIT.ok;
      }
      let failed = 0;
      for (const person of people) {
        const result = await withTenant(person.tenantId, () => app.offboarding.offboard(person, 'cli', `cli:${operatorName()}`));
        failed += result.failed.length;
        io.out(`${person.externalId} (${person.platform} ${person.workspace}): ${result.ended.length} access${result.ended.length === 1 ? '' : 'es'} revoked (${result.sessionsKilled} session${result.sessionsKilled === 1 ? '' : 's'} killed)${result.ended.length ? `: ${result.ended.join(', ')}` : ''}; ${result.cancelled.length} request${result.cancelled.length === 1 ? '' : 's'} cancelled${result.cancelled.length ? `: ${result.cancelled.join(', ')}` : ''}.`);
        if (result.failed.length) io.out(`  Revocation failed, the workers keep retrying: ${result.failed.join(', ')}`);
      }
      io.out("The approvers' channel is told.");
      return failed > 0 ? EXIT.problems : EXIT.ok;
    } finally {
      await app.stop();
    }
  },
};
