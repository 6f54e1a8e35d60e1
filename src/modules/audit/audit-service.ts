import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { and, asc, desc, eq, gt, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { auditCheckpoints, auditEvents } from '../../db/schema/audit.js';
import { tenants } from '../../db/schema/tenants.js';
import { currentScope, inScope, type Scope } from '../../db/tenant-scope.js';

export interface AuditEvent {
  tenantId: string;
  /** `user:<chat user id>`, `system`, or `job:<name>`. */
  actor: string;
  /** e.g. `request.submitted`, `request.approved`, `lease.revoked`. */
  action: string;
  /** What it is about: `request:<id>`, `lease:<id>`. */
  subject: string;
  outcome: 'success' | 'refused' | 'failure';
  /** Facts for the record; never a secret (no passwords, tokens or connection strings). */
  details?: Record<string, unknown>;
}

const GENESIS = '0'.repeat(64);

/** Canonical JSON: keys sorted at every depth, so the same event always hashes the same. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  // Loops rather than map/filter/sort of entries: verification canonicalizes every event of a chain.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) out += (i > 0 ? ',' : '') + canonical(value[i]);
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  // Default sort: UTF-16 code unit order, the same on every run and platform.
  for (const key of Object.keys(value).sort()) {
    const inner = (value as Record<string, unknown>)[key];
    if (inner === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonical(inner)}`;
    first = false;
  }
  return `${out}}`;
}

// One-shot hashing (Node 20.12+) is about twice as fast as createHash for short inputs.
const sha256: (text: string) => string =
  typeof nodeCrypto.hash === 'function' ? (text) => nodeCrypto.hash('sha256', text, 'hex') : (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of what an event says, over its canonical form (place in the chain excluded). */
export function contentHash(event: { tenantId: string; actor: string; action: string; subject: string; outcome: string; details: unknown; createdAt: string }): string {
  const { action, actor, createdAt, details, outcome, subject, tenantId } = event;
  if ([action, actor, createdAt, details, outcome, subject, tenantId].some((value) => value === undefined)) return sha256(canonical(event));
  // canonical(event), written out: the keys in their sorted order, without sorting them per event.
  const text = `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},"createdAt":${JSON.stringify(createdAt)},"details":${canonical(details)},"outcome":${JSON.stringify(outcome)},"subject":${JSON.stringify(subject)},"tenantId":${JSON.stringify(tenantId)}}`;
  return sha256(text);
}

/** The chain hash: the content bound to its place, after the event before it. */
export const chainHash = (prevHash: string, seq: number, content: string) => sha256(`${prevHash}:${seq}:${content}`);

/** The mac of a checkpoint: its tenant, place and hash, bound to the checkpoint before it. */
export const checkpointMac = (key: Buffer, c: { tenantId: string; seq: number; hash: string; prevMac: string; createdAt: string }, verified = false) =>
  createHmac('sha256', key).update(`${c.tenantId}:${c.seq}:${c.hash}:${c.prevMac}:${c.createdAt}${verified ? ':verified' : ''}`, 'utf8').digest('hex');

/**
 * `from`: an incremental verification (verifyRecent) took the events up to this one on the word of a
 * signed checkpoint that a verification before it had checked them.
 */
export type VerifyResult = { ok: true; events: number; from?: number } | { ok: false; seq: number; problem: string };

type CheckpointRow = typeof auditCheckpoints.$inferSelect;

/**
 * What a checkpoint row's mac says it is: signed by the chain's head (`checkpoint`), signed after a
 * verification found the chain intact up to it (`verified`; the flag is inside the mac, so it cannot
 * be set on a row without the key), or `forged` (neither mac matches).
 */
function checkpointKind(key: Buffer, row: CheckpointRow, prevMac: string): 'signed' | 'verified' | 'forged' {
  if (row.prevMac !== prevMac) return 'forged';
  const fields = { tenantId: row.tenantId, seq: row.seq, hash: row.hash, prevMac, createdAt: new Date(row.createdAt).toISOString() };
  if (safeEqual(checkpointMac(key, fields, true), row.mac)) return 'verified';
  return safeEqual(checkpointMac(key, fields), row.mac) ? 'signed' : 'forged';
}

/** Events read per round trip while verifying: bounded memory for any length of chain. */
const VERIFY_PAGE = 20_000;

/** Checkpoints looked at, newest first, for the last one signed as verified (the job signs one per interval). */
const RECENT_CHECKPOINTS = 200;

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
 * The audit log: append-only (the app's role has no UPDATE, DELETE or INSERT on it; a trigger refuses
 * UPDATE and DELETE for everyone) and hash-chained per tenant. Every event goes through SQL functions
 * that serialize a tenant's appends with a transaction-scoped advisory lock.
 *
 * Appends outside a caller's transaction are group-committed: while one write for a tenant is in
 * flight, the appends that arrive gather and go next in ONE transaction under ONE lock acquisition
 * (`dbaccess_audit_append_batch`), so a burst (mass expiry) pays one chain lock and one commit per
 * batch instead of per event. Each caller's promise settles when its own event is committed, or
 * fails with the reason; a batch the server refuses is written again one event at a time, so one bad
 * event fails only its own caller. `appendDb` should be a pool of its own: callers may hold state
 * connections while they wait for their event.
 *
 * `checkpointKey` (derived from the master key) signs the chain's head from time to time: a chain
 * cut short, or rewritten with fresh hashes, no longer matches its signed checkpoints.
 */
export function createAuditService({ db, appendDb = db, checkpointKey }: { db: Db; appendDb?: Db; checkpointKey?: Buffer }) {
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

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export type AuditService = ReturnType<typeof createAuditService>;
