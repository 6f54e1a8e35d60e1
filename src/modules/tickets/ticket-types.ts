import type { TrackerName } from '../../config/integrations/trackers.js';

export type { TrackerName };

/** A ticket as dbaccess needs it, whatever the tracker: where it is, whether it is open, who has it. */
export interface Ticket {
  tracker: TrackerName;
  /** The canonical key: `OPS-12` (Jira, Linear), `acme/ops#12` (GitHub). */
  key: string;
  /** Where a person opens it. */
  url: string;
  title: string;
  open: boolean;
  /** The tracker's own word for its state (`In Progress`, `closed`, `completed`). */
  status: string;
  /** Who it is assigned to, as the tracker names them (emails, Jira accountIds, GitHub logins), lower-cased. */
  assignees: string[];
  /** Linear's internal id, which its comment mutation takes. */
  internalId?: string | undefined;
}

/** What dbaccess asks of a tracker: read one ticket (undefined: it does not exist, or the token cannot see it), comment on it. */
export interface TrackerClient {
  readonly tracker: TrackerName;
  /** The tracker as people know it: `Jira (https://acme.atlassian.net)`. */
  readonly label: string;
  get(key: string): Promise<Ticket | undefined>;
  comment(ticket: Ticket, text: string): Promise<void>;
}

/** The tracker did not answer, or answered with an error that says nothing about the ticket. */
export class TrackerUnreachable extends Error {
  constructor(readonly label: string, readonly why: string) {
    super(`${label} ${why}`);
    this.name = 'TrackerUnreachable';
  }
}

/** What a request's ticket looked like when it was verified: stored with the request's policy, shown on the card. */
export interface VerifiedTicket {
  tracker: TrackerName;
  key: string;
  url: string;
  title: string;
  status: string;
  verifiedAt: string;
}
