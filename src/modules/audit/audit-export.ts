import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Db } from '../../db/client.js';
import { auditEvents, auditExportCursors } from '../../db/schema/audit.js';
import { asSystem } from '../../db/tenant-scope.js';

/** One exported event: a JSON line. `id` is stable, so a SIEM can drop the rare repeat of an HTTP batch. */
export interface ExportedEvent {
  id: string;
  tenant: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** Where events go. `recover` runs once per process before the first batch (see the file sink). */
export interface ExportSink {
  /** The cursor key: the kind and the destination, never a credential. */
  readonly key: string;
  recover?(): Promise<Array<{ tenant: string; seq: number }>>;
  send(events: ExportedEvent[]): Promise<void>;
}

/**
 * A JSON-lines file. Delivery is exactly once across kills: a batch is appended and fsynced before
 * its cursor moves, so only the last batch can be in the file without its cursor; on start the
 * file's tail is read back to find it (and a line cut short by the kill is removed).
 */
export function createFileSink(path: string): ExportSink {
  const file = resolve(path);
  return {
    key: `file:${file}`,
    async recover() {
      if (!existsSync(file)) return [];
      const fd = openSync(file, 'r+');
      try {
        const size = fstatSync(fd).size;
        // Read back from the end, a chunk at a time, until more lines than one batch (or the start).
        let start = size;
        let tail = Buffer.alloc(0);
        let newlines = 0;
        while (start > 0 && newlines <= RECOVER_LINES) {
          const from = Math.max(0, start - (1 << 16));
          const chunk = Buffer.alloc(start - from);
          readSync(fd, chunk, 0, chunk.length, from);
          for (const byte of chunk) if (byte === 0x0a) newlines += 1;
          tail = Buffer.concat([chunk, tail]);
          start = from;
        }
        // Whatever follows the last newline is a line the kill cut short: remove it, it is sent again.
        const lastNewline = tail.lastIndexOf(0x0a);
        const cut = lastNewline === -1 ? start : start + lastNewline + 1;
        if (cut < size) ftruncateSync(fd, cut);
        let text = tail.subarray(0, cut - start).toString('utf8');
        if (start > 0) text = text.slice(text.indexOf('\n') + 1); // the first line read may be partial
        const found: Array<{ tenant: string; seq: number }> = [];
        for (const line of text.split('\n')) {
          if (!line) continue;
          try {
            const event = JSON.parse(line) as Partial<ExportedEvent>;
            if (typeof event.tenant === 'string' && typeof event.seq === 'number') found.push({ tenant: event.tenant, seq: event.seq });
          } catch {
            // Not one of ours; leave it.
          }
        }
        return found;
      } finally {
        closeSync(fd);
      }
    },
    async send(events) {
      mkdirSync(dirname(file), { recursive: true });
      const fd = openSync(file, 'a', 0o600);
      try {
        writeSync(fd, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Lines of the file's end that recovery looks at: more than one batch, so the last batch is always among them. */
const RECOVER_LINES = 5_000;

/**
 * An HTTP endpoint (a SIEM's collector): each batch is one POST of JSON lines
 * (`application/x-ndjson`); any 2xx accepts it. At least once: a batch whose answer was lost is sent
 * again, with the same ids.
 */
export function createHttpSink(url: string, options: { token?: string | undefined; timeoutMs?: number } = {}): ExportSink {
  const target = new URL(url);
  return {
    key: `http:${target.origin}${target.pathname}`,
    async send(events) {
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        body: events.map((event) => `${JSON.stringify(event)}\n`).join(''),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`The audit export endpoint answered HTTP ${response.status}.`);
    },
  };
}

interface ExporterDeps {
  db: Db;
  /** Plain connections for the exporter's lock: one exporter per sink at a time, across processes. */
  lockPool: pg.Pool;
  sinks: ExportSink[];
  batchSize?: number;
}

/**
 * Streams every tenant's audit events, in chain order, to each configured sink, and remembers per
 * sink and tenant the last seq delivered. Resumable: a restart goes on from the cursor.
 */
export function createAuditExporter({ db, lockPool, sinks, batchSize: wantedBatch = 1000 }: ExporterDeps) {
  // Recovery reads back RECOVER_LINES lines: a batch must be shorter for the last one to be among them.
  const batchSize = Math.max(1, Math.min(wantedBatch, RECOVER_LINES - 1));
  const recovered = new Set<string>();

  async function cursorsOf(sink: ExportSink): Promise<Map<string, number>> {
    const rows = await db.select({ tenantId: auditExportCursors.tenantId, seq: auditExportCursors.seq }).from(auditExportCursors).where(eq(auditExportCursors.sink, sink.key));
    return new Map(rows.map((row) => [row.tenantId, row.seq]));
  }

  async function advance(sink: ExportSink, tenantId: string, seq: number): Promise<void> {
    await db
      .insert(auditExportCursors)
      .values({ sink: sink.key, tenantId, seq })
      .onConflictDoUpdate({ target: [auditExportCursors.sink, auditExportCursors.tenantId], set: { seq: sql`greatest(${auditExportCursors.seq}, excluded.seq)`, updatedAt: new Date() } });
  }

  async function exportTo(sink: ExportSink, deadline: number): Promise<number> {
    if (!recovered.has(sink.key) && sink.recover) {
      const cursors = await cursorsOf(sink);
      const already = new Map<string, number>();
      for (const { tenant, seq } of await sink.recover()) if (seq > (cursors.get(tenant) ?? 0)) already.set(tenant, Math.max(seq, already.get(tenant) ?? 0));
      for (const [tenant, seq] of already) await advance(sink, tenant, seq);
    }
    recovered.add(sink.key);
    const cursors = await cursorsOf(sink);
    const tenantRows = await db.execute<{ id: string }>(sql`SELECT id FROM tenants ORDER BY created_at, id`);
    let sent = 0;
    for (const { id: tenantId } of tenantRows.rows) {
      let after = cursors.get(tenantId) ?? 0;
      for (;;) {
        if (Date.now() > deadline) return sent;
        // A seq range, not LIMIT: under row-level security a LIMIT query sorts the whole backlog.
        const rows = await db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.seq, after), lte(auditEvents.seq, after + batchSize)))
          .orderBy(asc(auditEvents.seq));
        if (rows.length === 0) {
          // Nothing in the range: the end, or a gap (events removed behind the trigger) to step over.
          const [following] = await db.select({ seq: sql<string | null>`min(${auditEvents.seq})` }).from(auditEvents).where(and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.seq, after)));
          if (following?.seq === null || following?.seq === undefined) break;
          after = Number(following.seq) - 1;
          continue;
        }
        await sink.send(
          rows.map((row) => ({
            id: `${row.tenantId}:${row.seq}`, tenant: row.tenantId, seq: row.seq, at: new Date(row.createdAt).toISOString(), actor: row.actor, action: row.action,
            subject: row.subject, outcome: row.outcome, details: row.details, prevHash: row.prevHash, hash: row.hash,
          })),
        );
        after = rows.at(-1)!.seq;
        await advance(sink, tenantId, after);
        sent += rows.length;
      }
    }
    return sent;
  }

  return {
    get configured() {
      return sinks.length > 0;
    },

    /** Sends what each sink has not had yet, for up to `budgetMs`; returns events sent per sink. */
    async run(budgetMs = 30_000): Promise<Record<string, number>> {
      const deadline = Date.now() + budgetMs;
      const sent: Record<string, number> = {};
      for (const sink of sinks) {
        const client = await lockPool.connect();
        try {
          const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 9)) AS locked', [sink.key]);
          if (!rows[0]?.locked) continue; // another process is exporting to this sink right now
          try {
            sent[sink.key] = await asSystem('audit-export', () => exportTo(sink, deadline));
          } finally {
            await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 9))', [sink.key]).catch(() => {});
          }
        } finally {
          client.release();
        }
      }
      return sent;
    },
  };
}

export type AuditExporter = ReturnType<typeof createAuditExporter>;
