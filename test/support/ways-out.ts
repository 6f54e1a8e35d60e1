import { Redis } from 'ioredis';
import type { Container } from '../../src/app/container.js';
import { SERVICES } from './services.js';
import { targetRoles } from './databases.js';
import { waitUntil } from './app-harness.js';
import { asSystem } from '../../src/db/tenant-scope.js';

/** What the state database says about a request, its lease and its audit trail (read as the system). */
export async function requestRow(app: Container, requestId: string) {
  const { rows } = await asSystem('test', () => app.pool.query<{ state: string; failure: string | null }>('SELECT state, failure FROM access_requests WHERE id = $1', [requestId]));
  return rows[0];
}

export async function leaseRow(app: Container, requestId: string) {
  const { rows } = await asSystem('test', () => app.pool.query<{ id: string; username: string; expires_at: Date; revoked_at: Date | null; end_reason: string | null }>(
    'SELECT id, username, expires_at, revoked_at, end_reason FROM leases WHERE request_id = $1',
    [requestId],
  ));
  return rows[0];
}

export async function auditOf(app: Container, subject: string) {
  const { rows } = await asSystem('test', () => app.pool.query<{ actor: string; action: string; outcome: string; details: Record<string, unknown> }>(
    'SELECT actor, action, outcome, details FROM audit_events WHERE subject = $1 ORDER BY seq',
    [subject],
  ));
  return rows;
}

export const waitForState = (app: Container, requestId: string, state: string, timeoutMs = 20_000) =>
  waitUntil(async () => (await requestRow(app, requestId))?.state === state, timeoutMs, `request ${requestId} ${state}`);

/**
 * The request's provisioning has finished for good (its job completed and was removed: Redis queue),
 * its lease is revoked and no user of the prefix is left on the target.
 */
export async function waitNothingLeft(app: Container, redisPrefix: string, prefix: string, requestId: string, timeoutMs = 30_000): Promise<void> {
  const redis = new Redis(SERVICES.redis);
  try {
    await waitUntil(async () => (await redis.exists(`${redisPrefix}:dbaccess:provision-${requestId}`)) === 0, timeoutMs, `the provision job of ${requestId} to finish`);
  } finally {
    redis.disconnect();
  }
  await waitUntil(async () => {
    const lease = await leaseRow(app, requestId);
    return !lease || (lease.revoked_at !== null && !(await targetRoles(prefix)).includes(lease.username));
  }, timeoutMs, `nothing of ${requestId} left on the target`);
}

export const requestIdIn = (text: string) => /\bR[0-9A-Z]{9}\b/.exec(text)?.[0];
