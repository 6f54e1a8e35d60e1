import { asSystem, withTenant } from '../modules/tenants/tenant-scope.js';
import { EXIT, operatorName, personArgument } from './cli-io.js';
import type { Command } from './command.js';

export const signoutCommand: Command = {
  name: 'signout',
  summary: "end every terminal sign-in (dbaccess connect) of a person, without touching their access",
  usage: 'dbaccess signout <email|id>',
  help: `For an admin: a laptop lost or a token feared leaked. Finds the person by the id their chat
platform gives them (a Teams sign-in email, a Slack member id; case does not matter) in every
workspace and ends every token their terminals hold: the next call of those terminals is refused,
and \`dbaccess connect\` asks them to sign in again. Their live access and requests stay as they are
(\`dbaccess offboard\` ends those too, and signs them out as well). Audited (actor cli:<your user name>).

Exit: 0 done (or nobody by that id), 2 usage mistake.`,
  options: {},
  maxPositionals: 1,
  async run({ positionals }, { io, config }) {
    const who = personArgument(positionals[0], io, 'signout', signoutCommand.usage);
    if (!who) return EXIT.usage;
    const { openContainer } = await import('./cli-state.js');
    const app = await openContainer(config(), io.err);
    try {
      const people = await asSystem('cli:signout', () => app.offboarding.findAnywhere(who));
      if (people.length === 0) {
        io.out(`Nobody known to dbaccess as ${who}: no sign-in to end.`);
        return EXIT.ok;
      }
      for (const person of people) {
        const ended = await withTenant(person.tenantId, () => app.cliSessions.revokeAllOf(person.tenantId, person.userId, `cli:${operatorName()}`));
        io.out(`${person.externalId} (${person.platform} ${person.workspace}): ${ended} terminal sign-in${ended === 1 ? '' : 's'} ended.`);
      }
      return EXIT.ok;
    } finally {
      await app.stop();
    }
  },
};
