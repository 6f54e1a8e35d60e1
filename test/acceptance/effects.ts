import pg from 'pg';
import { waitUntil } from '../support/app-harness.js';
import { targetRoles, targetSessionsOf } from '../support/databases.js';
import { leaseRow, requestRow, waitForState as waitForRequestState } from '../support/ways-out.js';
import type { PlatformDriver } from './drivers/index.js';

/** The real effects of a request on the target and in the state database, whatever the platform. */

/** A session opened with the credentials the person was shown; it fails if they do not work. */
export async function logIn(uri: string): Promise<pg.Client> {
  const session = new pg.Client({ connectionString: uri });
  session.on('error', () => {});
  await session.connect();
  return session;
}

/** The state database's word on a request and its lease (read as the system: test/support/ways-out.ts). */
export const requestState = async (driver: PlatformDriver, id: string) => (await requestRow(driver.app, id))?.state;
export const waitForState = (driver: PlatformDriver, id: string, state: string) => waitForRequestState(driver.app, id, state, 30_000);
export async function leaseOf(driver: PlatformDriver, id: string): Promise<{ username: string; expiresAt: Date; revokedAt: Date | null } | undefined> {
  const row = await leaseRow(driver.app, id);
  return row && { username: row.username, expiresAt: row.expires_at, revokedAt: row.revoked_at };
}

/** The user is gone: its session was killed, it cannot log in, and it no longer exists on the target. */
export async function waitUserGone(driver: PlatformDriver, uri: string, session?: pg.Client): Promise<void> {
  const username = decodeURIComponent(new URL(uri).username);
  await waitUntil(async () => !(await targetRoles(driver.prefix)).includes(username), 30_000, `${username} dropped from the target`);
  if ((await targetSessionsOf(username)) !== 0) throw new Error(`${username} still has sessions`);
  if (session) await session.query('SELECT 1').then(() => { throw new Error('the session still runs'); }, () => undefined);
  const probe = new pg.Client({ connectionString: uri });
  probe.on('error', () => {});
  if (await probe.connect().then(() => true, () => false)) {
    await probe.end();
    throw new Error(`${username} can still log in`);
  }
}
