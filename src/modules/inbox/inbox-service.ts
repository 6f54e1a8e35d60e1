import { and, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { inboundIntents } from '../../db/schema/chat.js';
import type { AuditService } from '../audit/audit-service.js';
import type { RequestExitService } from '../access-requests/request-exit-service.js';
import type { OffboardingService } from '../offboarding/offboarding-service.js';
import { asSystem, withTenant } from '../tenants/tenant-scope.js';
import type { Platform, TenantService } from '../tenants/tenant-service.js';

/** A delivery that reduces access, as taken in before its acknowledgement. */
export type Intent =
  | { kind: 'revoke'; platform: Platform; workspaceId: string; actorExternalId: string; requestId: string }
  | { kind: 'offboard'; platform: Platform; workspaceId: string; userExternalId: string };

/** How long an intent is left to the work that follows its acknowledgement before the sweep replays it. */
export const INBOX_GRACE_MS = 10_000;
/** A replay under way elsewhere (another sweep) is left alone this long. */
const CLAIM_MS = 60_000;
/** A replay that keeps failing (not refused: failing) is given up after this many, and audited. */
const MAX_ATTEMPTS = 30;
/** Done rows are kept a day (Slack retries for half an hour at most). */
const KEEP_MS = 24 * 60 * 60 * 1000;

/**
 * The inbox of deliveries that reduce access (a transactional inbox): a platform's delivery is written
 * here (one insert) before it is acknowledged, and marked done when its work is. The platform does not
 * send an acknowledged delivery again, so without this a process that died between the acknowledgement
 * and the work would lose an End access or an offboarding: the person would keep access until expiry.
 * `record` and `done` are the adapter's; on a small pool of their own so the acknowledgement never
 * queues behind other work.
 */
export function createInbox({ db }: { db: Db }) {
  return {
    /** Writes the intent of one delivery; a copy of the same delivery (a retry) finds its row there. */
    async record(tenantId: string, deliveryKey: string, intent: Intent): Promise<void> {
      await withTenant(tenantId, () =>
        db.insert(inboundIntents).values({
          tenantId, deliveryKey, platform: intent.platform, workspaceId: intent.workspaceId, kind: intent.kind,
          actorExternalId: intent.kind === 'revoke' ? intent.actorExternalId : null,
          subject: intent.kind === 'revoke' ? intent.requestId : intent.userExternalId,
        }).onConflictDoNothing(),
      );
    },
    /** The work that followed the acknowledgement is done (or answered: a refusal is an answer). */
    async done(tenantId: string, deliveryKey: string): Promise<void> {
      await withTenant(tenantId, () =>
        db.update(inboundIntents).set({ doneAt: sql`now()`, outcome: 'live' })
          .where(and(eq(inboundIntents.tenantId, tenantId), eq(inboundIntents.deliveryKey, deliveryKey), isNull(inboundIntents.doneAt))),
      );
    },
  };
}

export type Inbox = ReturnType<typeof createInbox>;

interface ReplayDeps {
  db: Db;
  tenants: Pick<TenantService, 'actor'>;
  exits: Pick<RequestExitService, 'revoke'>;
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  audit: Pick<AuditService, 'record'>;
  graceMs?: number;
}

type Row = typeof inboundIntents.$inferSelect;

/**
 * The sweep's side of the inbox: intents not done `graceMs` after they arrived are carried out again
 * through the same service calls, with the original actor, whose authorization is checked again
 * exactly as live. Idempotent: ending access already ending or ended changes nothing, and offboarding
 * someone already offboarded finds nothing to end. A refused intent is done (with its reason, and the
 * refusal audited by the service), not retried; one that fails is tried again at the next sweep after
 * a minute, and given up (audited) after 30 attempts.
 */
export function createInboxReplay({ db, tenants, exits, offboarding, audit, graceMs = INBOX_GRACE_MS }: ReplayDeps) {
  async function carryOut(row: Row): Promise<string> {
    if (row.kind === 'offboard') {
      const result = await offboarding.offboardInTenant(row.tenantId, row.subject, row.platform as 'slack' | 'teams');
      return result ? 'replayed' : 'not found: never seen by dbaccess';
    }
    const actor = await tenants.actor(row.platform as Platform, row.workspaceId, row.actorExternalId ?? '');
    const outcome = await exits.revoke(actor, row.subject);
    if (outcome.ok) return 'replayed';
    if (outcome.refused) return `refused: ${outcome.message}`;
    // Not found, or already over or ending (the work was done before the process died): nothing to do.
    return outcome.notFound ? 'not found' : `nothing to do: ${outcome.message}`;
  }

  async function finish(row: Row, outcome: string): Promise<void> {
    await withTenant(row.tenantId, () => db.update(inboundIntents).set({ doneAt: sql`now()`, outcome }).where(and(eq(inboundIntents.id, row.id), isNull(inboundIntents.doneAt))));
  }

  return {
    /** How long until the oldest intent not done is due (0 when it is), undefined when none waits: a process starting replays then. */
    dueIn: () =>
      asSystem('inbox', async () => {
        const { rows } = await db.execute<{ due_in: number | null }>(sql`
          SELECT (extract(epoch FROM min(received_at) - now()) * 1000)::float8 + ${graceMs} AS due_in FROM inbound_intents WHERE done_at IS NULL`);
        const dueIn = rows[0]?.due_in;
        return dueIn === null || dueIn === undefined ? undefined : Math.max(0, Number(dueIn));
      }),
    /** One pass: replays what is overdue, in the system's scope (intents of every tenant). */
    replay: () =>
      asSystem('inbox', async () => {
        const { rows: claimed } = await db.execute<{ id: string }>(sql`
          UPDATE inbound_intents SET claimed_at = now(), attempts = attempts + 1
          WHERE id IN (
            SELECT id FROM inbound_intents
            WHERE done_at IS NULL AND received_at < now() - ${`${graceMs} milliseconds`}::interval
              AND (claimed_at IS NULL OR claimed_at < now() - ${`${CLAIM_MS} milliseconds`}::interval)
            ORDER BY received_at LIMIT 100 FOR UPDATE SKIP LOCKED)
          RETURNING id`);
        const rows = claimed.length === 0 ? [] : await db.select().from(inboundIntents).where(inArray(inboundIntents.id, claimed.map((row) => row.id)));
        let replayed = 0;
        let refused = 0;
        let failed = 0;
        await Promise.all(rows.map(async (row) => {
          try {
            const outcome = await withTenant(row.tenantId, () => carryOut(row));
            if (outcome.startsWith('refused')) refused += 1;
            else replayed += 1;
            await finish(row, outcome);
          } catch (error) {
            failed += 1;
            if (row.attempts < MAX_ATTEMPTS) return;
            const why = error instanceof Error ? error.message : String(error);
            await finish(row, `abandoned: ${why}`);
            await withTenant(row.tenantId, () => audit.record({
              tenantId: row.tenantId, actor: 'system:inbox', action: `inbox.${row.kind}`, subject: row.kind === 'revoke' ? `request:${row.subject}` : `external:${row.subject}`, outcome: 'failure',
              details: { attempts: row.attempts, why, delivery: row.deliveryKey },
            }));
          }
        }));
        await db.delete(inboundIntents).where(and(isNotNull(inboundIntents.doneAt), lt(inboundIntents.receivedAt, sql`now() - ${`${KEEP_MS} milliseconds`}::interval`)));
        return { replayed, refused, failed };
      }),
  };
}
