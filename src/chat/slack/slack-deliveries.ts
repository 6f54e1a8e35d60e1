import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { slackDeliveries } from '../../db/schema/chat.js';
import { withTenant } from '../../modules/tenants/tenant-scope.js';

/** Slack retries for about half an hour at most; an hour is plenty. */
const KEEP_MS = 60 * 60 * 1000;

interface Claim {
  key: string;
  resolve: (first: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Slack deliveries taken in, so that a retry (`X-Slack-Retry-Num`) or any second copy of the same
 * command, click or submission acts once, whichever web process it reaches. In the tenant's scope.
 *
 * Each delivery is claimed right after its acknowledgement, and what it does waits for the claim: a
 * burst's claims are gathered for one turn and written as one insert per tenant, on connections of
 * their own (`db` is a small pool that nothing else uses), so they never queue behind the work of the
 * deliveries already claimed.
 */
export function createSlackDeliveries({ db }: { db: Db }) {
  let sinceCleanup = 0;
  let pending = new Map<string, Claim[]>();
  let flushing = false;

  async function insert(tenantId: string, claims: Claim[]): Promise<void> {
    try {
      const keys = [...new Set(claims.map((claim) => claim.key))];
      const inserted = await withTenant(tenantId, () =>
        db.insert(slackDeliveries).values(keys.map((key) => ({ tenantId, key }))).onConflictDoNothing().returning({ key: slackDeliveries.key }),
      );
      const fresh = new Set(inserted.map((row) => row.key));
      // Two copies in one batch: the first to ask is the delivery, the other a copy.
      for (const claim of claims) claim.resolve(fresh.delete(claim.key));
    } catch (error) {
      for (const claim of claims) claim.reject(error);
    }
    sinceCleanup += claims.length;
    if (sinceCleanup >= 100) {
      sinceCleanup = 0;
      await withTenant(tenantId, () => db.delete(slackDeliveries).where(and(eq(slackDeliveries.tenantId, tenantId), lt(slackDeliveries.seenAt, sql`now() - ${`${KEEP_MS} milliseconds`}::interval`)))).catch(() => {});
    }
  }

  function flush(): void {
    flushing = false;
    const batch = pending;
    pending = new Map();
    for (const [tenantId, claims] of batch) void insert(tenantId, claims);
  }

  return {
    /** True the first time a delivery is seen, false for every copy after it. */
    first(tenantId: string, key: string): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        const claims = pending.get(tenantId) ?? [];
        if (claims.length === 0) pending.set(tenantId, claims);
        claims.push({ key, resolve, reject });
        if (!flushing) {
          flushing = true;
          setImmediate(flush);
        }
      });
    },
  };
}

/** What identifies one delivery: the trigger id of a command or interaction, the id of an event. */
export function deliveryKey(body: Record<string, unknown>): string | undefined {
  const id = body.trigger_id ?? body.event_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 200 ? `${String(body.type ?? body.command ?? 'command')}:${id}` : undefined;
}
