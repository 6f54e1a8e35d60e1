import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { slackDeliveries } from '../../db/schema.js';

/** Slack retries for about half an hour at most; an hour is plenty. */
const KEEP_MS = 60 * 60 * 1000;

/**
 * Slack deliveries taken in, so that a retry (`X-Slack-Retry-Num`) or any second copy of the same
 * command, click or submission acts once, whichever web process it reaches. In the tenant's scope.
 */
export function createSlackDeliveries({ db }: { db: Db }) {
  let sinceCleanup = 0;
  return {
    /** True the first time a delivery is seen, false for every copy after it. */
    async first(tenantId: string, key: string): Promise<boolean> {
      const inserted = await db.insert(slackDeliveries).values({ tenantId, key }).onConflictDoNothing().returning({ key: slackDeliveries.key });
      if (++sinceCleanup >= 100) {
        sinceCleanup = 0;
        await db.delete(slackDeliveries).where(and(eq(slackDeliveries.tenantId, tenantId), lt(slackDeliveries.seenAt, sql`now() - ${`${KEEP_MS} milliseconds`}::interval`)));
      }
      return inserted.length > 0;
    },
  };
}

/** What identifies one delivery: the trigger id of a command or interaction, the id of an event. */
export function deliveryKey(body: Record<string, unknown>): string | undefined {
  const id = body.trigger_id ?? body.event_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 200 ? `${String(body.type ?? body.command ?? 'command')}:${id}` : undefined;
}
