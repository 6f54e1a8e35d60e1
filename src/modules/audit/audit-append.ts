import { sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { currentScope, inScope, type Scope } from '../../db/tenant-scope.js';
import { contentHash } from './audit-hash.js';
import type { AuditEvent } from './audit-types.js';

/** Most events one group commit writes; more wait for the next one. */
const MAX_BATCH = 500;

/** An event ready to be chained: content hashed when it was recorded, and its caller waiting. */
interface PendingAppend {
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  details: string;
  createdAt: string;
  content: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The appends of one tenant made in one scope: at most one write in flight, the rest gathering. */
interface Lane {
  tenantId: string;
  scope: Scope | undefined;
  waiting: PendingAppend[];
}

/**
 * Whether the server refused the statement itself (an error with a SQLSTATE): a single statement
 * that failed was rolled back, so nothing of its batch was written. A lost connection is no such
 * proof (the commit may have happened), so those callers fail rather than be written again.
 */
function refusedByServer(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && typeof cause === 'object' && depth < 5; cause = (cause as { cause?: unknown }).cause, depth += 1) {
    const { code, severity } = cause as { code?: unknown; severity?: unknown };
    if (typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return true;
  }
  return false;
}

/**
 * Appends to the tenants' chains. Inside a caller's transaction, one statement (`appendIn`).
 * Outside one, group-committed (`append`): while one write for a tenant is in
 * flight, the appends that arrive gather and go next in ONE transaction under ONE lock acquisition
 * (`dbaccess_audit_append_batch`), so a burst (mass expiry) pays one chain lock and one commit per
 * batch instead of per event. Each caller's promise settles when its own event is committed, or
 * fails with the reason; a batch the server refuses is written again one event at a time, so one bad
 * event fails only its own caller. `appendDb` should be a pool of its own: callers may hold state
 * connections while they wait for their event.
 */
export function createAuditAppender({ appendDb }: { appendDb: Db }) {
  function prepare(event: AuditEvent) {
    const createdAt = new Date().toISOString();
    const details = event.details ?? {};
    const content = contentHash({ tenantId: event.tenantId, actor: event.actor, action: event.action, subject: event.subject, outcome: event.outcome, details, createdAt });
    return { createdAt, details, content };
  }

  /** One statement: lock the tenant's chain, read its head, insert (see migrations 0007 and 0009). */
  async function appendIn(tx: DbOrTx, event: AuditEvent): Promise<void> {
    const { createdAt, details, content } = prepare(event);
    await tx.execute(
      sql`SELECT dbaccess_audit_append(${event.tenantId}::uuid, ${event.actor}, ${event.action}, ${event.subject}, ${event.outcome}, ${JSON.stringify(details)}::jsonb, ${createdAt}::timestamptz, ${content})`,
    );
  }

  /** One statement, its own transaction: the batch chained in its order under one lock (migration 0011). */
  async function writeBatch(tenantId: string, batch: PendingAppend[]): Promise<void> {
    const column = <K extends keyof PendingAppend>(key: K) => sql.param(batch.map((pending) => pending[key]));
    await appendDb.execute(
      sql`SELECT dbaccess_audit_append_batch(${tenantId}::uuid, ${column('actor')}::text[], ${column('action')}::text[], ${column('subject')}::text[], ${column('outcome')}::text[], ${column('details')}::jsonb[], ${column('createdAt')}::timestamptz[], ${column('content')}::text[])`,
    );
  }

  /** Writes a batch and settles every caller in it; never throws. */
  async function commitBatch(lane: Lane, batch: PendingAppend[]): Promise<void> {
    try {
      await writeBatch(lane.tenantId, batch);
      for (const pending of batch) pending.resolve();
    } catch (error) {
      if (batch.length === 1 || !refusedByServer(error)) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      // Nothing of it was written: each event alone, in the same order, so only a bad one fails.
      for (const pending of batch) {
        try {
          await writeBatch(lane.tenantId, [pending]);
          pending.resolve();
        } catch (single) {
          pending.reject(single);
        }
      }
    }
  }

  const lanes = new Map<string, Lane>();

  /** Writes what the lane gathered, batch after batch, until nothing waits; then the lane closes. */
  async function drain(key: string, lane: Lane): Promise<void> {
    for (;;) {
      const batch = lane.waiting.splice(0, MAX_BATCH);
      if (batch.length === 0) {
        // Synchronously after the last check: an append arriving later opens a new lane.
        lanes.delete(key);
        return;
      }
      await commitBatch(lane, batch);
    }
  }

  /** Group commit: resolves once the event is committed in its tenant's chain. */
  function append(event: AuditEvent): Promise<void> {
    // The write runs in the caller's scope, so the function's tenant check still applies to each caller.
    const scope = currentScope();
    const key = `${scope?.tenant ?? ''}\u0000${event.tenantId}`;
    return new Promise<void>((resolve, reject) => {
      const { createdAt, details, content } = prepare(event);
      const pending: PendingAppend = { actor: event.actor, action: event.action, subject: event.subject, outcome: event.outcome, details: JSON.stringify(details), createdAt, content, resolve, reject };
      const open = lanes.get(key);
      if (open) {
        open.waiting.push(pending);
        return;
      }
      const lane: Lane = { tenantId: event.tenantId, scope, waiting: [pending] };
      lanes.set(key, lane);
      // Started after the current turn: appends made together (Promise.all) share the first batch.
      queueMicrotask(() => void inScope(scope, () => drain(key, lane)));
    });
  }

  return { appendIn, append };
}
