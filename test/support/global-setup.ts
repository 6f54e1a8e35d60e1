import pg from 'pg';
import { SERVICES } from './services.js';

/** Fails the run at once, with what to start, when a service the integration tests use is down. */
export default async function setup(): Promise<void> {
  for (const [name, url] of [['state PostgreSQL', SERVICES.statePg], ['scram PostgreSQL target', SERVICES.targetPg]] as const) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.end();
    } catch (error) {
      throw new Error(`${name} is not reachable (${(error as Error).message}); run .ci/run or start it first.`);
    }
  }
}
