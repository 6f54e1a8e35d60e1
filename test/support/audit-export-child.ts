/**
 * A process that exports a state database's audit events to a file until nothing is left, in small
 * batches with a pause between them, so that a test can kill it half-way (SIGKILL) and start another.
 * Usage: node --import tsx audit-export-child.ts <state url> <file> <batch size> <pause ms>
 */
import { createLockPool, createStateDb } from '../../src/db/client.js';
import { createAuditExporter, createFileSink, type ExportSink } from '../../src/modules/audit/audit-export.js';

const [url, file, batch = '20', pause = '0'] = process.argv.slice(2);
const { db, pool } = createStateDb(url!, 2);
const lockPool = createLockPool(url!, 1);
const inner = createFileSink(file!);
const sink: ExportSink = {
  key: inner.key,
  recover: () => inner.recover!(),
  async send(events) {
    await inner.send(events);
    // The window a kill hits most: the batch is in the file, its cursor not yet moved.
    if (Number(pause) > 0) await new Promise((resolve) => setTimeout(resolve, Number(pause)));
  },
};
const exporter = createAuditExporter({ db, lockPool, sinks: [sink], batchSize: Number(batch) });
for (;;) {
  const sent = await exporter.run(60_000);
  if ((sent[sink.key] ?? 0) === 0) break;
}
await Promise.all([pool.end(), lockPool.end()]);
process.stdout.write('done\n');
