import { commands, dangerous, type Rule } from './session-check-helpers.js';
import { DDL_WORDS, PRIVILEGE_COMMANDS } from './session-commands.js';

/** What the grant allows: schema changes only under admin, changes of data not under read. */

export const ddlBeyondGrant: Rule = (seen, input) => {
  if (input.level === 'admin') return [];
  const found = seen.filter((s) => {
    const { kind, command, parsed } = s.statement;
    const ddl = kind === 'ddl' || (!parsed && DDL_WORDS.test(command) && !PRIVILEGE_COMMANDS.test(command));
    const created = s.objects.filter((o) => o.access === 'ddl');
    const temporaryOnly = /TEMP/.test(command) || (created.length > 0 && created.every((o) => o.temp));
    return ddl && !temporaryOnly;
  });
  return [
    dangerous('ddl-beyond-grant', found, (done) => `Schema changes under the ${input.levelName} grant: ${commands(done)}.`, (tried) => `Tried schema changes under the ${input.levelName} grant (${commands(tried)}); the server refused.`),
  ];
};
