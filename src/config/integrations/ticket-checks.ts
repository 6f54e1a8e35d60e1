import type { Rules } from '../policy-schema.js';
import type { Integrations } from '../integrations-schema.js';

/**
 * What the schema cannot see about tickets that bind: a rule that verifies with a tracker the catalog
 * does not configure, or asks for assignment without verifying. Paths are the section's own, for the
 * line and column of the mistake.
 */
export function checkTicketRules(section: { rules: Rules; integrations: Integrations }): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  section.rules.ticket.forEach((entry, index) => {
    if (entry.verify && !section.integrations[entry.verify]) {
      problems.push({ path: ['rules', 'ticket', index, 'verify'], message: `verify: ${entry.verify} needs integrations.${entry.verify} (its URL and token) in this catalog` });
    }
    if (entry.assigned && !entry.verify) {
      problems.push({ path: ['rules', 'ticket', index, 'assigned'], message: 'assigned: true needs verify (jira, linear or github): assignment can only be checked with the tracker' });
    }
  });
  return problems;
}
