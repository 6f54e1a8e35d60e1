import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLockPool, createStateDb, runMigrations, type Db } from '../../src/db/client.js';
import { createAuditExporter, createFileSink, createHttpSink, type ExportedEvent } from '../../src/modules/audit/audit-export.js';
import { asJobs } from '../support/scopes.js';
import { chainHash, contentHash } from '../../src/modules/audit/audit-hash.js';
import { createAuditService } from '../../src/modules/audit/audit-service.js';
import { createTenantService } from '../../src/modules/tenants/tenant-service.js';
import { createStateDatabase } from '../support/databases.js';
import { waitUntil } from '../support/app-harness.js';

const CHILD = fileURLToPath(new URL('../support/audit-export-child.ts', import.meta.url));
const PER_TENANT = 600;

/**
 * The audit export: every event once, in chain order, to a file that survives a kill -9 of the
 * exporter half-way (and a line cut short), and to an HTTP endpoint that fails for a while.
 */
describe('audit export', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let db: Db;
  let pool: import('pg').Pool;
  let lockPool: import('pg').Pool;
  let tenants: string[];
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-export-'));

  beforeAll(async () => {
    state = await createStateDatabase();
    await runMigrations(state.url);
    ({ db, pool } = createStateDb(state.url));
    lockPool = createLockPool(state.url, 2);
    const audit = asJobs(createAuditService({ db }));
    tenants = [await createTenantService({ db }).ensureTenant('slack', 'T0EXPORTA'), await createTenantService({ db }).ensureTenant('slack', 'T0EXPORTB')];
    for (let i = 0; i < PER_TENANT; i += 50) {
      await Promise.all(
        tenants.flatMap((tenantId) => Array.from({ length: 50 }, (_, k) => audit.record({ tenantId, actor: 'system', action: 'test.event', subject: `thing:${i + k}`, outcome: 'success', details: { n: i + k, text: 'é ü "quoted"\nnew line' } }))),
      );
    }
  });
  afterAll(async () => {
    await lockPool?.end();
    await pool?.end();
    await state?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every line parsed; asserts each tenant's events are there exactly once, in order, with links that chain. */
  function expectComplete(lines: ExportedEvent[]): void {
    expect(new Set(lines.map((line) => line.id)).size).toBe(lines.length);
    for (const tenantId of tenants) {
      const own = lines.filter((line) => line.tenant === tenantId);
      expect(own.map((line) => line.seq)).toEqual(Array.from({ length: PER_TENANT }, (_, i) => i + 1));
      let prev = '0'.repeat(64);
      for (const line of own) {
        // The exported line is enough to re-verify the chain outside dbaccess.
        const content = contentHash({ tenantId: line.tenant, actor: line.actor, action: line.action, subject: line.subject, outcome: line.outcome, details: line.details, createdAt: line.at });
        expect(line.prevHash).toBe(prev);
        expect(chainHash(prev, line.seq, content)).toBe(line.hash);
        prev = line.hash;
      }
    }
  }
  const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ExportedEvent);

  function startChild(file: string, pauseMs: number): { child: ChildProcess; exited: Promise<number | null> } {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, state.url, file, '25', String(pauseMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
      if (code && code !== 0) console.error(stderr);
      resolve(code);
    }));
    return { child, exited };
  }

  it('resumes after kill -9 without losing or repeating an event, even with a line cut short', async () => {
    const file = join(dir, 'audit.jsonl');
    for (const round of [1, 2]) {
      const { child, exited } = startChild(file, 15);
      // Killed half-way: some batches in the file, most still to come.
      await waitUntil(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').length > round * 300, 60_000, 'lines in the export file');
      child.kill('SIGKILL');
      await exited;
    }
    // As if the kill had landed in the middle of a write.
    appendFileSync(file, '{"id":"cut short in the mid');
    const { exited } = startChild(file, 0);
    expect(await exited).toBe(0);
    expectComplete(readLines(file));
  });

  it('recognizes a batch written just before a crash, before its cursor moved', async () => {
    const file = join(dir, 'crash.jsonl');
    const sink = createFileSink(file);
    let calls = 0;
    const crashing = { key: sink.key, recover: sink.recover, send: async (events: ExportedEvent[]) => {
      await sink.send(events);
      calls += 1;
      if (calls === 3) throw new Error('killed right after writing');
    } };
    await expect(createAuditExporter({ db, lockPool, sinks: [crashing], batchSize: 100 }).run()).rejects.toThrow(/killed/);
    expect(readLines(file)).toHaveLength(300);
    await createAuditExporter({ db, lockPool, sinks: [createFileSink(file)], batchSize: 100 }).run();
    expectComplete(readLines(file));
  });

  describe('to an HTTP endpoint', () => {
    let server: Server;
    let url: string;
    const received: ExportedEvent[] = [];
    let failures = 0;
    let authorization: string | undefined;
    beforeAll(async () => {
      server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => {
          body += String(chunk);
        });
        request.on('end', () => {
          authorization = request.headers.authorization;
          if (failures > 0) {
            failures -= 1;
            response.writeHead(503).end('busy');
            return;
          }
          received.push(...body.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ExportedEvent));
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/ingest?source=dbaccess`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('delivers every event at least once, retrying a failed batch from its cursor after a restart', async () => {
      const exporter = () => createAuditExporter({ db, lockPool, sinks: [createHttpSink(url, { token: 'siem-token' })], batchSize: 200 });
      await exporter().run(); // a first part, then the endpoint goes down
      const firstPart = received.length;
      expect(firstPart).toBe(2 * PER_TENANT);
      failures = 2;
      // New events while it is down.
      await asJobs(createAuditService({ db })).record({ tenantId: tenants[0]!, actor: 'system', action: 'test.late', subject: 'late', outcome: 'success' });
      await expect(exporter().run()).rejects.toThrow(/HTTP 503/);
      await expect(exporter().run()).rejects.toThrow(/HTTP 503/);
      // A fresh process (another exporter) goes on from the cursor.
      await exporter().run();
      expect(authorization).toBe('Bearer siem-token');
      const late = received.slice(firstPart);
      expect(late.map((event) => [event.tenant, event.seq, event.action])).toEqual([[tenants[0], PER_TENANT + 1, 'test.late']]);
    });
  });
});
