import { and, asc, desc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { auditCheckpoints, auditEvents } from '../../db/schema/audit.js';
import { tenants } from '../../db/schema/tenants.js';
import { createAuditAppender } from './audit-append.js';
import { GENESIS, chainHash, checkpointKind, checkpointMac, contentHash, type CheckpointRow } from './audit-hash.js';
import type { AuditEvent } from './audit-types.js';

/**
 * `from`: an incremental verification (verifyRecent) took the events up to this one on the word of a
 * signed checkpoint that a verification before it had checked them.
 */
export type VerifyResult = { ok: true; events: number; from?: number } | { ok: false; seq: number; problem: string };

/** Events read per round trip while verifying: bounded memory for any length of chain. */
const VERIFY_PAGE = 20_000;

/** Checkpoints looked at, newest first, for the last one signed as verified (the job signs one per interval). */
const RECENT_CHECKPOINTS = 200;

/**
 * The audit log: append-only (the app's role has no UPDATE, DELETE or INSERT on it; a trigger refuses
 * UPDATE and DELETE for everyone) and hash-chained per tenant. Every event goes through SQL functions
 * that serialize a tenant's appends with a transaction-scoped advisory lock (audit-append.ts, where
 * appends outside a caller's transaction are group-committed).
 *
 * `checkpointKey` (derived from the master key) signs the chain's head from time to time: a chain
 * cut short, or rewritten with fresh hashes, no longer matches its signed checkpoints.
 */
export function createAuditService({ db, appendDb = db, checkpointKey }: { db: Db; appendDb?: Db; checkpointKey?: Buffer }) {
  const { appendIn, append } = createAuditAppender({ appendDb });

  async function checkpointsOf(tenantId: string) {
    return db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).orderBy(asc(auditCheckpoints.id));
  }

  const alteredCheckpoint = (row: CheckpointRow): VerifyResult => ({
    ok: false, seq: row.seq, problem: `the signed checkpoint of ${new Date(row.createdAt).toISOString()} was altered or one before it removed`,
  });

  /** Checkpoints in their order, each signed and bound to the one before (`prevMac` for the first): the hash each expects at its seq. */
  function checkSigned(tenantId: string, rows: CheckpointRow[], prevMac: string): { ok: true; expected: Map<number, { hash: string; createdAt: string }> } | Extract<VerifyResult, { ok: false }> {
    const expected = new Map<number, { hash: string; createdAt: string }>();
    let before = prevMac;
    for (const row of rows) {
      if (row.tenantId !== tenantId || checkpointKind(checkpointKey!, row, before) === 'forged') return alteredCheckpoint(row) as Extract<VerifyResult, { ok: false }>;
      before = row.mac;
      expected.set(row.seq, { hash: row.hash, createdAt: new Date(row.createdAt).toISOString() });
    }
    return { ok: true, expected };
  }

  /** Events missing at the end: a signed checkpoint counted more than the chain has. */
  function endsWhereSigned(lastSeq: number, checkpoints: CheckpointRow[]): VerifyResult {
    let signedUpTo: CheckpointRow | undefined;
    for (const row of checkpoints) if (!signedUpTo || row.seq > signedUpTo.seq) signedUpTo = row;
    if (signedUpTo && signedUpTo.seq > lastSeq) {
      const missing = lastSeq + 1 === signedUpTo.seq ? `event ${signedUpTo.seq} is missing` : `events ${lastSeq + 1} to ${signedUpTo.seq} are missing`;
      return { ok: false, seq: lastSeq + 1, problem: `${missing}: the checkpoint signed at ${new Date(signedUpTo.createdAt).toISOString()} counted ${signedUpTo.seq}` };
    }
    return { ok: true, events: lastSeq };
  }

  /**
   * The events after `start` to the chain's end, a page at a time: each follows the one before, its
   * content hashes to its hash, and it matches the signed checkpoint at its seq if there is one.
   */
  async function walk(tenantId: string, start: { seq: number; hash: string }, expected: Map<number, { hash: string; createdAt: string }>): Promise<{ ok: true; events: number; hash: string } | Extract<VerifyResult, { ok: false }>> {
    let prevHash = start.hash;
    let lastSeq = start.seq;
    // Pages by seq range, not LIMIT: under row-level security the planner cannot see that a LIMIT
    // stops early, and sorted every remaining event for each page (quadratic in the chain's length).
    const page = (after: number) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.seq, after), lte(auditEvents.seq, after + VERIFY_PAGE)))
        .orderBy(asc(auditEvents.seq));
    const [top] = await db.select({ seq: sql<string | null>`max(${auditEvents.seq})` }).from(auditEvents).where(eq(auditEvents.tenantId, tenantId));
    const maxSeq = Number(top?.seq ?? 0);
    // A page left unread when a broken link ends the check must not become an unhandled rejection.
    const read = (after: number) => {
      const promise = page(after).then((rows) => rows);
      promise.catch(() => {});
      return promise;
    };
    let next = read(start.seq);
    for (let after = start.seq; after < maxSeq; after += VERIFY_PAGE) {
      const rows = await next;
      // The next page is read while this one is hashed.
      if (after + VERIFY_PAGE < maxSeq) next = read(after + VERIFY_PAGE);
      for (const row of rows) {
        if (row.seq !== lastSeq + 1) return { ok: false, seq: lastSeq + 1, problem: 'missing or reordered event' };
        if (row.prevHash !== prevHash) return { ok: false, seq: row.seq, problem: 'does not follow the previous event' };
        // PostgreSQL returns its own timestamp text; the hash was taken over the ISO form.
        const content = contentHash({ tenantId: row.tenantId, actor: row.actor, action: row.action, subject: row.subject, outcome: row.outcome, details: row.details, createdAt: new Date(row.createdAt).toISOString() });
        if (chainHash(row.prevHash, row.seq, content) !== row.hash) return { ok: false, seq: row.seq, problem: 'content was changed' };
        const signed = expected.get(row.seq);
        if (signed && signed.hash !== row.hash) {
          return { ok: false, seq: row.seq, problem: `the chain up to here was rewritten: it no longer matches the checkpoint signed at ${signed.createdAt}` };
        }
        prevHash = row.hash;
        lastSeq = row.seq;
      }
      // Every seq up to the end of this range exists (a seq moved far ahead must not make us walk to it).
      if (lastSeq < Math.min(after + VERIFY_PAGE, maxSeq)) return { ok: false, seq: lastSeq + 1, problem: 'missing or reordered event' };
    }
    return { ok: true, events: lastSeq, hash: prevHash };
  }

  async function verifyAll(tenantId: string): Promise<VerifyResult> {
    const checkpoints = checkpointKey ? await checkpointsOf(tenantId) : [];
    const checked = checkSigned(tenantId, checkpoints, GENESIS);
    if (!checked.ok) return checked;
    const walked = await walk(tenantId, { seq: 0, hash: GENESIS }, checked.expected);
    return walked.ok ? endsWhereSigned(walked.events, checkpoints) : walked;
  }

  /**
   * Signs `seq` (whose hash is `hash`) as verified, after the tenant's last checkpoint, under the lock
   * `checkpoint` takes; nothing when a checkpoint verified at or after it is already the last.
   */
  async function signVerified(tenantId: string, seq: number, hash: string): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${tenantId}, 8))`);
      const [last] = await tx.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).orderBy(desc(auditCheckpoints.id)).limit(1);
      if (last && last.seq >= seq && checkpointKind(checkpointKey!, last, last.prevMac) === 'verified') return;
      const createdAt = new Date().toISOString();
      const prevMac = last?.mac ?? GENESIS;
      const mac = checkpointMac(checkpointKey!, { tenantId, seq, hash, prevMac, createdAt }, true);
      await tx.insert(auditCheckpoints).values({ tenantId, seq, hash, prevMac, mac, createdAt });
    });
  }

  return {
    /**
     * Appends inside the caller's transaction (so the event commits with the change), or, without
     * one, group-committed with the tenant's other appends; either way it resolves once committed.
     */
    async record(event: AuditEvent, tx?: DbOrTx): Promise<void> {
      if (tx) return appendIn(tx, event);
      return append(event);
    },

    /**
     * Checks the chain from its first event, a page at a time, and the signed checkpoints; returns
     * the first broken link: an edited event ("content was changed"), a deleted or reordered one, a
     * rewritten stretch (no longer matches a checkpoint), or events missing at the end. Seconds per
     * million events: the CLI's `npm run audit:verify`.
     */
    verify: verifyAll,

    /**
     * Checks only what was appended since the last verification, as chat and the report do: from the
     * newest checkpoint signed as verified (its mac says so, and binds the head's hash), every signed
     * checkpoint after it and every event after it; a forged or altered checkpoint is refused. An
     * intact chain gets its head signed as verified, so the next check starts there. Without such a
     * checkpoint (or without a key) it checks the whole chain. What was verified before the
     * checkpoint is taken on its word: re-checking all of it is `verify` (the CLI).
     */
    async verifyRecent(tenantId: string): Promise<VerifyResult> {
      if (!checkpointKey) return verifyAll(tenantId);
      const recent = await db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).orderBy(desc(auditCheckpoints.id)).limit(RECENT_CHECKPOINTS);
      let anchor: CheckpointRow | undefined;
      let after: CheckpointRow[] = [];
      for (const [i, row] of recent.entries()) {
        const kind = checkpointKind(checkpointKey, row, row.prevMac);
        if (kind === 'forged') return alteredCheckpoint(row);
        if (kind === 'verified') {
          anchor = row;
          after = recent.slice(0, i).reverse();
          break;
        }
      }
      let walked: Awaited<ReturnType<typeof walk>>;
      let ended: VerifyResult;
      if (!anchor) {
        const checkpoints = await checkpointsOf(tenantId);
        const checked = checkSigned(tenantId, checkpoints, GENESIS);
        if (!checked.ok) return checked;
        walked = await walk(tenantId, { seq: 0, hash: GENESIS }, checked.expected);
        if (!walked.ok) return walked;
        ended = endsWhereSigned(walked.events, checkpoints);
      } else {
        const checked = checkSigned(tenantId, after, anchor.mac);
        if (!checked.ok) return checked;
        const [at] = await db.select({ hash: auditEvents.hash }).from(auditEvents).where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.seq, anchor.seq)));
        if (at?.hash !== anchor.hash) {
          return { ok: false, seq: anchor.seq, problem: `${at ? 'the chain up to here was rewritten' : 'the event is missing'}: it no longer matches the checkpoint verified and signed at ${new Date(anchor.createdAt).toISOString()}` };
        }
        walked = await walk(tenantId, { seq: anchor.seq, hash: anchor.hash }, checked.expected);
        if (!walked.ok) return walked;
        ended = endsWhereSigned(walked.events, [anchor, ...after]);
      }
      if (!ended.ok) return ended;
      if (walked.events > (anchor?.seq ?? 0)) await signVerified(tenantId, walked.events, walked.hash);
      return anchor ? { ok: true, events: walked.events, from: anchor.seq } : { ok: true, events: walked.events };
    },

    /**
     * Signs the tenant's current head when it moved since the last checkpoint. Checkpoints of one
     * tenant are serialized with the chain's own lock, so two runs cannot fork them.
     */
    async checkpoint(tenantId: string): Promise<{ seq: number } | undefined> {
      if (!checkpointKey) return undefined;
      return db.transaction(async (tx) => {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${tenantId}, 8))`);
        const [head] = await tx.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).where(eq(auditEvents.tenantId, tenantId)).orderBy(desc(auditEvents.seq)).limit(1);
        const [last] = await tx.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).orderBy(desc(auditCheckpoints.id)).limit(1);
        if (!head || (last && last.seq >= head.seq)) return undefined;
        const createdAt = new Date().toISOString();
        const prevMac = last?.mac ?? GENESIS;
        const mac = checkpointMac(checkpointKey, { tenantId, seq: head.seq, hash: head.hash, prevMac, createdAt });
        await tx.insert(auditCheckpoints).values({ tenantId, seq: head.seq, hash: head.hash, prevMac, mac, createdAt });
        return { seq: head.seq };
      });
    },

    /**
     * Which of these subjects already have an event of `action` whose details carry `key`, as
     * `tenantId:subject`: for a step tried again, whether its earlier try recorded it. One round trip
     * on the report index (migration 0022), so `action` must be one of the actions that index covers.
     */
    async recordedAmong(action: string, key: string, subjects: Array<{ tenantId: string; subject: string }>): Promise<Set<string>> {
      if (subjects.length === 0) return new Set();
      const rows = await db
        .selectDistinct({ tenantId: auditEvents.tenantId, subject: auditEvents.subject })
        .from(auditEvents)
        .where(and(
          inArray(auditEvents.tenantId, [...new Set(subjects.map((s) => s.tenantId))]),
          inArray(auditEvents.subject, subjects.map((s) => s.subject)),
          eq(auditEvents.action, action),
          sql`${auditEvents.details} ? ${key}`,
        ));
      return new Set(rows.map((row) => `${row.tenantId}:${row.subject}`));
    },

    /** Every tenant, each with its own chain (system scope). */
    async tenantIds(): Promise<string[]> {
      const rows = await db.select({ id: tenants.id }).from(tenants).orderBy(asc(tenants.createdAt));
      return rows.map((row) => row.id);
    },

    list(tenantId: string, limit = 100) {
      return db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId)).orderBy(desc(auditEvents.seq)).limit(limit);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
