import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TEST_TLS_DIR_ENV, writeTestTls } from './fake-bot-framework-server.js';
import { SERVICES } from './services.js';

/**
 * Fails the run at once, with what to start, when a service the integration tests use is down. Makes the test
 * CA the fake Bot Framework serves HTTPS with, trusted by every worker (and the processes they start) through
 * NODE_EXTRA_CA_CERTS, which Node reads only at start: workers start after this.
 */
export default async function setup(): Promise<() => void> {
  for (const [name, url] of [['state PostgreSQL', SERVICES.statePg], ['scram PostgreSQL target', SERVICES.targetPg]] as const) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.end();
    } catch (error) {
      throw new Error(`${name} is not reachable (${(error as Error).message}); run .ci/run or start it first.`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-test-ca-'));
  const { certPath } = await writeTestTls(dir);
  // Keep the CAs the machine already adds (a corporate proxy's), in one bundle with the test CA.
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  const bundle = join(dir, 'extra-ca-certs.pem');
  writeFileSync(bundle, `${existing && existsSync(existing) ? `${readFileSync(existing, 'utf8').trim()}\n` : ''}${readFileSync(certPath, 'utf8')}`);
  process.env.NODE_EXTRA_CA_CERTS = bundle;
  process.env[TEST_TLS_DIR_ENV] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
