import { link, rich, type RichText } from '../../lib/rich-text.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';

const TRACKER: Record<string, string> = { jira: 'Jira', linear: 'Linear', github: 'GitHub' };

/**
 * The card's Ticket field: a ticket a rule verified links to the tracker, with its state when it was
 * checked (`OPS-12 (In Progress in Jira, verified)`); any other ticket is the requester's text.
 */
export function ticketCell(view: Pick<RequestView, 'ticket' | 'policy'>): RichText {
  const verified = view.policy?.ticket;
  if (verified) return rich`${link(verified.url, verified.key)} (${verified.status} in ${TRACKER[verified.tracker] ?? verified.tracker}, verified)`;
  return rich`${view.ticket ?? 'none'}`;
}
