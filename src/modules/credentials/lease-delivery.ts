import type { Db } from '../../db/client.js';
import type { DatabaseEntry } from '../../config/catalog.js';
import type { SecretBox } from '../../lib/crypto.js';
import { Secret } from '../../lib/secret.js';
import { forbidden, notFound } from '../../lib/errors.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { Credentials } from './credentials.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import { serverEngineOf } from './engines/registry.js';

interface Deps {
  db: Db;
  requests: Pick<AccessRequestRepo, 'getById' | 'get'>;
  leases: Pick<LeaseRepo, 'getById' | 'byRequest' | 'update'>;
  audit: Pick<AuditService, 'record'>;
  secrets: SecretBox;
  databaseEntry: (databaseId: string) => DatabaseEntry | undefined;
  now: () => Date;
}

/**
 * Handing over a lease's credentials: once by direct message (the sealed password is wiped when
 * delivery is recorded), at the requester's Reveal step, or to their signed-in terminal.
 */
export function createLeaseDelivery({ db, requests, leases, audit, secrets, databaseEntry, now }: Deps) {
  /** The credentials to send, once: the sealed password is wiped when delivery is recorded. */
  async function credentialsFor(leaseId: string): Promise<{ request: RequestRow; lease: LeaseRow; credentials: Credentials } | undefined> {
    const lease = await leases.getById(leaseId);
    if (!lease?.passwordSealed || lease.revokedAt) return undefined;
    const request = (await requests.getById(lease.requestId))!;
    const entry = databaseEntry(lease.databaseId);
    if (!entry) throw notFound(`Database ${lease.databaseId}`);
    return {
      request,
      lease,
      credentials: {
        protocol: serverEngineOf(entry).name,
        host: entry.host, port: entry.port, database: entry.database, username: lease.username,
        password: new Secret(secrets.open(lease.passwordSealed)), expiresAt: lease.expiresAt,
      },
    };
  }

  /**
   * The credentials of the requester's own live lease, for the Reveal step (after MFA): only while
   * the password has not been shown yet.
   */
  async function credentialsForRequester(actor: Actor, requestId: string) {
    const lease = await leases.byRequest(actor.tenantId, requestId);
    const request = await requests.get(actor.tenantId, requestId);
    if (!lease || !request || request.requesterId !== actor.userId) throw notFound(`Request ${requestId}`);
    const ready = await credentialsFor(lease.id);
    if (!ready) throw forbidden(lease.revokedAt ? 'This access has ended; the credentials no longer exist.' : 'These credentials were already revealed.');
    return ready;
  }

  /**
   * The credentials of the requester's own live lease for their signed-in terminal (`dbaccess
   * connect`), when the request asked for that delivery. Unlike a DM, nothing keeps them on a screen:
   * the password stays sealed while the lease lives, so that `connect` can open another session on it,
   * and is wiped when the lease ends. Every hand-over is audited with the token that took it.
   */
  async function credentialsForCli(actor: Actor, requestId: string, tokenId: string) {
    const lease = await leases.byRequest(actor.tenantId, requestId);
    const request = await requests.get(actor.tenantId, requestId);
    if (!lease || !request || request.requesterId !== actor.userId) throw notFound(`Request ${requestId}`);
    if (request.delivery !== 'cli') throw forbidden(`The credentials of ${requestId} went to your direct messages; request again from the terminal to connect from it.`);
    const ready = await credentialsFor(lease.id);
    if (!ready) throw forbidden('This access has ended; the credentials no longer exist.');
    await db.transaction(async (tx) => {
      if (!lease.deliveredAt) await leases.update(lease.tenantId, lease.id, { deliveredAt: now() }, tx);
      await audit.record({ tenantId: lease.tenantId, actor: `user:${actor.userId}`, action: 'lease.delivered', subject: `lease:${lease.id}`, outcome: 'success', details: { channel: 'cli session', token: tokenId } }, tx);
    });
    return ready;
  }

  async function recordDm(lease: LeaseRow, dmRef: LeaseRow['dmRef']): Promise<void> {
    await leases.update(lease.tenantId, lease.id, { dmRef });
  }

  async function markDelivered(lease: LeaseRow, dmRef: LeaseRow['dmRef']): Promise<void> {
    await db.transaction(async (tx) => {
      await leases.update(lease.tenantId, lease.id, { passwordSealed: null, deliveredAt: now(), dmRef }, tx);
      await audit.record({ tenantId: lease.tenantId, actor: 'job:deliver', action: 'lease.delivered', subject: `lease:${lease.id}`, outcome: 'success', details: { channel: 'direct message' } }, tx);
    });
  }
  return { credentialsFor, credentialsForRequester, credentialsForCli, recordDm, markDelivered };
}
