import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { accessRequests } from '../../db/schema/access-requests.js';
import type { TrackerName } from './ticket-types.js';

/** Requests whose access is bound to a verified ticket (stored with the request's policy). */
export function createTicketRepo({ db }: { db: Db }) {
  return {
    /** Active access bound to a ticket of this tracker (and key), across tenants: the webhook and the poll run as the system. */
    async activeBound(tracker?: TrackerName, key?: string) {
      return db
        .select()
        .from(accessRequests)
        .where(and(
          eq(accessRequests.state, 'active'),
          sql`${accessRequests.policy} -> 'ticket' IS NOT NULL`,
          tracker ? sql`${accessRequests.policy} -> 'ticket' ->> 'tracker' = ${tracker}` : undefined,
          key ? sql`${accessRequests.policy} -> 'ticket' ->> 'key' = ${key}` : undefined,
        ))
        .limit(5000);
    },
  };
}

export type TicketRepo = ReturnType<typeof createTicketRepo>;
